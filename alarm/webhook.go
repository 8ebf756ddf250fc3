package alarm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of the webhook notifier.
const (
	DefaultWebhookAttempts   = 5
	DefaultWebhookBackoff    = 500 * time.Millisecond
	DefaultWebhookMaxBackoff = 30 * time.Second
	DefaultWebhookQueue      = 64
	DefaultWebhookTimeout    = 10 * time.Second
)

// WebhookConfig configures a [Webhook]. URL is required; the rest has
// defaults.
type WebhookConfig struct {
	// URL receives a POST with the event as a JSON body. http or https.
	URL string
	// Header is added to every request (for example Authorization).
	Header http.Header
	// Client sends the requests (default a client of its own with a 10s
	// timeout, whose idle connections Close closes).
	Client *http.Client
	// Attempts is the number of tries per event, the first included
	// (default 5).
	Attempts int
	// Backoff is the wait after the first failed attempt; it doubles
	// after each further failure up to MaxBackoff (defaults 500ms, 30s).
	Backoff    time.Duration
	MaxBackoff time.Duration
	// QueueSize bounds the events waiting to be sent (default 64); past
	// it, Notify drops the event and returns ErrQueueFull.
	QueueSize int
	// Logger receives delivery failures (default slog.Default()).
	Logger *slog.Logger
}

// WebhookStats counts what a webhook did with the events it was given.
type WebhookStats struct {
	Delivered uint64 // accepted by the server with a 2xx status
	Failed    uint64 // given up after the last attempt, a permanent error, or Close
	Dropped   uint64 // refused because the queue was full
	Retries   uint64 // attempts after the first
}

// Webhook is a [Notifier] that posts events to a URL from its own goroutine.
// Notify never blocks: it queues the event, or drops it when the bounded
// queue is full, so a dead webhook neither stalls the monitor nor grows
// memory. Each event is tried up to Attempts times with exponential backoff
// on network errors, 408, 429 and 5xx; other statuses fail at once.
type Webhook struct {
	url        string
	header     http.Header
	client     *http.Client
	attempts   int
	backoff    time.Duration
	maxBackoff time.Duration
	log        *slog.Logger
	ownClient  bool

	queue  chan Event
	mu     sync.Mutex // guards closed against sends on queue
	closed bool
	stop   chan struct{} // closed by Close: drain the queue and return
	ctx    context.Context
	cancel context.CancelFunc // aborts deliveries when Close gives up waiting
	done   chan struct{}

	delivered, failed, dropped, retries atomic.Uint64
}

var _ Notifier = (*Webhook)(nil)

// NewWebhook checks c and starts the webhook's delivery goroutine. Close
// stops it.
func NewWebhook(c WebhookConfig) (*Webhook, error) {
	u, err := url.Parse(c.URL)
	switch {
	case err != nil:
		return nil, fmt.Errorf("alarm: webhook url: %w", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("alarm: webhook url %q: scheme must be http or https", c.URL)
	case u.Host == "":
		return nil, fmt.Errorf("alarm: webhook url %q: missing host", c.URL)
	case c.Attempts < 0 || c.QueueSize < 0 || c.Backoff < 0 || c.MaxBackoff < 0:
		return nil, fmt.Errorf("alarm: webhook: negative attempts, queue size or backoff")
	}
	w := &Webhook{
		url:        u.String(),
		header:     c.Header.Clone(),
		client:     c.Client,
		attempts:   c.Attempts,
		backoff:    c.Backoff,
		maxBackoff: c.MaxBackoff,
		log:        c.Logger,
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
	}
	if w.client == nil {
		var rt http.RoundTripper = http.DefaultTransport
		if t, ok := rt.(*http.Transport); ok {
			rt = t.Clone()
		}
		w.client = &http.Client{Transport: rt, Timeout: DefaultWebhookTimeout}
		w.ownClient = true
	}
	if w.attempts == 0 {
		w.attempts = DefaultWebhookAttempts
	}
	if w.backoff == 0 {
		w.backoff = DefaultWebhookBackoff
	}
	if w.maxBackoff == 0 {
		w.maxBackoff = max(DefaultWebhookMaxBackoff, w.backoff)
	}
	if w.log == nil {
		w.log = slog.Default()
	}
	size := c.QueueSize
	if size == 0 {
		size = DefaultWebhookQueue
	}
	w.queue = make(chan Event, size)
	w.ctx, w.cancel = context.WithCancel(context.Background())
	go w.run()
	return w, nil
}

// Notify queues e for delivery and returns at once. It returns ErrQueueFull
// when the queue is full (the event is dropped and counted) and ErrClosed
// after Close.
func (w *Webhook) Notify(_ context.Context, e Event) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return fmt.Errorf("alarm: webhook: %w", ErrClosed)
	}
	select {
	case w.queue <- e:
		return nil
	default:
		w.dropped.Add(1)
		return fmt.Errorf("alarm: webhook: event %s %s dropped: %w", e.Alarm, e.State, ErrQueueFull)
	}
}

// Stats returns the webhook's counters.
func (w *Webhook) Stats() WebhookStats {
	return WebhookStats{
		Delivered: w.delivered.Load(),
		Failed:    w.failed.Load(),
		Dropped:   w.dropped.Load(),
		Retries:   w.retries.Load(),
	}
}

// Close stops accepting events, delivers those already queued, and waits
// until done or until ctx ends; then it aborts the delivery in progress,
// counts the events left as failed, and returns ctx's error.
func (w *Webhook) Close(ctx context.Context) error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.stop)
	}
	w.mu.Unlock()
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		w.cancel()
		<-w.done
		return fmt.Errorf("alarm: webhook close: %w", ctx.Err())
	}
}

func (w *Webhook) run() {
	defer close(w.done)
	defer w.cancel()
	if w.ownClient {
		defer w.client.CloseIdleConnections()
	}
	for {
		select {
		case e := <-w.queue:
			w.deliver(e)
		case <-w.stop:
			for {
				select {
				case e := <-w.queue:
					w.deliver(e)
				default:
					return
				}
			}
		}
	}
}

// deliver tries e up to the configured attempts.
func (w *Webhook) deliver(e Event) {
	body, err := json.Marshal(e)
	if err != nil {
		w.fail(e, 0, fmt.Errorf("encode: %w", err))
		return
	}
	wait := w.backoff
	for attempt := 1; ; attempt++ {
		retry, err := w.post(body)
		if err == nil {
			w.delivered.Add(1)
			return
		}
		if !retry || attempt >= w.attempts || w.ctx.Err() != nil {
			w.fail(e, attempt, err)
			return
		}
		w.retries.Add(1)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-w.ctx.Done():
			t.Stop()
			w.fail(e, attempt, err)
			return
		}
		wait = min(2*wait, w.maxBackoff)
	}
}

func (w *Webhook) fail(e Event, attempts int, err error) {
	w.failed.Add(1)
	w.log.Warn("alarm: webhook delivery failed", "alarm", e.Alarm, "state", string(e.State), "attempts", attempts, "err", err)
}

// post sends one attempt; retry says whether a failure may succeed later.
func (w *Webhook) post(body []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(w.ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	for k, vs := range w.header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Content-Type", "application/json")
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "troupe-alarm")
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return true, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return false, nil
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return true, fmt.Errorf("status %s", resp.Status)
	default:
		return false, fmt.Errorf("status %s", resp.Status)
	}
}
