package alarm_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/troupe-go/troupe/alarm"
)

// hook is an httptest server that answers each POST with the next status of
// a script (the last one repeats) and keeps the bodies it received.
type hook struct {
	srv *httptest.Server

	mu       sync.Mutex
	statuses []int
	bodies   [][]byte
	headers  []http.Header
}

func newHook(t *testing.T, statuses ...int) *hook {
	t.Helper()
	h := &hook{statuses: statuses}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		i := min(len(h.bodies), len(h.statuses)-1)
		h.bodies = append(h.bodies, body)
		h.headers = append(h.headers, r.Header.Clone())
		status := h.statuses[i]
		h.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) requests() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.bodies)
}

func newWebhook(t *testing.T, c alarm.WebhookConfig) *alarm.Webhook {
	t.Helper()
	if c.Backoff == 0 {
		c.Backoff = time.Millisecond // keep retrying tests short; not asserted
	}
	if c.Logger == nil {
		c.Logger = discardLogger()
	}
	w, err := alarm.NewWebhook(c)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

var testEvent = alarm.Event{
	Alarm:     "hello.surge",
	Kind:      "rate",
	State:     alarm.Raised,
	Value:     12000,
	Threshold: 10000,
	At:        time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC),
	Message:   "alarm hello.surge raised: 120000 requests in the last 10s (12000/s), above 10000",
	Source:    "node1",
}

func TestWebhookBody(t *testing.T) {
	h := newHook(t, http.StatusNoContent)
	w := newWebhook(t, alarm.WebhookConfig{
		URL:    h.srv.URL + "/alarms",
		Header: http.Header{"Authorization": {"Bearer s3cret"}},
	})
	if err := w.Notify(context.Background(), testEvent); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := h.requests(), 1; got != want {
		t.Fatalf("requests = %d, want %d", got, want)
	}
	var got map[string]any
	if err := json.Unmarshal(h.bodies[0], &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"alarm":     "hello.surge",
		"kind":      "rate",
		"state":     "raised",
		"value":     12000.0,
		"threshold": 10000.0,
		"at":        "2026-11-26T12:00:00Z",
		"message":   "alarm hello.surge raised: 120000 requests in the last 10s (12000/s), above 10000",
		"source":    "node1",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
	for k, want := range map[string]string{"Content-Type": "application/json", "Authorization": "Bearer s3cret", "User-Agent": "troupe-alarm"} {
		if got := h.headers[0].Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	if diff := cmp.Diff(alarm.WebhookStats{Delivered: 1}, w.Stats()); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

func TestWebhookRetries(t *testing.T) {
	tests := []struct {
		name         string
		statuses     []int
		attempts     int
		wantRequests int
		wantStats    alarm.WebhookStats
	}{
		{"first try", []int{200}, 3, 1, alarm.WebhookStats{Delivered: 1}},
		{"retried after 500s", []int{500, 503, 200}, 5, 3, alarm.WebhookStats{Delivered: 1, Retries: 2}},
		{"too many requests is retried", []int{429, 202}, 5, 2, alarm.WebhookStats{Delivered: 1, Retries: 1}},
		{"gives up after attempts", []int{500}, 3, 3, alarm.WebhookStats{Failed: 1, Retries: 2}},
		{"client error is not retried", []int{400}, 5, 1, alarm.WebhookStats{Failed: 1}},
		{"not found is not retried", []int{404}, 5, 1, alarm.WebhookStats{Failed: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHook(t, tt.statuses...)
			w := newWebhook(t, alarm.WebhookConfig{URL: h.srv.URL, Attempts: tt.attempts})
			if err := w.Notify(context.Background(), testEvent); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := h.requests(); got != tt.wantRequests {
				t.Errorf("requests = %d, want %d", got, tt.wantRequests)
			}
			if diff := cmp.Diff(tt.wantStats, w.Stats()); diff != "" {
				t.Errorf("stats (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWebhookUnreachable(t *testing.T) {
	// A listener that was closed: connections are refused.
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	w := newWebhook(t, alarm.WebhookConfig{URL: url, Attempts: 2})
	if err := w.Notify(context.Background(), testEvent); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(alarm.WebhookStats{Failed: 1, Retries: 1}, w.Stats()); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

func TestWebhookDeadDoesNotBlock(t *testing.T) {
	// A webhook that accepts the connection and never answers.
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)

	w := newWebhook(t, alarm.WebhookConfig{URL: srv.URL, QueueSize: 2, Backoff: time.Hour})
	if err := w.Notify(context.Background(), testEvent); err != nil {
		t.Fatal(err)
	}
	<-arrived // the worker is stuck in the first delivery
	var dropped int
	for range 100 {
		if err := w.Notify(context.Background(), testEvent); errors.Is(err, alarm.ErrQueueFull) {
			dropped++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if got, want := dropped, 98; got != want {
		t.Errorf("dropped = %d, want %d (queue of 2)", got, want)
	}
	// Close gives up on the stuck delivery when its context ends; the
	// event in flight and the two queued ones count as failed.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Close = %v, want context.Canceled", err)
	}
	if diff := cmp.Diff(alarm.WebhookStats{Failed: 3, Dropped: 98}, w.Stats()); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	if err := w.Notify(context.Background(), testEvent); !errors.Is(err, alarm.ErrClosed) {
		t.Errorf("Notify after Close = %v, want ErrClosed", err)
	}
}

func TestWebhookInMonitor(t *testing.T) {
	h := newHook(t, http.StatusOK)
	w := newWebhook(t, alarm.WebhookConfig{URL: h.srv.URL})
	clk := newFakeClock()
	m := alarm.New(alarm.Config{Clock: clk, Notifiers: []alarm.Notifier{w}})
	r, err := m.Rate("surge", alarm.RateConfig{Threshold: alarm.Threshold{High: 10}, Window: time.Second, Buckets: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []uint64{50, 50, 9, 50, 0, 0} {
		r.ObserveN(n)
		clk.Advance(time.Second)
		m.Evaluate(context.Background())
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range h.bodies {
		var e alarm.Event
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatal(err)
		}
		got = append(got, string(e.State))
	}
	if diff := cmp.Diff([]string{"raised", "cleared"}, got); diff != "" {
		t.Errorf("posted states (-want +got):\n%s", diff)
	}
}

func TestWebhookBadConfig(t *testing.T) {
	tests := []struct {
		name string
		c    alarm.WebhookConfig
	}{
		{"empty url", alarm.WebhookConfig{}},
		{"relative url", alarm.WebhookConfig{URL: "/hook"}},
		{"ftp url", alarm.WebhookConfig{URL: "ftp://127.0.0.1/hook"}},
		{"no host", alarm.WebhookConfig{URL: "http:///hook"}},
		{"unparsable url", alarm.WebhookConfig{URL: "http://[::1"}},
		{"negative attempts", alarm.WebhookConfig{URL: "http://127.0.0.1/", Attempts: -1}},
		{"negative queue", alarm.WebhookConfig{URL: "http://127.0.0.1/", QueueSize: -1}},
		{"negative backoff", alarm.WebhookConfig{URL: "http://127.0.0.1/", Backoff: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := alarm.NewWebhook(tt.c)
			if err == nil {
				_ = w.Close(context.Background())
				t.Fatal("got nil error, want one")
			}
		})
	}
}
