package alarm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
)

// Errors returned by the monitor and the webhook notifier.
var (
	// ErrClosed is returned by a Monitor or Webhook that was closed.
	ErrClosed = errors.New("alarm: closed")
	// ErrQueueFull is returned by Webhook.Notify when its queue is full and
	// the event was dropped.
	ErrQueueFull = errors.New("alarm: notification queue full")
)

// State is the state of an alarm in an [Event].
type State string

// The states an alarm moves between.
const (
	Raised  State = "raised"
	Cleared State = "cleared"
)

// Event is one notification: an alarm was raised or cleared. Its JSON form
// is the body the webhook notifier posts.
type Event struct {
	Alarm     string    `json:"alarm"`
	Kind      string    `json:"kind,omitempty"` // "rate", "error_rate", "crash_loop", or a custom detector's kind
	State     State     `json:"state"`
	Value     float64   `json:"value"`
	Threshold float64   `json:"threshold"` // High when raised, Low when cleared
	At        time.Time `json:"at"`
	Message   string    `json:"message"`
	Subject   string    `json:"subject,omitempty"` // what the value is about, e.g. the looping process
	Source    string    `json:"source,omitempty"`  // Config.Source: which node or application
}

// Status is the current state of one alarm, as shown by /healthz.
type Status struct {
	Name    string    `json:"name"`
	Kind    string    `json:"kind,omitempty"`
	Active  bool      `json:"active"`
	Value   float64   `json:"value"`
	High    float64   `json:"high"`
	Low     float64   `json:"low"`
	Since   time.Time `json:"since,omitzero"` // when the alarm was last raised or cleared
	Message string    `json:"message,omitempty"`
	Subject string    `json:"subject,omitempty"` // what the value is about: the looping process, the saturated service and message
}

