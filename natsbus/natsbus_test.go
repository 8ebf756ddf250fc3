package natsbus_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/natsbus"
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(helperMain())
	}
	goleak.VerifyTestMain(m)
}

// shop is the application most tests use.
func shop() *troupe.App {
	return &troupe.App{
		Name: "shop",
		Services: []troupe.ServiceDecl{
			{Name: "web", Sends: []string{"order.place", "stock.get", "stock.set"}},
			{Name: "orders", Sends: []string{"order.placed"}, Receives: []string{"order.place"}, Durable: []string{"order.place"}},
			{Name: "stock", Receives: []string{"stock.get", "order.placed", "stock.set"}, Durable: []string{"order.placed"}},
		},
		Routes: []troupe.Route{{Method: "GET", Path: "/stock/{id}", Message: "stock.get"}},
	}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// runServer starts an embedded server for app, shut down at the end of the test.
func runServer(t testing.TB, cfg natsbus.ServerConfig) *natsbus.Server {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	srv, err := natsbus.RunServer(cfg)
	if err != nil {
		t.Fatalf("RunServer: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return srv
}

// newTransport returns a Transport closed at the end of the test.
func newTransport(t testing.TB, cfg natsbus.Config) *natsbus.Transport {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	tr, err := natsbus.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := tr.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return tr
}

// connections are the two ways of reaching an embedded server.
var connections = []struct {
	name string
	cfg  func(srv *natsbus.Server) natsbus.Config
}{
	{"inproc", func(srv *natsbus.Server) natsbus.Config { return natsbus.Config{Server: srv} }},
	{"inproc-through-server", func(srv *natsbus.Server) natsbus.Config { return natsbus.Config{Server: srv, NoShortcut: true} }},
	{"tcp", func(srv *natsbus.Server) natsbus.Config {
		return natsbus.Config{URL: srv.ClientURL(), Credentials: srv.Credentials}
	}},
}

// inbox collects delivered envelopes.
type inbox struct {
	mu   sync.Mutex
	envs []*troupe.Envelope
	acks []bus.Acker
	ch   chan *troupe.Envelope
}

func newInbox() *inbox { return &inbox{ch: make(chan *troupe.Envelope, 100000)} }

func (b *inbox) Deliver(env *troupe.Envelope, ack bus.Acker) {
	b.mu.Lock()
	b.envs = append(b.envs, env)
	b.acks = append(b.acks, ack)
	b.mu.Unlock()
	b.ch <- env
}

// next waits for the next envelope.
func (b *inbox) next(t testing.TB) *troupe.Envelope {
	t.Helper()
	select {
	case env := <-b.ch:
		return env
	case <-time.After(20 * time.Second):
		t.Fatalf("no envelope delivered")
		return nil
	}
}

// none checks that nothing more is delivered for a while.
func (b *inbox) none(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case env := <-b.ch:
		t.Fatalf("unexpected delivery: %s %q", env.Kind, env.Name)
	case <-time.After(d):
	}
}

func join(t testing.TB, tr *natsbus.Transport, service, instance string, in bus.Deliverer) bus.Port {
	t.Helper()
	p, err := tr.Join(context.Background(), troupe.Member{Service: service, Instance: instance}, in)
	if err != nil {
		t.Fatalf("Join %s/%s: %v", service, instance, err)
	}
	return p
}

func envelope(kind troupe.Kind, name string, from troupe.Member, payload any) *troupe.Envelope {
	data, _ := json.Marshal(payload)
	now := time.Now()
	env := &troupe.Envelope{Kind: kind, Name: name, ID: troupe.NewID(), Sender: from, SentAt: now, Payload: data, From: from.Service}
	env.ActivityID = env.ID
	if kind == troupe.KindRequest {
		env.Deadline = now.Add(5 * time.Second)
	}
	return env
}

func replyTo(req *troupe.Envelope, from troupe.Member, payload any) *troupe.Envelope {
	env := envelope(troupe.KindReply, req.Name+".reply", from, payload)
	env.ResponseTo = req.ID
	env.ActivityID = req.ActivityID
	return env
}

func TestRequestReply(t *testing.T) {
	for _, c := range connections {
		t.Run(c.name, func(t *testing.T) {
			app := shop()
			srv := runServer(t, natsbus.ServerConfig{App: app})
			cfg := c.cfg(srv)
			cfg.App = app
			tr := newTransport(t, cfg)
			webIn := newInbox()
			web := join(t, tr, "web", "w1", webIn)
			stock := make([]bus.Port, 2)
			stockIn := newInbox()
			for i, inst := range []string{"s1", "s2"} {
				stock[i] = join(t, tr, "stock", inst, newInbox())
				if err := stock[i].Subscribe("stock.get", bus.OneInstance, stockIn); err != nil {
					t.Fatalf("Subscribe: %v", err)
				}
			}
			from := troupe.Member{Service: "web", Instance: "w1"}
			const n = 20
			for i := range n {
				req := envelope(troupe.KindRequest, "stock.get", from, i)
				if err := web.Route(context.Background(), req); err != nil {
					t.Fatalf("Route: %v", err)
				}
				got := stockIn.next(t)
				if diff := cmpEnvelope(got, req); diff != "" {
					t.Fatalf("delivered envelope differs (-got +want):\n%s", diff)
				}
				rep := replyTo(got, troupe.Member{Service: "stock", Instance: "s1"}, i*10)
				if err := stock[0].Reply(context.Background(), got.Sender, rep); err != nil {
					t.Fatalf("Reply: %v", err)
				}
				if diff := cmpEnvelope(webIn.next(t), rep); diff != "" {
					t.Fatalf("reply differs (-got +want):\n%s", diff)
				}
			}
			// Each request went to exactly one of the two instances.
			stockIn.none(t, 100*time.Millisecond)
		})
	}
}
