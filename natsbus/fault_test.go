package natsbus_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/natsbus"
)

// rawConn connects to srv with plain nats.go as user (empty: no user).
func rawConn(t testing.TB, srv *natsbus.Server, user string) *nats.Conn {
	t.Helper()
	opts := []nats.Option{nats.InProcessServer(srv)}
	if user != "" {
		c, ok := srv.Credentials(user)
		if !ok {
			t.Fatalf("no credential for %q", user)
		}
		opts = append(opts, credOption(t, c))
	}
	nc, err := nats.Connect("", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// TestMalformed publishes bytes that are not envelopes, and envelopes on the
// wrong subject, where members listen: each is counted and dropped, and the
// next good envelope still arrives.
func TestMalformed(t *testing.T) {
	app := shop()
	srv := runServer(t, natsbus.ServerConfig{App: app})
	tr := newTransport(t, natsbus.Config{Server: srv, App: app, AckWait: time.Second})
	webIn := newInbox()
	web := join(t, tr, "web", "w1", webIn)
	stockIn := newInbox()
	stock := join(t, tr, "stock", "s1", newInbox())
	for _, name := range []string{"stock.get", "order.placed"} {
		if err := stock.Subscribe(name, bus.OneInstance, stockIn); err != nil {
			t.Fatal(err)
		}
	}
	admin := rawConn(t, srv, natsbus.AdminUser)
	wrongName := envelope(troupe.KindSend, "stock.set", troupe.Member{Service: "web", Instance: "w1"}, nil)
	wrongData, _ := wrongName.MarshalJSON()
	notReply, _ := envelope(troupe.KindSend, "stock.get", troupe.Member{Service: "stock", Instance: "s1"}, nil).MarshalJSON()
	tests := []struct {
		name    string
		subject string
		data    []byte
	}{
		{"empty", "troupe.shop.msg.web.stock.get", nil},
		{"not json", "troupe.shop.msg.web.stock.get", []byte("hello")},
		{"truncated", "troupe.shop.msg.web.stock.get", wrongData[:len(wrongData)/2]},
		{"wrong version", "troupe.shop.msg.web.stock.get", []byte(`{"v":2}`)},
		{"name differs from subject", "troupe.shop.msg.web.stock.get", wrongData},
		{"reply subject, not a reply", "troupe.shop.reply.web.w1." + troupe.NewID() + ".stock", notReply},
		{"reply subject, garbage", "troupe.shop.reply.web.w1." + troupe.NewID() + ".stock", []byte{0xff, 0x00}},
		{"request's reply subject, not a refusal", "troupe.shop.reply.web.w1." + troupe.NewID(), notReply},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tr.Stats().Malformed
			if err := admin.Publish(tt.subject, tt.data); err != nil {
				t.Fatal(err)
			}
			if err := admin.Flush(); err != nil {
				t.Fatal(err)
			}
			eventually(t, func() bool { return tr.Stats().Malformed == before+1 })
		})
	}
	t.Run("durable garbage is terminated", func(t *testing.T) {
		before := tr.Stats().Malformed
		if err := admin.Publish("troupe.shop.durable.orders.order.placed", []byte("{")); err != nil {
			t.Fatal(err)
		}
		eventually(t, func() bool { return tr.Stats().Malformed == before+1 })
		// Terminated, not redelivered after AckWait.
		stockIn.none(t, 2*time.Second)
		if got := tr.Stats().Malformed; got != before+1 {
			t.Errorf("malformed count: got %d, want %d (redelivered?)", got, before+1)
		}
	})
	stockIn.none(t, 100*time.Millisecond)
	webIn.none(t, 0)
	good := envelope(troupe.KindRequest, "stock.get", troupe.Member{Service: "web", Instance: "w1"}, 1)
	if err := web.Route(context.Background(), good); err != nil {
		t.Fatal(err)
	}
	if got := stockIn.next(t); got.ID != good.ID {
		t.Errorf("after bad input: got envelope %s, want %s", got.ID, good.ID)
	}
}

// TestNoReceiver checks both ways of learning that nobody receives a name.
func TestNoReceiver(t *testing.T) {
	t.Run("manifest", func(t *testing.T) {
		app := shop()
		app.Services[0].Sends = append(app.Services[0].Sends, "nobody.home")
		srv := runServer(t, natsbus.ServerConfig{App: app})
		tr := newTransport(t, natsbus.Config{Server: srv, App: app})
		web := join(t, tr, "web", "w1", newInbox())
		err := web.Route(context.Background(), envelope(troupe.KindSend, "nobody.home", troupe.Member{Service: "web", Instance: "w1"}, nil))
		if !errors.Is(err, troupe.ErrNoReceiver) || !errors.Is(err, troupe.ErrNotFound) {
			t.Errorf("Route: got %v, want not_found wrapping ErrNoReceiver", err)
		}
	})
	t.Run("no responders", func(t *testing.T) {
		srv := runServer(t, natsbus.ServerConfig{})
		tr := newTransport(t, natsbus.Config{Server: srv})
		in := newInbox()
		web := join(t, tr, "web", "w1", in)
		req := envelope(troupe.KindRequest, "nobody.home", troupe.Member{Service: "web", Instance: "w1"}, nil)
		if err := web.Route(context.Background(), req); err != nil {
			t.Fatalf("Route: %v", err)
		}
		rep := in.next(t)
		if rep.ResponseTo != req.ID {
			t.Errorf("reply answers %s, want %s", rep.ResponseTo, req.ID)
		}
		// The transport cannot tell a name nobody declares from a
		// service whose instances are all gone for a moment: the bus,
		// which has the manifest, refuses the first before sending.
		if got := rep.Err(); got == nil || got.Code != troupe.CodeUnavailable {
			t.Errorf("reply error: got %v, want unavailable", got)
		}
	})
}

// eventually polls cond until it holds, failing after a long time.
func eventually(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition never held")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestOversized routes an envelope larger than the server's maximum payload:
// the sender gets a bad_request error and the connection stays usable.
func TestOversized(t *testing.T) {
	srv := runServer(t, natsbus.ServerConfig{})
	tr := newTransport(t, natsbus.Config{Server: srv})
	in := newInbox()
	stock := join(t, tr, "stock", "s1", newInbox())
	if err := stock.Subscribe("stock.get", bus.OneInstance, in); err != nil {
		t.Fatal(err)
	}
	web := join(t, tr, "web", "w1", newInbox())
	from := troupe.Member{Service: "web", Instance: "w1"}
	big := make([]byte, 2<<20)
	for i := range big {
		big[i] = 'x'
	}
	for _, durable := range []bool{false, true} {
		env := envelope(troupe.KindSend, "stock.get", from, string(big))
		env.Durable = durable
		if err := web.Route(context.Background(), env); !errors.Is(err, troupe.ErrBadRequest) && !errors.Is(err, troupe.ErrUnavailable) {
			t.Errorf("Route of 2 MiB (durable %v): got %v, want bad_request or unavailable", durable, err)
		}
	}
	ok := envelope(troupe.KindSend, "stock.get", from, "small")
	if err := web.Route(context.Background(), ok); err != nil {
		t.Fatalf("Route after the oversized one: %v", err)
	}
	if got := in.next(t); got.ID != ok.ID {
		t.Errorf("got %s, want %s", got.ID, ok.ID)
	}
}
