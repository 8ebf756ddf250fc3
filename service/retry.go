package service

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
)

// The default retries, used for every field of a troupe.RetryPolicy left
// zero: at most 3 attempts; before the n-th retry a wait drawn uniformly
// from [0, min(200ms, 10ms·2ⁿ⁻¹)) ("full jitter"); each attempt may use
// what is left of the request's deadline; retries at most 10% of the
// requests that may retry, plus a reserve of RetryReservePerSecond.
const (
	DefaultRetryAttempts   = 3
	DefaultRetryBackoff    = 10 * time.Millisecond
	DefaultRetryMaxBackoff = 200 * time.Millisecond
	DefaultRetryBudget     = 0.1
)

// The retry budget of a target also allows RetryReservePerSecond retries a
// second whatever the traffic, so that a caller that sends little can still
// retry, and banks at most RetryBudgetMax retries, so that a long quiet
// spell cannot pay for a storm. In all, over any span of T seconds in which
// a caller sends N requests that may be retried to a target, it sends at
// most Budget·N + RetryReservePerSecond·T + RetryBudgetMax retries to it.
const (
	RetryReservePerSecond = 1
	RetryBudgetMax        = 10
)

// minAttempt is the least time left before the deadline, after the wait,
// for which a retry is worth sending.
const minAttempt = time.Millisecond

// Idempotent marks a request as safe to send more than once: if it fails by
// its target's fault (timeout, unavailable, internal, no instance), it is
// retried as the target's retry policy says (DefaultRetryAttempts attempts
// unless configured), within its deadline and the target's retry budget.
// Names listed in the policy's Messages are retried without it. A durable
// request is never retried by its caller: the bus redelivers it.
func Idempotent() CallOption {
	return func(o *callOptions) { o.idempotent = true }
}

// retryPolicy is a troupe.RetryPolicy with its defaults applied.
type retryPolicy struct {
	messages       []string
	attempts       int
	backoff        time.Duration
	maxBackoff     time.Duration
	attemptTimeout time.Duration
	budget         float64
}

func newRetryPolicy(p troupe.RetryPolicy) (retryPolicy, error) {
	setZero(&p.Attempts, DefaultRetryAttempts)
	setZero(&p.Backoff, DefaultRetryBackoff)
	setZero(&p.MaxBackoff, max(DefaultRetryMaxBackoff, p.Backoff))
	setZero(&p.Budget, DefaultRetryBudget)
	switch {
	case p.Attempts < 1:
		return retryPolicy{}, fmt.Errorf("attempts %d: want 1 or more (1 means no retry)", p.Attempts)
	case p.Backoff < 0 || p.MaxBackoff < p.Backoff:
		return retryPolicy{}, fmt.Errorf("backoff %v and max backoff %v: want 0 ≤ backoff ≤ max backoff", p.Backoff, p.MaxBackoff)
	case p.AttemptTimeout < 0:
		return retryPolicy{}, fmt.Errorf("negative attempt timeout %v", p.AttemptTimeout)
	case p.Budget < 0 || p.Budget > 1:
		return retryPolicy{}, fmt.Errorf("budget %v: want a fraction from 0 to 1", p.Budget)
	}
	return retryPolicy{
		messages: p.Messages, attempts: p.Attempts, backoff: p.Backoff, maxBackoff: p.MaxBackoff,
		attemptTimeout: p.AttemptTimeout, budget: p.Budget,
	}, nil
}

// wait returns the wait before retry n (from 1): uniform in
// [0, min(maxBackoff, backoff·2ⁿ⁻¹)).
func (p *retryPolicy) wait(n int) time.Duration {
	ceil := p.maxBackoff
	if n < 32 && p.backoff<<(n-1) < ceil && p.backoff<<(n-1) > 0 {
		ceil = p.backoff << (n - 1)
	}
	if ceil <= 0 {
		return 0
	}
	return rand.N(ceil)
}

