package natsbus_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/natsbus"
)

// deadLetters records OnDeadLetter calls.
type deadLetters struct {
	mu  sync.Mutex
	got []string // "service id reason"
	ch  chan struct{}
}

func newDeadLetters() *deadLetters { return &deadLetters{ch: make(chan struct{}, 100)} }

func (d *deadLetters) hook(env *troupe.Envelope, service, reason string) {
	d.mu.Lock()
	d.got = append(d.got, service+" "+env.ID+" "+reason)
	d.mu.Unlock()
	d.ch <- struct{}{}
}

func (d *deadLetters) wait(t *testing.T) {
	t.Helper()
	select {
	case <-d.ch:
	case <-time.After(20 * time.Second):
		t.Fatal("no dead letter")
	}
}

// durableEnv is a durable send of order.place from web.
func durableEnv() *troupe.Envelope {
	env := envelope(troupe.KindSend, "order.place", troupe.Member{Service: "web", Instance: "w1"}, "pizza")
	env.Durable = true
	return env
}

// deadStreamMsgs reads the dead-letter stream as AdminUser.
func deadStreamMsgs(t *testing.T, srv *natsbus.Server) []*jetstream.RawStreamMsg {
	t.Helper()
	cred, _ := srv.Credentials(natsbus.AdminUser)
	nc, err := nats.Connect("", nats.InProcessServer(srv), credOption(t, cred))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, "troupe-shop-dead")
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func TestDurable(t *testing.T) {
	type step struct {
		settle func(a bus.Acker) error // nil: leave unsettled
	}
	ack := func(a bus.Acker) error { return a.Ack() }
	nak := func(a bus.Acker) error { return a.Nak(10 * time.Millisecond) }
	term := func(a bus.Acker) error { return a.Term("poison") }
	tests := []struct {
		name       string
		steps      []step // one per expected delivery
		deadReason string // "" if not dead-lettered
	}{
		{"ack", []step{{ack}}, ""},
		{"nak then ack", []step{{nak}, {ack}}, ""},
		{"timeout then ack", []step{{nil}, {ack}}, ""},
		{"nak until dead", []step{{nak}, {nak}, {nak}}, "failed 3 attempts"},
		{"timeouts until dead", []step{{nil}, {nil}, {nil}}, "not acknowledged after 3 attempts"},
		{"term", []step{{term}}, "poison"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := shop()
			srv := runServer(t, natsbus.ServerConfig{App: app})
			dead := newDeadLetters()
			tr := newTransport(t, natsbus.Config{Server: srv, App: app, AckWait: 300 * time.Millisecond,
				MaxDeliver: 3, OnDeadLetter: dead.hook})
			web := join(t, tr, "web", "w1", newInbox())
			env := durableEnv()
			// Sent before any instance of orders has joined: kept.
			if err := web.Route(context.Background(), env); err != nil {
				t.Fatalf("Route: %v", err)
			}
			// Sent again (a retry): deduplicated.
			if err := web.Route(context.Background(), env); err != nil {
				t.Fatalf("Route again: %v", err)
			}
			in := newInbox()
			orders := join(t, tr, "orders", "o1", newInbox())
			if err := orders.Subscribe("order.place", bus.OneInstance, in); err != nil {
				t.Fatalf("Subscribe: %v", err)
			}
			for i, s := range tt.steps {
				got := in.next(t)
				want := *env
				want.Headers = map[string]string{bus.HeaderAttempt: strconv.Itoa(i + 1)}
				if diff := cmpEnvelope(got, &want); diff != "" {
					t.Fatalf("delivery %d differs (-got +want):\n%s", i+1, diff)
				}
				in.mu.Lock()
				a := in.acks[i]
				in.mu.Unlock()
				if a == nil {
					t.Fatalf("delivery %d: nil Acker for a durable envelope", i+1)
				}
				if s.settle != nil {
					if err := s.settle(a); err != nil {
						t.Fatalf("delivery %d: settle: %v", i+1, err)
					}
					if err := a.Ack(); err == nil {
						t.Errorf("delivery %d: settling twice: got nil error", i+1)
					}
				}
			}
			if tt.deadReason != "" {
				dead.wait(t)
				dead.mu.Lock()
				got := dead.got
				dead.mu.Unlock()
				want := []string{"orders " + env.ID + " " + tt.deadReason}
				if diff := cmpStrings(got, want); diff != "" {
					t.Errorf("dead letters (-got +want):\n%s", diff)
				}
				msgs := deadStreamMsgs(t, srv)
				if len(msgs) != 1 {
					t.Fatalf("dead-letter stream holds %d messages, want 1", len(msgs))
				}
				if got, want := msgs[0].Header.Get(natsbus.HeaderReason), tt.deadReason; got != want {
					t.Errorf("dead letter reason: got %q, want %q", got, want)
				}
				if got, want := tr.Stats().DeadLetters, uint64(1); got != want {
					t.Errorf("Stats().DeadLetters: got %d, want %d", got, want)
				}
			}
			// Nothing more: acknowledged, deduplicated, or dead.
			in.none(t, time.Second)
		})
	}
}

