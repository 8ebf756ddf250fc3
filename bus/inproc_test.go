package bus_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
)

func durableApp() *troupe.App {
	return &troupe.App{Name: "durable", Services: []troupe.ServiceDecl{
		{Name: "web", Sends: []string{"job", "greet"}},
		{Name: "worker", Receives: []string{"job"}, Durable: []string{"job"}},
		{Name: "greeter", Receives: []string{"greet"}},
	}}
}

func newInProcBus(t *testing.T, tr *bus.InProc, cfg bus.Config) *bus.Bus {
	t.Helper()
	cfg.App = durableApp()
	cfg.Transport = tr
	cfg.Logger = slog.New(slog.DiscardHandler)
	b, err := bus.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(context.Background()); err != nil {
			t.Error(err)
		}
		if err := tr.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return b
}

func mustJoin(t *testing.T, b *bus.Bus, service, instance string) *bus.Client {
	t.Helper()
	c, err := b.Join(context.Background(), service, instance)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustHandle(t *testing.T, c *bus.Client, name string, f func(ctx context.Context, m *bus.Msg)) {
	t.Helper()
	if err := c.Handle(name, bus.HandlerFunc(f)); err != nil {
		t.Fatal(err)
	}
}

func next[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("gave up waiting")
		panic("unreachable")
	}
}

type attempt struct {
	instance string
	n        int
}

func TestInProcRedeliversWithoutAck(t *testing.T) {
	tr := bus.NewInProcWith(bus.InProcConfig{AckTimeout: 10 * time.Millisecond})
	b := newInProcBus(t, tr, bus.Config{})
	got := make(chan attempt, 10)
	w := mustJoin(t, b, "worker", "w1")
	mustHandle(t, w, "job", func(ctx context.Context, m *bus.Msg) {
		got <- attempt{"w1", m.Attempt()}
		if m.Attempt() > 1 {
			m.Done(nil)
		} // the first attempt is never settled
	})
	web := mustJoin(t, b, "web", "web1")
	if err := web.Send(context.Background(), "job", nil); err != nil {
		t.Fatal(err)
	}
	if got, want := next(t, got), (attempt{"w1", 1}); got != want {
		t.Errorf("first delivery %v, want %v", got, want)
	}
	if got, want := next(t, got), (attempt{"w1", 2}); got != want {
		t.Errorf("redelivery %v, want %v", got, want)
	}
}

func TestInProcRedeliversToAnotherInstance(t *testing.T) {
	tr := bus.NewInProc()
	b := newInProcBus(t, tr, bus.Config{})
	got := make(chan attempt, 10)
	w1 := mustJoin(t, b, "worker", "w1")
	mustHandle(t, w1, "job", func(ctx context.Context, m *bus.Msg) { got <- attempt{"w1", m.Attempt()} })
	web := mustJoin(t, b, "web", "web1")
	if err := web.Send(context.Background(), "job", nil); err != nil {
		t.Fatal(err)
	}
	if got, want := next(t, got), (attempt{"w1", 1}); got != want {
		t.Errorf("first delivery %v, want %v", got, want)
	}
	// w1 leaves without settling; the job waits for the next instance.
	if err := w1.Close(); err != nil {
		t.Fatal(err)
	}
	w2 := mustJoin(t, b, "worker", "w2")
	mustHandle(t, w2, "job", func(ctx context.Context, m *bus.Msg) {
		got <- attempt{"w2", m.Attempt()}
		m.Done(nil)
	})
	if got, want := next(t, got), (attempt{"w2", 2}); got != want {
		t.Errorf("redelivery %v, want %v", got, want)
	}
	// Accepted while no instance is subscribed: delivered on the next join.
	if err := w2.Close(); err != nil {
		t.Fatal(err)
	}
	if err := web.Send(context.Background(), "job", "later"); err != nil {
		t.Fatalf("durable send with no instance subscribed: %v", err)
	}
	w3 := mustJoin(t, b, "worker", "w3")
	mustHandle(t, w3, "job", func(ctx context.Context, m *bus.Msg) {
		got <- attempt{"w3", m.Attempt()}
		m.Done(nil)
	})
	if got, want := next(t, got), (attempt{"w3", 1}); got != want {
		t.Errorf("delivery after join %v, want %v", got, want)
	}
}

