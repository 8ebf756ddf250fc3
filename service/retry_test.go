package service_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/service"
)

// TestRetryReusesTheMessageID checks that a retry is the same message: the
// handler sees one idempotency key over two attempts, numbered 1 and 2.
func TestRetryReusesTheMessageID(t *testing.T) {
	r := newRig(t, "inproc", shopApp())
	st := newStock()
	var (
		mu       sync.Mutex
		attempts []int
	)
	st.behave(func(ctx context.Context, n int64) error {
		mu.Lock()
		attempts = append(attempts, service.Attempt(ctx))
		mu.Unlock()
		if n == 1 {
			return troupe.Errorf(troupe.CodeUnavailable, "warming up")
		}
		return nil
	})
	r.start(service.Config{Name: "stock"}, st.setup)
	web := r.start(service.Config{Name: "web"}, nil)
	it, _, err := get(web, 5*time.Second, service.Idempotent())
	if err != nil || it.Count != 7 {
		t.Fatalf("got %+v, %v; want the second attempt's answer", it, err)
	}
	if diff := cmp.Diff([]int{1, 2}, attempts); diff != "" {
		t.Errorf("attempts seen by the handler (-want +got):\n%s", diff)
	}
	keys := 0
	st.keys.Range(func(_, v any) bool {
		keys++
		if n := v.(interface{ Load() int64 }).Load(); n != 2 {
			t.Errorf("key seen %d times, want 2", n)
		}
		return true
	})
	if keys != 1 {
		t.Errorf("%d idempotency keys, want 1 for both attempts", keys)
	}
	if ts := breakerOf(t, web, "stock"); ts.Retries != 1 || ts.Failures != 1 {
		t.Errorf("status %+v, want 1 retry after 1 failure", ts)
	}
}

// TestRetryWhen checks which requests are retried.
func TestRetryWhen(t *testing.T) {
	unavailable := troupe.Errorf(troupe.CodeUnavailable, "busy")
	tests := []struct {
		name    string
		cfg     service.Config
		opts    []service.CallOption
		err     error
		retried bool
	}{
		{"idempotent, target's fault", service.Config{}, []service.CallOption{service.Idempotent()}, unavailable, true},
		{"internal is the target's fault", service.Config{}, []service.CallOption{service.Idempotent()}, errors.New("oops"), true},
		{"not marked idempotent", service.Config{}, nil, unavailable, false},
		{"listed in the retry policy", service.Config{Retry: troupe.RetryPolicy{Messages: []string{"stock.get"}}}, nil, unavailable, true},
		{"listed for the target", service.Config{Targets: []troupe.CallPolicy{{Target: "stock", Retry: troupe.RetryPolicy{Messages: []string{"stock.get"}}}}}, nil, unavailable, true},
		{"one attempt", service.Config{Retry: troupe.RetryPolicy{Attempts: 1}}, []service.CallOption{service.Idempotent()}, unavailable, false},
		{"an answer is not retried", service.Config{}, []service.CallOption{service.Idempotent()}, troupe.Errorf(troupe.CodeNotFound, "no such sku"), false},
		{"conflict is not retried", service.Config{}, []service.CallOption{service.Idempotent()}, troupe.Errorf(troupe.CodeConflict, "changed"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, "inproc", shopApp())
			st := newStock()
			st.behave(func(_ context.Context, n int64) error {
				if n == 1 {
					return tt.err
				}
				return nil
			})
			r.start(service.Config{Name: "stock"}, st.setup)
			tt.cfg.Name = "web"
			web := r.start(tt.cfg, nil)
			_, _, err := get(web, 5*time.Second, tt.opts...)
			if got := err == nil; got != tt.retried {
				t.Errorf("succeeded = %v (err %v), want %v", got, err, tt.retried)
			}
			want := int64(1)
			if tt.retried {
				want = 2
			}
			if got := st.received.Load(); got != want {
				t.Errorf("target received %d, want %d", got, want)
			}
		})
	}
}

// TestRetryStopsAtTheOpenBreaker checks that every attempt passes the
// breaker, so that retries stop once it opens; the request returns the
// target's last error.
func TestRetryStopsAtTheOpenBreaker(t *testing.T) {
	r := newRig(t, "inproc", shopApp())
	st := newStock()
	st.behave(func(context.Context, int64) error { return troupe.Errorf(troupe.CodeUnavailable, "down") })
	r.start(service.Config{Name: "stock"}, st.setup)
	cfg := webConfig(2, time.Hour)
	cfg.Retry = troupe.RetryPolicy{Attempts: 10, Backoff: time.Millisecond}
	web := r.start(cfg, nil)
	_, _, err := get(web, 5*time.Second, service.Idempotent())
	if !errors.Is(err, troupe.ErrUnavailable) || isOpen(err) {
		t.Errorf("err = %v, want the target's last error", err)
	}
	ts := breakerOf(t, web, "stock")
	if got := st.received.Load(); got != 2 || ts.Retries != 1 || ts.Breaker.State != service.BreakerOpen {
		t.Errorf("target received %d attempts, %d retries, breaker %s; want 2 attempts, 1 retry, open", got, ts.Retries, ts.Breaker.State)
	}
}