// budget is a target's retry budget, in thousandths of a retry: each
// request that may be retried deposits Budget of a retry, each retry
// withdraws one, a reserve refills with time, and the balance is capped
// (Finagle's retry budget, as a token bucket).
type budget struct {
	per    int64        // deposited per request
	tokens atomic.Int64 // the balance

	mu   sync.Mutex
	last time.Time // when the reserve was last refilled
}

const tokenScale = 1000

func (b *budget) init(fraction float64) {
	b.per = int64(fraction * tokenScale)
	b.tokens.Store(RetryBudgetMax * tokenScale)
	b.last = time.Now()
}

// deposit credits one request that may be retried.
func (b *budget) deposit() {
	if b.tokens.Load() < RetryBudgetMax*tokenScale {
		b.tokens.Add(b.per)
	}
}

// withdraw takes one retry from the budget, if there is one.
func (b *budget) withdraw() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if refill := int64(now.Sub(b.last) * RetryReservePerSecond * tokenScale / time.Second); refill > 0 {
		b.last = now
		if room := RetryBudgetMax*tokenScale - b.tokens.Load(); room > 0 {
			b.tokens.Add(min(refill, room))
		}
	}
	if b.tokens.Add(-tokenScale) < 0 {
		b.tokens.Add(tokenScale)
		return false
	}
	return true
}

// retryable reports whether an attempt that failed with err may be retried:
// the target's fault, and not a refusal by its open breaker.
func retryable(err error) bool {
	return targetFault(err) && !errors.Is(err, ErrBreakerOpen)
}

// retryMiddleware is troupe's retries as a calling-side interceptor. An
// idempotent request (Idempotent, or a name in the target's
// Retry.Messages) that fails by its target's fault is sent again, as a copy
// with the same ID (so the receiver can tell, see IdempotencyKey) and the
// attempt number in its troupe-attempt header (see Attempt), after a
// jittered backoff, while attempts remain, while the deadline leaves time
// for another, and while the target's retry budget allows. Each attempt
// passes through the breaker: once it is open, retries stop.
func retryMiddleware(next Invoker) Invoker {
	return func(ctx context.Context, out *Outgoing) (*troupe.Envelope, error) {
		r := out.r
		if r.t == nil || r.durable || out.each != nil || out.Env.Kind != troupe.KindRequest ||
			!(r.retry || out.opts.idempotent) || r.t.retry.attempts <= 1 {
			return next(ctx, out)
		}
		t := r.t
		pol := &t.retry
		t.budget.deposit()
		first := out.Env
		defer func() { out.Env = first }()
		for n := 1; ; n++ {
			out.Env = attemptOf(first, n, pol.attemptTimeout)
			rep, err := next(ctx, out)
			if err == nil || n >= pol.attempts || !retryable(err) || t.closing() || t.br.isOpen() {
				return rep, err
			}
			wait := pol.wait(n)
			if time.Until(first.Deadline) < wait+minAttempt {
				return rep, err
			}
			if !t.budget.withdraw() {
				t.retriesDenied.Add(1)
				return rep, err
			}
			if !sleep(ctx, wait) {
				return rep, err
			}
			t.retries.Add(1)
		}
	}
}

// attemptOf returns the envelope of attempt n of the request first: first
// itself for a first attempt without an attempt timeout, else a copy with
// the same ID, the attempt number in HeaderAttempt and the attempt's
// deadline.
func attemptOf(first *troupe.Envelope, n int, timeout time.Duration) *troupe.Envelope {
	if n == 1 && timeout <= 0 {
		return first
	}
	env := *first
	now := time.Now()
	env.SentAt = now
	if timeout > 0 && now.Add(timeout).Before(env.Deadline) {
		env.Deadline = now.Add(timeout)
	}
	if n > 1 {
		env.Headers = make(map[string]string, len(first.Headers)+1)
		maps.Copy(env.Headers, first.Headers)
		env.Headers[bus.HeaderAttempt] = strconv.Itoa(n)
	}
	return &env
}

// sleep waits d, or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
