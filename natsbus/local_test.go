package natsbus_test

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/natsbus"
)

// localFixture is a bus over a Transport on an embedded server, with a
// stock service that counts what it handles.
type localFixture struct {
	srv  *natsbus.Server
	b    *bus.Bus
	web  *bus.Client
	here atomic.Int64
}

func newLocalFixture(t *testing.T) *localFixture {
	t.Helper()
	app := shop()
	f := &localFixture{srv: runServer(t, natsbus.ServerConfig{App: app})}
	tr := newTransport(t, natsbus.Config{Server: f.srv, App: app})
	f.b = newBus(t, app, tr)
	stock, err := f.b.Join(context.Background(), "stock", "s-here")
	if err != nil {
		t.Fatal(err)
	}
	if err := stock.Handle("stock.get", bus.HandlerFunc(func(ctx context.Context, m *bus.Msg) {
		f.here.Add(1)
		_ = m.Reply(ctx, "stock", "here")
	})); err != nil {
		t.Fatal(err)
	}
	if f.web, err = f.b.Join(context.Background(), "web", "w1"); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *localFixture) requests(t *testing.T, n int) {
	t.Helper()
	for range n {
		if _, err := f.web.Request(context.Background(), "stock.get", nil); err != nil {
			t.Fatal(err)
		}
	}
}

// tap subscribes an operator's connection (the admin user's) to every
// message of the app, and counts what it sees; the connection closes when
// the test ends.
func (f *localFixture) tap(t *testing.T) (*nats.Conn, *nats.Subscription, *atomic.Int64) {
	t.Helper()
	cred, _ := f.srv.Credentials(natsbus.AdminUser)
	opt, err := cred.Option()
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(f.srv.ClientURL(), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	seen := new(atomic.Int64)
	sub, err := nc.Subscribe("troupe.shop.msg.>", func(*nats.Msg) { seen.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return nc, sub, seen
}

// TestShortcut: members of one process that share the embedded server
// reach each other without it, while no other process takes part.
func TestShortcut(t *testing.T) {
	f := newLocalFixture(t)
	f.requests(t, 3) // settle
	before := f.srv.Stats()
	f.requests(t, 100)
	after := f.srv.Stats()
	if got := after.InMsgs - before.InMsgs; got != 0 {
		t.Errorf("the server received %d messages for 100 requests between members of one process, want 0", got)
	}
	if got := f.here.Load(); got != 103 {
		t.Errorf("handled %d, want 103", got)
	}
}

// TestShortcutYieldsToAnotherProcess: once an instance of the service runs
// in another process (another Transport, over TCP), requests go through the
// server again and both instances compete for them.
func TestShortcutYieldsToAnotherProcess(t *testing.T) {
	f := newLocalFixture(t)
	app := shop()
	other := newTransport(t, natsbus.Config{URL: f.srv.ClientURL(), Credentials: f.srv.Credentials, App: app})
	ob := newBus(t, app, other)
	stock, err := ob.Join(context.Background(), "stock", "s-there")
	if err != nil {
		t.Fatal(err)
	}
	var there atomic.Int64
	if err := stock.Handle("stock.get", bus.HandlerFunc(func(ctx context.Context, m *bus.Msg) {
		there.Add(1)
		_ = m.Reply(ctx, "stock", "there")
	})); err != nil {
		t.Fatal(err)
	}
	// Within the shortcut's refresh, the other process gets its share.
	eventually(t, func() bool {
		f.requests(t, 20)
		return there.Load() > 0
	})
	if f.here.Load() == 0 {
		t.Error("the local instance stopped getting requests")
	}
}

// TestShortcutYieldsToATap: a connection that watches the subjects (an
// operator's tap) sees every message: nothing skips the server then.
func TestShortcutYieldsToATap(t *testing.T) {
	f := newLocalFixture(t)
	_, sub, seen := f.tap(t)
	defer sub.Unsubscribe()
	eventually(t, func() bool {
		f.requests(t, 10)
		return seen.Load() > 0
	})
	start := seen.Load()
	f.requests(t, 50)
	eventually(t, func() bool { return seen.Load()-start >= 50 }) // the 10-request rounds above may still be arriving
}

// newBus is a bus for app over tr, closed when the test ends.
func newBus(t testing.TB, app *troupe.App, tr bus.Transport) *bus.Bus {
	t.Helper()
	b, err := bus.New(bus.Config{App: app, Transport: tr, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	return b
}

// TestShortcutReturnsWhenTheTapLeaves: the shortcut's table is rebuilt when
// a subscription goes as when one comes (it is not rebuilt on a tick that
// finds none changed): once the tap unsubscribes, members of one process
// reach each other without the server again.
func TestShortcutReturnsWhenTheTapLeaves(t *testing.T) {
	f := newLocalFixture(t)
	nc, sub, seen := f.tap(t)
	eventually(t, func() bool {
		f.requests(t, 10)
		return seen.Load() > 0
	})
	if err := sub.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool {
		before := f.srv.Stats()
		f.requests(t, 20)
		return f.srv.Stats().InMsgs == before.InMsgs
	})
}

// TestShortcutChecksSchemasOnArrival: the receiving side of the shortcut
// skips the schema check only for what its own bus validated when it was
// sent. A bus without the schema, sharing the Transport, cannot slip a
// payload past a bus that has it, though the envelope never reaches the
// server.
func TestShortcutChecksSchemasOnArrival(t *testing.T) {
	lax := shop()
	strict := shop()
	strict.Messages = []troupe.MessageDecl{{Name: "stock.set", Payload: json.RawMessage(`{"type":"object","required":["qty"]}`)}}
	srv := runServer(t, natsbus.ServerConfig{App: strict})
	tr := newTransport(t, natsbus.Config{Server: srv, App: strict})
	sender, receiver := newBus(t, lax, tr), newBus(t, strict, tr)
	ctx := context.Background()
	stock, err := receiver.Join(ctx, "stock", "s1")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *bus.Msg, 4)
	if err := stock.Handle("stock.set", bus.HandlerFunc(func(_ context.Context, m *bus.Msg) { got <- m })); err != nil {
		t.Fatal(err)
	}
	web, err := sender.Join(ctx, "web", "w1")
	if err != nil {
		t.Fatal(err)
	}
	// Once the shortcut's table has the name, a valid send is handled
	// without the server.
	eventually(t, func() bool {
		before := srv.Stats().InMsgs
		if err := web.Send(ctx, "stock.set", map[string]int{"qty": 1}); err != nil {
			t.Fatal(err)
		}
		<-got
		return srv.Stats().InMsgs == before
	})
	before := srv.Stats().InMsgs
	if err := web.Send(ctx, "stock.set", map[string]string{"sku": "A"}); err != nil {
		t.Fatalf("Send on the lax bus: %v", err)
	}
	// The shortcut delivers in the sender's goroutine: by now it is refused.
	select {
	case m := <-got:
		t.Fatalf("the strict bus delivered %s", m.Env.Payload)
	default:
	}
	if n := receiver.Stats().Messages["stock.set"].Refusals; n != 1 {
		t.Errorf("refusals at the strict bus = %d, want 1", n)
	}
	if n := srv.Stats().InMsgs - before; n != 0 {
		t.Errorf("the server received %d messages: the send did not take the shortcut", n)
	}
}
