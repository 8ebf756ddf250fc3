package service_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/service"
)

// Seed 003's partial failures, each on the in-process bus and over NATS
// (an embedded nats-server on loopback): a target that hangs, one that
// fails half its requests, one that is down and comes back. In each the
// caller's requests end by their deadline, the breaker opens and closes as
// configured, retries stay within their budget, and nothing crashes (the
// rig checks that no crash report was logged).
//
// Durations are never asserted tightly: a request must end within its
// deadline plus a generous slack, and everything else is checked by
// counting.

// slack is what a request may take past its deadline on a loaded machine.
const slack = 2 * time.Second

func TestSeed003TargetHangs(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			r := newRig(t, tr, shopApp())
			release := make(chan struct{})
			st := newStock()
			st.behave(func(context.Context, int64) error {
				<-release // hangs, deaf to its deadline, until the test ends
				return nil
			})
			r.start(service.Config{Name: "stock"}, st.setup)
			t.Cleanup(func() { close(release) }) // before the services stop
			var evs events
			cfg := webConfig(3, 100*time.Millisecond)
			cfg.OnBreaker = evs.add
			web := r.start(cfg, nil)

			const deadline = 100 * time.Millisecond
			// Three requests time out at their deadline and open the
			// breaker.
			for i := 0; i < 3; i++ {
				_, took, err := get(web, deadline)
				if !errors.Is(err, troupe.ErrTimeout) {
					t.Fatalf("request %d: err = %v, want a timeout", i, err)
				}
				if took > deadline+slack {
					t.Errorf("request %d took %v, deadline %v", i, took, deadline)
				}
			}
			if ts := breakerOf(t, web, "stock"); ts.Breaker.State != service.BreakerOpen {
				t.Fatalf("breaker %s after 3 timeouts, want open", ts.Breaker.State)
			}
			// From now on requests fail at once without reaching it, but
			// for one probe each time OpenFor has passed, which times out
			// and opens the breaker again.
			probes := 0
			for i := 0; i < 20 || probes == 0; i++ {
				_, took, err := get(web, deadline)
				switch {
				case errors.Is(err, troupe.ErrTimeout):
					probes++
				case !isOpen(err):
					t.Fatalf("request %d after the breaker opened: err = %v, want it open or a probe's timeout", i, err)
				}
				if took > deadline+slack {
					t.Errorf("request %d took %v, deadline %v", i, took, deadline)
				}
				if i >= 20 {
					time.Sleep(10 * time.Millisecond) // wait for OpenFor
				}
			}
			halfOpens := checkPath(t, evs.path(), service.BreakerOpen)
			if halfOpens != probes {
				t.Errorf("%d probes timed out, but the breaker turned half-open %d times", probes, halfOpens)
			}
			if got, want := st.received.Load(), int64(3+probes); got != want {
				t.Errorf("the hung target received %d requests, want %d (3, then %d probes)", got, want, probes)
			}

			// Concurrent callers: each ends by its deadline, whatever the
			// breaker does meanwhile.
			var wg sync.WaitGroup
			for g := 0; g < 8; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 10; i++ {
						_, took, err := get(web, deadline)
						if err == nil || took > deadline+slack {
							t.Errorf("concurrent request: %v after %v, want an error by the deadline", err, took)
						}
					}
				}()
			}
			wg.Wait()
		})
	}
}

func TestSeed003TargetFailsHalf(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			r := newRig(t, tr, shopApp())
			st := newStock()
			st.behave(func(_ context.Context, n int64) error {
				if n%2 == 0 {
					return errors.New("every other request fails")
				}
				return nil
			})
			r.start(service.Config{Name: "stock"}, st.setup)

			// A breaker that trips at a failure rate of 40% opens, and
			// its probes, half of them failing, keep it from closing for
			// good.
			var evs events
			strict := r.start(service.Config{
				Name:      "web",
				OnBreaker: evs.add,
				Breaker:   troupe.BreakerPolicy{Failures: -1, FailureRate: 0.4, MinRequests: 20, Window: time.Minute, OpenFor: 50 * time.Millisecond, Probes: 4},
			}, nil)
			for i := 0; i < 20; i++ {
				if _, _, err := get(strict, 5*time.Second); isOpen(err) {
					t.Fatalf("request %d: breaker open before MinRequests", i)
				}
			}
			if ts := breakerOf(t, strict, "stock"); ts.Breaker.State != service.BreakerOpen {
				t.Fatalf("breaker %s after 10 failures in 20, want open", ts.Breaker.State)
			}
			eventually(t, "a probe to fail", func() bool {
				_, _, err := get(strict, 5*time.Second)
				return err != nil && !isOpen(err)
			})
			if p := evs.path(); len(p) < 3 || p[0] != service.BreakerOpen || p[1] != service.BreakerHalfOpen || p[2] != service.BreakerOpen {
				t.Errorf("breaker states %v, want open, half-open, open", p)
			}
			if err := strict.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}

			// A caller that retries its idempotent requests gets most
			// answers, with retries within the budget; its breaker, set
			// at 90%, stays closed, so that the budget alone bounds the
			// retries.
			web := r.start(service.Config{
				Name:    "web",
				Breaker: troupe.BreakerPolicy{Failures: -1, FailureRate: 0.9},
				Retry:   troupe.RetryPolicy{Messages: []string{"stock.get"}, Backoff: time.Millisecond},
			}, nil)
			before := st.received.Load()
			const calls = 400
			ok := 0
			start := time.Now()
			for i := 0; i < calls; i++ {
				_, took, err := get(web, 5*time.Second)
				if err == nil {
					ok++
				}
				if took > 5*time.Second+slack {
					t.Errorf("request %d took %v", i, took)
				}
			}
			elapsed := time.Since(start)
			ts := breakerOf(t, web, "stock")
			if got, want := st.received.Load()-before, int64(calls)+int64(ts.Retries); got != want {
				t.Errorf("target received %d attempts, want %d requests + %d retries", got, calls, ts.Retries)
			}
			limit := service.DefaultRetryBudget*calls + service.RetryReservePerSecond*elapsed.Seconds() + service.RetryBudgetMax + 1
			if float64(ts.Retries) > limit {
				t.Errorf("%d retries for %d requests in %v: above the budget of %.0f", ts.Retries, calls, elapsed, limit)
			}
			if ts.Breaker.State != service.BreakerClosed {
				t.Errorf("breaker %s, want closed below its 90%% threshold", ts.Breaker.State)
			}
			if ok < calls/2 {
				t.Errorf("%d of %d requests succeeded, want at least half", ok, calls)
			}
			t.Logf("%d of %d succeeded with %d retries (%d denied by the budget) in %v", ok, calls, ts.Retries, ts.RetriesDenied, elapsed)
		})
	}
}

