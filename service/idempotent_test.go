package service_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/service"
)

// A durable message whose handler fails is redelivered with the same
// idempotency key and the next attempt number.
func TestIdempotencyKeyAndAttempt(t *testing.T) {
	app := &troupe.App{Name: "jobs", Services: []troupe.ServiceDecl{
		{Name: "worker", Receives: []string{"job"}, Durable: []string{"job"}},
		{Name: "boss", Sends: []string{"job"}},
	}}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	b, err := bus.New(bus.Config{App: app, Logger: quiet, Backoff: func(int) time.Duration { return time.Millisecond }})
	if err != nil {
		t.Fatal(err)
	}
	sys := actor.NewSystem(actor.Config{Logger: quiet})
	type seen struct {
		Key     string
		Attempt int
	}
	got := make(chan seen, 10)
	w := service.New(service.Config{Name: "worker"})
	if err := service.On(w, "job", func(ctx context.Context, _ struct{}) error {
		s := seen{service.IdempotencyKey(ctx), service.Attempt(ctx)}
		got <- s
		if s.Attempt == 1 {
			return errors.New("the first attempt fails")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := w.Start(ctx, b, sys); err != nil {
		t.Fatal(err)
	}
	boss, err := b.Join(ctx, "boss", "boss-1")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = w.Stop(ctx)
		_ = b.Close(ctx)
		_ = sys.Shutdown(ctx)
	}()
	if err := boss.Send(ctx, "job", nil); err != nil {
		t.Fatal(err)
	}
	var seens []seen
	for len(seens) < 2 {
		select {
		case s := <-got:
			seens = append(seens, s)
		case <-time.After(30 * time.Second):
			t.Fatalf("deliveries %v, want two", seens)
		}
	}
	if seens[0].Key == "" || !troupe.ValidID(seens[0].Key) {
		t.Fatalf("key %q is not a message id", seens[0].Key)
	}
	want := []seen{{seens[0].Key, 1}, {seens[0].Key, 2}}
	if diff := cmp.Diff(want, seens); diff != "" {
		t.Errorf("deliveries (-want +got):\n%s", diff)
	}
	if service.IdempotencyKey(ctx) != "" || service.Attempt(ctx) != 0 {
		t.Error("outside a handler, the key and attempt are not empty")
	}
}