// Clock is the monitor's source of time. Tests drive a fake one.
type Clock interface {
	Now() time.Time
	// Tick returns a channel that receives the time every d, and a
	// function that stops it.
	Tick(d time.Duration) (c <-chan time.Time, stop func())
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Tick(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// Config configures a [Monitor]. The zero value is valid: it evaluates every
// second on the real clock and notifies no one.
type Config struct {
	// Interval between evaluations (default 1s).
	Interval time.Duration
	// Clock is the source of time (default the real clock).
	Clock Clock
	// Notifiers receive every event, in order.
	Notifiers []Notifier
	// NotifyTimeout bounds each call to a notifier (default 10s).
	NotifyTimeout time.Duration
	// Source is copied into every event, to say where it comes from (a
	// host or application name).
	Source string
	// Logger receives notifier failures (default slog.Default()).
	Logger *slog.Logger
}

// Monitor owns named alarms, evaluates their detectors on a ticker from one
// goroutine, and notifies when an alarm is raised or cleared. It is a
// prometheus.Collector.
type Monitor struct {
	clock     Clock
	interval  time.Duration
	notifiers []Notifier
	timeout   time.Duration
	source    string
	log       *slog.Logger
	metrics   *metrics
	history   history

	evalMu sync.Mutex // one evaluation at a time, notifications in order

	mu      sync.Mutex
	alarms  map[string]*entry
	started bool
	closed  bool
	cancel  context.CancelFunc
	done    chan struct{}
}

type entry struct {
	name    string
	kind    string
	d       Detector
	t       Threshold
	active  bool
	pending time.Time // when the value first crossed the threshold it must hold
	since   time.Time
	last    Measurement
}

// New returns a monitor with no alarms. Add alarms, then Start it.
func New(c Config) *Monitor {
	m := &Monitor{
		clock:     c.Clock,
		interval:  c.Interval,
		notifiers: slices.Clone(c.Notifiers),
		timeout:   c.NotifyTimeout,
		source:    c.Source,
		log:       c.Logger,
		metrics:   newMetrics(),
		alarms:    make(map[string]*entry),
	}
	if m.clock == nil {
		m.clock = realClock{}
	}
	if m.interval <= 0 {
		m.interval = defaultEvaluateInterval
	}
	if m.timeout <= 0 {
		m.timeout = defaultNotifyTimeout
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	return m
}

// Add adds an alarm named name that compares d's value with t. Names are
// unique, at most 128 printable characters. A Threshold's zero Low means 80%
// of High.
func (m *Monitor) Add(name string, d Detector, t Threshold) error {
	if d == nil {
		return fmt.Errorf("alarm: add %q: nil detector", name)
	}
	return m.add(name, d, t.withDefaults(0, 0))
}

func (m *Monitor) add(name string, d Detector, t Threshold) error {
	if err := validName(name); err != nil {
		return fmt.Errorf("alarm: add %q: %w", name, err)
	}
	if err := t.validate(); err != nil {
		return fmt.Errorf("alarm: add %q: %w", name, err)
	}
	e := &entry{name: name, d: d, t: t}
	if k, ok := d.(interface{ Kind() string }); ok {
		e.kind = k.Kind()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("alarm: add %q: %w", name, ErrClosed)
	}
	if _, dup := m.alarms[name]; dup {
		return fmt.Errorf("alarm: add %q: name already in use", name)
	}
	m.alarms[name] = e
	m.metrics.init(name)
	return nil
}

// Rate adds an alarm named name on a new request rate detector and returns
// the detector, to be fed with Observe.
func (m *Monitor) Rate(name string, c RateConfig) (*Rate, error) {
	win, buckets, err := windowDefaults(c.Window, c.Buckets, DefaultRateWindow)
	if err != nil {
		return nil, fmt.Errorf("alarm: rate %q: %w", name, err)
	}
	if c.High == 0 {
		return nil, fmt.Errorf("alarm: rate %q: a high threshold is required", name)
	}
	noun := c.Noun
	if noun == "" {
		noun = "events"
	}
	r := &Rate{w: newWindow(m.clock.Now(), win, buckets), noun: noun}
	if err := m.add(name, r, c.Threshold.withDefaults(0, 0)); err != nil {
		return nil, err
	}
	return r, nil
}

// ErrorRate adds an alarm named name on a new error rate detector and
// returns the detector, to be fed with Observe.
func (m *Monitor) ErrorRate(name string, c ErrorRateConfig) (*ErrorRate, error) {
	win, buckets, err := windowDefaults(c.Window, c.Buckets, DefaultErrorRateWindow)
	if err != nil {
		return nil, fmt.Errorf("alarm: error rate %q: %w", name, err)
	}
	t := c.Threshold.withDefaults(DefaultErrorRateHigh, 0)
	if t.High > 1 {
		return nil, fmt.Errorf("alarm: error rate %q: high %v is a fraction and must be at most 1", name, t.High)
	}
	minReqs := c.MinRequests
	switch {
	case minReqs == 0:
		minReqs = DefaultMinRequests
	case minReqs < 0:
		return nil, fmt.Errorf("alarm: error rate %q: negative minimum requests %d", name, minReqs)
	}
	e := &ErrorRate{w: newWindow(m.clock.Now(), win, buckets), min: uint64(minReqs)}
	if err := m.add(name, e, t); err != nil {
		return nil, err
	}
	return e, nil
}

// CrashLoop adds an alarm named name on a new crash loop detector and
// returns the detector, to be fed with Crash.
func (m *Monitor) CrashLoop(name string, c CrashLoopConfig) (*CrashLoop, error) {
	win := c.Window
	switch {
	case win == 0:
		win = DefaultCrashLoopWindow
	case win < 0:
		return nil, fmt.Errorf("alarm: crash loop %q: negative window %s", name, win)
	}
	cl := &CrashLoop{now: m.clock.Now, window: win, crashes: make(map[string][]time.Time)}
	if err := m.add(name, cl, c.Threshold.withDefaults(DefaultCrashLoopHigh, DefaultCrashLoopLow)); err != nil {
		return nil, err
	}
	return cl, nil
}

func validName(name string) error {
	if name == "" || len(name) > maxNameLen {
		return fmt.Errorf("name must have 1 to %d characters", maxNameLen)
	}
	if i := strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) || r == unicode.ReplacementChar }); i >= 0 {
		return errors.New("name must be printable UTF-8")
	}
	return nil
}

