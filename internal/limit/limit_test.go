package limit

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/troupe-go/troupe"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// outcome records what became of one request given to Do.
type outcome struct {
	ran  chan struct{}
	shed chan error
}

func do(l *Limiter, deadline time.Time) outcome {
	o := outcome{ran: make(chan struct{}, 1), shed: make(chan error, 1)}
	l.Do(deadline, func() { o.ran <- struct{}{} }, func(err error) { o.shed <- err })
	return o
}

// bound is how long a test waits for something that must happen; it is
// never a measurement.
const bound = 10 * time.Second

func (o outcome) wantRan(t *testing.T, what string) {
	t.Helper()
	select {
	case <-o.ran:
	case err := <-o.shed:
		t.Fatalf("%s: shed (%v), want it run", what, err)
	case <-time.After(bound):
		t.Fatalf("%s: neither run nor shed", what)
	}
}

func (o outcome) wantShed(t *testing.T, what string) error {
	t.Helper()
	select {
	case <-o.ran:
		t.Fatalf("%s: run, want it shed", what)
	case err := <-o.shed:
		if !errors.Is(err, ErrShed) || troupe.CodeOf(err) != troupe.CodeUnavailable {
			t.Fatalf("%s: shed with %v, want an unavailable error wrapping ErrShed", what, err)
		}
		return err
	case <-time.After(bound):
		t.Fatalf("%s: neither run nor shed", what)
	}
	return nil
}

func (o outcome) wantWaiting(t *testing.T, what string) {
	t.Helper()
	select {
	case <-o.ran:
		t.Fatalf("%s: run, want it waiting", what)
	case err := <-o.shed:
		t.Fatalf("%s: shed (%v), want it waiting", what, err)
	default:
	}
}

func TestConcurrencyAndOrder(t *testing.T) {
	l := New(Config{Who: "x", Concurrency: 2, Queue: 3, MaxWait: time.Hour})
	defer l.Close()
	a, b := do(l, time.Time{}), do(l, time.Time{})
	a.wantRan(t, "first")
	b.wantRan(t, "second")
	c, d := do(l, time.Time{}), do(l, time.Time{})
	c.wantWaiting(t, "third")
	d.wantWaiting(t, "fourth")
	if st := l.Stats(); st.InFlight != 2 || st.Queued != 2 || st.Arrived != 4 {
		t.Errorf("stats %+v, want 2 in flight, 2 queued, 4 arrived", st)
	}
	l.Done(time.Now(), time.Time{})
	c.wantRan(t, "third after a slot freed")
	d.wantWaiting(t, "fourth, still behind")
	l.Done(time.Now(), time.Time{})
	d.wantRan(t, "fourth after another")
	l.Done(time.Now(), time.Time{})
	l.Done(time.Now(), time.Time{})
	if st := l.Stats(); st.InFlight != 0 || st.Queued != 0 || st.Shed != 0 {
		t.Errorf("stats after all done %+v, want nothing in flight or queued, nothing shed", st)
	}
}

func TestQueueFullSheds(t *testing.T) {
	l := New(Config{Who: "todo.list at service todo", Concurrency: 1, Queue: 1, MaxWait: time.Hour})
	defer l.Close()
	do(l, time.Time{}).wantRan(t, "first")
	do(l, time.Time{}).wantWaiting(t, "second")
	err := do(l, time.Time{}).wantShed(t, "third, the queue full")
	if want := "todo.list at service todo: overloaded, shed: 1 in progress and 1 waiting"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q, want it to say %q", err, want)
	}
	if st := l.Stats(); st.Shed != 1 {
		t.Errorf("shed %d, want 1", st.Shed)
	}
	noQueue := New(Config{Concurrency: 1, Queue: -1, MaxWait: time.Hour})
	defer noQueue.Close()
	do(noQueue, time.Time{}).wantRan(t, "first without a queue")
	do(noQueue, time.Time{}).wantShed(t, "second without a queue")
}

// TestWaitedTooLongIsShed: with every slot taken by a request that does not
// end, a queued request is shed after MaxWait by the timer, not left to its
// deadline.
func TestWaitedTooLongIsShed(t *testing.T) {
	l := New(Config{Concurrency: 1, Queue: 10, MaxWait: 20 * time.Millisecond})
	defer l.Close()
	do(l, time.Time{}).wantRan(t, "the stuck one")
	var queued []outcome
	for range 3 {
		queued = append(queued, do(l, time.Now().Add(time.Hour)))
	}
	for _, o := range queued {
		o.wantShed(t, "queued behind a stuck request")
	}
	if st := l.Stats(); st.Shed != 3 || st.Queued != 0 || st.InFlight != 1 {
		t.Errorf("stats %+v, want 3 shed, none queued, the stuck one in flight", st)
	}
}

