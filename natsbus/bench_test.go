package natsbus_test

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/troupe-go/troupe/internal/cputime"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/natsbus"
)

// The benchmarks follow bench/nats: one embedded server (no
// users, JetStream in a temporary directory) per benchmark, raw nats.go and
// natsbus side by side against the same server, 16-byte payloads, untimed
// set-up and warm-up, runtime.GC before the clock starts.

// benchConns are the two ways of reaching the server.
var benchConns = []struct {
	name string
	opts func(srv *natsbus.Server) (url string, opts []nats.Option)
}{
	{"inproc", func(srv *natsbus.Server) (string, []nats.Option) {
		return "", []nats.Option{nats.InProcessServer(srv)}
	}},
	{"tcp", func(srv *natsbus.Server) (string, []nats.Option) { return srv.ClientURL(), nil }},
}

func benchServer(b *testing.B) *natsbus.Server {
	b.Helper()
	return runServer(b, natsbus.ServerConfig{})
}

func benchTransport(b *testing.B, srv *natsbus.Server, conn string, app *troupe.App) *natsbus.Transport {
	b.Helper()
	cfg := natsbus.Config{App: app, Logger: quiet}
	if conn == "inproc" {
		cfg.Server = srv
	} else {
		cfg.URL = srv.ClientURL()
	}
	return newTransport(b, cfg)
}

// payload16 is a 16-byte JSON payload (a string).
var payload16 = json.RawMessage(`"0123456789abcd"`)

