package natsbus_test

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/natsbus"
)

// processed records the durable envelopes a service handled, acking each.
type processed struct {
	mu   sync.Mutex
	seen map[troupe.ID]int
}

func newProcessed() *processed { return &processed{seen: map[troupe.ID]int{}} }

func (p *processed) Deliver(env *troupe.Envelope, ack bus.Acker) {
	p.mu.Lock()
	p.seen[env.ID]++
	p.mu.Unlock()
	if ack != nil {
		_ = ack.Ack()
	}
}

func (p *processed) missing(ids []troupe.ID) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, id := range ids {
		if p.seen[id] == 0 {
			n++
		}
	}
	return n
}

// loader routes durable envelopes until stopped, retrying each one (same
// ID, so deduplicated) until Route accepts it.
type loader struct {
	mu       sync.Mutex
	accepted []troupe.ID
	errs     []error
	stop     chan struct{}
	done     chan struct{}
}

func startLoader(p bus.Port, name string, from troupe.Member, limit int) *loader {
	l := &loader{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for i := 0; limit <= 0 || i < limit; i++ {
			env := envelope(troupe.KindSend, name, from, i)
			env.Durable = true
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				err := p.Route(ctx, env)
				cancel()
				l.mu.Lock()
				if err == nil {
					l.accepted = append(l.accepted, env.ID)
				} else {
					l.errs = append(l.errs, err)
				}
				l.mu.Unlock()
				if err == nil {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}()
	return l
}

func (l *loader) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.accepted)
}

func (l *loader) finish() ([]troupe.ID, []error) {
	close(l.stop)
	<-l.done
	return l.accepted, l.errs
}

// TestServerRestart restarts the server under load: clients reconnect,
// durable envelopes accepted before, during and after are all delivered, and
// an at-most-once request during the outage fails with a clear error.
func TestServerRestart(t *testing.T) {
	app := shop()
	dir := t.TempDir()
	srv, err := natsbus.RunServer(natsbus.ServerConfig{App: app, DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) }) // the last one
	u, _ := url.Parse(srv.ClientURL())
	port, _ := strconv.Atoi(u.Port())
	users := srv.Users()
	tr := newTransport(t, natsbus.Config{URL: srv.ClientURL(), Credentials: natsbus.CredentialsFrom(users), App: app, AckWait: time.Second})
	got := newProcessed()
	orders := join(t, tr, "orders", "o1", newInbox())
	if err := orders.Subscribe("order.place", bus.OneInstance, got); err != nil {
		t.Fatal(err)
	}
	web := join(t, tr, "web", "w1", newInbox())
	from := troupe.Member{Service: "web", Instance: "w1"}
	load := startLoader(web, "order.place", from, 0)
	eventually(t, func() bool { return load.count() >= 200 })

	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	var reqErr error
	eventually(t, func() bool {
		reqErr = web.Route(context.Background(), envelope(troupe.KindRequest, "stock.get", from, nil))
		return reqErr != nil
	})
	if !errors.Is(reqErr, troupe.ErrUnavailable) {
		t.Errorf("request during the outage: got %v, want an unavailable error", reqErr)
	}
	t.Logf("request during the outage: %v", reqErr)

	before := load.count()
	srv, err = natsbus.RunServer(natsbus.ServerConfig{App: app, DataDir: dir, Port: port, Credentials: users})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { return load.count() >= before+200 })
	accepted, errs := load.finish()
	t.Logf("accepted %d durable envelopes, %d refused attempts during the restart", len(accepted), len(errs))
	eventually(t, func() bool { return got.missing(accepted) == 0 })
	if len(errs) == 0 {
		t.Log("no Route failed during the restart")
	}
}