// Evaluate measures every alarm once, at the clock's current time, and
// notifies the alarms that were raised or cleared. The monitor's goroutine
// calls it on every tick; call it yourself to drive a monitor that was not
// started (tests do, with a fake clock).
func (m *Monitor) Evaluate(ctx context.Context) {
	m.evalMu.Lock()
	defer m.evalMu.Unlock()
	now := m.clock.Now()

	m.mu.Lock()
	entries := make([]*entry, 0, len(m.alarms))
	for _, e := range m.alarms {
		entries = append(entries, e)
	}
	m.mu.Unlock()
	slices.SortFunc(entries, func(a, b *entry) int { return strings.Compare(a.name, b.name) })

	var events []Event
	for _, e := range entries {
		meas, err := measure(e.d, now)
		if err != nil {
			m.log.Error("alarm: detector failed", "alarm", e.name, "err", err)
			continue
		}
		m.mu.Lock()
		ev, changed := e.update(now, meas)
		m.mu.Unlock()
		m.metrics.observe(e.name, meas.Value, e.t.High, e.active)
		if changed {
			ev.Source = m.source
			events = append(events, ev)
			m.history.add(ev)
			m.metrics.count(e.name, ev.State)
		}
	}
	for _, ev := range events {
		m.notify(ctx, ev)
	}
}

// update applies the hysteresis to a new measurement; the caller holds m.mu.
func (e *entry) update(now time.Time, meas Measurement) (Event, bool) {
	e.last = meas
	var crossed bool
	var hold time.Duration
	if e.active {
		crossed, hold = meas.Value < e.t.Low, e.t.ClearFor
	} else {
		crossed, hold = meas.Value > e.t.High, e.t.For
	}
	if !crossed {
		e.pending = time.Time{}
		return Event{}, false
	}
	if e.pending.IsZero() {
		e.pending = now
	}
	if now.Sub(e.pending) < hold {
		return Event{}, false
	}
	e.pending = time.Time{}
	e.active = !e.active
	e.since = now
	ev := Event{Alarm: e.name, Kind: e.kind, Value: meas.Value, At: now, Subject: meas.Subject}
	if e.active {
		ev.State, ev.Threshold = Raised, e.t.High
		ev.Message = fmt.Sprintf("alarm %s raised: %s, above %s", e.name, meas.Text, formatFloat(e.t.High))
	} else {
		ev.State, ev.Threshold = Cleared, e.t.Low
		ev.Message = fmt.Sprintf("alarm %s cleared: %s, below %s", e.name, meas.Text, formatFloat(e.t.Low))
	}
	return ev, true
}

func (m *Monitor) notify(ctx context.Context, ev Event) {
	for i, n := range m.notifiers {
		nctx, cancel := context.WithTimeout(ctx, m.timeout)
		err := notifyOne(nctx, n, ev)
		cancel()
		if err != nil {
			m.metrics.failures.Inc()
			m.log.Warn("alarm: notification failed", "alarm", ev.Alarm, "state", string(ev.State), "notifier", i, "err", err)
		}
	}
}

// measure calls d.Measure, turning a panic in a detector into an error so
// that one broken detector cannot take the process down.
func measure(d Detector, now time.Time) (meas Measurement, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return d.Measure(now), nil
}

// notifyOne calls n.Notify, turning a panic into an error.
func notifyOne(ctx context.Context, n Notifier, ev Event) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return n.Notify(ctx, ev)
}

// Snapshot returns the state of every alarm, sorted by name, as of the last
// evaluation.
func (m *Monitor) Snapshot() []Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Status, 0, len(m.alarms))
	for _, e := range m.alarms {
		out = append(out, Status{
			Name:    e.name,
			Kind:    e.kind,
			Active:  e.active,
			Value:   e.last.Value,
			High:    e.t.High,
			Low:     e.t.Low,
			Since:   e.since,
			Message: e.last.Text,
			Subject: e.last.Subject,
		})
	}
	slices.SortFunc(out, func(a, b Status) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Active reports whether any alarm is raised.
func (m *Monitor) Active() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range m.alarms {
		if e.active {
			return true
		}
	}
	return false
}

// Start starts the goroutine that evaluates the alarms every Interval. It
// runs until Close.
func (m *Monitor) Start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.closed:
		return fmt.Errorf("alarm: start: %w", ErrClosed)
	case m.started:
		return errors.New("alarm: start: already started")
	}
	m.started = true
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	m.done = make(chan struct{})
	ticks, stop := m.clock.Tick(m.interval)
	go func() {
		defer close(m.done)
		defer stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-ticks:
				m.Evaluate(ctx)
			}
		}
	}()
	return nil
}

// Close stops the evaluating goroutine and waits for it, or for ctx. An
// evaluation in progress has its notifications cancelled. Close does not
// close the notifiers: close a Webhook after its monitor.
func (m *Monitor) Close(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	cancel, done := m.cancel, m.done
	m.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("alarm: close: %w", ctx.Err())
	}
}
