package bus_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
)

// TestRequestEnvelopeTwice sends one prepared request twice, as a retry
// does: the receiver sees the same id, each attempt gets its own reply, and
// Replied tells the handler what it did.
func TestRequestEnvelopeTwice(t *testing.T) {
	ctx := context.Background()
	b := newBus(t)
	g, err := b.Join(ctx, "greeter", "g1")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		ids     []troupe.ID
		replied []bool
	)
	if err := g.Handle("greet", bus.HandlerFunc(func(ctx context.Context, m *bus.Msg) {
		before := m.Replied()
		_ = m.Reply(ctx, "greeting", m.Env.Headers["attempt"])
		mu.Lock()
		ids = append(ids, m.Env.ID)
		replied = append(replied, before, m.Replied())
		mu.Unlock()
	})); err != nil {
		t.Fatal(err)
	}
	w, err := b.Join(ctx, "web", "w1")
	if err != nil {
		t.Fatal(err)
	}
	env, err := w.Prepare(ctx, troupe.KindRequest, "greet", "ann")
	if err != nil {
		t.Fatal(err)
	}
	for _, attempt := range []string{"1", "2"} {
		again := *env
		again.Headers = map[string]string{"attempt": attempt}
		reply, err := w.RequestEnvelope(ctx, &again)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(reply.Payload), `"`+attempt+`"`; got != want {
			t.Errorf("reply %s, want %s", got, want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ids) != 2 || ids[0] != env.ID || ids[1] != env.ID {
		t.Errorf("ids %v, want %s twice", ids, env.ID)
	}
	if len(replied) != 4 || replied[0] || !replied[1] || replied[2] || !replied[3] {
		t.Errorf("Replied before and after each reply: %v, want false, true, false, true", replied)
	}
	if got := b.Stats().Messages["greet"].Sent; got != 2 {
		t.Errorf("sent %d, want 2", got)
	}
}

// TestPreparedChecks checks that an envelope given back to the client is
// checked again.
func TestPreparedChecks(t *testing.T) {
	ctx := context.Background()
	b := newBus(t)
	w, err := b.Join(ctx, "web", "w1")
	if err != nil {
		t.Fatal(err)
	}
	other, err := b.Join(ctx, "web", "w2")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Prepare(ctx, troupe.KindReply, "greet", nil); !errors.Is(err, troupe.ErrBadRequest) {
		t.Errorf("prepare a reply: err = %v, want bad_request", err)
	}
	if _, err := w.Prepare(ctx, troupe.KindRequest, "shout", nil); !errors.Is(err, troupe.ErrForbidden) {
		t.Errorf("prepare an undeclared name: err = %v, want forbidden", err)
	}
	prepare := func(kind troupe.Kind) *troupe.Envelope {
		t.Helper()
		env, err := w.Prepare(ctx, kind, "greet", nil)
		if err != nil {
			t.Fatal(err)
		}
		return env
	}
	expired := prepare(troupe.KindRequest)
	expired.Deadline = time.Now().Add(-time.Second)
	send := prepare(troupe.KindSend)
	tests := []struct {
		name string
		do   func() error
		want error
	}{
		{"another member's", func() error { _, err := other.RequestEnvelope(ctx, prepare(troupe.KindRequest)); return err }, troupe.ErrForbidden},
		{"nil", func() error { _, err := w.RequestEnvelope(ctx, nil); return err }, troupe.ErrBadRequest},
		{"a send as a request", func() error { _, err := w.RequestEnvelope(ctx, send); return err }, troupe.ErrBadRequest},
		{"a request as a send", func() error { return w.SendEnvelope(ctx, prepare(troupe.KindRequest)) }, troupe.ErrBadRequest},
		{"past its deadline", func() error { _, err := w.RequestEnvelope(ctx, expired); return err }, troupe.ErrTimeout},
		{"collect without a func", func() error { _, err := w.CollectEnvelope(ctx, prepare(troupe.KindRequest), nil); return err }, troupe.ErrBadRequest},
		{"nobody subscribed", func() error { return w.SendEnvelope(ctx, send) }, troupe.ErrNoReceiver},
	}
	for _, tt := range tests {
		if err := tt.do(); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
}

// TestRepliedAt: a handler's message tells when its final reply left, on
// the clock Delivered reads: zero before it and after a non-final reply,
// then the SentAt of the final reply, which the requester receives.
func TestRepliedAt(t *testing.T) {
	ctx := context.Background()
	b := newBus(t)
	type seen struct{ delivered, before, afterMore, after time.Time }
	got := make(chan seen, 1)
	mustHandle(t, mustJoin(t, b, "greeter", "g1"), "greet", func(ctx context.Context, m *bus.Msg) {
		var s seen
		s.delivered, s.before = m.Delivered(), m.RepliedAt()
		_ = m.ReplyMore(ctx, "greeting", "hello")
		s.afterMore = m.RepliedAt()
		_ = m.Reply(ctx, "greeting", "ann")
		s.after = m.RepliedAt()
		got <- s
	})
	w := mustJoin(t, b, "web", "w1")
	var last *troupe.Envelope
	if _, err := w.Collect(ctx, "greet", nil, func(env *troupe.Envelope) bool { last = env; return true }); err != nil {
		t.Fatal(err)
	}
	s := <-got
	if !s.before.IsZero() || !s.afterMore.IsZero() {
		t.Errorf("RepliedAt before the final reply: %v, %v; want zero", s.before, s.afterMore)
	}
	if s.after.IsZero() || s.after.Before(s.delivered) {
		t.Errorf("RepliedAt %v, want a time no earlier than Delivered %v", s.after, s.delivered)
	}
	if last == nil || last.More || !last.SentAt.Equal(s.after) {
		t.Errorf("final reply %+v, want one sent at %v", last, s.after)
	}
}
