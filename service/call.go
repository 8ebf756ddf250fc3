package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/internal/strictjson"
)

// errNotStarted is returned by calls made before Start or after Stop.
func (s *Service) errNotStarted(name string) error {
	return &troupe.Error{Code: troupe.CodeUnavailable, Msg: fmt.Sprintf("service %s: %s: not started", s.cfg.Name, name)}
}

// Request sends req as a request named name on behalf of s and decodes the
// reply's payload into a Rep. An Error reply is returned as a *troupe.Error;
// a reply that does not decode into Rep is a bad_request *troupe.Error.
// Within a handler, pass the handler's ctx: the request then belongs to the
// same activity and gets what remains of its deadline.
//
// The request passes through the service's calling-side interceptors and
// the circuit breaker in front of its target: while that is open, Request
// fails at once with an unavailable error whose cause is ErrBreakerOpen.
// opts may mark it Idempotent (it is then retried after failures that are
// the target's) and give it a Fallback.
func Request[Rep any](ctx context.Context, s *Service, name string, req any, opts ...CallOption) (Rep, error) {
	r, err := RequestReply[Rep](ctx, s, name, req, opts...)
	return r.Value, err
}

// A Reply is a decoded reply and where it came from.
type Reply[Rep any] struct {
	Value Rep
	// Env is the reply envelope: who answered, when, its headers. A
	// fallback's reply is named FallbackName, sent by the caller itself,
	// and carries HeaderFallback.
	Env *troupe.Envelope
	// Fallback is the error the caller's fallback replaced, if Value is
	// the fallback's; nil if the target answered.
	Fallback error
}

// RequestReply is Request returning the Reply: the value, the envelope, and
// whether the value came from the fallback.
func RequestReply[Rep any](ctx context.Context, s *Service, name string, req any, opts ...CallOption) (Reply[Rep], error) {
	var r Reply[Rep]
	env, err := s.call(ctx, troupe.KindRequest, name, req, nil, opts, &r.Fallback)
	if err != nil {
		return r, err
	}
	r.Env = env
	if decodeInto(env, &r.Value, isPlain(reflect.TypeFor[Rep]())) { // plain.go
		return r, nil
	}
	if len(env.Payload) > 0 {
		if err := json.Unmarshal(env.Payload, &r.Value); err != nil {
			return r, &troupe.Error{Code: troupe.CodeBadRequest, Msg: fmt.Sprintf("%s: reply %s: %s", name, env.Name, strictjson.Describe(err)), Err: err}
		}
	}
	return r, nil
}

// call prepares an envelope of kind, passes it through the calling-side
// chain and returns the reply to a request. If cause is not nil, it gets
// the error a fallback replaced.
func (s *Service) call(ctx context.Context, kind troupe.Kind, name string, payload any, each func(*troupe.Envelope) bool, opts []CallOption, cause *error) (*troupe.Envelope, error) {
	o := s.out.Load()
	if o == nil {
		return nil, s.errNotStarted(name)
	}
	env, err := o.client.Prepare(ctx, kind, name, payload)
	if err != nil {
		return nil, err
	}
	out := outgoingPool.Get().(*Outgoing)
	*out = Outgoing{Env: env, r: o.routes[name], each: each}
	if out.r == nil {
		out.r = &noRoute
	} else if out.r.t != nil {
		out.Target = out.r.t.name
	}
	for _, opt := range opts {
		opt(&out.opts)
	}
	rep, err := o.invoke(ctx, out)
	if cause != nil {
		*cause = out.cause
	}
	*out = Outgoing{}
	outgoingPool.Put(out)
	return rep, err
}

// outgoingPool recycles the Outgoing of every call: an interceptor must not
// keep one after it returns.
var outgoingPool = sync.Pool{New: func() any { return new(Outgoing) }}

// noRoute stands for a name the service does not send (the bus refuses it
// before the chain runs).
var noRoute route

// Collect publishes req as a request named name to every service that
// receives it and gathers their replies until the deadline (ctx's, or the
// bus's default), decoding each into a Rep. Error replies and replies that do
// not decode are skipped; the first such error is returned beside the
// replies that did decode, so a caller can use a partial answer. The
// request passes through the calling-side interceptors; there is no
// breaker, retry or fallback for it (it has no single target).
func Collect[Rep any](ctx context.Context, s *Service, name string, req any) ([]Rep, error) {
	var (
		out   []Rep
		first error
	)
	_, err := s.call(ctx, troupe.KindRequest, name, req, func(env *troupe.Envelope) bool {
		if e := env.Err(); e != nil {
			if first == nil {
				first = e
			}
			return true
		}
		var rep Rep
		if decodeInto(env, &rep, isPlain(reflect.TypeFor[Rep]())) {
			out = append(out, rep)
			return true
		}
		if len(env.Payload) > 0 {
			if err := json.Unmarshal(env.Payload, &rep); err != nil {
				if first == nil {
					first = &troupe.Error{Code: troupe.CodeBadRequest, Msg: fmt.Sprintf("%s: reply %s: %s", name, env.Name, strictjson.Describe(err)), Err: err}
				}
				return true
			}
		}
		out = append(out, rep)
		return true
	}, nil, nil)
	if errors.Is(err, troupe.ErrNoReceiver) {
		return nil, nil // nobody receives it: no replies, as bus.Client.Collect
	}
	if err != nil {
		return out, err
	}
	return out, first
}

// Send sends msg as a one-way notification named name on behalf of s,
// through the calling-side interceptors.
func (s *Service) Send(ctx context.Context, name string, msg any) error {
	_, err := s.call(ctx, troupe.KindSend, name, msg, nil, nil, nil)
	return err
}

// Publish publishes msg as an event named name on behalf of s, through the
// calling-side interceptors; any number of services, none included, may
// receive it.
func (s *Service) Publish(ctx context.Context, name string, msg any) error {
	_, err := s.call(ctx, troupe.KindPublish, name, msg, nil, nil, nil)
	return err
}
