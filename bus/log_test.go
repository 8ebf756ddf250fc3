package bus_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
)

// recorder is a slog.Handler that keeps the records it gets.
type recorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	r.recs = append(r.recs, rec)
	r.mu.Unlock()
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

func (r *recorder) warnings() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, rec := range r.recs {
		if rec.Level >= slog.LevelWarn {
			n++
		}
	}
	return n
}

func TestRefusalIsOneLogRecord(t *testing.T) {
	ctx := context.Background()
	rec := &recorder{}
	b, err := bus.New(bus.Config{App: testApp(), Logger: slog.New(rec)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close(ctx) })
	w, err := b.Join(ctx, "web", "w1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		do   func() error
		want *troupe.Error
	}{
		{"Forbidden", func() error { return w.Send(ctx, "secret", nil) }, troupe.ErrForbidden},
		{"NoReceiver", func() error { return w.Send(ctx, "unheard", nil) }, troupe.ErrNotFound},
		{"BadPayload", func() error { return w.Send(ctx, "greet", []byte("{")) }, troupe.ErrBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := rec.warnings()
			if err := tt.do(); !errors.Is(err, tt.want) {
				t.Errorf("error = %v, want %v", err, tt.want.Code)
			}
			if got, want := rec.warnings()-before, 1; got != want {
				t.Errorf("log records = %d, want %d", got, want)
			}
		})
	}
}

func TestRequestCancelled(t *testing.T) {
	ctx := context.Background()
	b := newBus(t)
	held := make(chan *bus.Msg, 1)
	g, err := b.Join(ctx, "greeter", "g1")
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Handle("greet", bus.HandlerFunc(func(ctx context.Context, m *bus.Msg) { held <- m })); err != nil {
		t.Fatal(err)
	}
	w, err := b.Join(ctx, "web", "w1")
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		<-held
		cancel()
	}()
	_, err = w.Request(cctx, "greet", nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Request cancelled = %v, want context.Canceled", err)
	}
	if errors.Is(err, troupe.ErrTimeout) {
		t.Errorf("a cancelled request reported a timeout: %v", err)
	}
	if got, want := b.Stats().Messages["greet"].InFlight, int64(0); got != want {
		t.Errorf("in flight = %d, want %d", got, want)
	}
}
