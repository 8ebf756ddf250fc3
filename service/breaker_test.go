package service_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/alarm"
	"github.com/troupe-go/troupe/service"
)

// TestBreakerCountsOnlyTheTargetsFaults checks which outcomes open the
// breaker: the target's faults do; its answers (even "no") do not.
func TestBreakerCountsOnlyTheTargetsFaults(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		counts bool
	}{
		{"internal", errors.New("database down"), true},
		{"unavailable", troupe.Errorf(troupe.CodeUnavailable, "overloaded"), true},
		{"timeout", troupe.Errorf(troupe.CodeTimeout, "upstream timed out"), true},
		{"bad request", troupe.Errorf(troupe.CodeBadRequest, "no such sku format"), false},
		{"not found", troupe.Errorf(troupe.CodeNotFound, "no such item"), false},
		{"forbidden", troupe.Errorf(troupe.CodeForbidden, "not yours"), false},
		{"conflict", troupe.Errorf(troupe.CodeConflict, "changed meanwhile"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, "inproc", shopApp())
			st := newStock()
			st.behave(func(context.Context, int64) error { return tt.err })
			r.start(service.Config{Name: "stock"}, st.setup)
			web := r.start(webConfig(3, time.Hour), nil)
			for i := 0; i < 6; i++ {
				_, _, err := get(web, 5*time.Second)
				if got, want := troupe.CodeOf(err), troupe.CodeOf(tt.err); got != want && !isOpen(err) {
					t.Fatalf("request %d: err = %v (%s), want code %s", i, err, got, want)
				}
			}
			ts := breakerOf(t, web, "stock")
			wantState, wantReceived := service.BreakerClosed, int64(6)
			if tt.counts {
				wantState, wantReceived = service.BreakerOpen, 3
			}
			if ts.Breaker.State != wantState {
				t.Errorf("breaker %s, want %s", ts.Breaker.State, wantState)
			}
			if got := st.received.Load(); got != wantReceived {
				t.Errorf("target received %d requests, want %d", got, wantReceived)
			}
		})
	}
}

// TestBreakerOpensOnFailureRate checks the failure-rate rule alone: a
// target failing one request in two trips a breaker set at 40%.
func TestBreakerOpensOnFailureRate(t *testing.T) {
	r := newRig(t, "inproc", shopApp())
	st := newStock()
	st.behave(func(_ context.Context, n int64) error {
		if n%2 == 0 {
			return errors.New("every other one fails")
		}
		return nil
	})
	r.start(service.Config{Name: "stock"}, st.setup)
	web := r.start(service.Config{Name: "web", Breaker: troupe.BreakerPolicy{
		Failures: -1, FailureRate: 0.4, MinRequests: 10, Window: time.Minute, OpenFor: time.Hour,
	}}, nil)
	for i := 0; i < 9; i++ {
		if _, _, err := get(web, 5*time.Second); isOpen(err) {
			t.Fatalf("request %d: breaker open before MinRequests", i)
		}
	}
	if _, _, err := get(web, 5*time.Second); err == nil || isOpen(err) {
		t.Fatalf("request 10: err = %v, want the target's error", err) // the 10th fails: 5 of 10
	}
	_, _, err := get(web, 5*time.Second)
	if !isOpen(err) {
		t.Fatalf("request 11: err = %v, want the breaker open (5 of 10 failed)", err)
	}
	if got := st.received.Load(); got != 10 {
		t.Errorf("target received %d requests, want 10", got)
	}
}

// TestBreakerDefaultsOpenAfterFiveFailures checks that a service with no
// breaker configuration has one, with the documented threshold.
func TestBreakerDefaultsOpenAfterFiveFailures(t *testing.T) {
	r := newRig(t, "inproc", shopApp())
	st := newStock()
	st.behave(func(context.Context, int64) error { return errors.New("broken") })
	r.start(service.Config{Name: "stock"}, st.setup)
	web := r.start(service.Config{Name: "web"}, nil)
	for i := 0; i < service.DefaultBreakerFailures+3; i++ {
		_, _, _ = get(web, 5*time.Second)
	}
	ts := breakerOf(t, web, "stock")
	if ts.Breaker.State != service.BreakerOpen || st.received.Load() != service.DefaultBreakerFailures {
		t.Errorf("breaker %s after %d failures sent, want open after %d", ts.Breaker.State, st.received.Load(), service.DefaultBreakerFailures)
	}
	if ts.Breaker.Rejected != 3 || ts.Breaker.Opened != 1 || ts.Failures != service.DefaultBreakerFailures {
		t.Errorf("status %+v, want 3 rejected, opened once, %d failures", ts, service.DefaultBreakerFailures)
	}
	if ts.Breaker.ProbeAt.Before(time.Now().Add(service.DefaultBreakerOpenFor / 2)) {
		t.Errorf("probe at %v, want about %v from now", ts.Breaker.ProbeAt, service.DefaultBreakerOpenFor)
	}
}

