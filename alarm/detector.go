package alarm

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"
)

// A Detector measures one quantity, such as a request rate, over a sliding
// window. The monitor calls Measure from its one evaluating goroutine; the
// detector's own recording methods may be called from any goroutine.
//
// A detector may also have a Kind() string method; its result names the kind
// of alarm in events and statuses.
type Detector interface {
	// Measure advances the detector's window to now and returns the value
	// to compare with the alarm's threshold.
	Measure(now time.Time) Measurement
}

// Measurement is the value of a detector at one instant.
type Measurement struct {
	// Value is compared with the alarm's High and Low thresholds.
	Value float64
	// Text describes the value for people, for example
	// "1200 requests in the last 10s (120/s)".
	Text string
	// Subject names what the value is about, when the detector watches
	// several things (the crash loop detector names the looping process).
	Subject string
}

// Default windows and thresholds of the detectors.
const (
	DefaultBuckets         = 10
	DefaultRateWindow      = 10 * time.Second
	DefaultErrorRateWindow = time.Minute
	DefaultErrorRateHigh   = 0.05
	DefaultMinRequests     = 20
	DefaultCrashLoopWindow = time.Minute
	DefaultCrashLoopHigh   = 4
	DefaultCrashLoopLow    = 1
)

// Limits and internal defaults.
const (
	maxBuckets              = 3600
	maxCrashKeys            = 1024
	maxCrashesPerKey        = 256
	crashOverflowKey        = "(other)"
	defaultLowFraction      = 0.8
	minSlotWidth            = time.Millisecond
	maxNameLen              = 128
	defaultNotifyTimeout    = 10 * time.Second
	defaultEvaluateInterval = time.Second
)

// RateConfig configures a request rate detector (seed 001's surge: "clients
// cannot get enough of hello world"). The value is events per second over the
// window.
type RateConfig struct {
	// Threshold in events per second. High is required.
	Threshold
	// Window is the span the rate is measured over (default 10s).
	Window time.Duration
	// Buckets is the number of time slots the window is divided into
	// (default 10). More buckets make the window slide more smoothly.
	Buckets int
	// Noun names the events in messages (default "events").
	Noun string
}

// Rate counts events over a sliding window. Observe is safe for concurrent
// use, allocation-free and costs a few nanoseconds: call it on the hot path.
type Rate struct {
	w    *window
	noun string
}

// Observe counts one event.
func (r *Rate) Observe() { r.w.inc() }

// ObserveN counts n events.
func (r *Rate) ObserveN(n uint64) { r.w.add(n, 0) }

// Measure implements [Detector]: the value is events per second.
func (r *Rate) Measure(now time.Time) Measurement {
	r.w.advance(now)
	n, _ := r.w.sum()
	win := r.w.length()
	perSec := float64(n) / win.Seconds()
	return Measurement{
		Value: perSec,
		Text:  fmt.Sprintf("%d %s in the last %s (%s/s)", n, r.noun, win, formatFloat(perSec)),
	}
}

// Kind returns "rate".
func (r *Rate) Kind() string { return "rate" }

// ErrorRateConfig configures an error rate detector. The value is the
// fraction of requests that failed over the window, from 0 to 1.
type ErrorRateConfig struct {
	// Threshold as a fraction of requests (default High 0.05, that is 5%).
	Threshold
	// Window is the span the rate is measured over (default 1m).
	Window time.Duration
	// Buckets is the number of time slots in the window (default 10).
	Buckets int
	// MinRequests is the number of requests the window must hold before
	// the rate counts (default 20); below it the value is 0, so that one
	// failure out of two requests at night does not wake anyone.
	MinRequests int
}

// ErrorRate counts requests and failures over a sliding window. Observe is
// safe for concurrent use and allocation-free.
type ErrorRate struct {
	w   *window
	min uint64
}

// Observe counts one request, and one failure if failed is true.
func (e *ErrorRate) Observe(failed bool) {
	if failed {
		e.w.add(1, 1)
		return
	}
	e.w.add(1, 0)
}

// Measure implements [Detector]: the value is failures / requests, or 0 when
// the window holds fewer than MinRequests requests.
func (e *ErrorRate) Measure(now time.Time) Measurement {
	e.w.advance(now)
	reqs, fails := e.w.sum()
	win := e.w.length()
	if reqs < e.min || reqs == 0 {
		return Measurement{Text: fmt.Sprintf("%d of %d requests failed in the last %s (fewer than the minimum %d)", fails, reqs, win, e.min)}
	}
	v := float64(fails) / float64(reqs)
	return Measurement{
		Value: v,
		Text:  fmt.Sprintf("%d of %d requests failed in the last %s (%s%%)", fails, reqs, win, formatFloat(100*v)),
	}
}