// TestDurableEveryService checks that each receiving service gets its own
// copy of a durable envelope, and that the instances of one service compete.
func TestDurableEveryService(t *testing.T) {
	app := shop()
	srv := runServer(t, natsbus.ServerConfig{App: app})
	tr := newTransport(t, natsbus.Config{Server: srv, App: app})
	orders := join(t, tr, "orders", "o1", newInbox())
	in := newInbox()
	var ports []bus.Port
	for _, inst := range []string{"s1", "s2"} {
		p := join(t, tr, "stock", inst, newInbox())
		if err := p.Subscribe("order.placed", bus.OneInstance, in); err != nil {
			t.Fatal(err)
		}
		ports = append(ports, p)
	}
	const n = 200
	for i := range n {
		env := envelope(troupe.KindPublish, "order.placed", troupe.Member{Service: "orders", Instance: "o1"}, i)
		env.Durable = true
		if err := orders.Route(context.Background(), env); err != nil {
			t.Fatalf("Route: %v", err)
		}
	}
	seen := map[string]int{}
	for range n {
		env := in.next(t)
		seen[env.ID]++
	}
	in.mu.Lock()
	for _, a := range in.acks {
		if err := a.Ack(); err != nil {
			t.Errorf("Ack: %v", err)
		}
	}
	in.mu.Unlock()
	if got, want := len(seen), n; got != want {
		t.Errorf("distinct envelopes delivered: got %d, want %d", got, want)
	}
	in.none(t, 500*time.Millisecond)
	_ = ports
}

// TestFullStore fills a small stream: the sender gets a clear error, and
// every envelope accepted before is still delivered.
func TestFullStore(t *testing.T) {
	app := shop()
	srv := runServer(t, natsbus.ServerConfig{App: app})
	tr := newTransport(t, natsbus.Config{Server: srv, App: app, MaxBytes: 16 << 10})
	web := join(t, tr, "web", "w1", newInbox())
	var accepted []string
	var err error
	for range 1000 {
		env := durableEnv()
		if err = web.Route(context.Background(), env); err != nil {
			break
		}
		accepted = append(accepted, env.ID)
	}
	if err == nil {
		t.Fatal("Route never failed on a 16 KiB stream")
	}
	if !errors.Is(err, troupe.ErrUnavailable) {
		t.Errorf("Route on a full stream: got %v, want an unavailable error", err)
	}
	t.Logf("accepted %d envelopes, then: %v", len(accepted), err)
	in := newInbox()
	orders := join(t, tr, "orders", "o1", newInbox())
	if err := orders.Subscribe("order.place", bus.OneInstance, in); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for range accepted {
		env := in.next(t)
		got[env.ID] = true
	}
	for _, id := range accepted {
		if !got[id] {
			t.Errorf("accepted envelope %s was not delivered", id)
		}
	}
}

// TestCloseGivesBack checks that a member closing with a durable delivery
// unsettled gives it back at once to the other instance, rather than after
// AckWait (here far longer than the test waits).
func TestCloseGivesBack(t *testing.T) {
	app := shop()
	srv := runServer(t, natsbus.ServerConfig{App: app})
	tr := newTransport(t, natsbus.Config{Server: srv, App: app, AckWait: time.Hour})
	web := join(t, tr, "web", "w1", newInbox())
	first := newInbox()
	o1 := join(t, tr, "orders", "o1", newInbox())
	if err := o1.Subscribe("order.place", bus.OneInstance, first); err != nil {
		t.Fatal(err)
	}
	env := durableEnv()
	if err := web.Route(context.Background(), env); err != nil {
		t.Fatal(err)
	}
	if got := first.next(t); got.ID != env.ID {
		t.Fatalf("got %s, want %s", got.ID, env.ID)
	}
	second := newInbox()
	o2 := join(t, tr, "orders", "o2", newInbox())
	if err := o2.Subscribe("order.place", bus.OneInstance, second); err != nil {
		t.Fatal(err)
	}
	if err := o1.Close(); err != nil {
		t.Fatal(err)
	}
	got := second.next(t)
	if got.ID != env.ID {
		t.Fatalf("got %s, want %s", got.ID, env.ID)
	}
	if got, want := got.Headers[bus.HeaderAttempt], "2"; got != want {
		t.Errorf("attempt: got %s, want %s", got, want)
	}
}