// TestRetryWithinTheDeadline checks that attempts with their own timeout
// are retried while the request's deadline leaves time, and never after it.
func TestRetryWithinTheDeadline(t *testing.T) {
	r := newRig(t, "inproc", shopApp())
	st := newStock()
	var (
		mu        sync.Mutex
		deadlines []time.Time
	)
	st.behave(func(ctx context.Context, _ int64) error {
		env := bus.EnvelopeFrom(ctx)
		mu.Lock()
		deadlines = append(deadlines, env.Deadline)
		mu.Unlock()
		<-ctx.Done() // hangs until the attempt's deadline
		return ctx.Err()
	})
	r.start(service.Config{Name: "stock"}, st.setup)
	web := r.start(service.Config{
		Name:    "web",
		Breaker: troupe.BreakerPolicy{Off: true},
		Retry:   troupe.RetryPolicy{Attempts: 100, Backoff: time.Millisecond, AttemptTimeout: 30 * time.Millisecond},
	}, nil)
	const budget = 300 * time.Millisecond
	start := time.Now()
	requestDeadline := start.Add(budget)
	ctx, cancel := context.WithDeadline(context.Background(), requestDeadline)
	defer cancel()
	_, err := service.Request[Item](ctx, web, "stock.get", Item{}, service.Idempotent())
	took := time.Since(start)
	if !errors.Is(err, troupe.ErrTimeout) {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if took > budget+2*time.Second {
		t.Errorf("the request took %v, far past its %v deadline", took, budget)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(deadlines) < 2 {
		t.Fatalf("%d attempts, want retries inside the deadline", len(deadlines))
	}
	for i, d := range deadlines {
		if d.After(requestDeadline) {
			t.Errorf("attempt %d has deadline %v, after the request's %v", i+1, d, requestDeadline)
		}
	}
}

// TestRetryBudget checks that retries to a target that fails every time
// stay within the budget: 10% of the requests plus the reserve.
func TestRetryBudget(t *testing.T) {
	r := newRig(t, "inproc", shopApp())
	st := newStock()
	st.behave(func(context.Context, int64) error { return troupe.Errorf(troupe.CodeUnavailable, "down") })
	r.start(service.Config{Name: "stock"}, st.setup)
	web := r.start(service.Config{
		Name:    "web",
		Breaker: troupe.BreakerPolicy{Off: true}, // the budget alone must hold
		Retry:   troupe.RetryPolicy{Attempts: 3, Backoff: time.Microsecond, MaxBackoff: time.Microsecond},
	}, nil)
	const calls = 500
	start := time.Now()
	for i := 0; i < calls; i++ {
		if _, _, err := get(web, 5*time.Second, service.Idempotent()); err == nil {
			t.Fatal("a request to a target that is down succeeded")
		}
	}
	elapsed := time.Since(start)
	ts := breakerOf(t, web, "stock")
	if got, want := st.received.Load(), int64(calls)+int64(ts.Retries); got != want {
		t.Errorf("target received %d attempts, want %d requests + %d retries", got, calls, ts.Retries)
	}
	limit := service.DefaultRetryBudget*calls + service.RetryReservePerSecond*elapsed.Seconds() + service.RetryBudgetMax + 1
	if float64(ts.Retries) > limit {
		t.Errorf("%d retries for %d requests in %v, want at most %.0f", ts.Retries, calls, elapsed, limit)
	}
	if ts.Retries+ts.RetriesDenied < calls {
		t.Errorf("%d retries + %d denied, want one of them per failed request (%d)", ts.Retries, ts.RetriesDenied, calls)
	}
	t.Logf("%d requests, %d retries (%.1f%%), %d denied, in %v", calls, ts.Retries, 100*float64(ts.Retries)/calls, ts.RetriesDenied, elapsed)
}

// TestRetryNotForDurable checks that a durable request is left to the bus.
func TestRetryNotForDurable(t *testing.T) {
	r := newRig(t, "inproc", shopApp())
	handled := make(chan struct{}, 100)
	r.start(service.Config{Name: "stock"}, func(s *service.Service) {
		if err := service.Handle(s, "stock.put", "ok", func(context.Context, Item) (Item, error) {
			handled <- struct{}{}
			return Item{}, troupe.Errorf(troupe.CodeUnavailable, "busy")
		}); err != nil {
			t.Fatal(err)
		}
	})
	web := r.start(service.Config{Name: "web"}, nil)
	_, err := service.Request[Item](context.Background(), web, "stock.put", Item{SKU: "a"}, service.Idempotent())
	if !errors.Is(err, troupe.ErrUnavailable) {
		t.Fatalf("err = %v, want unavailable", err)
	}
	if ts := breakerOf(t, web, "stock"); ts.Retries != 0 {
		t.Errorf("%d retries of a durable request, want 0", ts.Retries)
	}
}
