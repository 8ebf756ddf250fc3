package gateway

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
)

// testBus is the test application running on the real in-process bus: a
// "hello" service answers the messages, the gateway's client sends them.
// slow receives a value each time a Slow request arrives; Slow is never
// answered, so the bus's deadline ends it.
type testBus struct {
	*bus.Client
	slow chan struct{}
}

// testHandlers returns the hello service's handlers, by message name.
func (tb *testBus) handlers() map[string]bus.HandlerFunc {
	reply := func(name string, payload func(m *bus.Msg) any) bus.HandlerFunc {
		return func(ctx context.Context, m *bus.Msg) {
			var p any
			if payload != nil {
				p = payload(m)
			}
			_ = m.Reply(ctx, name, p)
		}
	}
	same := func(m *bus.Msg) any { return m.Env.Payload }
	return map[string]bus.HandlerFunc{
		"Hello":    reply("World", nil),
		"hello":    reply("world", nil),
		"Echo":     reply("Echoed", same),
		"Value":    reply("Number", func(*bus.Msg) any { return 42 }),
		"Null":     reply("Nothing", nil),
		"todo.get": reply("Todo", same),
		"todo.put": reply("Saved", same),
		"Fail": func(ctx context.Context, m *bus.Msg) {
			_ = m.ReplyError(ctx, &troupe.Error{Code: troupe.CodeConflict, Msg: "already there", Incident: "INC1"})
		},
		"Boom": func(ctx context.Context, m *bus.Msg) {
			_ = m.ReplyError(ctx, errors.New("boom"))
		},
		"Slow": func(context.Context, *bus.Msg) {
			select {
			case tb.slow <- struct{}{}:
			default:
			}
		},
	}
}

// newTestBus starts the test application on a new in-process bus, closed
// when the test ends, and returns the gateway's client.
func newTestBus(t testing.TB) *testBus {
	t.Helper()
	ctx := context.Background()
	b, err := bus.New(bus.Config{App: testApp(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(ctx); err != nil {
			t.Errorf("closing the bus: %v", err)
		}
	})
	svc, err := b.Join(ctx, "hello", "h1")
	if err != nil {
		t.Fatal(err)
	}
	tb := &testBus{slow: make(chan struct{}, 1)}
	for name, h := range tb.handlers() {
		if err := svc.Handle(name, h); err != nil {
			t.Fatal(err)
		}
	}
	tb.Client, err = b.Join(ctx, troupe.GatewayService, "g1")
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// The bus's client is what the gateway consumes.
var _ Requester = (*bus.Client)(nil)