// TestShedOnArrivalWhenTheTurnIsTooFar: once handling is known to be slow, a
// request whose turn would come after MaxWait, or too late for its deadline,
// is shed at once.
func TestShedOnArrivalWhenTheTurnIsTooFar(t *testing.T) {
	l := New(Config{Concurrency: 1, Queue: 100, MaxWait: time.Hour})
	defer l.Close()
	do(l, time.Time{}).wantRan(t, "first")
	l.Done(time.Now().Add(-2*time.Hour), time.Time{}) // it took two hours
	do(l, time.Time{}).wantRan(t, "second")
	err := do(l, time.Time{}).wantShed(t, "a turn two hours away")
	if !strings.Contains(err.Error(), "its turn would come in about 2h0m0s") {
		t.Errorf("error %q, want it to say when its turn would come", err)
	}

	// With four slots, the first in line waits about a quarter of a
	// handling.
	l4 := New(Config{Concurrency: 4, Queue: 100, MaxWait: 2 * time.Hour})
	defer l4.Close()
	for range 4 {
		do(l4, time.Time{}).wantRan(t, "one of four")
	}
	l4.Done(time.Now().Add(-3*time.Hour), time.Time{}) // three hours each
	do(l4, time.Time{}).wantRan(t, "in the freed slot")
	do(l4, time.Time{}).wantWaiting(t, "first in line: 45 minutes")
	do(l4, time.Time{}).wantWaiting(t, "second in line: 1h30m")
	err = do(l4, time.Time{}).wantShed(t, "third in line: 2h15m")
	if !strings.Contains(err.Error(), "its turn would come in about 2h15m0s, after 2 waiting and 4 in progress") {
		t.Errorf("error %q, want it to say when its turn would come", err)
	}

	l2 := New(Config{Concurrency: 1, Queue: 100, MaxWait: time.Hour})
	defer l2.Close()
	do(l2, time.Time{}).wantRan(t, "first")
	l2.Done(time.Now().Add(-time.Minute), time.Time{}) // it took a minute
	do(l2, time.Time{}).wantRan(t, "second")
	err = do(l2, time.Now().Add(30*time.Second)).wantShed(t, "a deadline in 30 s, a minute of work ahead")
	if !strings.Contains(err.Error(), "would miss its deadline") {
		t.Errorf("error %q, want it to say it would miss its deadline", err)
	}
	do(l2, time.Now().Add(time.Hour)).wantWaiting(t, "a deadline in an hour")
}

func TestWait(t *testing.T) {
	l := New(Config{Concurrency: 1, Queue: 2, MaxWait: time.Hour})
	defer l.Close()
	ctx := t.Context()
	start, err := l.Wait(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	var second time.Time
	go func() {
		s, err := l.Wait(ctx, time.Time{})
		second = s
		got <- err
	}()
	for l.Stats().Queued != 1 {
		time.Sleep(time.Millisecond)
	}
	l.Done(start, time.Time{})
	if err := <-got; err != nil {
		t.Fatalf("second Wait: %v", err)
	}
	l.Done(second, time.Now().Add(-time.Millisecond)) // its deadline has passed
	if st := l.Stats(); st.InFlight != 0 || st.Late != 1 {
		t.Errorf("stats %+v, want none in flight, one late", st)
	}

	// A caller that gives up while queued leaves no slot behind.
	hold, err := l.Wait(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if hold.IsZero() {
		t.Fatal("Wait admitted a request without a start time")
	}
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		_, err := l.Wait(cctx, time.Time{})
		got <- err
	}()
	for l.Stats().Queued != 1 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Wait: %v, want context.Canceled", err)
	}
	l.Done(hold, time.Time{})
	if st := l.Stats(); st.InFlight != 0 || st.Queued != 0 {
		t.Errorf("after the cancelled waiter: %+v, want nothing in flight or queued", st)
	}
	if _, err := l.Wait(ctx, time.Time{}); err != nil {
		t.Errorf("Wait with every slot free: %v", err)
	}
}

