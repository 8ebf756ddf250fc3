package host_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/alarm"
	"github.com/troupe-go/troupe/host"
	"github.com/troupe-go/troupe/service"
)

// loadApp has a fast message (Hello) and a slow one (slow.list) on routes of
// their own, in two services.
func loadApp() *troupe.App {
	return &troupe.App{
		Name: "load",
		Services: []troupe.ServiceDecl{
			{Name: "greeter", Receives: []string{"Hello"}},
			{Name: "store", Receives: []string{"slow.list"}},
		},
		Routes: []troupe.Route{
			{Path: "/", Types: []string{"Hello"}},
			{Method: "GET", Path: "/api/slow", Message: "slow.list"},
		},
	}
}

// webhookEvents collects the alarm events a node posts to its webhook.
type webhookEvents struct {
	mu     sync.Mutex
	events []alarm.Event
}

func (w *webhookEvents) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	var ev alarm.Event
	if err := json.NewDecoder(r.Body).Decode(&ev); err == nil {
		w.mu.Lock()
		w.events = append(w.events, ev)
		w.mu.Unlock()
	}
	rw.WriteHeader(http.StatusNoContent)
}

func (w *webhookEvents) find(name string, state alarm.State) (alarm.Event, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, ev := range w.events {
		if ev.Alarm == name && ev.State == state {
			return ev, true
		}
	}
	return alarm.Event{}, false
}

// logLines is a slog.Handler that keeps the messages it gets.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) Enabled(context.Context, slog.Level) bool { return true }
func (l *logLines) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.lines = append(l.lines, r.Message)
	l.mu.Unlock()
	return nil
}
func (l *logLines) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logLines) WithGroup(string) slog.Handler      { return l }
func (l *logLines) has(prefix string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.lines {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// TestSaturationAlarm: while slow.list is saturated, the requests its limit
// has no room for are answered 503 with Retry-After at once, Hellos are
// answered all along, and the saturation alarm is raised naming the store
// service and slow.list, in the log, the webhook and /healthz; once the
// listings are released and the window passes, it is cleared.
func TestSaturationAlarm(t *testing.T) {
	hook := &webhookEvents{}
	hs := httptest.NewServer(hook)
	defer hs.Close()
	logs := &logLines{}
	release := make(chan struct{})
	var releaseOnce sync.Once
	defer releaseOnce.Do(func() { close(release) })
	n := startNode(t, host.Config{
		App:    loadApp(),
		Only:   []string{"greeter", "store", troupe.GatewayService},
		InProc: true,
		HTTP:   host.HTTPConfig{Addr: "127.0.0.1:0"},
		Logger: slog.New(logs),
		Alarms: host.AlarmConfig{Webhook: hs.URL, SaturationWindow: 2 * time.Second},
		// A budget no loaded machine runs out of: the listings that
		// cannot wait are shed at once, whatever the machine.
		Timeout: 30 * time.Second,
		Services: []host.Service{
			{Name: "greeter", New: func(_ context.Context, in *host.Instance) (*service.Service, error) {
				s := service.New(in.Config())
				return s, service.Handle(s, "Hello", "World", func(context.Context, struct{}) (struct{}, error) { return struct{}{}, nil })
			}},
			{Name: "store", New: func(_ context.Context, in *host.Instance) (*service.Service, error) {
				cfg := in.Config()
				cfg.Limits = []troupe.LimitPolicy{{Name: "slow.list", Concurrency: 1, Queue: 1, MaxWait: time.Hour}}
				s := service.New(cfg)
				return s, service.Handle(s, "slow.list", "slow.page", func(ctx context.Context, _ struct{}) (struct{}, error) {
					select {
					case <-release:
					case <-ctx.Done():
					}
					return struct{}{}, nil
				})
			}},
		},
	})
	base := strings.TrimSuffix(n.URL(), "/")
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{}}
	defer c.CloseIdleConnections()

	// Two listings take the slot and the queue; the rest are shed.
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if resp, err := c.Get(base + "/api/slow"); err == nil {
				resp.Body.Close()
			}
		})
	}
	waitForLimit(t, n, "store", "slow.list", func(st troupe.LimitStats) bool { return st.InFlight == 1 && st.Queued == 1 })
	shed := 0
	for range 60 {
		resp, err := c.Get(base + "/api/slow")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "" {
			shed++
		}
		hello, err := c.Post(base+"/", "application/json", strings.NewReader(`{"type":"Hello"}`))
		if err != nil {
			t.Fatal(err)
		}
		hello.Body.Close()
		if hello.StatusCode != http.StatusOK {
			t.Fatalf("Hello while slow.list is saturated: %d", hello.StatusCode)
		}
	}
	if shed != 60 {
		t.Errorf("%d of 60 listings answered 503 with Retry-After, want all", shed)
	}

	raised := waitForEvent(t, hook, alarm.Raised)
	if raised.Subject != "store slow.list" || raised.Kind != "saturation" || !strings.Contains(raised.Message, "slow.list at service store") {
		t.Errorf("raised: %+v; want the subject \"store slow.list\" and a message naming both", raised)
	}
	if !logs.has("alarm saturation raised: slow.list at service store") {
		t.Error("no log line for the raised saturation alarm")
	}
	// /healthz shows it raised while listings are still being shed (more
	// are sent meanwhile, so that a slow machine does not see the short
	// window clear it first).
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := c.Get(base + "/api/slow"); err == nil {
			resp.Body.Close()
		}
		st, ok := healthAlarm(t, c, base, "saturation")
		if !ok {
			t.Fatal("/healthz has no saturation alarm")
		}
		if st.Active {
			if st.Subject != "store slow.list" {
				t.Errorf("/healthz saturation: %+v, want the subject", st)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz saturation: %+v, want it active while listings are shed", st)
		}
		time.Sleep(50 * time.Millisecond)
	}

	releaseOnce.Do(func() { close(release) })
	wg.Wait()
	cleared := waitForEvent(t, hook, alarm.Cleared)
	if cleared.Kind != "saturation" {
		t.Errorf("cleared: %+v", cleared)
	}
	if !logs.has("alarm saturation cleared") {
		t.Error("no log line for the cleared saturation alarm")
	}
}

// healthAlarm returns the alarm named name from the node's /healthz.
func healthAlarm(t *testing.T, c *http.Client, base, name string) (alarm.Status, bool) {
	t.Helper()
	var health struct {
		Alarms []alarm.Status `json:"alarms"`
	}
	resp, err := c.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(resp.Body).Decode(&health)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range health.Alarms {
		if st.Name == name {
			return st, true
		}
	}
	return alarm.Status{}, false
}

func waitForLimit(t *testing.T, n *host.Node, svc, name string, cond func(troupe.LimitStats) bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, st := range n.Limits() {
			if st.Service == svc && st.Name == name && cond(st) {
				return
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("the limit of %s at %s: not as wanted within 30 s: %+v", name, svc, n.Limits())
}

func waitForEvent(t *testing.T, hook *webhookEvents, state alarm.State) alarm.Event {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if ev, ok := hook.find("saturation", state); ok {
			return ev
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no saturation alarm %s at the webhook within 60 s", state)
	return alarm.Event{}
}
