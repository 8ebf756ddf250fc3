package service

import (
	"context"
	"fmt"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
)

// A Handler handles one message delivered to a service. The innermost one,
// made by Handle, On or Stream, decodes the payload, calls the typed handler
// and sends its reply; it returns the typed handler's error without
// answering it. Serving-side interceptors ([Middleware]) wrap it.
//
// ctx ends at the message's deadline and carries its envelope (see
// bus.EnvelopeFrom); m is the delivered message. When the outermost Handler
// returns an error, the service answers a request with it (an Error reply; a
// *troupe.Error keeps its code) unless a final reply was already sent, and
// settles the delivery as failed, so a durable message is redelivered. When
// it returns nil the delivery is settled as done, and a request that got no
// final reply is answered with an internal Error rather than left to time
// out.
type Handler func(ctx context.Context, m *bus.Msg) error

// Middleware is a serving-side interceptor: it wraps a Handler with work of
// its own before and after it, as net/http middleware wraps an http.Handler.
// It sees the context and the delivered envelope (m.Env: name, sender,
// headers, deadline) and may refuse the message by returning an error
// without calling next (authorization), add values to the context (a trace
// span), or time and count next's outcome (metrics). It runs inside the
// message's request process, so a panic in it is a crash like a handler's:
// one crash report, an Error reply with the incident, the service keeps
// serving.
//
// Config.Middleware lists a service's interceptors, outermost first; they
// wrap every handler of the service.
type Middleware func(next Handler) Handler

// An Outgoing is one message a service sends (a request, a send, a publish,
// or the request of a Collect) as calling-side interceptors see it.
//
// An interceptor may set headers (SetHeader) and bring Env.Deadline
// forward; the rest of Env is the bus's and must not change. It must not
// keep out, or Env, after it returns: a retry sends a copy of Env, and a
// receiver in this process may hold the one sent.
type Outgoing struct {
	// Env is the envelope to send, built and checked by the bus: its ID,
	// activity, sender, deadline and payload are set.
	Env *troupe.Envelope
	// Target is the service that receives Env.Name, or "" when several
	// do (the breaker, retries and fallback then do not apply).
	Target string

	r     *route
	opts  callOptions
	each  func(*troupe.Envelope) bool // a Collect's: replies go here
	cause error                       // set by the fallback: the error it replaced
}

// SetHeader sets header key to value on the outgoing envelope (a trace
// context, a credential). Keys starting with "troupe-" are troupe's own.
func (o *Outgoing) SetHeader(key, value string) {
	if o.Env.Headers == nil {
		o.Env.Headers = make(map[string]string, 2)
	}
	o.Env.Headers[key] = value
}

// An Invoker sends an outgoing message and returns the reply to a request
// (nil for a send, a publish or a Collect, whose replies go to its callback)
// or the error it ended with: an Error reply comes back as a *troupe.Error.
// The innermost Invoker is the bus; [CallMiddleware] wraps it.
type Invoker func(ctx context.Context, out *Outgoing) (*troupe.Envelope, error)

// CallMiddleware is a calling-side interceptor: it wraps an Invoker with
// work of its own, as an http.RoundTripper wrapper does. It sees the
// context, the outgoing envelope and the outcome, and may add headers
// (tracing, credentials), count and time the call (metrics), or refuse it
// by returning an error without calling next.
//
// Config.CallMiddleware lists a service's interceptors, outermost first.
// Every message the service sends passes through them first, then through
// troupe's own three, each a CallMiddleware too: the fallback, the retries
// and the circuit breaker, in that order, and then the bus. So a caller's
// interceptor sees one call per Request, whatever the retries did, with its
// final outcome (a fallback reply included, see HeaderFallback); headers it
// sets travel with every attempt.
type CallMiddleware func(next Invoker) Invoker

// chainHandler wraps h in mws, the first outermost.
func chainHandler(h Handler, mws []Middleware) Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

// chainInvoker wraps inv in mws, the first outermost.
func chainInvoker(inv Invoker, mws []CallMiddleware) Invoker {
	for i := len(mws) - 1; i >= 0; i-- {
		inv = mws[i](inv)
	}
	return inv
}

// busInvoker is the innermost Invoker: it hands the envelope to the bus.
func busInvoker(c *bus.Client) Invoker {
	return func(ctx context.Context, out *Outgoing) (*troupe.Envelope, error) {
		switch {
		case out.Env.Kind != troupe.KindRequest:
			return nil, c.SendEnvelope(ctx, out.Env)
		case out.each != nil:
			_, err := c.CollectEnvelope(ctx, out.Env, out.each)
			return nil, err
		}
		return c.RequestEnvelope(ctx, out.Env)
	}
}

// serve runs h for m in the message's request process and settles m with
// h's outcome (see Handler).
func serve(h Handler, m *bus.Msg) {
	// The message's context ends at its deadline, and when m is settled
	// below (bus.Msg.Context).
	err := h(m.Context(), m)
	if err == nil && m.Env.Kind == troupe.KindRequest && !m.Replied() {
		err = &troupe.Error{Code: troupe.CodeInternal, Msg: fmt.Sprintf("%s: the handler returned without a reply", m.Env.Name)}
	}
	if err != nil {
		answerError(m, err)
		return
	}
	m.Done(nil)
}
