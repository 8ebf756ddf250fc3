package bus_test

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/troupe-go/troupe/internal/cputime"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
)

func benchBus(b *testing.B) *bus.Bus {
	b.Helper()
	app := &troupe.App{Name: "bench", Services: []troupe.ServiceDecl{
		{Name: "client", Sends: []string{"echo", "note", "tick"}},
		{Name: "server", Receives: []string{"echo", "note"}},
	}}
	for i := range 10 {
		app.Services = append(app.Services, troupe.ServiceDecl{Name: fmt.Sprintf("sub%d", i), Receives: []string{"tick"}})
	}
	// A long Timeout: on a loaded machine a stalled thread must not make
	// a benchmark fail.
	bb, err := bus.New(bus.Config{App: app, Logger: slog.New(slog.DiscardHandler), Timeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = bb.Close(context.Background()) })
	return bb
}

func benchJoin(b *testing.B, bb *bus.Bus, service, instance string) *bus.Client {
	c, err := bb.Join(context.Background(), service, instance)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

var benchPayload = json.RawMessage(`{"n":1}`)

// BenchmarkRequest is one request/response round trip through the bus and
// the in-process transport, to a handler that replies directly.
func BenchmarkRequest(b *testing.B) {
	bb := benchBus(b)
	s := benchJoin(b, bb, "server", "s1")
	if err := s.Handle("echo", bus.HandlerFunc(func(ctx context.Context, m *bus.Msg) {
		_ = m.Reply(ctx, "echoed", m.Env.Payload)
	})); err != nil {
		b.Fatal(err)
	}
	c := benchJoin(b, bb, "client", "c1")
	ctx := context.Background()
	b.ReportAllocs()
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		start := cputime.Now()
		for b.Loop() {
			if _, err := c.Request(ctx, "echo", benchPayload); err != nil {
				b.Fatal(err)
			}
		}
		cputime.Report(b, start)
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		start := cputime.Now()
		defer cputime.Report(b, start)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := c.Request(ctx, "echo", benchPayload); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkBaselineRequest is the bare baseline of BenchmarkRequest: a
// request and reply handed through a map lookup and a buffered channel,
// without policy, stats or envelopes.
func BenchmarkBaselineRequest(b *testing.B) {
	type req struct {
		payload json.RawMessage
		reply   chan json.RawMessage
	}
	handlers := map[string]func(*req){"echo": func(r *req) { r.reply <- r.payload }}
	b.ReportAllocs()
	start := cputime.Now()
	for b.Loop() {
		r := &req{payload: benchPayload, reply: make(chan json.RawMessage, 1)}
		handlers["echo"](r)
		<-r.reply
	}
	cputime.Report(b, start)
}

// BenchmarkBaselineGoroutine is the bare baseline of a request to a server
// goroutine (as an actor's Ask is): a channel send to the server, which
// replies on the request's channel.
func BenchmarkBaselineGoroutine(b *testing.B) {
	type req struct {
		payload json.RawMessage
		reply   chan json.RawMessage
	}
	in := make(chan *req)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for r := range in {
			r.reply <- r.payload
		}
	}()
	b.ReportAllocs()
	start := cputime.Now()
	for b.Loop() {
		r := &req{payload: benchPayload, reply: make(chan json.RawMessage, 1)}
		in <- r
		<-r.reply
	}
	cputime.Report(b, start)
	close(in)
	<-done
}

// BenchmarkSend is one-way notifications to a handler that counts them.
func BenchmarkSend(b *testing.B) {
	bb := benchBus(b)
	s := benchJoin(b, bb, "server", "s1")
	var n atomic.Int64
	if err := s.Handle("note", bus.HandlerFunc(func(ctx context.Context, m *bus.Msg) { n.Add(1) })); err != nil {
		b.Fatal(err)
	}
	c := benchJoin(b, bb, "client", "c1")
	ctx := context.Background()
	b.ReportAllocs()
	start := cputime.Now()
	for b.Loop() {
		if err := c.Send(ctx, "note", benchPayload); err != nil {
			b.Fatal(err)
		}
	}
	cputime.Report(b, start)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkPublish10 publishes events to 10 subscribing services.
func BenchmarkPublish10(b *testing.B) {
	bb := benchBus(b)
	var n atomic.Int64
	for i := range 10 {
		s := benchJoin(b, bb, fmt.Sprintf("sub%d", i), "i1")
		if err := s.Handle("tick", bus.HandlerFunc(func(ctx context.Context, m *bus.Msg) { n.Add(1) })); err != nil {
			b.Fatal(err)
		}
	}
	c := benchJoin(b, bb, "client", "c1")
	ctx := context.Background()
	b.ReportAllocs()
	start := cputime.Now()
	for b.Loop() {
		if err := c.Publish(ctx, "tick", benchPayload); err != nil {
			b.Fatal(err)
		}
	}
	cputime.Report(b, start)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(n.Load())/b.Elapsed().Seconds(), "deliveries/s")
}
