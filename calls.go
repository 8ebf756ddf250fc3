package troupe

import "time"

// CallPolicy tunes how one service's requests to one target service are
// protected: the circuit breaker in front of the target and the retries of
// the target's idempotent requests. It is the manifest's calls section
// (docs/bus.md, "When a service is slow or down"); the service SDK applies
// it. A zero field means the SDK's default, so a service with no
// CallPolicy for a target still has a breaker towards it.
type CallPolicy struct {
	Target  string // the service called
	Breaker BreakerPolicy
	Retry   RetryPolicy
}

// BreakerPolicy configures the circuit breaker of one caller in front of
// one target. The breaker opens on either rule, Failures consecutive
// failures or a FailureRate over Window; stays open OpenFor, failing
// requests at once; then lets Probes requests through (half-open) and
// closes if they all succeed, or opens again at the first failure.
type BreakerPolicy struct {
	Off         bool          // no breaker: requests are never refused by one
	Failures    int           // consecutive failures that open it; negative turns the rule off
	FailureRate float64       // fraction of failed requests in Window that opens it; negative turns the rule off
	Window      time.Duration // the sliding window of FailureRate
	MinRequests int           // requests Window must hold before FailureRate counts
	OpenFor     time.Duration // how long it stays open before probing
	Probes      int           // requests let through half-open; all must succeed to close
}

// RetryPolicy configures the retries of one caller's idempotent requests to
// one target. Only the names in Messages (or the requests their caller
// marks idempotent) are retried, only after failures that are the target's
// (timeout, unavailable, internal, no instance), within the request's
// deadline and within a budget of Budget retries per request.
type RetryPolicy struct {
	Messages       []string      // the idempotent request names retried
	Attempts       int           // attempts in all, the first included; 1 means no retry
	Backoff        time.Duration // the first retry waits up to this (full jitter); it doubles per retry
	MaxBackoff     time.Duration // the longest wait before a retry
	AttemptTimeout time.Duration // each attempt's own deadline, if earlier than the request's
	Budget         float64       // retries at most this fraction of the requests that may retry
}
