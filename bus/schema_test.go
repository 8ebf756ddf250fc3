package bus_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
)

// TestSharedInProcChecksOnArrival checks that the receiving side's check is
// skipped only for what its own Bus validated: a Bus without the schema,
// sharing the in-process transport, cannot slip a payload past a Bus that
// has it.
func TestSharedInProcChecksOnArrival(t *testing.T) {
	tr := bus.NewInProc()
	defer tr.Close(context.Background())
	services := []troupe.ServiceDecl{
		{Name: "web", Sends: []string{"signup"}},
		{Name: "greeter", Receives: []string{"signup"}},
	}
	lax := &troupe.App{Name: "shop", Services: services}
	strict := &troupe.App{Name: "shop", Services: services, Messages: []troupe.MessageDecl{
		{Name: "signup", Payload: json.RawMessage(`{"type":"object","required":["email"]}`)},
	}}
	quiet := slog.New(slog.DiscardHandler)
	sender, err := bus.New(bus.Config{App: lax, Transport: tr, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	receiver, err := bus.New(bus.Config{App: strict, Transport: tr, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	defer sender.Close(ctx)
	defer receiver.Close(ctx)
	g, err := receiver.Join(ctx, "greeter", "g1")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *bus.Msg, 2)
	if err := g.Handle("signup", bus.HandlerFunc(func(_ context.Context, m *bus.Msg) { got <- m })); err != nil {
		t.Fatal(err)
	}
	w, err := sender.Join(ctx, "web", "w1")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Send(ctx, "signup", map[string]string{"name": "A"}); err != nil {
		t.Fatalf("Send on the lax bus: %v", err)
	}
	// InProc delivers in the sender's goroutine: by now it is refused.
	select {
	case m := <-got:
		t.Fatalf("the strict bus delivered %s", m.Env.Payload)
	default:
	}
	if n := receiver.Stats().Messages["signup"].Refusals; n != 1 {
		t.Errorf("refusals at the strict bus = %d, want 1", n)
	}
	if err := w.Send(ctx, "signup", map[string]string{"email": "a@b"}); err != nil {
		t.Fatal(err)
	}
	<-got
}
