package alarm_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/troupe-go/troupe/alarm"
)

// recorder is a Notifier that keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []alarm.Event
}

func (r *recorder) Notify(_ context.Context, e alarm.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	return nil
}

func (r *recorder) states() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		out = append(out, string(e.State))
	}
	return out
}

// stepRate feeds a one-second, one-bucket rate alarm: each count is observed
// during one second, then the clock moves on a second and the monitor
// evaluates, so the alarm sees exactly that count per second. It returns the
// state transitions with the step at which each happened.
func stepRate(t *testing.T, th alarm.Threshold, counts []int) []string {
	t.Helper()
	clk := newFakeClock()
	rec := &recorder{}
	m := alarm.New(alarm.Config{Clock: clk, Notifiers: []alarm.Notifier{rec}})
	r, err := m.Rate("surge", alarm.RateConfig{Threshold: th, Window: time.Second, Buckets: 1})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i, n := range counts {
		r.ObserveN(uint64(n))
		clk.Advance(time.Second)
		before := len(rec.states())
		m.Evaluate(context.Background())
		for _, s := range rec.states()[before:] {
			got = append(got, s+"@"+strconv.Itoa(i))
		}
	}
	return got
}

func TestHysteresis(t *testing.T) {
	th := alarm.Threshold{High: 100, Low: 80}
	tests := []struct {
		name   string
		th     alarm.Threshold
		counts []int
		want   []string
	}{
		{"quiet", th, []int{0, 10, 50, 99, 100}, nil},
		{"one surge", th, []int{10, 150, 150, 150, 10}, []string{"raised@1", "cleared@4"}},
		{
			"oscillating around high raises once",
			th,
			[]int{99, 101, 99, 101, 99, 101, 95, 105, 90, 120, 81, 10},
			[]string{"raised@1", "cleared@11"},
		},
		{
			"oscillating around low clears once",
			th,
			[]int{150, 79, 81, 79, 95, 79, 81, 99, 101},
			[]string{"raised@0", "cleared@1", "raised@8"},
		},
		{"exactly high does not raise", th, []int{100, 100, 100}, nil},
		{"exactly low does not clear", th, []int{101, 80, 80, 79}, []string{"raised@0", "cleared@3"}},
		{
			"for: must hold above high",
			alarm.Threshold{High: 100, Low: 80, For: 2 * time.Second},
			[]int{150, 150, 50, 150, 150, 150, 150},
			[]string{"raised@5"},
		},
		{
			"clear for: must hold below low",
			alarm.Threshold{High: 100, Low: 80, ClearFor: 2 * time.Second},
			[]int{150, 10, 10, 90, 10, 10, 10},
			[]string{"raised@0", "cleared@6"},
		},
		{"default low is 80% of high", alarm.Threshold{High: 100}, []int{101, 85, 81, 79}, []string{"raised@0", "cleared@3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := stepRate(t, tt.th, tt.counts)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("transitions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRateWindow(t *testing.T) {
	clk := newFakeClock()
	m := alarm.New(alarm.Config{Clock: clk})
	r, err := m.Rate("surge", alarm.RateConfig{Threshold: alarm.Threshold{High: 1000}, Window: 10 * time.Second, Noun: "requests"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	value := func() float64 {
		m.Evaluate(ctx)
		return m.Snapshot()[0].Value
	}
	// 100 events in each of ten seconds, evaluated every second as the
	// monitor's goroutine would: 100/s over the 10s window.
	for range 10 {
		r.ObserveN(100)
		clk.Advance(time.Second)
		m.Evaluate(ctx)
	}
	if got, want := value(), 100.0; got != want {
		t.Errorf("rate after ten busy seconds = %v, want %v", got, want)
	}
	if got, want := m.Snapshot()[0].Message, "1000 requests in the last 10s (100/s)"; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
	// Events in the slot still filling do not count until it completes.
	r.ObserveN(5000)
	if got, want := value(), 100.0; got != want {
		t.Errorf("rate with a filling slot = %v, want %v", got, want)
	}
	// Five quiet seconds later, half the window has slid out, and the
	// 5000 events are in.
	clk.Advance(5 * time.Second)
	if got, want := value(), (500.0+5000)/10; got != want {
		t.Errorf("rate after five quiet seconds = %v, want %v", got, want)
	}
	// After a whole quiet window, nothing is left.
	clk.Advance(10 * time.Second)
	if got, want := value(), 0.0; got != want {
		t.Errorf("rate after a quiet window = %v, want %v", got, want)
	}
	// A long silence wraps the ring more than once.
	r.ObserveN(7)
	clk.Advance(time.Hour)
	if got, want := value(), 0.0; got != want {
		t.Errorf("rate after an hour = %v, want %v", got, want)
	}
}

func TestErrorRate(t *testing.T) {
	tests := []struct {
		name        string
		reqs, fails int
		wantValue   float64
		wantStates  []string
	}{
		{"below minimum requests", 19, 19, 0, nil},
		{"healthy", 100, 4, 0.04, nil},
		{"failing", 100, 30, 0.3, []string{"raised"}},
		{"all failing", 20, 20, 1, []string{"raised"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			rec := &recorder{}
			m := alarm.New(alarm.Config{Clock: clk, Notifiers: []alarm.Notifier{rec}})
			e, err := m.ErrorRate("errors", alarm.ErrorRateConfig{Threshold: alarm.Threshold{High: 0.1}, MinRequests: 20})
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.reqs {
				e.Observe(i < tt.fails)
			}
			clk.Advance(10 * time.Second)
			m.Evaluate(context.Background())
			if got := m.Snapshot()[0].Value; got != tt.wantValue {
				t.Errorf("value = %v, want %v", got, tt.wantValue)
			}
			if diff := cmp.Diff(tt.wantStates, rec.states()); diff != "" {
				t.Errorf("states (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCrashLoop(t *testing.T) {
	clk := newFakeClock()
	rec := &recorder{}
	m := alarm.New(alarm.Config{Clock: clk, Notifiers: []alarm.Notifier{rec}, Source: "node1"})
	cl, err := m.CrashLoop("crashloop", alarm.CrashLoopConfig{}) // five crashes of one process in a minute
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	step := func(keys ...string) {
		for _, k := range keys {
			cl.Crash(k)
			clk.Advance(time.Second)
		}
		m.Evaluate(ctx)
	}
	// Four crashes each of two processes: no loop.
	step("hello", "todo", "hello", "todo", "hello", "todo", "hello", "todo")
	if got := rec.states(); len(got) != 0 {
		t.Fatalf("after four crashes each: %v, want no event", got)
	}
	// The fifth crash of one process within the minute is a loop.
	step("todo")
	// More crashes keep it raised without new events.
	step("todo", "todo", "hello")
	clk.Advance(30 * time.Second)
	m.Evaluate(ctx)
	// A minute without crashes clears it.
	clk.Advance(time.Minute)
	m.Evaluate(ctx)

	start := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	want := []alarm.Event{
		{
			Alarm: "crashloop", Kind: "crash_loop", State: alarm.Raised, Value: 5, Threshold: 4,
			At:      start.Add(9 * time.Second),
			Message: `alarm crashloop raised: "todo" crashed 5 times in the last 1m0s, above 4`,
			Subject: "todo", Source: "node1",
		},
		{
			Alarm: "crashloop", Kind: "crash_loop", State: alarm.Cleared, Value: 0, Threshold: 1,
			At:      start.Add(12*time.Second + 90*time.Second),
			Message: "alarm crashloop cleared: no crashes in the last 1m0s, below 1",
			Source:  "node1",
		},
	}
	if diff := cmp.Diff(want, rec.events); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestCrashLoopManyKeys(t *testing.T) {
	clk := newFakeClock()
	m := alarm.New(alarm.Config{Clock: clk})
	cl, err := m.CrashLoop("crashloop", alarm.CrashLoopConfig{Threshold: alarm.Threshold{High: 10000}})
	if err != nil {
		t.Fatal(err)
	}
	// Crashes of more distinct processes than the detector tracks are
	// pooled under one key instead of growing memory.
	for i := range 5000 {
		cl.Crash("p" + strconv.Itoa(i))
	}
	clk.Advance(time.Second)
	m.Evaluate(context.Background())
	got := m.Snapshot()[0]
	if got.Value < 2 || !strings.Contains(got.Message, `"(other)"`) {
		t.Errorf("status = %+v, want the overflow key to hold the excess", got)
	}
}

func TestSnapshot(t *testing.T) {
	clk := newFakeClock()
	m := alarm.New(alarm.Config{Clock: clk})
	r, err := m.Rate("surge", alarm.RateConfig{Threshold: alarm.Threshold{High: 10, Low: 5}, Window: time.Second, Buckets: 1, Noun: "requests"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.ErrorRate("errors", alarm.ErrorRateConfig{}); err != nil {
		t.Fatal(err)
	}
	r.ObserveN(20)
	now := clk.Advance(time.Second)
	m.Evaluate(context.Background())
	want := []alarm.Status{
		{Name: "errors", Kind: "error_rate", High: 0.05, Low: 0.04, Message: "0 of 0 requests failed in the last 1m0s (fewer than the minimum 20)"},
		{Name: "surge", Kind: "rate", Active: true, Value: 20, High: 10, Low: 5, Since: now, Message: "20 requests in the last 1s (20/s)"},
	}
	if diff := cmp.Diff(want, m.Snapshot(), cmpopts.EquateApprox(1e-9, 0)); diff != "" {
		t.Errorf("Snapshot (-want +got):\n%s", diff)
	}
	if got, want := m.Active(), true; got != want {
		t.Errorf("Active() = %v, want %v", got, want)
	}
}

type constant float64

func (c constant) Measure(time.Time) alarm.Measurement {
	return alarm.Measurement{Value: float64(c), Text: "constant"}
}

func TestBadInput(t *testing.T) {
	clk := newFakeClock()
	m := alarm.New(alarm.Config{Clock: clk})
	if err := m.Add("taken", constant(0), alarm.Threshold{High: 1}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		add  func() error
	}{
		{"empty name", func() error { return m.Add("", constant(0), alarm.Threshold{High: 1}) }},
		{"long name", func() error { return m.Add(strings.Repeat("a", 129), constant(0), alarm.Threshold{High: 1}) }},
		{"control character", func() error { return m.Add("a\nb", constant(0), alarm.Threshold{High: 1}) }},
		{"invalid utf-8", func() error { return m.Add("a\xffb", constant(0), alarm.Threshold{High: 1}) }},
		{"duplicate", func() error { return m.Add("taken", constant(0), alarm.Threshold{High: 1}) }},
		{"nil detector", func() error { return m.Add("nil", nil, alarm.Threshold{High: 1}) }},
		{"zero high", func() error { return m.Add("x", constant(0), alarm.Threshold{}) }},
		{"negative high", func() error { return m.Add("x", constant(0), alarm.Threshold{High: -1}) }},
		{"low above high", func() error { return m.Add("x", constant(0), alarm.Threshold{High: 1, Low: 2}) }},
		{"negative low", func() error { return m.Add("x", constant(0), alarm.Threshold{High: 1, Low: -1}) }},
		{"negative for", func() error { return m.Add("x", constant(0), alarm.Threshold{High: 1, For: -time.Second}) }},
		{"rate without high", func() error { _, err := m.Rate("x", alarm.RateConfig{}); return err }},
		{"rate too many buckets", func() error {
			_, err := m.Rate("x", alarm.RateConfig{Threshold: alarm.Threshold{High: 1}, Buckets: 100000})
			return err
		}},
		{"rate negative buckets", func() error {
			_, err := m.Rate("x", alarm.RateConfig{Threshold: alarm.Threshold{High: 1}, Buckets: -1})
			return err
		}},
		{"rate window too short", func() error {
			_, err := m.Rate("x", alarm.RateConfig{Threshold: alarm.Threshold{High: 1}, Window: time.Microsecond})
			return err
		}},
		{"rate negative window", func() error {
			_, err := m.Rate("x", alarm.RateConfig{Threshold: alarm.Threshold{High: 1}, Window: -time.Second})
			return err
		}},
		{"error rate above one", func() error {
			_, err := m.ErrorRate("x", alarm.ErrorRateConfig{Threshold: alarm.Threshold{High: 1.5}})
			return err
		}},
		{"error rate negative minimum", func() error {
			_, err := m.ErrorRate("x", alarm.ErrorRateConfig{MinRequests: -1})
			return err
		}},
		{"crash loop negative window", func() error {
			_, err := m.CrashLoop("x", alarm.CrashLoopConfig{Window: -time.Second})
			return err
		}},
		{"crash loop duplicate", func() error { _, err := m.CrashLoop("taken", alarm.CrashLoopConfig{}); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.add()
			if err == nil {
				t.Fatal("got nil error, want one")
			}
			if !strings.HasPrefix(err.Error(), "alarm: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			if got, want := len(m.Snapshot()), 1; got != want {
				t.Errorf("alarms after a refused add = %d, want %d", got, want)
			}
		})
	}
}

func TestNotifierFailure(t *testing.T) {
	clk := newFakeClock()
	rec := &recorder{}
	failing := alarm.NotifierFunc(func(context.Context, alarm.Event) error { return errors.New("boom") })
	m := alarm.New(alarm.Config{Clock: clk, Notifiers: []alarm.Notifier{failing, rec}, Logger: discardLogger()})
	if err := m.Add("on", constant(2), alarm.Threshold{High: 1}); err != nil {
		t.Fatal(err)
	}
	m.Evaluate(context.Background())
	// A failing notifier does not keep the others from hearing.
	if diff := cmp.Diff([]string{"raised"}, rec.states()); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
}

func TestStartClose(t *testing.T) {
	clk := newFakeClock()
	got := make(chan alarm.Event, 1)
	notify := alarm.NotifierFunc(func(_ context.Context, e alarm.Event) error {
		got <- e
		return nil
	})
	m := alarm.New(alarm.Config{Clock: clk, Notifiers: []alarm.Notifier{notify}})
	r, err := m.Rate("surge", alarm.RateConfig{Threshold: alarm.Threshold{High: 1}, Window: time.Second, Buckets: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); err == nil {
		t.Error("second Start: got nil error, want one")
	}
	r.ObserveN(10)
	now := clk.Advance(time.Second)
	clk.ticks <- now // the monitor's goroutine evaluates on this tick
	if e := <-got; e.State != alarm.Raised || e.Alarm != "surge" {
		t.Errorf("event = %+v, want surge raised", e)
	}
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); !errors.Is(err, alarm.ErrClosed) {
		t.Errorf("Start after Close = %v, want ErrClosed", err)
	}
	if _, err := m.Rate("late", alarm.RateConfig{Threshold: alarm.Threshold{High: 1}}); !errors.Is(err, alarm.ErrClosed) {
		t.Errorf("Rate after Close = %v, want ErrClosed", err)
	}
	// Close without Start, and Close twice, are fine.
	if err := alarm.New(alarm.Config{}).Close(context.Background()); err != nil {
		t.Errorf("Close of an unstarted monitor = %v", err)
	}
	if err := m.Close(context.Background()); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestConcurrentObserve(t *testing.T) {
	clk := newFakeClock()
	m := alarm.New(alarm.Config{Clock: clk})
	r, err := m.Rate("surge", alarm.RateConfig{Threshold: alarm.Threshold{High: 1e9}, Window: time.Second, Buckets: 1})
	if err != nil {
		t.Fatal(err)
	}
	e, err := m.ErrorRate("errors", alarm.ErrorRateConfig{Window: time.Second, Buckets: 1})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range 1000 {
				r.Observe()
				e.Observe(i%10 == 0)
			}
		})
	}
	wg.Go(func() {
		for range 100 {
			m.Evaluate(context.Background())
			_ = m.Snapshot()
		}
	})
	wg.Wait()
	clk.Advance(time.Second)
	m.Evaluate(context.Background())
	want := []alarm.Status{
		{Name: "errors", Kind: "error_rate", Active: true, Value: 0.1, High: 0.05, Low: 0.04, Since: clk.Now(), Message: "800 of 8000 requests failed in the last 1s (10%)"},
		{Name: "surge", Kind: "rate", Value: 8000, High: 1e9, Low: 8e8, Message: "8000 events in the last 1s (8000/s)"},
	}
	if diff := cmp.Diff(want, m.Snapshot(), cmpopts.EquateApprox(1e-9, 0)); diff != "" {
		t.Errorf("Snapshot (-want +got):\n%s", diff)
	}
}

type panicking struct{}

func (panicking) Measure(time.Time) alarm.Measurement { panic("broken detector") }

func TestPanicsAreContained(t *testing.T) {
	clk := newFakeClock()
	rec := &recorder{}
	broken := alarm.NotifierFunc(func(context.Context, alarm.Event) error { panic("broken notifier") })
	m := alarm.New(alarm.Config{Clock: clk, Notifiers: []alarm.Notifier{broken, rec}, Logger: discardLogger()})
	if err := m.Add("a.broken", panicking{}, alarm.Threshold{High: 1}); err != nil {
		t.Fatal(err)
	}
	if err := m.Add("b.on", constant(2), alarm.Threshold{High: 1}); err != nil {
		t.Fatal(err)
	}
	m.Evaluate(context.Background())
	// The broken detector and notifier are skipped; the rest works.
	if diff := cmp.Diff([]string{"raised"}, rec.states()); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
	if got, want := len(m.Snapshot()), 2; got != want {
		t.Errorf("alarms = %d, want %d", got, want)
	}
}
