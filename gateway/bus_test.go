package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/troupe-go/troupe"
)

// testBus answers the test application's messages. Slow receives a value
// each time a Slow request starts; a Slow request is answered when its
// context ends.
type testBus struct {
	Requester
	slow chan struct{}
}

// handlerFunc answers one request.
type handlerFunc func(ctx context.Context, payload json.RawMessage) (name string, reply any, err error)

// testHandlers returns the test application's handlers.
func (tb *testBus) handlers() map[string]handlerFunc {
	return map[string]handlerFunc{
		"Hello": func(context.Context, json.RawMessage) (string, any, error) { return "World", nil, nil },
		"hello": func(context.Context, json.RawMessage) (string, any, error) { return "world", nil, nil },
		"Echo": func(_ context.Context, p json.RawMessage) (string, any, error) {
			return "Echoed", p, nil
		},
		"Value": func(context.Context, json.RawMessage) (string, any, error) { return "Number", 42, nil },
		"Null":  func(context.Context, json.RawMessage) (string, any, error) { return "Nothing", nil, nil },
		"Fail": func(context.Context, json.RawMessage) (string, any, error) {
			return "", nil, &troupe.Error{Code: troupe.CodeConflict, Msg: "already there", Incident: "INC1"}
		},
		"Boom": func(context.Context, json.RawMessage) (string, any, error) {
			return "", nil, errors.New("secret database password in a message")
		},
		"Slow": func(ctx context.Context, _ json.RawMessage) (string, any, error) {
			select {
			case tb.slow <- struct{}{}:
			default:
			}
			<-ctx.Done()
			return "", nil, ctx.Err()
		},
		"todo.get": func(_ context.Context, p json.RawMessage) (string, any, error) { return "Todo", p, nil },
		"todo.put": func(_ context.Context, p json.RawMessage) (string, any, error) { return "Saved", p, nil },
	}
}

// inprocRequester calls handlers directly.
type inprocRequester map[string]handlerFunc

func (m inprocRequester) Request(ctx context.Context, name string, payload any) (*troupe.Envelope, error) {
	h, ok := m[name]
	if !ok {
		return nil, troupe.Errorf(troupe.CodeNotFound, "no service receives %s", name)
	}
	p, _ := payload.(json.RawMessage)
	rname, reply, err := h(ctx, p)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(reply)
	if err != nil {
		return nil, err
	}
	return &troupe.Envelope{Kind: troupe.KindReply, Name: rname, Payload: b}, nil
}

func newTestBus(t *testing.T) *testBus {
	tb := &testBus{slow: make(chan struct{}, 1)}
	tb.Requester = inprocRequester(tb.handlers())
	return tb
}
