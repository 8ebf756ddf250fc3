package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
)

// slowApp has a fast protocol route (Hello) and a REST route whose handler
// answers only when the test releases it.
func slowApp() *troupe.App {
	return &troupe.App{
		Name: "slow",
		Services: []troupe.ServiceDecl{
			{Name: troupe.GatewayService, Sends: []string{"Hello", "slow.list"}},
			{Name: "svc", Receives: []string{"Hello", "slow.list"}},
		},
		Routes: []troupe.Route{
			{Path: "/", Types: []string{"Hello"}},
			{Method: "GET", Path: "/api/slow", Message: "slow.list"},
		},
	}
}

// slowBus runs slowApp's service on an in-process bus; closing release lets
// every slow.list answer.
func slowBus(t *testing.T, release chan struct{}) *bus.Client {
	t.Helper()
	ctx := context.Background()
	b, err := bus.New(bus.Config{App: slowApp(), Logger: slog.New(slog.DiscardHandler), Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		wg.Wait()
		if err := b.Close(ctx); err != nil {
			t.Errorf("closing the bus: %v", err)
		}
	})
	svc, err := b.Join(ctx, "svc", "svc-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Handle("Hello", bus.HandlerFunc(func(ctx context.Context, m *bus.Msg) { _ = m.Reply(ctx, "World", nil) })); err != nil {
		t.Fatal(err)
	}
	if err := svc.Handle("slow.list", bus.HandlerFunc(func(_ context.Context, m *bus.Msg) {
		wg.Go(func() {
			<-release
			_ = m.Reply(context.Background(), "slow.page", nil)
		})
	})); err != nil {
		t.Fatal(err)
	}
	gw, err := b.Join(ctx, troupe.GatewayService, "g1")
	if err != nil {
		t.Fatal(err)
	}
	return gw
}

// routeStats returns the limit counts of the route with pattern.
func routeStats(g *Gateway, pattern string) troupe.LimitStats {
	for _, st := range g.Limits() {
		if st.Name == pattern {
			return st
		}
	}
	return troupe.LimitStats{}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20 s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestSaturatedRouteShedsAndHellosGoOn: while a slow route has its two
// requests in progress and two waiting, a fifth is answered 503 with
// Retry-After at once, and Hellos, on their own route, are answered all
// along; once the slow requests are released, the admitted ones succeed.
func TestSaturatedRouteShedsAndHellosGoOn(t *testing.T) {
	release := make(chan struct{})
	reg := prometheus.NewRegistry()
	g := newGateway(t, Config{
		App:        slowApp(),
		Bus:        slowBus(t, release),
		Registerer: reg,
		Limits:     []troupe.LimitPolicy{{Name: "GET /api/slow", Concurrency: 2, Queue: 2, MaxWait: time.Hour}},
	})
	s := serve(t, g)
	c := newClient(t)
	base := strings.TrimSuffix(s.URL(), "/")

	admitted := make(chan int, 4)
	get := func() {
		resp, err := c.Get(base + "/api/slow")
		if err != nil {
			t.Error(err)
			admitted <- 0
			return
		}
		resp.Body.Close()
		admitted <- resp.StatusCode
	}
	for range 2 {
		go get()
	}
	waitUntil(t, "two slow requests in progress", func() bool { return routeStats(g, "GET /api/slow").InFlight == 2 })
	for range 2 {
		go get()
	}
	waitUntil(t, "two slow requests waiting", func() bool { return routeStats(g, "GET /api/slow").Queued == 2 })

	resp, err := c.Get(base + "/api/slow")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != RetryAfter {
		t.Errorf("a fifth slow request: %d, Retry-After %q; want 503 and %q", resp.StatusCode, resp.Header.Get("Retry-After"), RetryAfter)
	}
	shed := do(t, c, "GET", base+"/api/slow", "", "")
	if shed.Body["code"] != "unavailable" || !strings.Contains(shed.Body["msg"].(string), "route GET /api/slow at the gateway: overloaded, shed") {
		t.Errorf("the shed request's body: %v", shed.Body)
	}
	for range 50 {
		hello(t, c, s.URL())
	}
	close(release)
	for range 4 {
		if code := <-admitted; code != http.StatusOK {
			t.Errorf("an admitted slow request: %d, want 200", code)
		}
	}
	if st := routeStats(g, "GET /api/slow"); st.Shed != 2 || st.Arrived != 6 || st.InFlight != 0 || st.Queued != 0 {
		t.Errorf("the slow route's limit: %+v, want 6 arrived, 2 shed, none left", st)
	}
	if got := shedMetric(t, reg, "GET /api/slow"); got != 2 {
		t.Errorf("troupe_gateway_shed_total: %v, want 2", got)
	}
}

// shedMetric returns troupe_gateway_shed_total{route} from reg.
func shedMetric(t *testing.T, reg *prometheus.Registry, route string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "troupe_gateway_shed_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == route {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no troupe_gateway_shed_total{route=%q}", route)
	return 0
}

// TestWaitingTooLongIs503NotTimeout: a request that waits for its turn
// longer than MaxWait is answered 503, not left to its (minute-long) budget
// and a 504.
func TestWaitingTooLongIs503NotTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	g := newGateway(t, Config{
		App:    slowApp(),
		Bus:    slowBus(t, release),
		Limits: []troupe.LimitPolicy{{Name: "GET /api/slow", Concurrency: 1, MaxWait: 20 * time.Millisecond}},
	})
	s := serve(t, g)
	c := newClient(t)
	base := strings.TrimSuffix(s.URL(), "/")
	first := make(chan struct{})
	go func() {
		defer close(first)
		resp, err := c.Get(base + "/api/slow")
		if err == nil {
			resp.Body.Close()
		}
	}()
	waitUntil(t, "one slow request in progress", func() bool { return routeStats(g, "GET /api/slow").InFlight == 1 })
	got := do(t, c, "GET", base+"/api/slow", "", "")
	if got.Status != http.StatusServiceUnavailable || got.Body["code"] != "unavailable" {
		t.Errorf("a request behind a stuck one: %d %v, want 503 unavailable", got.Status, got.Body)
	}
	release <- struct{}{} // not closed yet: one value lets the first one go
	<-first
}

func TestLimitConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"unknown route", Config{Limits: []troupe.LimitPolicy{{Name: "GET /nope", Concurrency: 1}}}, `limit "GET /nope": no route has this pattern`},
		{"negative", Config{Limit: troupe.LimitPolicy{Concurrency: -1}}, "negative Concurrency"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.App, tt.cfg.Bus = testApp(), newTestBus(t)
			if _, err := New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v, want an error saying %q", err, tt.want)
			}
		})
	}
}
