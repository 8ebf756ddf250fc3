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

func TestNewRejectsBadConfig(t *testing.T) {
	ok := testApp()
	tests := []struct {
		name string
		cfg  bus.Config
	}{
		{"NoApp", bus.Config{}},
		{"NegativeTimeout", bus.Config{App: ok, Timeout: -time.Second}},
		{"NegativeMaxPayload", bus.Config{App: ok, MaxPayload: -1}},
		{"NegativeMaxOutstanding", bus.Config{App: ok, MaxOutstanding: -1}},
		{"NegativeMaxAttempts", bus.Config{App: ok, MaxAttempts: -1}},
		{"BadServiceName", bus.Config{App: &troupe.App{Services: []troupe.ServiceDecl{{Name: "Bad Name"}}}}},
		{"DuplicateService", bus.Config{App: &troupe.App{Services: []troupe.ServiceDecl{{Name: "a"}, {Name: "a"}}}}},
		{"BadSendName", bus.Config{App: &troupe.App{Services: []troupe.ServiceDecl{{Name: "a", Sends: []string{"1x"}}}}}},
		{"BadReceiveName", bus.Config{App: &troupe.App{Services: []troupe.ServiceDecl{{Name: "a", Receives: []string{""}}}}}},
		{"BadDurableName", bus.Config{App: &troupe.App{Services: []troupe.ServiceDecl{{Name: "a", Durable: []string{"a b"}}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if b, err := bus.New(tt.cfg); err == nil {
				_ = b.Close(context.Background())
				t.Errorf("New succeeded, want an error")
			}
		})
	}
}

func TestJoin(t *testing.T) {
	ctx := context.Background()
	b := newBus(t)
	if _, err := b.Join(ctx, "web", "w1"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name              string
		service, instance string
		want              *troupe.Error
	}{
		{"UndeclaredService", "nobody", "x", troupe.ErrNotFound},
		{"BadInstance", "web", "Not Valid", troupe.ErrBadRequest},
		{"EmptyInstance", "web", "", troupe.ErrBadRequest},
		{"Duplicate", "web", "w1", troupe.ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := b.Join(ctx, tt.service, tt.instance); !errors.Is(err, tt.want) {
				t.Errorf("Join(%q, %q) = %v, want %v", tt.service, tt.instance, err, tt.want.Code)
			}
		})
	}
}

func TestJoinAfterClose(t *testing.T) {
	b, err := bus.New(bus.Config{App: testApp(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Join(context.Background(), "web", "w1"); !errors.Is(err, troupe.ErrUnavailable) {
		t.Errorf("Join after Close = %v, want ErrUnavailable", err)
	}
}

func TestGatewayDeclaredByRoutes(t *testing.T) {
	ctx := context.Background()
	app := &troupe.App{
		Services: []troupe.ServiceDecl{{Name: "todo", Receives: []string{"todo.list", "todo.add"}}},
		Routes: []troupe.Route{
			{Method: "GET", Path: "/api/todos", Message: "todo.list"},
			{Path: "/", Types: []string{"todo.add"}},
		},
	}
	b, err := bus.New(bus.Config{App: app, Logger: slog.New(slog.DiscardHandler), Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close(ctx) })
	td, err := b.Join(ctx, "todo", "t1")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"todo.list", "todo.add"} {
		if err := td.Handle(n, bus.HandlerFunc(func(ctx context.Context, m *bus.Msg) { _ = m.Reply(ctx, "ok", nil) })); err != nil {
			t.Fatal(err)
		}
	}
	gw, err := b.Join(ctx, troupe.GatewayService, "gw1")
	if err != nil {
		t.Fatalf("Join(gateway): %v", err)
	}
	for _, n := range []string{"todo.list", "todo.add"} {
		if _, err := gw.Request(ctx, n, nil); err != nil {
			t.Errorf("gateway Request(%q): %v", n, err)
		}
	}
}

func TestHandle(t *testing.T) {
	b := newBus(t)
	g, err := b.Join(context.Background(), "greeter", "g1")
	if err != nil {
		t.Fatal(err)
	}
	h := bus.HandlerFunc(func(context.Context, *bus.Msg) {})
	if err := g.Handle("greet", nil); !errors.Is(err, troupe.ErrBadRequest) {
		t.Errorf("Handle(nil) = %v, want ErrBadRequest", err)
	}
	if err := g.Handle("greet", h); err != nil {
		t.Fatal(err)
	}
	if err := g.Handle("greet", h); !errors.Is(err, troupe.ErrConflict) {
		t.Errorf("second Handle = %v, want ErrConflict", err)
	}
}

func TestContextWith(t *testing.T) {
	deadline := time.Now().Add(time.Minute)
	env := &troupe.Envelope{ID: troupe.NewID(), Deadline: deadline}
	ctx := bus.ContextWith(context.Background(), env)
	if got := bus.EnvelopeFrom(ctx); got != env {
		t.Errorf("EnvelopeFrom = %p, want %p", got, env)
	}
	if got, ok := ctx.Deadline(); !ok || !got.Equal(deadline) {
		t.Errorf("Deadline = %v, %v; want %v, true", got, ok, deadline)
	}
	earlier, cancel := context.WithDeadline(context.Background(), deadline.Add(-time.Second))
	defer cancel()
	if got, _ := bus.ContextWith(earlier, env).Deadline(); !got.Equal(deadline.Add(-time.Second)) {
		t.Errorf("Deadline under an earlier parent = %v, want the parent's", got)
	}
	if got := bus.EnvelopeFrom(context.Background()); got != nil {
		t.Errorf("EnvelopeFrom(Background) = %v, want nil", got)
	}
	if got := bus.ContextWith(context.Background(), nil); got != context.Background() {
		t.Errorf("ContextWith(ctx, nil) did not return ctx")
	}
}