func TestInProcDeadLetters(t *testing.T) {
	tests := []struct {
		name     string
		cfg      bus.InProcConfig
		busCfg   bus.Config
		attempts int
	}{
		{"BusMaxAttempts", bus.InProcConfig{}, bus.Config{MaxAttempts: 2, Backoff: func(int) time.Duration { return 0 }}, 2},
		{"TransportMaxDeliver", bus.InProcConfig{MaxDeliver: 3}, bus.Config{MaxAttempts: 10, Backoff: func(int) time.Duration { return 0 }}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := bus.NewInProcWith(tt.cfg)
			b := newInProcBus(t, tr, tt.busCfg)
			w := mustJoin(t, b, "worker", "w1")
			mustHandle(t, w, "job", func(ctx context.Context, m *bus.Msg) { m.Done(errors.New("nope")) })
			web := mustJoin(t, b, "web", "web1")
			if err := web.Send(context.Background(), "job", "x"); err != nil {
				t.Fatal(err)
			}
			var dead []bus.DeadLetter
			for deadline := time.Now().Add(10 * time.Second); len(dead) == 0; dead = tr.DeadLetters() {
				if time.Now().After(deadline) {
					t.Fatal("no dead letter")
				}
				time.Sleep(time.Millisecond)
			}
			d := dead[0]
			if got, want := [3]any{len(dead), d.Service, d.Attempts}, [3]any{1, "worker", tt.attempts}; got != want {
				t.Errorf("dead letters (count, service, attempts) = %v, want %v", got, want)
			}
			if got, want := string(d.Env.Payload), `"x"`; got != want {
				t.Errorf("dead letter payload %s, want %s", got, want)
			}
		})
	}
}

func TestInProcAckerSettlesOnce(t *testing.T) {
	tr := bus.NewInProc()
	t.Cleanup(func() { _ = tr.Close(context.Background()) })
	acks := make(chan bus.Acker, 1)
	p, err := tr.Join(context.Background(), troupe.Member{Service: "worker", Instance: "w1"}, bus.DelivererFunc(func(*troupe.Envelope, bus.Acker) {}))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Subscribe("job", bus.OneInstance, bus.DelivererFunc(func(env *troupe.Envelope, ack bus.Acker) { acks <- ack })); err != nil {
		t.Fatal(err)
	}
	env := &troupe.Envelope{Kind: troupe.KindSend, Name: "job", ID: troupe.NewID(), Durable: true,
		Sender: troupe.Member{Service: "worker", Instance: "w1"}, SentAt: time.Now()}
	if err := p.Route(context.Background(), env); err != nil {
		t.Fatal(err)
	}
	ack := next(t, acks)
	if ack == nil {
		t.Fatal("durable delivery without an Acker")
	}
	if err := ack.Ack(); err != nil {
		t.Errorf("first Ack: %v", err)
	}
	for name, f := range map[string]func() error{
		"Ack": ack.Ack, "Nak": func() error { return ack.Nak(0) }, "Term": func() error { return ack.Term("x") },
	} {
		if err := f(); err == nil {
			t.Errorf("%s after Ack succeeded, want an error", name)
		}
	}
}

