package bus

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/troupe-go/troupe"
)

// handlerContext is a handler's context for an envelope due at deadline,
// as a delivery makes it, and the function that ends it (Msg.Done's).
func handlerContext(parent context.Context, deadline time.Time) (context.Context, func()) {
	c := &msgContext{Context: parent, env: &troupe.Envelope{Deadline: deadline}, bounded: true}
	return c, c.release
}

// TestHandlerContext: a handler's lazily timed context behaves as
// context.WithDeadline's: Deadline, Err before and after the deadline, Done
// closing, the parent's cancellation, contexts derived from it, and its end
// when the handler is done; ContextWith's never ends at the deadline.
func TestHandlerContext(t *testing.T) {
	t.Run("deadline passes without Done", func(t *testing.T) {
		ctx, stop := handlerContext(context.Background(), time.Now().Add(20*time.Millisecond))
		defer stop()
		if d, ok := ctx.Deadline(); !ok || d.IsZero() {
			t.Fatalf("Deadline = %v, %v", d, ok)
		}
		if err := ctx.Err(); err != nil {
			t.Fatalf("Err before the deadline = %v", err)
		}
		for ctx.Err() == nil {
			time.Sleep(time.Millisecond)
		}
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Errorf("Err after the deadline = %v", ctx.Err())
		}
	})
	t.Run("Done closes at the deadline", func(t *testing.T) {
		ctx, stop := handlerContext(context.Background(), time.Now().Add(20*time.Millisecond))
		defer stop()
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("Done did not close")
		}
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Errorf("Err = %v", ctx.Err())
		}
	})
	t.Run("the parent's cancel", func(t *testing.T) {
		parent, cancel := context.WithCancel(context.Background())
		ctx, stop := handlerContext(parent, time.Now().Add(time.Hour))
		defer stop()
		derived, dcancel := context.WithCancel(ctx)
		defer dcancel()
		cancel()
		select {
		case <-derived.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("a derived context did not see the parent's cancel")
		}
		if !errors.Is(ctx.Err(), context.Canceled) {
			t.Errorf("Err = %v, want canceled", ctx.Err())
		}
	})
	t.Run("the parent's earlier deadline", func(t *testing.T) {
		parent, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		ctx, stop := handlerContext(parent, time.Now().Add(time.Hour))
		defer stop()
		pd, _ := parent.Deadline()
		if d, _ := ctx.Deadline(); !d.Equal(pd) {
			t.Errorf("Deadline = %v, want the parent's %v", d, pd)
		}
	})
	t.Run("the handler is done", func(t *testing.T) {
		ctx, stop := handlerContext(context.Background(), time.Now().Add(time.Hour))
		done := ctx.Done() // starts the timer
		stop()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Done did not close when the handler was done")
		}
		if !errors.Is(ctx.Err(), context.Canceled) {
			t.Errorf("Err = %v, want canceled", ctx.Err())
		}
	})
	t.Run("ContextWith", func(t *testing.T) {
		ctx := ContextWith(context.Background(), &troupe.Envelope{Deadline: time.Now().Add(-time.Second)})
		if ctx.Done() != nil || ctx.Err() != nil {
			t.Errorf("Done %v, Err %v: want the parent's (nil, nil)", ctx.Done(), ctx.Err())
		}
		if _, ok := ctx.Deadline(); !ok {
			t.Error("no Deadline")
		}
	})
}