// reportLatency adds p50 and p99 round-trip metrics.
func reportLatency(b *testing.B, rtts []time.Duration) {
	if len(rtts) == 0 {
		return
	}
	slices.Sort(rtts)
	b.ReportMetric(float64(rtts[len(rtts)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(rtts[len(rtts)*99/100].Nanoseconds())/1e3, "p99-µs")
}

// BenchmarkRequestReply measures one sequential request/reply round trip:
// raw nats.go Request to a responder that echoes, and a request envelope
// routed through natsbus to a member that replies through its Port.
func BenchmarkRequestReply(b *testing.B) {
	for _, c := range benchConns {
		b.Run(c.name+"/raw", func(b *testing.B) {
			srv := benchServer(b)
			url, opts := c.opts(srv)
			resp, err := nats.Connect(url, opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer resp.Close()
			if _, err := resp.Subscribe("bench.echo", func(m *nats.Msg) { _ = m.Respond(m.Data) }); err != nil {
				b.Fatal(err)
			}
			if err := resp.Flush(); err != nil {
				b.Fatal(err)
			}
			cli, err := nats.Connect(url, opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer cli.Close()
			data := []byte(payload16)
			for range 1000 {
				if _, err := cli.Request("bench.echo", data, 5*time.Second); err != nil {
					b.Fatal(err)
				}
			}
			rtts := make([]time.Duration, 0, b.N)
			runtime.GC()
			cpu0 := cputime.Now()
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				if _, err := cli.Request("bench.echo", data, 5*time.Second); err != nil {
					b.Fatal(err)
				}
				rtts = append(rtts, time.Since(start))
			}
			b.StopTimer()
			cputime.Report(b, cpu0)
			reportLatency(b, rtts)
		})
		b.Run(c.name+"/natsbus", func(b *testing.B) {
			srv := benchServer(b)
			tr := benchTransport(b, srv, c.name, nil)
			var responder bus.Port
			var ready sync.WaitGroup
			ready.Add(1)
			respMember := troupe.Member{Service: "echo", Instance: "e1"}
			responder = join(b, tr, "echo", "e1", bus.DelivererFunc(func(*troupe.Envelope, bus.Acker) {}))
			err := responder.Subscribe("bench.echo", bus.OneInstance, bus.DelivererFunc(func(req *troupe.Envelope, _ bus.Acker) {
				rep := &troupe.Envelope{Kind: troupe.KindReply, Name: "bench.echoed", ID: troupe.NewID(),
					ActivityID: req.ActivityID, ResponseTo: req.ID, Sender: respMember, SentAt: time.Now(), Payload: req.Payload}
				if err := responder.Reply(context.Background(), req.Sender, rep); err != nil {
					b.Error(err)
				}
			}))
			if err != nil {
				b.Fatal(err)
			}
			replies := make(chan *troupe.Envelope, 1)
			from := troupe.Member{Service: "client", Instance: "c1"}
			cli := join(b, tr, "client", "c1", bus.DelivererFunc(func(env *troupe.Envelope, _ bus.Acker) { replies <- env }))
			// One timer for every wait, as nats.go's Request keeps its
			// timers in a pool: a time.After per request would put a
			// timer's cost on this side only.
			patience := time.NewTimer(time.Hour)
			defer patience.Stop()
			request := func() {
				now := time.Now()
				id := troupe.NewID()
				req := &troupe.Envelope{Kind: troupe.KindRequest, Name: "bench.echo", ID: id, ActivityID: id,
					Sender: from, SentAt: now, Deadline: now.Add(5 * time.Second), Payload: payload16}
				if err := cli.Route(context.Background(), req); err != nil {
					b.Fatal(err)
				}
				patience.Reset(5 * time.Second)
				select {
				case rep := <-replies:
					if rep.ResponseTo != id {
						b.Fatalf("reply to %s, want %s", rep.ResponseTo, id)
					}
				case <-patience.C:
					b.Fatal("no reply")
				}
			}
			for range 1000 {
				request()
			}
			rtts := make([]time.Duration, 0, b.N)
			runtime.GC()
			cpu0 := cputime.Now()
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				request()
				rtts = append(rtts, time.Since(start))
			}
			b.StopTimer()
			cputime.Report(b, cpu0)
			reportLatency(b, rtts)
		})
	}
}

// durableModes are BenchmarkDurable's raw sides: what each asks of the
// server and how it publishes.
var durableModes = []struct {
	name                            string
	sync                            bool // js.Publish from durableSenders goroutines
	interest, ids, envelope, expect bool
}{
	{name: "raw"},
	{name: "raw-sync", sync: true, ids: true},
	{name: "raw-same", interest: true, ids: true, envelope: true, expect: true},
	{name: "raw-interest", interest: true},
	{name: "raw-ids", ids: true},
	{name: "raw-envelope", envelope: true},
	{name: "raw-expect", expect: true},
}

// durableSenders is how many goroutines call Route at once in
// BenchmarkDurable: Route returns only after the store's acknowledgement,
// so a sender keeps many in flight by being many.
const durableSenders = 256

// BenchmarkDurable measures durable throughput: b.N messages published to a
// file-backed stream while a durable consumer receives and acks them; the
// clock stops at the last ack. raw: js.PublishAsync (4,000 acks in flight)
// of 16-byte messages to a stream that keeps them, and Consume with m.Ack;
// raw-sync: js.Publish with a message id from durableSenders goroutines;
// raw-same: raw's PublishAsync with what natsbus asks of the server — a
// message the size of an envelope, with a message id and the expected
// stream's name, to a stream that removes it once acknowledged (interest
// retention) and deduplicates ids. raw-same over raw is what those asks cost
// the server alone, which no client can win back (docs/benchmarks.md).
// natsbus: Route of durable envelopes from durableSenders goroutines and a
// member whose Deliverer acks.
//
// One ask at a time, to tell what each costs (not in bench/run.sh's table;
// docs/benchmarks.md): raw-interest (interest retention), raw-ids (message
// ids into the duplicate window), raw-envelope (an envelope's size),
// raw-expect (the expected stream's name).
func BenchmarkDurable(b *testing.B) {
	for _, c := range benchConns {
		for _, mode := range durableModes {
			b.Run(c.name+"/"+mode.name, func(b *testing.B) {
				srv := benchServer(b)
				url, opts := c.opts(srv)
				nc, err := nats.Connect(url, opts...)
				if err != nil {
					b.Fatal(err)
				}
				defer nc.Close()
				cc, err := nats.Connect(url, opts...)
				if err != nil {
					b.Fatal(err)
				}
				defer cc.Close()
				ctx := context.Background()
				js, _ := jetstream.New(nc)
				stream := jetstream.StreamConfig{Name: "BENCH", Subjects: []string{"bench.js"}, Storage: jetstream.FileStorage}
				if mode.interest {
					stream.Retention, stream.Discard = jetstream.InterestPolicy, jetstream.DiscardNew
				}
				if mode.ids {
					stream.Duplicates = 2 * time.Minute
				}
				data := []byte(payload16)
				if mode.envelope {
					id := troupe.NewID()
					env := &troupe.Envelope{Kind: troupe.KindSend, Name: "bench.js", ID: id, ActivityID: id,
						Sender: troupe.Member{Service: "client", Instance: "c1"}, SentAt: time.Now(), Durable: true, Payload: payload16}
					if data, err = env.AppendJSON(nil); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := js.CreateStream(ctx, stream); err != nil {
					b.Fatal(err)
				}
				cjs, _ := jetstream.New(cc)
				cons, err := cjs.CreateOrUpdateConsumer(ctx, "BENCH", jetstream.ConsumerConfig{Durable: "bench", AckPolicy: jetstream.AckExplicitPolicy})
				if err != nil {
					b.Fatal(err)
				}
				var acked atomic.Int64
				all := make(chan struct{})
				target := int64(b.N + 100)
				consume, err := cons.Consume(func(m jetstream.Msg) {
					if err := m.Ack(); err != nil {
						b.Error(err)
					}
					if acked.Add(1) == target {
						close(all)
					}
				})
				if err != nil {
					b.Fatal(err)
				}
				defer consume.Stop()
				// What a publish asks of the server besides its data.
				asks := func() []jetstream.PublishOpt {
					var opts []jetstream.PublishOpt
					if mode.ids {
						opts = append(opts, jetstream.WithMsgID(troupe.NewID()))
					}
					if mode.expect {
						opts = append(opts, jetstream.WithExpectStream("BENCH"))
					}
					return opts
				}
				publish := func(n int) {
					if mode.sync {
						// Like Route: one synchronous publish per
						// message, with a message id, from
						// durableSenders goroutines.
						var next atomic.Int64
						var wg sync.WaitGroup
						for range min(durableSenders, n) {
							wg.Go(func() {
								for next.Add(1) <= int64(n) {
									if _, err := js.Publish(ctx, "bench.js", data, asks()...); err != nil {
										b.Error(err)
										return
									}
								}
							})
						}
						wg.Wait()
						return
					}
					for range n {
						for {
							_, err := js.PublishAsync("bench.js", data, asks()...)
							if err == nil {
								break
							}
							if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
								b.Fatal(err)
							}
							// A loaded machine: let the acks catch up.
							for js.PublishAsyncPending() > 1000 {
								time.Sleep(100 * time.Microsecond)
							}
						}
					}
					select {
					case <-js.PublishAsyncComplete():
					case <-time.After(time.Minute):
						b.Fatal("publish acks missing")
					}
				}
				publish(100) // warm-up
				for acked.Load() < 100 {
					time.Sleep(time.Millisecond)
				}
				runtime.GC()
				cpu0 := cputime.Now()
				b.ResetTimer()
				publish(b.N)
				<-all
				b.StopTimer()
				cputime.Report(b, cpu0)
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			})
		}
		b.Run(c.name+"/natsbus", func(b *testing.B) {
			srv := benchServer(b)
			app := &troupe.App{Name: "bench", Services: []troupe.ServiceDecl{
				{Name: "producer", Sends: []string{"bench.js"}},
				{Name: "consumer", Receives: []string{"bench.js"}, Durable: []string{"bench.js"}},
			}}
			tr := benchTransport(b, srv, c.name, app)
			var acked atomic.Int64
			all := make(chan struct{})
			target := int64(b.N + 100)
			cons := join(b, tr, "consumer", "c1", bus.DelivererFunc(func(*troupe.Envelope, bus.Acker) {}))
			err := cons.Subscribe("bench.js", bus.OneInstance, bus.DelivererFunc(func(env *troupe.Envelope, ack bus.Acker) {
				if err := ack.Ack(); err != nil {
					b.Error(err)
				}
				if acked.Add(1) == target {
					close(all)
				}
			}))
			if err != nil {
				b.Fatal(err)
			}
			prod := join(b, tr, "producer", "p1", bus.DelivererFunc(func(*troupe.Envelope, bus.Acker) {}))
			from := troupe.Member{Service: "producer", Instance: "p1"}
			publish := func(n int) {
				var next atomic.Int64
				var wg sync.WaitGroup
				for range min(durableSenders, n) {
					wg.Go(func() {
						for next.Add(1) <= int64(n) {
							id := troupe.NewID()
							env := &troupe.Envelope{Kind: troupe.KindSend, Name: "bench.js", ID: id, ActivityID: id,
								Sender: from, SentAt: time.Now(), Durable: true, Payload: payload16}
							if err := prod.Route(context.Background(), env); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
			}
			publish(100) // warm-up
			for acked.Load() < 100 {
				time.Sleep(time.Millisecond)
			}
			runtime.GC()
			cpu0 := cputime.Now()
			b.ResetTimer()
			publish(b.N)
			<-all
			b.StopTimer()
			cputime.Report(b, cpu0)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkShortcutSchema measures a request with a payload schema on its
// request and its reply between two members of one process over the
// in-process shortcut (no server on the way), with validation on and off
// (the same schemas with validate: false, the same-run baseline). Each
// payload is checked once, when sent: the receiving side trusts what its
// own bus checked in the same call (bus/schema.go).
func BenchmarkShortcutSchema(b *testing.B) {
	payload := json.RawMessage(`{"type":"object","required":["list","title"],"additionalProperties":false,
		"properties":{"list":{"type":"string","minLength":1},"title":{"type":"string","maxLength":500}}}`)
	for _, validate := range []bool{false, true} {
		b.Run(map[bool]string{false: "off", true: "on"}[validate], func(b *testing.B) {
			app := &troupe.App{
				Name: "bench",
				Services: []troupe.ServiceDecl{
					{Name: "client", Sends: []string{"echo"}},
					{Name: "server", Receives: []string{"echo"}},
				},
				Messages: []troupe.MessageDecl{
					{Name: "echo", Payload: payload, Replies: []string{"echoed"}, NoValidate: !validate},
					{Name: "echoed", Payload: payload, NoValidate: !validate},
				},
			}
			srv := runServer(b, natsbus.ServerConfig{App: app})
			bb := newBus(b, app, newTransport(b, natsbus.Config{Server: srv, App: app, Logger: quiet}))
			ctx := context.Background()
			s, err := bb.Join(ctx, "server", "s1")
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Handle("echo", bus.HandlerFunc(func(ctx context.Context, m *bus.Msg) {
				_ = m.Reply(ctx, "echoed", m.Env.Payload)
			})); err != nil {
				b.Fatal(err)
			}
			c, err := bb.Join(ctx, "client", "c1")
			if err != nil {
				b.Fatal(err)
			}
			req := json.RawMessage(`{"list":"default","title":"buy milk"}`)
			eventually(b, func() bool { // until the shortcut's table has the name
				before := srv.Stats().InMsgs
				if _, err := c.Request(ctx, "echo", req); err != nil {
					b.Fatal(err)
				}
				return srv.Stats().InMsgs == before
			})
			b.ReportAllocs()
			cpu0 := cputime.Now()
			for b.Loop() {
				if _, err := c.Request(ctx, "echo", req); err != nil {
					b.Fatal(err)
				}
			}
			cputime.Report(b, cpu0)
		})
	}
}
