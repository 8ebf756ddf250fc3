// Package limit is the concurrency limit with a bounded queue and load
// shedding that the gateway applies per route and a service per message
// (troupe.LimitPolicy documents the behaviour).
//
// A Limiter admits a request at once while fewer than Concurrency are in
// progress, else queues it, first come first served; a queued request is
// shed (its shed callback gets an unavailable *troupe.Error) when the queue
// is full, when it has waited MaxWait, or when the service times measured so
// far say that its turn would come later than MaxWait or too late for its
// deadline. No goroutine waits for a turn: Do queues callbacks that the
// finishing request (or the limiter's one timer) runs; Wait is the blocking
// form for a caller that has a goroutine anyway (an HTTP handler).
package limit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/troupe-go/troupe"
)

// ErrShed is in the chain of every error a Limiter sheds a request with.
var ErrShed = errors.New("limit: shed")

// Policy returns the policy in force for name: the entry of ps whose Name
// is name, its zero fields filled from p, then from def; Off in any of them
// wins. The gateway (routes) and the services (messages) resolve their
// policies this way.
func Policy(name string, ps []troupe.LimitPolicy, p, def troupe.LimitPolicy) troupe.LimitPolicy {
	for _, lp := range ps {
		if lp.Name == name {
			p = merge(lp, p)
			break
		}
	}
	return merge(p, def)
}

// merge fills the zero fields of p from q; Off in either wins.
func merge(p, q troupe.LimitPolicy) troupe.LimitPolicy {
	p.Off = p.Off || q.Off
	if p.Concurrency == 0 {
		p.Concurrency = q.Concurrency
	}
	if p.Queue == 0 {
		p.Queue = q.Queue
	}
	if p.MaxWait == 0 {
		p.MaxWait = q.MaxWait
	}
	return p
}

// Config configures a Limiter. Concurrency must be positive; Queue zero means
// no queue.
type Config struct {
	// Who names the limit in errors: "todo.list at service todo".
	Who         string
	Concurrency int
	Queue       int
	MaxWait     time.Duration
}

// A Limiter bounds the requests in progress at one place. Its methods are
// safe for concurrent use. A nil *Limiter admits everything.
type Limiter struct {
	who     string
	conc    int
	maxQ    int
	maxWait time.Duration

	mu       sync.Mutex
	inflight int
	q        []*entry // FIFO: q[head:] are waiting, some perhaps cancelled
	head     int
	timer    *time.Timer
	timerAt  time.Time
	svc      time.Duration // moving average of the service time; 0 until measured
	arrived  uint64
	shed     uint64
	late     uint64
	delayed  uint64
	waited   time.Duration
	closed   bool
}

// entry is one queued request.
type entry struct {
	enq      time.Time
	deadline time.Time
	state    atomic.Int32 // waiting, granted, shed, cancelled
	run      func()
	onShed   func(error)
}

const (
	waiting int32 = iota
	granted
	refused
	cancelled
)

// New returns a Limiter for c.
func New(c Config) *Limiter {
	if c.Concurrency < 1 {
		c.Concurrency = 1
	}
	if c.Queue < 0 {
		c.Queue = 0
	}
	return &Limiter{who: c.Who, conc: c.Concurrency, maxQ: c.Queue, maxWait: c.MaxWait}
}

// Do runs run at once if a slot is free, else queues the request: run is
// called later, by the goroutine of a request that finished, or onShed is,
// with the reason the request is shed, by that goroutine, the limiter's timer
// or this call. Exactly one of them is called; both must be quick and must
// not block. The request has its deadline (zero for none). Every run must be
// followed by one call of Done.
func (l *Limiter) Do(deadline time.Time, run func(), onShed func(error)) {
	if l == nil {
		run()
		return
	}
	if l.TryAcquire() {
		run()
		return
	}
	e := &entry{deadline: deadline, run: run, onShed: onShed}
	now, err := l.admit(time.Now(), e)
	if err != nil {
		onShed(err)
		return
	}
	if now {
		run()
	}
}