func TestSeed003TargetDownAndBack(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			r := newRig(t, tr, shopApp())
			st := newStock()
			first := r.start(service.Config{Name: "stock"}, st.setup)
			var evs events
			cfg := webConfig(3, 100*time.Millisecond)
			cfg.OnBreaker = evs.add
			web := r.start(cfg, nil)
			if _, _, err := get(web, time.Second); err != nil {
				t.Fatalf("while the target is up: %v", err)
			}

			// The target goes down: requests fail at once (no instance),
			// the breaker opens, and a fallback answers meanwhile.
			if err := first.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
			const deadline = time.Second
			for i := 0; i < 3; i++ {
				_, took, err := get(web, deadline)
				if !errors.Is(err, troupe.ErrNoReceiver) {
					t.Fatalf("request %d while down: err = %v, want no receiver", i, err)
				}
				if took > deadline+slack {
					t.Errorf("request %d took %v", i, took)
				}
			}
			if ts := breakerOf(t, web, "stock"); ts.Breaker.State != service.BreakerOpen {
				t.Fatalf("breaker %s after 3 failures, want open", ts.Breaker.State)
			}
			it, _, err := get(web, deadline, service.Fallback(Item{SKU: "cached"}))
			if err != nil || it.SKU != "cached" {
				t.Fatalf("with a fallback while open: %+v, %v", it, err)
			}
			if ts := breakerOf(t, web, "stock"); ts.Breaker.State != service.BreakerOpen || ts.Fallbacks != 1 {
				t.Errorf("status while down %+v, want open, 1 fallback", ts)
			}

			// It comes back: once OpenFor has passed, a probe succeeds and
			// the breaker closes.
			r.start(service.Config{Name: "stock"}, st.setup)
			eventually(t, "the breaker to close", func() bool {
				_, _, err := get(web, deadline)
				return err == nil
			})
			for i := 0; i < 10; i++ {
				if _, _, err := get(web, deadline); err != nil {
					t.Fatalf("request %d after it came back: %v", i, err)
				}
			}
			// Each half-open let one probe through; all but the last
			// found the target still down.
			halfOpens := checkPath(t, evs.path(), service.BreakerClosed)
			if ts := breakerOf(t, web, "stock"); ts.Breaker.State != service.BreakerClosed || ts.Failures != uint64(3+halfOpens-1) {
				t.Errorf("status %+v, want closed after %d failures", ts, 3+halfOpens-1)
			}
		})
	}
}

// TestSeed003DownAndBackWithRetries is the target that is down and comes
// back, with idempotent requests: while it is down every attempt fails at
// once, and the breaker, not the retries, decides; when it is back, a
// retry after a failed first attempt finds it.
func TestSeed003DownAndBackWithRetries(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			r := newRig(t, tr, shopApp())
			var evs events
			cfg := webConfig(5, 50*time.Millisecond)
			cfg.OnBreaker = evs.add
			cfg.Retry = troupe.RetryPolicy{Messages: []string{"stock.get"}, Attempts: 4, Backoff: time.Millisecond}
			web := r.start(cfg, nil)
			const calls = 50
			for i := 0; i < calls; i++ {
				_, took, err := get(web, time.Second)
				if err == nil || took > time.Second+slack {
					t.Fatalf("request %d to a target that is down: %v after %v", i, err, took)
				}
			}
			ts := breakerOf(t, web, "stock")
			// The first request fails 4 times (3 retries), the second
			// once: the breaker is open, which stops the retries. Later,
			// each time OpenFor passes, one probe fails, without retries.
			halfOpens := checkPath(t, evs.path(), service.BreakerOpen)
			if ts.Retries != 3 || ts.Failures != uint64(5+halfOpens) || ts.Breaker.State != service.BreakerOpen {
				t.Errorf("status %+v (%d probes), want the breaker open after %d failures and 3 retries", ts, halfOpens, 5+halfOpens)
			}
			st := newStock()
			r.start(service.Config{Name: "stock"}, st.setup)
			eventually(t, "the breaker to close", func() bool {
				_, _, err := get(web, time.Second)
				return err == nil
			})
			if got := breakerOf(t, web, "stock"); got.Breaker.State != service.BreakerClosed {
				t.Errorf("breaker %s after it came back, want closed", got.Breaker.State)
			}
		})
	}
}
