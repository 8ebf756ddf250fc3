package service

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/internal/strictjson"
)

// Handle registers h as the handler of requests named name; the value it
// returns is sent back as a reply named reply, and an error it returns as an
// Error reply (a *troupe.Error keeps its code; other errors are internal).
//
// h runs in a process of its own with a ctx that carries the request's
// activity and principal (troupe.PrincipalFrom, Principal) and ends at its
// deadline. The request's JSON payload is decoded into Req (unknown fields
// are ignored, so that a sender may add one before its receivers know it;
// null gives the zero value); a payload that does not decode, or that holds
// invalid UTF-8 or a lone UTF-16 surrogate (which encoding/json would turn
// into U+FFFD), is answered with a bad_request Error that names the field
// but no Go type, without calling h.
//
// If a request named name is delivered as a one-way message (a send or a
// publish), h runs and its reply is discarded.
func Handle[Req, Rep any](s *Service, name, reply string, h func(ctx context.Context, req Req) (Rep, error)) error {
	if err := troupe.ValidName(reply); err != nil {
		return fmt.Errorf("service %s: handle %q: reply %w", s.cfg.Name, name, err)
	}
	return s.register(name, typed(func(ctx context.Context, m *bus.Msg, req Req) (string, any, error) {
		rep, err := h(ctx, req)
		return reply, rep, err
	}))
}

// On registers h as the handler of one-way messages named name: sends
// (notifications) and publishes (events). An error from h is counted and,
// for a durable message, makes the bus redeliver it after a backoff.
//
// If a request named name is delivered, h runs and the requester gets an
// empty reply named "ok" once h succeeds, so a sender can wait for a one-way
// message to be handled.
func On[Msg any](s *Service, name string, h func(ctx context.Context, msg Msg) error) error {
	return s.register(name, typed(func(ctx context.Context, _ *bus.Msg, msg Msg) (string, any, error) {
		return "ok", nil, h(ctx, msg)
	}))
}

// Stream registers h as the handler of requests named name that are answered
// with several replies, all named reply: h calls emit for each, and the last
// value emitted is sent as the final reply when h returns. If h emits nothing,
// the final reply has a null payload. An error from h is sent as a final
// Error reply after the replies already emitted.
func Stream[Req, Rep any](s *Service, name, reply string, h func(ctx context.Context, req Req, emit func(Rep) error) error) error {
	if err := troupe.ValidName(reply); err != nil {
		return fmt.Errorf("service %s: stream %q: reply %w", s.cfg.Name, name, err)
	}
	return s.register(name, typed(func(ctx context.Context, m *bus.Msg, req Req) (string, any, error) {
		var (
			last    Rep
			pending bool
		)
		// Each value is held back until the next one (or the end) shows
		// whether it is the final reply.
		emit := func(v Rep) error {
			if pending && m.Env.Kind == troupe.KindRequest {
				if err := m.ReplyMore(ctx, reply, last); err != nil {
					return err
				}
			}
			last, pending = v, true
			return nil
		}
		err := h(ctx, req, emit)
		if err != nil && pending && m.Env.Kind == troupe.KindRequest {
			_ = m.ReplyMore(ctx, reply, last)
		}
		if !pending {
			return reply, nil, err
		}
		return reply, last, err
	}))
}

// typed makes the innermost Handler of a typed handler: it decodes the
// payload into In (a bad_request error without calling run if that fails),
// runs run, and answers a request with run's reply (name and value). It
// returns run's error unanswered; serve answers it after the interceptors.
func typed[In any](run func(ctx context.Context, m *bus.Msg, in In) (string, any, error)) Handler {
	plainIn := isPlain(reflect.TypeFor[In]())
	zeroIn := zeroFromEmpty(reflect.TypeFor[In]())
	return func(ctx context.Context, m *bus.Msg) error {
		var in In
		if !decodeInto(m.Env, &in, plainIn) && !(zeroIn && emptyObject(m.Env.Payload)) { // plain.go
			// Decoded through a pointer of its own, so that in stays
			// on the stack when the sender's value is used.
			p := new(In)
			if err := decode(m.Env, p); err != nil {
				return err
			}
			in = *p
		}
		name, out, err := run(ctx, m, in)
		if err != nil {
			return err
		}
		if m.Env.Kind == troupe.KindRequest {
			// A reply that cannot be sent (too late, too large) fails
			// the delivery; serve sends no Error reply after it. The
			// bus sends a reply whether or not ctx is done (it checks
			// the deadline itself).
			return m.Reply(ctx, name, out)
		}
		return nil
	}
}

// decode reads env's payload into v; a failure is a bad_request *troupe.Error.
func decode(env *troupe.Envelope, v any) error {
	if len(env.Payload) == 0 {
		return nil
	}
	if err := strictjson.Check(env.Payload); err != nil {
		return &troupe.Error{Code: troupe.CodeBadRequest, Msg: fmt.Sprintf("%s: payload: %v", env.Name, err)}
	}
	if err := json.Unmarshal(env.Payload, v); err != nil {
		return &troupe.Error{Code: troupe.CodeBadRequest, Msg: fmt.Sprintf("%s: payload: %s", env.Name, strictjson.Describe(err))}
	}
	return nil
}

// Principal returns the user a handler's message was sent for
// (troupe.PrincipalFrom), or a forbidden *troupe.Error when it carries none:
// a handler that acts for users returns that error as it is. The manifest
// can make the bus refuse such messages before any handler runs
// (MessageDecl.Principal and Roles); this is the handler's own check.
func Principal(ctx context.Context) (*troupe.Principal, error) {
	if p := troupe.PrincipalFrom(ctx); p != nil {
		return p, nil
	}
	name := "the message"
	if env := bus.EnvelopeFrom(ctx); env != nil {
		name = env.Name
	}
	return nil, troupe.Errorf(troupe.CodeForbidden, "%s: needs an authenticated user", name)
}

// answerError sends err as an Error reply to a request that has no final
// reply yet and settles m as failed.
func answerError(m *bus.Msg, err error) {
	if m.Env.Kind == troupe.KindRequest && !m.Replied() {
		_ = m.ReplyError(context.WithoutCancel(m.Context()), err)
	}
	m.Done(err)
}
