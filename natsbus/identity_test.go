package natsbus_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/natsbus"
)

// identityRig is a bus on NATS with stock serving stock.get, and raw NATS
// connections logged in with one service's credentials each: what a
// compromised service could do with its own tools.
type identityRig struct {
	srv   *natsbus.Server
	tr    *natsbus.Transport
	b     *bus.Bus
	reqs  chan *bus.Msg
	stock *bus.Client
}

func newIdentityRig(t *testing.T) *identityRig {
	t.Helper()
	app := shop()
	srv := runServer(t, natsbus.ServerConfig{App: app})
	tr := newTransport(t, natsbus.Config{Server: srv, App: app})
	b, err := bus.New(bus.Config{App: app, Transport: tr, Logger: quiet, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	r := &identityRig{srv: srv, tr: tr, b: b, reqs: make(chan *bus.Msg, 10)}
	r.stock, err = b.Join(context.Background(), "stock", "s1")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.stock.Handle("stock.get", bus.HandlerFunc(func(_ context.Context, m *bus.Msg) { r.reqs <- m })); err != nil {
		t.Fatal(err)
	}
	return r
}

// listen subscribes a raw connection to subject.
func listen(t *testing.T, nc *nats.Conn, subject string) chan *nats.Msg {
	t.Helper()
	ch := make(chan *nats.Msg, 10)
	if _, err := nc.ChanSubscribe(subject, ch); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return ch
}

// answer waits for an Error answer on ch and returns its code.
func answer(t *testing.T, ch chan *nats.Msg) (troupe.Code, *troupe.Envelope) {
	t.Helper()
	select {
	case msg := <-ch:
		env, err := troupe.DecodeEnvelope(msg.Data)
		if err != nil {
			t.Fatalf("answer %q: %v", msg.Data, err)
		}
		e := env.Err()
		if e == nil {
			t.Fatalf("answer %s %s, want an Error reply", env.Name, env.Payload)
		}
		return e.Code, env
	case <-time.After(10 * time.Second):
		t.Fatal("no answer")
	}
	return "", nil
}

func quietFor[T any](t *testing.T, ch chan T, what string) {
	t.Helper()
	select {
	case v := <-ch:
		t.Errorf("%s: got %v, want nothing", what, v)
	case <-time.After(300 * time.Millisecond):
	}
}

// TestForgedSender: web publishes an envelope that says it is from the
// gateway. stock's transport refuses it and answers forbidden on web's own
// reply subject, but not on one of the gateway's.
func TestForgedSender(t *testing.T) {
	r := newIdentityRig(t)
	web := rawConn(t, r.srv, "web")
	mine := listen(t, web, "troupe.shop.reply.web.raw.>")
	admin := rawConn(t, r.srv, natsbus.AdminUser)
	victims := listen(t, admin, "troupe.shop.reply.gateway.>")
	for _, replyTo := range []string{"troupe.shop.reply.web.raw.", "troupe.shop.reply.gateway.g1."} {
		env := envelope(troupe.KindRequest, "stock.get", troupe.Member{Service: "gateway", Instance: "g1"}, "x")
		data, _ := env.MarshalJSON()
		before := r.tr.Stats().Forged
		if err := web.PublishRequest("troupe.shop.msg.web.stock.get", replyTo+env.ID, data); err != nil {
			t.Fatal(err)
		}
		if replyTo == "troupe.shop.reply.web.raw." {
			code, ans := answer(t, mine)
			if code != troupe.CodeForbidden || ans.ResponseTo != env.ID {
				t.Errorf("answer %s to %s, want forbidden to %s", code, ans.ResponseTo, env.ID)
			}
		}
		eventually(t, func() bool { return r.tr.Stats().Forged == before+1 })
	}
	quietFor(t, victims, "an answer on the gateway's reply subject")
	quietFor(t, r.reqs, "a delivery of the forged request")
}

// TestMalformedRequestAnswered: bytes that are no envelope, with a reply
// subject, get a bad_request answer at once.
func TestMalformedRequestAnswered(t *testing.T) {
	r := newIdentityRig(t)
	web := rawConn(t, r.srv, "web")
	mine := listen(t, web, "troupe.shop.inbox.web.>")
	for _, data := range [][]byte{[]byte("hello"), []byte(`{"v":1,"kind":"request","id":"01JDZ8Q3V6W0000000000000AB"}`)} {
		if err := web.PublishRequest("troupe.shop.msg.web.stock.get", "troupe.shop.inbox.web.cli", data); err != nil {
			t.Fatal(err)
		}
		code, ans := answer(t, mine)
		if code != troupe.CodeBadRequest {
			t.Errorf("%s: answer %s, want bad_request", data, code)
		}
		if want := "00000000000000000000000000"; data[0] == 'h' && ans.ResponseTo != want {
			t.Errorf("responseTo %s, want %s", ans.ResponseTo, want)
		}
		if want := "01JDZ8Q3V6W0000000000000AB"; data[0] == '{' && ans.ResponseTo != want {
			t.Errorf("responseTo %s, want %s", ans.ResponseTo, want)
		}
	}
}

// TestRefusalAnsweredByTheBus: the server refuses a name web may not send;
// a request with a principal from web, which is no edge, reaches stock's
// bus, which refuses it and answers forbidden on web's reply subject.
func TestRefusalAnsweredByTheBus(t *testing.T) {
	r := newIdentityRig(t)
	web := rawConn(t, r.srv, "web")
	me := troupe.Member{Service: "web", Instance: "raw"}
	replies := listen(t, web, "troupe.shop.reply.web.raw.>")
	env := envelope(troupe.KindRequest, "order.placed", me, "x")
	data, _ := env.MarshalJSON()
	// web may not send order.placed: the server refuses the publish.
	if err := web.PublishRequest("troupe.shop.msg.web.order.placed", "troupe.shop.reply.web.raw."+env.ID, data); err != nil {
		t.Fatal(err)
	}
	quietFor(t, replies, "a delivery of an undeclared send")
	// A principal from web, which is not an edge.
	env = envelope(troupe.KindRequest, "stock.get", me, "x")
	env.Principal = &troupe.Principal{ID: "u1"}
	data, _ = env.MarshalJSON()
	if err := web.PublishRequest("troupe.shop.msg.web.stock.get", "troupe.shop.reply.web.raw."+env.ID, data); err != nil {
		t.Fatal(err)
	}
	code, ans := answer(t, replies)
	if code != troupe.CodeForbidden || ans.ResponseTo != env.ID || ans.Sender.Service != "stock" {
		t.Errorf("answer %s to %s from %s, want forbidden to %s from stock", code, ans.ResponseTo, ans.Sender, env.ID)
	}
	quietFor(t, r.reqs, "a delivery of the refused request")
}

// twoCalls has a web member named instance call stock.get twice ("a",
// then "b") and returns both calls, cancelled when the test ends, and the
// two requests as stock's handler got them, unanswered.
func (r *identityRig) twoCalls(t *testing.T, instance string) (call1, call2 *bus.Call, first, second *bus.Msg) {
	t.Helper()
	w, err := r.b.Join(context.Background(), "web", instance)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if call1, err = w.Call(ctx, "stock.get", "a"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(call1.Cancel)
	first = <-r.reqs
	if call2, err = w.Call(ctx, "stock.get", "b"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(call2.Cancel)
	second = <-r.reqs
	return call1, call2, first, second
}

// TestForgedReply: orders (which may answer web, since web sends it
// order.place) answers web's stock.get request in stock's name, and
// replays a reply of one request on another's subject. web's bus takes
// neither; stock's real reply arrives.
func TestForgedReply(t *testing.T) {
	r := newIdentityRig(t)
	call, call2, first, second := r.twoCalls(t, "w1")
	orders := rawConn(t, r.srv, "orders")
	forged := replyFor(first.Env, troupe.Member{Service: "stock", Instance: "s1"}, "forged")
	data, _ := forged.MarshalJSON()
	before := r.b.Stats().Services["web"].Refusals
	if err := orders.Publish("troupe.shop.reply.web.w1."+first.Env.ID+".orders", data); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { return r.b.Stats().Services["web"].Refusals == before+1 })
	// A real reply to the first request, replayed on the second's subject.
	if err := first.Reply(first.Context(), "stock.level", "real a"); err != nil {
		t.Fatal(err)
	}
	replay := replyFor(first.Env, troupe.Member{Service: "stock", Instance: "s1"}, "real a")
	data, _ = replay.MarshalJSON()
	stock := rawConn(t, r.srv, "stock")
	forgedBefore := r.tr.Stats().Forged
	if err := stock.Publish("troupe.shop.reply.web.w1."+second.Env.ID+".stock", data); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { return r.tr.Stats().Forged == forgedBefore+1 })
	if err := second.Reply(second.Context(), "stock.level", "real b"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		call *bus.Call
		want string
	}{{call, "real a"}, {call2, "real b"}} {
		rep, err := tt.call.Next(context.Background())
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		var got string
		_ = json.Unmarshal(rep.Payload, &got)
		if got != tt.want || rep.From != "stock" {
			t.Errorf("reply %q from %q, want %q from stock", got, rep.From, tt.want)
		}
	}
}

func replyFor(req *troupe.Envelope, from troupe.Member, payload any) *troupe.Envelope {
	env := replyTo(req, from, payload)
	env.Name = "stock.level"
	env.Deadline = req.Deadline
	return env
}
