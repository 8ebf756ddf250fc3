package service_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/natsbus"
	"github.com/troupe-go/troupe/service"
)

// shopApp is the app of the resilience tests: web calls stock.
func shopApp() *troupe.App {
	return &troupe.App{
		Name: "resil",
		Services: []troupe.ServiceDecl{
			{Name: "web", Sends: []string{"stock.get", "stock.list", "stock.put", "stock.note", "stock.changed", "quote"}},
			{Name: "stock", Receives: []string{"stock.get", "stock.list", "stock.put", "stock.note", "quote"}, Durable: []string{"stock.put"}},
			{Name: "pricing", Receives: []string{"quote", "stock.changed"}},
		},
	}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// transports are the two transports every scenario runs on.
var transports = []string{"inproc", "nats"}

// rig is one bus on a transport, an actor system, and the services started
// on them; everything stops at the end of the test.
type rig struct {
	t    *testing.T
	app  *troupe.App
	bus  *bus.Bus
	sys  *actor.System
	logs *records
}

func newRig(t *testing.T, transport string, app *troupe.App) *rig {
	t.Helper()
	cfg := bus.Config{App: app, Logger: quiet}
	var closers []func(context.Context) error
	if transport == "nats" {
		srv, err := natsbus.RunServer(natsbus.ServerConfig{App: app, DataDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		closers = append(closers, srv.Shutdown)
		tr, err := natsbus.New(context.Background(), natsbus.Config{
			URL: srv.ClientURL(), Credentials: srv.Credentials, App: app, Logger: quiet,
		})
		if err != nil {
			_ = srv.Shutdown(context.Background())
			t.Fatal(err)
		}
		closers = append(closers, tr.Close)
		cfg.Transport = tr
	}
	b, err := bus.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	logs := &records{}
	r := &rig{t: t, app: app, bus: b, sys: actor.NewSystem(actor.Config{Logger: slog.New(logs)}), logs: logs}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.Close(ctx); err != nil {
			t.Errorf("bus close: %v", err)
		}
		if err := r.sys.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		for i := len(closers) - 1; i >= 0; i-- {
			if err := closers[i](ctx); err != nil {
				t.Errorf("close transport: %v", err)
			}
		}
		if n := len(logs.crashes()); n != 0 {
			t.Errorf("%d crash reports, want none", n)
		}
	})
	return r
}

// start starts a service configured by cfg and set up by setup; it is
// stopped at the end of the test unless stopped before.
func (r *rig) start(cfg service.Config, setup func(*service.Service)) *service.Service {
	r.t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	s := service.New(cfg)
	if setup != nil {
		setup(s)
	}
	if err := s.Start(context.Background(), r.bus, r.sys); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			r.t.Errorf("stop %s: %v", s.Name(), err)
		}
	})
	return s
}

// stock is a target whose behaviour a test changes while it runs.
type stock struct {
	mode     atomic.Value // a func(n int64) error; nil answers at once
	received atomic.Int64 // requests handled
	keys     sync.Map     // idempotency key → attempts seen
}

type Item struct {
	SKU   string `json:"sku"`
	Count int    `json:"count"`
}

func newStock() *stock { return &stock{} }

// behave sets what the n-th request (from 1) does: return an error, nil
// (answer), or block.
func (st *stock) behave(f func(ctx context.Context, n int64) error) { st.mode.Store(f) }

func (st *stock) setup(s *service.Service) {
	if err := service.Handle(s, "stock.get", "stock", func(ctx context.Context, it Item) (Item, error) {
		n := st.received.Add(1)
		key := service.IdempotencyKey(ctx)
		v, _ := st.keys.LoadOrStore(key, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
		if f, _ := st.mode.Load().(func(context.Context, int64) error); f != nil {
			if err := f(ctx, n); err != nil {
				return Item{}, err
			}
		}
		return Item{SKU: it.SKU, Count: 7}, nil
	}); err != nil {
		panic(err)
	}
}

// webConfig is the caller's config with a breaker that opens after
// failures consecutive failures, stays open openFor and closes after one
// probe.
func webConfig(failures int, openFor time.Duration) service.Config {
	return service.Config{
		Name:    "web",
		Breaker: troupe.BreakerPolicy{Failures: failures, FailureRate: -1, OpenFor: openFor, Probes: 1},
	}
}

// get requests stock.get with a deadline of d and returns how long it took.
func get(s *service.Service, d time.Duration, opts ...service.CallOption) (Item, time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	it, err := service.Request[Item](ctx, s, "stock.get", Item{SKU: "a"}, opts...)
	return it, time.Since(start), err
}

// breakerOf returns the state of s's breaker in front of target.
func breakerOf(t *testing.T, s *service.Service, target string) service.TargetStatus {
	t.Helper()
	for _, ts := range s.Targets() {
		if ts.Target == target {
			return ts
		}
	}
	t.Fatalf("%s calls no %s: %+v", s.Name(), target, s.Targets())
	return service.TargetStatus{}
}

// eventually calls f every few milliseconds until it returns true, failing
// the test after 20s.
func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// events records breaker state changes.
type events struct {
	mu  sync.Mutex
	evs []service.BreakerEvent
}

func (e *events) add(ev service.BreakerEvent) {
	e.mu.Lock()
	e.evs = append(e.evs, ev)
	e.mu.Unlock()
}

// path returns the states entered, in order.
func (e *events) path() []service.BreakerState {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []service.BreakerState
	for _, ev := range e.evs {
		out = append(out, ev.To)
	}
	return out
}

func isOpen(err error) bool {
	return errors.Is(err, service.ErrBreakerOpen) && errors.Is(err, troupe.ErrUnavailable)
}

// checkPath checks that path is a sequence of states a breaker can go
// through from closed (closed→open→half-open→open or closed ...) ending in
// last, and returns how many times it turned half-open (each time, with
// Probes 1, one probe reached the target).
func checkPath(t *testing.T, path []service.BreakerState, last service.BreakerState) (halfOpens int) {
	t.Helper()
	next := map[service.BreakerState][]service.BreakerState{
		service.BreakerClosed:   {service.BreakerOpen},
		service.BreakerOpen:     {service.BreakerHalfOpen},
		service.BreakerHalfOpen: {service.BreakerOpen, service.BreakerClosed},
	}
	prev := service.BreakerClosed
	for _, s := range path {
		if !slices.Contains(next[prev], s) {
			t.Errorf("breaker went from %s to %s (path %v)", prev, s, path)
		}
		if s == service.BreakerHalfOpen {
			halfOpens++
		}
		prev = s
	}
	if prev != last {
		t.Errorf("breaker ended %s, want %s (path %v)", prev, last, path)
	}
	return halfOpens
}