// TestConcurrentUse: whatever the interleaving, every request is run or shed
// exactly once and every slot comes back.
func TestConcurrentUse(t *testing.T) {
	l := New(Config{Concurrency: 3, Queue: 5, MaxWait: time.Millisecond})
	defer l.Close()
	var mu sync.Mutex
	ran, shed := 0, 0
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 500 {
				ch := make(chan bool, 1)
				l.Do(time.Now().Add(time.Second), func() { ch <- true }, func(error) { ch <- false })
				ok := <-ch
				mu.Lock()
				if ok {
					ran++
				} else {
					shed++
				}
				mu.Unlock()
				if ok {
					l.Done(time.Now(), time.Time{})
				}
			}
		})
	}
	wg.Wait()
	st := l.Stats()
	if ran+shed != 4000 || st.Arrived != 4000 || st.Shed != uint64(shed) || st.InFlight != 0 || st.Queued != 0 {
		t.Errorf("ran %d, shed %d, stats %+v; want 4000 in all, the same shed count, nothing left", ran, shed, st)
	}
}

// TestDrain: Drain returns once the queued requests had their turn and
// ended.
func TestDrain(t *testing.T) {
	l := New(Config{Concurrency: 1, Queue: 5, MaxWait: time.Hour})
	defer l.Close()
	do(l, time.Time{}).wantRan(t, "first")
	queued := do(l, time.Time{})
	done := make(chan error, 1)
	go func() { done <- l.Drain(t.Context()) }()
	notYet := func(what string) {
		t.Helper()
		select {
		case err := <-done:
			t.Fatalf("Drain returned (%v) %s", err, what)
		case <-time.After(20 * time.Millisecond):
		}
	}
	notYet("with a request queued")
	l.Done(time.Now(), time.Time{})
	queued.wantRan(t, "queued, after the first")
	notYet("with a request in progress")
	l.Done(time.Now(), time.Time{})
	if err := <-done; err != nil {
		t.Errorf("Drain: %v", err)
	}
	do(l, time.Time{}).wantRan(t, "a new first")
	ctx, cancel := context.WithCancel(t.Context())
	do(l, time.Time{}).wantWaiting(t, "behind the second")
	cancel()
	if err := l.Drain(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Drain with a cancelled context and a request queued: %v", err)
	}
	if err := (*Limiter)(nil).Drain(t.Context()); err != nil {
		t.Errorf("Drain of a nil limiter: %v", err)
	}
}

func TestNilAndClose(t *testing.T) {
	var none *Limiter
	do(none, time.Time{}).wantRan(t, "a nil limiter")
	none.Done(time.Now(), time.Time{})
	if _, err := none.Wait(t.Context(), time.Time{}); err != nil {
		t.Errorf("Wait on a nil limiter: %v", err)
	}
	l := New(Config{Concurrency: 1, Queue: 5, MaxWait: time.Hour})
	do(l, time.Time{}).wantRan(t, "first")
	queued := do(l, time.Time{})
	l.Close()
	queued.wantShed(t, "queued at Close")
	do(l, time.Time{}).wantShed(t, "after Close")
}

// TestPolicy: the entry for the name, then the policy for all, then the
// defaults, field by field; Off anywhere wins.
func TestPolicy(t *testing.T) {
	def := troupe.LimitPolicy{Concurrency: 64, Queue: 256, MaxWait: 100 * time.Millisecond}
	ps := []troupe.LimitPolicy{
		{Name: "todo.list", Concurrency: 8},
		{Name: "todo.create", Concurrency: 4, MaxWait: time.Second},
		{Name: "report", Off: true},
	}
	tests := []struct {
		name string
		all  troupe.LimitPolicy
		want troupe.LimitPolicy
	}{
		{"todo.list", troupe.LimitPolicy{}, troupe.LimitPolicy{Concurrency: 8, Queue: 256, MaxWait: 100 * time.Millisecond}},
		{"todo.list", troupe.LimitPolicy{Queue: 16}, troupe.LimitPolicy{Concurrency: 8, Queue: 16, MaxWait: 100 * time.Millisecond}},
		{"todo.create", troupe.LimitPolicy{Concurrency: 32}, troupe.LimitPolicy{Concurrency: 4, Queue: 256, MaxWait: time.Second}},
		{"other", troupe.LimitPolicy{Concurrency: 32}, troupe.LimitPolicy{Concurrency: 32, Queue: 256, MaxWait: 100 * time.Millisecond}},
		{"other", troupe.LimitPolicy{}, def},
		{"report", troupe.LimitPolicy{}, troupe.LimitPolicy{Off: true, Concurrency: 64, Queue: 256, MaxWait: 100 * time.Millisecond}},
		{"other", troupe.LimitPolicy{Off: true}, troupe.LimitPolicy{Off: true, Concurrency: 64, Queue: 256, MaxWait: 100 * time.Millisecond}},
	}
	for _, tt := range tests {
		got := Policy(tt.name, ps, tt.all, def)
		got.Name = ""
		if got != tt.want {
			t.Errorf("Policy(%q, all %+v) = %+v, want %+v", tt.name, tt.all, got, tt.want)
		}
	}
}
