package bus_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/bus/bustest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testApp() *troupe.App {
	return &troupe.App{
		Name: "test",
		Services: []troupe.ServiceDecl{
			{Name: "web", Sends: []string{"greet", "unheard"}},
			{Name: "greeter", Receives: []string{"greet"}},
		},
	}
}

func newBus(t *testing.T) *bus.Bus {
	t.Helper()
	// A long Timeout: a stalled thread on a loaded machine must not fail
	// a test that expects a reply.
	b, err := bus.New(bus.Config{App: testApp(), Logger: slog.New(slog.DiscardHandler), Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return b
}

func TestRequestReply(t *testing.T) {
	ctx := context.Background()
	b := newBus(t)
	g, err := b.Join(ctx, "greeter", "g1")
	if err != nil {
		t.Fatal(err)
	}
	err = g.Handle("greet", bus.HandlerFunc(func(ctx context.Context, m *bus.Msg) {
		var who string
		if err := json.Unmarshal(m.Env.Payload, &who); err != nil {
			_ = m.ReplyError(ctx, err)
			return
		}
		_ = m.Reply(ctx, "greeting", "hello "+who)
	}))
	if err != nil {
		t.Fatal(err)
	}
	w, err := b.Join(ctx, "web", "w1")
	if err != nil {
		t.Fatal(err)
	}
	reply, err := w.Request(ctx, "greet", "ann")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(reply.Payload), `"hello ann"`; got != want {
		t.Errorf("payload = %s, want %s", got, want)
	}
	_, err = w.Request(ctx, "greet", json.RawMessage(`42`))
	if got, want := troupe.CodeOf(err), troupe.CodeInternal; got != want {
		t.Errorf("error code = %q, want %q (%v)", got, want, err)
	}
	_, err = w.Request(ctx, "unheard", nil)
	if !errors.Is(err, troupe.ErrNoReceiver) || !errors.Is(err, troupe.ErrNotFound) {
		t.Errorf("request to nobody: %v, want not_found/ErrNoReceiver", err)
	}
}

func TestConformance(t *testing.T) {
	bustest.Run(t, func(t *testing.T) bus.Transport { return bus.NewInProc() })
}

// tapInboxes is an in-process transport that keeps the reply inboxes of
// its members, to play a transport that answers a request itself.
type tapInboxes struct {
	*bus.InProc
	mu      sync.Mutex
	inboxes map[troupe.Member]bus.Deliverer
}

func (t *tapInboxes) Join(ctx context.Context, m troupe.Member, inbox bus.Deliverer) (bus.Port, error) {
	t.mu.Lock()
	t.inboxes[m] = inbox
	t.mu.Unlock()
	return t.InProc.Join(ctx, m, inbox)
}

func (t *tapInboxes) inbox(m troupe.Member) bus.Deliverer {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.inboxes[m]
}

func TestNoReceiverReplyEndsRequest(t *testing.T) {
	ctx := context.Background()
	tr := &tapInboxes{InProc: bus.NewInProc(), inboxes: map[troupe.Member]bus.Deliverer{}}
	b, err := bus.New(bus.Config{App: testApp(), Transport: tr, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = b.Close(ctx)
		_ = tr.Close(ctx)
	})
	g, err := b.Join(ctx, "greeter", "g1")
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Handle("greet", bus.HandlerFunc(func(context.Context, *bus.Msg) {})); err != nil {
		t.Fatal(err)
	}
	w, err := b.Join(ctx, "web", "w1")
	if err != nil {
		t.Fatal(err)
	}
	call, err := w.Call(ctx, "greet", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer call.Cancel()
	// A transport that learns late that nobody received the request
	// answers in the requester's name.
	p, err := tr.Join(ctx, troupe.Member{Service: "raw", Instance: "r1"}, bus.DelivererFunc(func(*troupe.Envelope, bus.Acker) {}))
	if err != nil {
		t.Fatal(err)
	}
	tr.inbox(w.Member()).Deliver(bus.NoReceiverReply(call.ID(), w.Member()), nil)
	_, err = call.Next(ctx)
	if !errors.Is(err, troupe.ErrNoReceiver) || !errors.Is(err, troupe.ErrUnavailable) {
		t.Errorf("Next = %v, want unavailable with ErrNoReceiver", err)
	}
	// The same envelope from another member is not believed.
	call2, err := w.Call(ctx, "greet", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer call2.Cancel()
	forged := bus.NoReceiverReply(call2.ID(), troupe.Member{Service: "raw", Instance: "r1"})
	if err := p.Reply(ctx, w.Member(), forged); err != nil {
		t.Fatal(err)
	}
	if got, want := b.Stats().Services["web"].Refusals, uint64(2); got != want {
		t.Errorf("web refusals = %d, want %d (one no receiver, one forged reply)", got, want)
	}
}

func TestCallReleasesItsSlot(t *testing.T) {
	ctx := context.Background()
	b, err := bus.New(bus.Config{App: testApp(), Logger: slog.New(slog.DiscardHandler), MaxOutstanding: 1, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close(ctx) })
	g, err := b.Join(ctx, "greeter", "g1")
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Handle("greet", bus.HandlerFunc(func(ctx context.Context, m *bus.Msg) {
		if string(m.Env.Payload) == `"answer"` {
			_ = m.Reply(ctx, "greeting", nil)
		}
	})); err != nil {
		t.Fatal(err)
	}
	w, err := b.Join(ctx, "web", "w1")
	if err != nil {
		t.Fatal(err)
	}
	inFlight := func() int64 { return b.Stats().Services["web"].InFlight }

	t.Run("AllRepliesIn", func(t *testing.T) {
		call, err := w.Call(ctx, "greet", "answer")
		if err != nil {
			t.Fatal(err)
		}
		// The in-process handler replied during Call: the slot is free
		// before anyone reads the reply.
		if got := inFlight(); got != 0 {
			t.Errorf("in flight = %d, want 0", got)
		}
		if _, err := call.Next(ctx); err != nil {
			t.Errorf("Next = %v, want the reply", err)
		}
		if _, err := call.Next(ctx); err != io.EOF {
			t.Errorf("second Next = %v, want io.EOF", err)
		}
	})
	t.Run("CancelDropsReplies", func(t *testing.T) {
		call, err := w.Call(ctx, "greet", "answer")
		if err != nil {
			t.Fatal(err)
		}
		call.Cancel()
		if _, err := call.Next(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Next after Cancel = %v, want context.Canceled", err)
		}
	})
	t.Run("DeadlineWithoutNext", func(t *testing.T) {
		dctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		defer cancel()
		call, err := w.Call(dctx, "greet", "silence")
		if err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); inFlight() != 0; {
			if time.Now().After(deadline) {
				t.Fatal("the slot was never released")
			}
			time.Sleep(time.Millisecond)
		}
		if _, err := w.Request(ctx, "greet", "answer"); err != nil {
			t.Errorf("Request after the Call's deadline = %v, want nil", err)
		}
		if _, err := call.Next(ctx); !errors.Is(err, troupe.ErrTimeout) {
			t.Errorf("Next after the deadline = %v, want ErrTimeout", err)
		}
	})
}

func TestHandlerPanicIsContained(t *testing.T) {
	ctx := context.Background()
	b := newBus(t)
	g, err := b.Join(ctx, "greeter", "g1")
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Handle("greet", bus.HandlerFunc(func(ctx context.Context, m *bus.Msg) {
		panic("boom")
	})); err != nil {
		t.Fatal(err)
	}
	w, err := b.Join(ctx, "web", "w1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.Request(ctx, "greet", nil)
	if !errors.Is(err, troupe.ErrInternal) {
		t.Errorf("Request to a panicking handler = %v, want ErrInternal", err)
	}
	if err := w.Send(ctx, "greet", nil); err != nil {
		t.Errorf("Send to a panicking handler = %v, want nil", err)
	}
	if got, want := b.Stats().Services["greeter"].HandlerErrors, uint64(2); got != want {
		t.Errorf("greeter handler errors = %d, want %d", got, want)
	}
}