func TestInProcJoinAndClose(t *testing.T) {
	ctx := context.Background()
	tr := bus.NewInProc()
	inbox := bus.DelivererFunc(func(*troupe.Envelope, bus.Acker) {})
	m := troupe.Member{Service: "web", Instance: "a"}
	p, err := tr.Join(ctx, m, inbox)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Join(ctx, m, inbox); err == nil {
		t.Error("second Join of the same member succeeded")
	}
	if _, err := tr.Join(ctx, troupe.Member{Service: "web", Instance: "b"}, nil); err == nil {
		t.Error("Join with a nil inbox succeeded")
	}
	if err := p.Reply(ctx, troupe.Member{Service: "web", Instance: "nobody"}, &troupe.Envelope{}); err == nil {
		t.Error("Reply to a member that did not join succeeded")
	}
	if err := p.Route(ctx, nil); err == nil {
		t.Error("Route(nil) succeeded")
	}
	if err := tr.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
	env := &troupe.Envelope{Kind: troupe.KindSend, Name: "job", ID: troupe.NewID(), Sender: m, SentAt: time.Now()}
	if err := p.Route(ctx, env); err == nil {
		t.Error("Route after Close succeeded")
	}
	if _, err := tr.Join(ctx, troupe.Member{Service: "web", Instance: "c"}, inbox); err == nil {
		t.Error("Join after Close succeeded")
	}
}

func TestClientCloseFailsOutstanding(t *testing.T) {
	tr := bus.NewInProc()
	b := newInProcBus(t, tr, bus.Config{Timeout: time.Hour})
	held := make(chan *bus.Msg, 2)
	g := mustJoin(t, b, "greeter", "g1")
	mustHandle(t, g, "greet", func(ctx context.Context, m *bus.Msg) { held <- m })
	web := mustJoin(t, b, "web", "web1")
	call, err := web.Call(context.Background(), "greet", nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := web.Request(context.Background(), "greet", nil); done <- err }()
	next(t, held)
	next(t, held)
	if err := web.Close(); err != nil {
		t.Fatal(err)
	}
	if err := next(t, done); !errors.Is(err, troupe.ErrUnavailable) {
		t.Errorf("Request at Close = %v, want ErrUnavailable", err)
	}
	if _, err := call.Next(context.Background()); !errors.Is(err, troupe.ErrUnavailable) {
		t.Errorf("Call.Next after Close = %v, want ErrUnavailable", err)
	}
	if err := web.Send(context.Background(), "greet", nil); !errors.Is(err, troupe.ErrUnavailable) {
		t.Errorf("Send after Close = %v, want ErrUnavailable", err)
	}
	if got, want := b.Stats().Services["web"].InFlight, int64(0); got != want {
		t.Errorf("in flight after Close = %d, want %d", got, want)
	}
}

func TestDurableDuplicateDropped(t *testing.T) {
	tr := bus.NewInProc()
	b := newInProcBus(t, tr, bus.Config{})
	got := make(chan troupe.ID, 10)
	w := mustJoin(t, b, "worker", "w1")
	mustHandle(t, w, "job", func(ctx context.Context, m *bus.Msg) {
		got <- m.Env.ID
		m.Done(nil)
	})
	// A raw member of "web" routes the same durable envelope twice, as a
	// transport that lost an ack would redeliver it.
	p, err := tr.Join(context.Background(), troupe.Member{Service: "web", Instance: "raw"}, bus.DelivererFunc(func(*troupe.Envelope, bus.Acker) {}))
	if err != nil {
		t.Fatal(err)
	}
	env := &troupe.Envelope{Kind: troupe.KindSend, Name: "job", ID: troupe.NewID(), Durable: true,
		Sender: troupe.Member{Service: "web", Instance: "raw"}, SentAt: time.Now()}
	env.ActivityID = env.ID
	for range 2 {
		if err := p.Route(context.Background(), env); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := next(t, got), env.ID; got != want {
		t.Errorf("handled %s, want %s", got, want)
	}
	select {
	case id := <-got:
		t.Errorf("duplicate %s handled again", id)
	case <-time.After(100 * time.Millisecond):
	}
	if got, want := b.Stats().Services["worker"].Dropped, uint64(1); got != want {
		t.Errorf("worker dropped = %d, want %d", got, want)
	}
}
