package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/troupe-go/troupe"
)

// An EnvelopeRequester is a Requester that lets the gateway build the
// request's envelope before it is sent, so that the request carries the
// HTTP request's W3C trace context (traceparent, tracestate) on to the
// bus. *bus.Client is one; with a plain Requester the trace context stops
// at the gateway.
type EnvelopeRequester interface {
	Requester
	Prepare(ctx context.Context, kind troupe.Kind, name string, payload any) (*troupe.Envelope, error)
	RequestEnvelope(ctx context.Context, env *troupe.Envelope) (*troupe.Envelope, error)
}

// The W3C Trace Context headers.
const (
	headerTraceParent = "traceparent"
	headerTraceState  = "tracestate"
	maxTraceState     = 512
)

// request sends the bus request of an HTTP request, with its trace context
// when it has a valid one, and waits for its reply until deadline. With an
// EnvelopeRequester the deadline is the envelope's (brought forward if the
// bus's own would be later), which the bus keeps with a timer of its own
// while r's context still ends the wait if the client goes: no context
// timer per request. A plain Requester gets a context that ends at the
// deadline.
func (g *Gateway) request(r *http.Request, name string, payload json.RawMessage, deadline time.Time) (*troupe.Envelope, error) {
	ctx := r.Context()
	er, ok := g.cfg.Bus.(EnvelopeRequester)
	if !ok {
		ctx, cancel := context.WithDeadline(ctx, deadline)
		defer cancel()
		return g.cfg.Bus.Request(ctx, name, payload)
	}
	env, err := er.Prepare(ctx, troupe.KindRequest, name, payload)
	if err != nil {
		return nil, err
	}
	if env.Deadline.IsZero() || deadline.Before(env.Deadline) {
		env.Deadline = deadline
	}
	if tp := r.Header.Get(headerTraceParent); validTraceParent(tp) {
		if env.Headers == nil {
			env.Headers = make(map[string]string, 2)
		}
		env.Headers[headerTraceParent] = tp
		if ts := r.Header.Get(headerTraceState); ts != "" && len(ts) <= maxTraceState && printable(ts) {
			env.Headers[headerTraceState] = ts
		}
	}
	return er.RequestEnvelope(ctx, env)
}

// validTraceParent reports whether s is a traceparent of version 00 (or a
// later version in its 00 form), as the W3C recommendation defines it:
// version, trace id, parent id and flags in lower-case hex, neither id all
// zeros.
func validTraceParent(s string) bool {
	if len(s) != 55 || s[2] != '-' || s[35] != '-' || s[52] != '-' || s[:2] == "ff" {
		return false
	}
	for i, c := range []byte(s) {
		if i == 2 || i == 35 || i == 52 {
			continue
		}
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return s[3:35] != "00000000000000000000000000000000" && s[36:52] != "0000000000000000"
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
