package bus_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
)

// FuzzDeliver feeds arbitrary envelopes to a bus through its transport, as a
// lying or broken process could, and arbitrary payloads through a client.
// Nothing may panic, and a handler may only see what the App permits.
func FuzzDeliver(f *testing.F) {
	f.Add("send", "greet", "web", "w1", []byte(`"hi"`), int64(1000), false, "")
	f.Add("request", "greet", "web", "w1", []byte(`{}`), int64(-1000), false, "")
	f.Add("request", "greet", "greeter", "g1", []byte(`{`), int64(0), true, "")
	f.Add("publish", "unheard", "nobody", "x", []byte(nil), int64(5), false, "")
	f.Add("reply", "greet", "greeter", "g1", []byte(`1`), int64(1000), false, "01ARZ3NDEKTSV4RRFFQ69G5FAV")
	f.Add("bogus", "", "", "", []byte("\x00"), int64(0), false, "x")
	f.Add("send", "greet", "greeter", "g1", []byte(`1`), int64(0), false, "") // greeter may not send greet

	ctx := context.Background()
	tr := bus.NewInProc()
	b2, err := bus.New(bus.Config{App: testApp(), Transport: tr, Logger: slog.New(slog.DiscardHandler), MaxPayload: 64})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		_ = b2.Close(ctx)
		_ = tr.Close(ctx)
	})
	var violations atomic.Int64 // deliveries the App does not permit
	g, err := b2.Join(ctx, "greeter", "g1")
	if err != nil {
		f.Fatal(err)
	}
	err = g.Handle("greet", bus.HandlerFunc(func(ctx context.Context, m *bus.Msg) {
		if !b2.App().MaySend(m.Env.Sender.Service, m.Env.Name) {
			violations.Add(1)
		}
		_ = m.Reply(ctx, "ok", m.Env.Payload)
	}))
	if err != nil {
		f.Fatal(err)
	}
	web, err := b2.Join(ctx, "web", "w1")
	if err != nil {
		f.Fatal(err)
	}
	raw, err := tr.Join(ctx, troupe.Member{Service: "raw", Instance: "r1"}, bus.DelivererFunc(func(*troupe.Envelope, bus.Acker) {}))
	if err != nil {
		f.Fatal(err)
	}
	sender := web

	f.Fuzz(func(t *testing.T, kind, name, service, instance string, payload []byte, deadlineMs int64, durable bool, responseTo string) {
		now := time.Now()
		env := &troupe.Envelope{
			Kind: troupe.Kind(kind), Name: name, ID: troupe.NewID(), ResponseTo: responseTo,
			Sender: troupe.Member{Service: service, Instance: instance}, SentAt: now,
			Durable: durable, Payload: payload,
		}
		if deadlineMs != 0 {
			env.Deadline = now.Add(time.Duration(deadlineMs) * time.Millisecond)
		}
		if env.Kind == troupe.KindReply {
			_ = raw.Reply(ctx, web.Member(), env)
		} else {
			_ = raw.Route(ctx, env)
		}
		// The in-process transport delivers synchronously.
		if n := violations.Swap(0); n != 0 {
			t.Errorf("delivered %q from %q, which may not send it", name, service)
		}
		// The same bytes as a payload: invalid JSON and oversized
		// payloads are refused before anything is sent.
		err := sender.Send(ctx, "greet", payload)
		if err == nil && (!json.Valid(payload) || len(payload) > 64) {
			t.Errorf("Send accepted payload %q", payload)
		}
	})
}
