package service

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/failsafe-go/failsafe-go/circuitbreaker"

	"github.com/troupe-go/troupe"
)

// The default circuit breaker, used for every field of a
// troupe.BreakerPolicy left zero: open after 5 consecutive failures, or
// when half the requests of the last 10s failed once there were at least
// 20; stay open 5s (±10%, so that breakers which opened together do not
// probe together); then let 3 requests through and close if all succeed.
const (
	DefaultBreakerFailures    = 5
	DefaultBreakerFailureRate = 0.5
	DefaultBreakerWindow      = 10 * time.Second
	DefaultBreakerMinRequests = 20
	DefaultBreakerOpenFor     = 5 * time.Second
	DefaultBreakerProbes      = 3
)

// ErrBreakerOpen is the cause of the unavailable error that a request gets
// at once, without being sent, while the circuit breaker in front of its
// target is open (or half-open with all its probes out):
// errors.Is(err, service.ErrBreakerOpen) and errors.Is(err,
// troupe.ErrUnavailable) both hold.
var ErrBreakerOpen = errors.New("circuit breaker open")

// BreakerState is the state of a circuit breaker.
type BreakerState string

// The states of a circuit breaker, and BreakerOff for a target whose
// breaker is turned off.
const (
	BreakerClosed   BreakerState = "closed"    // requests pass; failures are counted
	BreakerOpen     BreakerState = "open"      // requests fail at once with ErrBreakerOpen
	BreakerHalfOpen BreakerState = "half-open" // a few probes pass; their outcome decides
	BreakerOff      BreakerState = "off"       // no breaker
)

// BreakerStatus is a circuit breaker as it is now.
type BreakerStatus struct {
	State BreakerState `json:"state"`
	// Since is when it entered State (for a closed one, when it was made
	// or last closed).
	Since time.Time `json:"since,omitzero"`
	// ProbeAt is, for an open breaker, when it will let probes through
	// (it turns half-open at the first request after it); zero otherwise.
	ProbeAt time.Time `json:"probeAt,omitzero"`
	// Requests, Failures and FailureRate are the outcomes counted in the
	// current state: in the sliding window when closed, among the probes
	// when half-open, and those that opened it when open.
	Requests    uint    `json:"requests"`
	Failures    uint    `json:"failures"`
	FailureRate float64 `json:"failureRate"`
	Opened      uint64  `json:"opened"`   // times it opened
	Rejected    uint64  `json:"rejected"` // requests it failed at once
}

// BreakerEvent is one state change of a circuit breaker, given to
// Config.OnBreaker.
type BreakerEvent struct {
	Service  string // the calling service
	Instance string // the calling instance
	Target   string // the service called
	From, To BreakerState
	At       time.Time
	// Requests, Failures and FailureRate are the outcomes counted in the
	// state left: for a breaker that opened, what opened it.
	Requests    uint
	Failures    uint
	FailureRate float64
}

// breaker is the circuit breaker of one caller instance in front of one
// target: a failsafe-go CircuitBreaker, which owns the states, the sliding
// window, the open delay and the probes, plus the consecutive-failure rule
// when the failure-rate rule is on too (failsafe-go's breaker has one rule
// at a time; this counter trips it with Open).
type breaker struct {
	cb     circuitbreaker.CircuitBreaker[any]
	t      *target
	s      *Service
	consec int32 // consecutive failures that open it, if counted here; 0 if not
	n      atomic.Int32

	since    atomic.Int64 // unix nanoseconds of the last state change
	opened   atomic.Uint64
	rejected atomic.Uint64
	tripped  atomic.Bool // it opened since the alarm detector last looked
}

// newBreaker builds the breaker of pol for t, or nil if pol turns it off.
func newBreaker(s *Service, t *target, pol troupe.BreakerPolicy) (*breaker, error) {
	if pol.Off {
		return nil, nil
	}
	setZero(&pol.Failures, DefaultBreakerFailures)
	setZero(&pol.FailureRate, DefaultBreakerFailureRate)
	setZero(&pol.Window, DefaultBreakerWindow)
	setZero(&pol.MinRequests, DefaultBreakerMinRequests)
	setZero(&pol.OpenFor, DefaultBreakerOpenFor)
	setZero(&pol.Probes, DefaultBreakerProbes)
	switch {
	case pol.FailureRate > 1:
		return nil, fmt.Errorf("failure rate %v is above 1", pol.FailureRate)
	case pol.Failures < 0 && pol.FailureRate < 0:
		return nil, errors.New("both rules are off; turn the breaker off instead")
	case pol.Window < 10*time.Millisecond:
		return nil, fmt.Errorf("window %v is shorter than 10ms", pol.Window)
	case pol.MinRequests < 0:
		return nil, fmt.Errorf("negative min requests %d", pol.MinRequests)
	case pol.OpenFor < 0:
		return nil, fmt.Errorf("negative open-for %v", pol.OpenFor)
	case pol.Probes < 0:
		return nil, fmt.Errorf("negative probes %d", pol.Probes)
	}
	b := &breaker{t: t, s: s}
	b.since.Store(time.Now().UnixNano())
	bld := circuitbreaker.NewBuilder[any]().
		WithDelay(pol.OpenFor).
		WithJitterFactor(0.1).
		WithSuccessThreshold(uint(pol.Probes)).
		OnStateChanged(b.changed)
	if pol.FailureRate > 0 {
		bld = bld.WithFailureRateThreshold(pol.FailureRate, uint(pol.MinRequests), pol.Window)
		if pol.Failures > 0 {
			b.consec = int32(min(pol.Failures, 1<<30))
		}
	} else {
		bld = bld.WithFailureThreshold(uint(pol.Failures))
	}
	b.cb = bld.Build()
	return b, nil
}

