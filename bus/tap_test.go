package bus_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
)

func TestTap(t *testing.T) {
	ctx := context.Background()
	b := newBus(t)
	g, err := b.Join(ctx, "greeter", "g1")
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Handle("greet", bus.HandlerFunc(func(ctx context.Context, m *bus.Msg) {
		if mem, ok := bus.MemberFrom(ctx); !ok || mem != g.Member() {
			t.Errorf("MemberFrom(handler's ctx) = %v %v, want %v", mem, ok, g.Member())
		}
		_ = m.Reply(ctx, "greeting", nil)
	})); err != nil {
		t.Fatal(err)
	}
	w, err := b.Join(ctx, "web", "w1")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu     sync.Mutex
		events []string
	)
	remove := b.Tap(func(ev bus.TapEvent) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, ev.Kind.String()+" "+string(ev.Env.Kind)+" "+ev.Env.Name+" "+ev.Member.String())
	})
	panicky := b.Tap(func(bus.TapEvent) { panic("a broken tap") }) // contained
	if _, err := w.Request(ctx, "greet", nil); err != nil {
		t.Fatal(err)
	}
	remove()
	panicky()
	remove() // idempotent
	if _, err := w.Request(ctx, "greet", nil); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	got := strings.Join(events, ", ")
	mu.Unlock()
	// In process, the delivery happens inside the send.
	if want := "delivered request greet greeter/g1, replied reply greeting greeter/g1, sent request greet web/w1"; got != want {
		t.Errorf("tap saw %s\nwant %s", got, want)
	}
	// The counters of each member, with the latency buckets and the
	// handler's time.
	for _, ms := range b.Members() {
		ns := ms.Names["greet"]
		switch ms.Member.Service {
		case "web":
			var n uint64
			for _, c := range ns.Buckets {
				n += c
			}
			if ns.Sent != 2 || n != 2 || len(ns.Buckets) != len(bus.LatencyBounds())+1 || bus.Quantile(ns.Buckets, 0.5) <= 0 {
				t.Errorf("web's greet: %+v", ns)
			}
		case "greeter":
			if ns.Received != 2 || ns.Handled != 2 || ns.HandledTime <= 0 || ms.Joined.IsZero() {
				t.Errorf("greeter's greet: %+v", ns)
			}
		}
	}
}

// TestTraceContextCarriedOn: a message sent with a handler's context
// carries the handled envelope's traceparent and tracestate, and a reply its
// request's unless the handler set its own.
func TestTraceContextCarriedOn(t *testing.T) {
	ctx := context.Background()
	app := &troupe.App{Name: "test", Services: []troupe.ServiceDecl{
		{Name: "web", Sends: []string{"a"}},
		{Name: "front", Receives: []string{"a"}, Sends: []string{"b"}},
		{Name: "back", Receives: []string{"b"}},
	}}
	b, err := bus.New(bus.Config{App: app})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(ctx)
	const tp, ts = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "k=v"
	back, _ := b.Join(ctx, "back", "b1")
	gotB := make(chan map[string]string, 1)
	_ = back.Handle("b", bus.HandlerFunc(func(ctx context.Context, m *bus.Msg) {
		gotB <- m.Env.Headers
		m.SetReplyHeader(bus.HeaderTraceParent, "00-4bf92f3577b34da6a3ce929d0e0e4736-1111111111111111-01")
		_ = m.Reply(ctx, "ok", nil)
	}))
	front, _ := b.Join(ctx, "front", "f1")
	replyB := make(chan map[string]string, 1)
	_ = front.Handle("a", bus.HandlerFunc(func(ctx context.Context, m *bus.Msg) {
		rep, err := front.Request(ctx, "b", nil)
		if err != nil {
			t.Error(err)
		} else {
			replyB <- rep.Headers
		}
		_ = m.Reply(ctx, "ok", nil)
	}))
	web, _ := b.Join(ctx, "web", "w1")
	env, err := web.Prepare(ctx, troupe.KindRequest, "a", nil)
	if err != nil {
		t.Fatal(err)
	}
	env.Headers = map[string]string{bus.HeaderTraceParent: tp, bus.HeaderTraceState: ts, "x-other": "not carried"}
	rep, err := web.RequestEnvelope(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	if h := <-gotB; h[bus.HeaderTraceParent] != tp || h[bus.HeaderTraceState] != ts || h["x-other"] != "" {
		t.Errorf("b's headers = %v, want the trace context of a only", h)
	}
	if h := <-replyB; h[bus.HeaderTraceParent] != "00-4bf92f3577b34da6a3ce929d0e0e4736-1111111111111111-01" {
		t.Errorf("b's reply headers = %v, want the one its handler set", h)
	}
	if rep.Headers[bus.HeaderTraceParent] != tp || rep.Headers[bus.HeaderTraceState] != ts {
		t.Errorf("a's reply headers = %v, want a's trace context", rep.Headers)
	}
}