// Kind returns "error_rate".
func (e *ErrorRate) Kind() string { return "error_rate" }

// CrashLoopConfig configures a crash loop detector. The value is the largest
// number of crashes of any one process (or service) within the window.
type CrashLoopConfig struct {
	// Threshold in crashes per window. The default High is 4, so the fifth
	// crash of the same process within the window raises the alarm; the
	// default Low is 1, so it clears when no process crashed within the
	// window.
	Threshold
	// Window is the span crashes are counted over (default 1m).
	Window time.Duration
}

// CrashLoop counts crashes per process over a sliding window. Crash is safe
// for concurrent use; it takes a lock, as crashes are not a hot path. Memory
// is bounded: it tracks at most 1024 processes (the crashes of any more are
// pooled under the name "(other)") and counts at most 256 crashes each.
type CrashLoop struct {
	now    func() time.Time
	window time.Duration

	mu      sync.Mutex
	crashes map[string][]time.Time // oldest first, at most maxCrashesPerKey
}

// Crash records one crash of the process or service named key.
func (c *CrashLoop) Crash(key string) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.crashes[key]; !ok && len(c.crashes) >= maxCrashKeys {
		key = crashOverflowKey
	}
	ts := c.crashes[key]
	if len(ts) >= maxCrashesPerKey {
		ts = append(ts[:0], ts[1:]...)
	}
	c.crashes[key] = append(ts, now)
}

// Measure implements [Detector]: the value is the largest number of crashes
// of one key within the window ending at now, and Subject is that key.
func (c *CrashLoop) Measure(now time.Time) Measurement {
	c.mu.Lock()
	defer c.mu.Unlock()
	cutoff := now.Add(-c.window)
	var worst string
	var most int
	for key, ts := range c.crashes {
		i := 0
		for i < len(ts) && !ts[i].After(cutoff) {
			i++
		}
		ts = ts[i:]
		if len(ts) == 0 {
			delete(c.crashes, key)
			continue
		}
		c.crashes[key] = ts
		if len(ts) > most || (len(ts) == most && key < worst) {
			worst, most = key, len(ts)
		}
	}
	if most == 0 {
		return Measurement{Text: fmt.Sprintf("no crashes in the last %s", c.window)}
	}
	return Measurement{
		Value:   float64(most),
		Text:    fmt.Sprintf("%q crashed %d times in the last %s", worst, most, c.window),
		Subject: worst,
	}
}

// Kind returns "crash_loop".
func (c *CrashLoop) Kind() string { return "crash_loop" }

// Threshold decides when an alarm is raised and cleared. The alarm is raised
// when the value is above High and cleared only when it is below Low, so a
// value that oscillates between the two changes nothing: one notification
// when raised, one when cleared.
type Threshold struct {
	// High raises the alarm when the value is above it.
	High float64
	// Low clears the alarm when the value is below it. Zero means the
	// detector's default (80% of High for rates).
	Low float64
	// For is how long the value must stay above High before the alarm is
	// raised (default 0: at the first evaluation above High).
	For time.Duration
	// ClearFor is how long the value must stay below Low before the alarm
	// is cleared (default 0).
	ClearFor time.Duration
}

func (t Threshold) withDefaults(high, low float64) Threshold {
	if t.High == 0 {
		t.High = high
	}
	if t.Low == 0 {
		if low != 0 {
			t.Low = low
		} else {
			t.Low = defaultLowFraction * t.High
		}
	}
	return t
}

func (t Threshold) validate() error {
	switch {
	case !(t.High > 0) || math.IsInf(t.High, 0):
		return fmt.Errorf("high %v must be a positive number", t.High)
	case !(t.Low > 0) || t.Low > t.High:
		return fmt.Errorf("low %v must be a positive number no larger than high %v", t.Low, t.High)
	case t.For < 0 || t.ClearFor < 0:
		return errors.New("for and clear-for must not be negative")
	}
	return nil
}

func windowDefaults(win time.Duration, buckets int, defWin time.Duration) (time.Duration, int, error) {
	if win == 0 {
		win = defWin
	}
	if buckets == 0 {
		buckets = DefaultBuckets
	}
	switch {
	case buckets < 1 || buckets > maxBuckets:
		return 0, 0, fmt.Errorf("buckets %d out of range 1..%d", buckets, maxBuckets)
	case win < 0 || win/time.Duration(buckets) < minSlotWidth:
		return 0, 0, fmt.Errorf("window %s too short for %d buckets (at least %s each)", win, buckets, minSlotWidth)
	}
	return win, buckets, nil
}

func formatFloat(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}