// allow reports whether a request may go to the target now; if it may not,
// it is counted as rejected.
func (b *breaker) allow() bool {
	if b.cb.TryAcquirePermit() {
		return true
	}
	b.rejected.Add(1)
	return false
}

// isOpen reports whether b refuses requests now; a nil b (off) never does.
func (b *breaker) isOpen() bool { return b != nil && b.cb.IsOpen() }

// record counts the outcome of a request that allow let through; fault
// says whether err is the target's (targetFault).
func (b *breaker) record(err error, fault bool) {
	switch {
	case err == nil:
		b.success()
	case b.t.closing():
		// The caller is stopping: its client fails every request.
		b.cb.RecordSuccess()
	case fault:
		b.failure()
	case errors.Is(err, context.Canceled):
		// The caller gave up: that says nothing of the target, but a
		// half-open breaker waits for its probe, so a probe given up
		// counts as failed (another follows after OpenFor).
		if b.cb.IsHalfOpen() {
			b.cb.RecordFailure()
		} else {
			b.cb.RecordSuccess()
		}
	default:
		// The target answered: it works, even if it said no.
		b.success()
	}
}

func (b *breaker) success() {
	if b.consec > 0 && b.n.Load() != 0 {
		b.n.Store(0)
	}
	b.cb.RecordSuccess()
}

func (b *breaker) failure() {
	b.cb.RecordFailure()
	if b.consec > 0 && b.n.Add(1) >= b.consec && b.cb.IsClosed() {
		b.cb.Open()
	}
}

// changed is failsafe-go's state listener; it runs on the goroutine that
// made the change, outside the breaker's lock.
func (b *breaker) changed(ev circuitbreaker.StateChangedEvent) {
	now := time.Now()
	b.since.Store(now.UnixNano())
	b.n.Store(0)
	from, to := stateOf(ev.OldState), stateOf(ev.NewState)
	m := ev.Metrics()
	e := BreakerEvent{
		Service: b.t.caller.Service, Instance: b.t.caller.Instance, Target: b.t.name,
		From: from, To: to, At: now,
		Requests: m.Executions(), Failures: m.Failures(), FailureRate: m.FailureRate(),
	}
	log := b.s.log
	switch to {
	case BreakerOpen:
		b.opened.Add(1)
		b.tripped.Store(true)
		log.Warn("service: circuit breaker open", "target", e.Target, "from", from,
			"requests", e.Requests, "failures", e.Failures, "failure_rate", e.FailureRate)
	case BreakerClosed:
		log.Info("service: circuit breaker closed", "target", e.Target)
	default:
		log.Info("service: circuit breaker half-open", "target", e.Target)
	}
	if h := b.s.cfg.OnBreaker; h != nil {
		h(e)
	}
}

func stateOf(s circuitbreaker.State) BreakerState {
	switch s {
	case circuitbreaker.OpenState:
		return BreakerOpen
	case circuitbreaker.HalfOpenState:
		return BreakerHalfOpen
	}
	return BreakerClosed
}

// status returns b's status; a nil b is a breaker turned off.
func (b *breaker) status() BreakerStatus {
	if b == nil {
		return BreakerStatus{State: BreakerOff}
	}
	st := BreakerStatus{
		State:    stateOf(b.cb.State()),
		Since:    time.Unix(0, b.since.Load()),
		Opened:   b.opened.Load(),
		Rejected: b.rejected.Load(),
	}
	m := b.cb.Metrics()
	st.Requests, st.Failures, st.FailureRate = m.Executions(), m.Failures(), m.FailureRate()
	if st.State == BreakerOpen {
		st.ProbeAt = time.Now().Add(b.cb.RemainingDelay())
	}
	return st
}

// breakerMiddleware is troupe's circuit breaker as a calling-side
// interceptor: a request to a target whose breaker is open fails at once
// with ErrBreakerOpen; the outcome of every other request to it is
// recorded (see targetFault for what counts as a failure). Sends,
// publishes, collects and names with several receivers pass untouched.
func breakerMiddleware(next Invoker) Invoker {
	return func(ctx context.Context, out *Outgoing) (*troupe.Envelope, error) {
		t := out.r.t
		if t == nil || out.each != nil || out.Env.Kind != troupe.KindRequest {
			return next(ctx, out)
		}
		if t.br != nil && !t.br.allow() {
			return nil, &troupe.Error{
				Code: troupe.CodeUnavailable,
				Msg:  fmt.Sprintf("service %s: request %q: the circuit breaker in front of %s is open", t.caller.Service, out.Env.Name, t.name),
				Err:  ErrBreakerOpen,
			}
		}
		rep, err := next(ctx, out)
		fault := err != nil && targetFault(err)
		if fault && !t.closing() {
			t.failures.Add(1)
		}
		if t.br != nil {
			t.br.record(err, fault)
		}
		return rep, err
	}
}

// closing reports whether the calling service is stopping.
func (t *target) closing() bool { return t.out.closing.Load() }