// TestBreakerHalfOpen walks the breaker through its states: open, a failed
// probe opens it again, a good probe closes it.
func TestBreakerHalfOpen(t *testing.T) {
	r := newRig(t, "inproc", shopApp())
	st := newStock()
	broken := func(context.Context, int64) error { return errors.New("broken") }
	st.behave(broken)
	r.start(service.Config{Name: "stock"}, st.setup)
	var evs events
	cfg := webConfig(2, 50*time.Millisecond)
	cfg.OnBreaker = evs.add
	web := r.start(cfg, nil)
	for i := 0; i < 2; i++ {
		_, _, _ = get(web, 5*time.Second)
	}
	if ts := breakerOf(t, web, "stock"); ts.Breaker.State != service.BreakerOpen {
		t.Fatalf("breaker %s after 2 failures, want open", ts.Breaker.State)
	}
	// After OpenFor one probe passes; it fails and the breaker opens again.
	eventually(t, "a probe", func() bool { _, _, err := get(web, 5*time.Second); return !isOpen(err) })
	if ts := breakerOf(t, web, "stock"); ts.Breaker.State != service.BreakerOpen {
		t.Fatalf("breaker %s after a failed probe, want open", ts.Breaker.State)
	}
	st.behave(nil)
	eventually(t, "a good probe", func() bool { _, _, err := get(web, 5*time.Second); return err == nil })
	if _, _, err := get(web, 5*time.Second); err != nil {
		t.Fatalf("after the breaker closed: %v", err)
	}
	halfOpens := checkPath(t, evs.path(), service.BreakerClosed)
	if halfOpens < 2 {
		t.Errorf("turned half-open %d times, want a failed probe and a good one", halfOpens)
	}
	// What reached the target: 2 failures, one probe per half-open, and
	// the request after it closed.
	if got, want := st.received.Load(), int64(2+halfOpens+1); got != want {
		t.Errorf("target received %d, want %d", got, want)
	}
	evs.mu.Lock()
	first := evs.evs[0]
	evs.mu.Unlock()
	if first.Service != "web" || first.Target != "stock" || first.From != service.BreakerClosed || first.Failures != 2 {
		t.Errorf("first event %+v, want web→stock closed→open after 2 failures", first)
	}
	if ts := breakerOf(t, web, "stock"); ts.Breaker.State != service.BreakerClosed || ts.Breaker.Opened != uint64(halfOpens) {
		t.Errorf("status %+v, want closed, opened %d times", ts.Breaker, halfOpens)
	}
}

// TestBreakerOff checks that a breaker turned off never refuses.
func TestBreakerOff(t *testing.T) {
	r := newRig(t, "inproc", shopApp())
	st := newStock()
	st.behave(func(context.Context, int64) error { return errors.New("broken") })
	r.start(service.Config{Name: "stock"}, st.setup)
	web := r.start(service.Config{Name: "web", Targets: []troupe.CallPolicy{{Target: "stock", Breaker: troupe.BreakerPolicy{Off: true}}}}, nil)
	for i := 0; i < 20; i++ {
		if _, _, err := get(web, 5*time.Second); isOpen(err) {
			t.Fatalf("request %d: refused by a breaker that is off", i)
		}
	}
	if ts := breakerOf(t, web, "stock"); ts.Breaker.State != service.BreakerOff || ts.Failures != 20 {
		t.Errorf("status %+v, want off with 20 failures", ts)
	}
}

// TestBreakerIgnoresCallerCancellation checks that a caller giving up
// says nothing about the target.
func TestBreakerIgnoresCallerCancellation(t *testing.T) {
	r := newRig(t, "inproc", shopApp())
	st := newStock()
	st.behave(func(ctx context.Context, _ int64) error { <-ctx.Done(); return ctx.Err() })
	r.start(service.Config{Name: "stock"}, st.setup)
	web := r.start(webConfig(2, time.Hour), nil)
	for i := 0; i < 5; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := service.Request[Item](ctx, web, "stock.get", Item{})
			done <- err
		}()
		eventually(t, "the request to arrive", func() bool { return st.received.Load() == int64(i+1) })
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	}
	if ts := breakerOf(t, web, "stock"); ts.Breaker.State != service.BreakerClosed {
		t.Errorf("breaker %s after cancelled requests, want closed", ts.Breaker.State)
	}
}

// TestBreakerAlarm checks the detector a node adds to its alarm monitor:
// raised when a breaker opens, kept while it is half-open, cleared when it
// closes.
func TestBreakerAlarm(t *testing.T) {
	r := newRig(t, "inproc", shopApp())
	st := newStock()
	st.behave(func(context.Context, int64) error { return errors.New("broken") })
	r.start(service.Config{Name: "stock"}, st.setup)
	web := r.start(webConfig(2, 50*time.Millisecond), nil)

	var got []alarm.Event
	m := alarm.New(alarm.Config{Notifiers: []alarm.Notifier{alarm.NotifierFunc(func(_ context.Context, e alarm.Event) error {
		got = append(got, e)
		return nil
	})}})
	if err := m.Add("breakers", service.BreakerDetector(web), alarm.Threshold{High: 0.5, Low: 0.5}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	m.Evaluate(ctx)
	for i := 0; i < 2; i++ {
		_, _, _ = get(web, 5*time.Second)
	}
	m.Evaluate(ctx)
	m.Evaluate(ctx) // still open: no second event
	st.behave(nil)
	eventually(t, "the breaker to close", func() bool { _, _, err := get(web, 5*time.Second); return err == nil })
	m.Evaluate(ctx)
	if len(got) != 2 || got[0].State != alarm.Raised || got[1].State != alarm.Cleared {
		t.Fatalf("events %+v, want raised then cleared", got)
	}
	if got[0].Kind != "circuit_breaker" || got[0].Subject != "web/"+web.Targets()[0].Instance+"→stock open" {
		t.Errorf("raised event %+v, want kind circuit_breaker about web→stock", got[0])
	}

	// A breaker that opens and closes between two evaluations still
	// raises the alarm once.
	st.behave(func(context.Context, int64) error { return errors.New("broken") })
	for i := 0; i < 2; i++ {
		_, _, _ = get(web, 5*time.Second)
	}
	st.behave(nil)
	eventually(t, "the breaker to close", func() bool { _, _, err := get(web, 5*time.Second); return err == nil })
	m.Evaluate(ctx)
	m.Evaluate(ctx)
	if len(got) != 4 || got[2].State != alarm.Raised || got[3].State != alarm.Cleared {
		t.Errorf("events %+v, want a second raise and clear", got)
	}
}