// Wait blocks until the request may proceed and returns when it did, for
// Done; or it returns the error the request was shed with, or ctx's error if
// ctx ended first. A request admitted at once costs no allocation.
func (l *Limiter) Wait(ctx context.Context, deadline time.Time) (start time.Time, err error) {
	if l == nil {
		return time.Now(), nil
	}
	if l.TryAcquire() {
		return time.Now(), nil
	}
	ch := make(chan error, 1)
	e := &entry{deadline: deadline, run: func() { ch <- nil }, onShed: func(err error) { ch <- err }}
	now, err := l.admit(time.Now(), e)
	if err != nil {
		return time.Time{}, err
	}
	if !now {
		select {
		case err := <-ch:
			if err != nil {
				return time.Time{}, err
			}
		case <-ctx.Done():
			if e.state.CompareAndSwap(waiting, cancelled) {
				return time.Time{}, ctx.Err()
			}
			// Granted or shed meanwhile.
			if err := <-ch; err != nil {
				return time.Time{}, err
			}
			l.Done(time.Now(), time.Time{})
			return time.Time{}, ctx.Err()
		}
	}
	return time.Now(), nil
}

// TryAcquire takes a slot if one is free and nobody waits, and reports
// whether it did; a request that got one must be followed by Done. It costs
// no allocation, so callers try it before Do.
func (l *Limiter) TryAcquire() bool {
	if l == nil {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || l.inflight >= l.conc || len(l.q) > l.head {
		return false
	}
	l.arrived++
	l.inflight++
	return true
}

// admit takes a slot for e (run it now), queues it (it is run or shed
// later), or returns the error to shed it with.
func (l *Limiter) admit(now time.Time, e *entry) (runNow bool, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.arrived++
	if l.closed {
		l.shed++
		return false, l.errorf("stopping")
	}
	queued := len(l.q) - l.head
	if l.inflight < l.conc && queued == 0 {
		l.inflight++
		e.state.Store(granted)
		return true, nil
	}
	if queued >= l.maxQ {
		l.shed++
		return false, l.errorf("%d in progress and %d waiting", l.inflight, queued)
	}
	if l.svc > 0 {
		// Slots free up at Concurrency per service time: the k-th in
		// line has its turn after about k of them.
		turn := time.Duration(float64(queued+1) / float64(l.conc) * float64(l.svc))
		if turn > l.maxWait {
			l.shed++
			return false, l.errorf("its turn would come in about %v, after %d waiting and %d in progress; the longest wait is %v",
				turn.Round(time.Millisecond), queued, l.inflight, l.maxWait)
		}
		if !e.deadline.IsZero() && now.Add(turn+l.svc).After(e.deadline) {
			l.shed++
			return false, l.errorf("it would miss its deadline: its turn would come in about %v, and handling takes about %v",
				turn.Round(time.Millisecond), l.svc.Round(time.Millisecond))
		}
	}
	e.enq = now
	l.q = append(l.q, e)
	l.arm(now)
	return false, nil
}

func (l *Limiter) errorf(format string, args ...any) error {
	return &troupe.Error{Code: troupe.CodeUnavailable, Msg: fmt.Sprintf("%s: overloaded, shed: "+format, append([]any{l.who}, args...)...), Err: ErrShed}
}

// Done ends a request that was run (started at start): its slot goes to the
// next request in the queue that may still be served. A deadline (zero for
// none) that has passed by now counts the request as late.
func (l *Limiter) Done(start, deadline time.Time) { l.DoneAt(start, time.Now(), deadline) }

// DoneAt is Done for a caller that has just read the clock: the request
// ended at now.
func (l *Limiter) DoneAt(start, now, deadline time.Time) {
	if l == nil {
		return
	}
	late := !deadline.IsZero() && !now.Before(deadline)
	var run *entry
	var shed []*entry
	l.mu.Lock()
	d := now.Sub(start)
	if l.svc == 0 {
		l.svc = d
	} else {
		l.svc += (d - l.svc) / 8
	}
	if late {
		l.late++
	}
	l.inflight--
	for l.head < len(l.q) {
		e := l.q[l.head]
		l.q[l.head] = nil
		l.head++
		if e.state.Load() != waiting {
			continue
		}
		wait := now.Sub(e.enq)
		if wait >= l.maxWait || !e.deadline.IsZero() && now.Add(l.svc).After(e.deadline) {
			if e.state.CompareAndSwap(waiting, refused) {
				l.shed++
				shed = append(shed, e)
			}
			continue
		}
		if e.state.CompareAndSwap(waiting, granted) {
			l.inflight++
			l.waited += wait
			if wait > l.maxWait/2 {
				l.delayed++
			}
			run = e
			break
		}
	}
	l.compact()
	l.mu.Unlock()
	for _, e := range shed {
		e.onShed(l.errorf("no turn within %v (or too late for its deadline)", l.maxWait))
	}
	if run != nil {
		run.run()
	}
}

// compact drops the queue's leading gap once it is worth it. l.mu is held.
func (l *Limiter) compact() {
	if l.head == len(l.q) {
		l.q, l.head = l.q[:0], 0
		return
	}
	if l.head > 64 && l.head > len(l.q)/2 {
		n := copy(l.q, l.q[l.head:])
		clear(l.q[n:])
		l.q, l.head = l.q[:n], 0
	}
}

// arm makes sure the timer fires when the oldest waiting request has waited
// MaxWait. l.mu is held.
func (l *Limiter) arm(now time.Time) {
	if l.head == len(l.q) {
		return
	}
	at := l.q[l.head].enq.Add(l.maxWait)
	if l.timer != nil && !l.timerAt.IsZero() && !at.Before(l.timerAt) {
		return // it fires earlier, and re-arms
	}
	l.timerAt = at
	if l.timer == nil {
		l.timer = time.AfterFunc(at.Sub(now), l.expire)
		return
	}
	l.timer.Reset(at.Sub(now))
}

// expire sheds the requests that have waited MaxWait.
func (l *Limiter) expire() {
	now := time.Now()
	var shed []*entry
	l.mu.Lock()
	l.timerAt = time.Time{}
	for l.head < len(l.q) {
		e := l.q[l.head]
		if e.state.Load() == waiting && now.Sub(e.enq) < l.maxWait {
			break
		}
		l.q[l.head] = nil
		l.head++
		if e.state.CompareAndSwap(waiting, refused) {
			l.shed++
			shed = append(shed, e)
		}
	}
	l.compact()
	if !l.closed {
		l.arm(now)
	}
	l.mu.Unlock()
	for _, e := range shed {
		e.onShed(l.errorf("no turn within %v", l.maxWait))
	}
}

// Stats returns the limiter's counts.
func (l *Limiter) Stats() troupe.LimitStats {
	if l == nil {
		return troupe.LimitStats{}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	queued := 0
	for _, e := range l.q[l.head:] {
		if e.state.Load() == waiting {
			queued++
		}
	}
	return troupe.LimitStats{
		Concurrency: l.conc,
		InFlight:    l.inflight,
		Queued:      queued,
		Arrived:     l.arrived,
		Shed:        l.shed,
		Late:        l.late,
		Delayed:     l.delayed,
		Waited:      l.waited,
		ServiceTime: l.svc,
	}
}

// Drain waits until no request is queued or in progress, or ctx ends. With
// no new requests arriving, the queue empties as the requests in progress
// end and hand their slots on (or as the queued ones are shed for waiting
// too long), and then the last ones end.
func (l *Limiter) Drain(ctx context.Context) error {
	if l == nil {
		return nil
	}
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for {
		l.mu.Lock()
		empty := l.inflight == 0
		for _, e := range l.q[l.head:] {
			if e.state.Load() == waiting {
				empty = false
				break
			}
		}
		l.mu.Unlock()
		if empty {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Close stops the limiter's timer; requests still queued are shed.
func (l *Limiter) Close() {
	if l == nil {
		return
	}
	var shed []*entry
	l.mu.Lock()
	l.closed = true
	if l.timer != nil {
		l.timer.Stop()
	}
	for _, e := range l.q[l.head:] {
		if e.state.CompareAndSwap(waiting, refused) {
			l.shed++
			shed = append(shed, e)
		}
	}
	l.q, l.head = nil, 0
	l.mu.Unlock()
	for _, e := range shed {
		e.onShed(l.errorf("stopping"))
	}
}
