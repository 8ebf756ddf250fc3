package service

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/troupe-go/troupe"
)

// HeaderFallback is the header of a reply that the caller's own fallback
// made, not the target: its value is the code of the error the fallback
// replaced ("timeout", "unavailable", ...). A calling-side interceptor sees
// it on the reply.
const HeaderFallback = "troupe-fallback"

// FallbackName is the name of a reply that a fallback made.
const FallbackName = "Fallback"

// A CallOption changes one call: Idempotent, Fallback, FallbackFunc.
type CallOption func(*callOptions)

type callOptions struct {
	idempotent bool
	fallback   func(ctx context.Context, err error) (any, error)
}

// Fallback gives the value a request returns instead of an error when its
// target cannot answer: the request failed by the target's fault
// (unavailable, its breaker open, no instance, past the deadline, internal)
// after any retries. Answers such as bad_request, not_found or forbidden,
// the caller's own errors and a cancelled context are returned as they
// are. The value goes through JSON as a reply would, so v must be of the
// request's reply type; the reply says it came from the fallback
// (Reply.Fallback, HeaderFallback) and the target's Fallbacks count grows.
func Fallback[Rep any](v Rep) CallOption {
	return FallbackFunc(func(context.Context, error) (Rep, error) { return v, nil })
}

// FallbackFunc is Fallback with a function: f is called with the error the
// request ended with, and its value is the reply; if f returns an error,
// the request returns it instead (f may return err to give up).
func FallbackFunc[Rep any](f func(ctx context.Context, err error) (Rep, error)) CallOption {
	return func(o *callOptions) {
		o.fallback = func(ctx context.Context, err error) (any, error) { return f(ctx, err) }
	}
}

// fallbackMiddleware is troupe's fallback as a calling-side interceptor: a
// request with a fallback that failed by its target's fault gets the
// fallback's value as a reply named FallbackName, sent by the caller
// itself, with HeaderFallback set.
func fallbackMiddleware(next Invoker) Invoker {
	return func(ctx context.Context, out *Outgoing) (*troupe.Envelope, error) {
		rep, err := next(ctx, out)
		if err == nil || out.opts.fallback == nil || out.each != nil || !targetFault(err) {
			return rep, err
		}
		v, ferr := out.opts.fallback(ctx, err)
		if ferr != nil {
			return nil, ferr
		}
		raw, merr := json.Marshal(v)
		if merr != nil {
			return nil, &troupe.Error{Code: troupe.CodeInternal, Msg: fmt.Sprintf("service: request %q: fallback: %v", out.Env.Name, merr), Err: merr}
		}
		if t := out.r.t; t != nil {
			t.fallbacks.Add(1)
		}
		out.cause = err
		req := out.Env
		return &troupe.Envelope{
			Kind:       troupe.KindReply,
			Name:       FallbackName,
			ID:         troupe.NewID(),
			ActivityID: req.ActivityID,
			ResponseTo: req.ID,
			Sender:     req.Sender,
			SentAt:     time.Now(),
			Headers:    map[string]string{HeaderFallback: string(troupe.CodeOf(err))},
			Payload:    raw,
		}, nil
	}
}
