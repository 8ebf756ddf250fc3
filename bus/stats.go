package bus

import (
	"sort"
	"sync/atomic"
	"time"
)

// Stats is a snapshot of what a Bus has counted since New, per declared
// message name and per declared service. Names and services that saw no
// traffic are present with zero counters.
type Stats struct {
	// Messages holds the counters per message name. A message is counted
	// under its name on the sending side (Sent, Errors, InFlight, Latency,
	// LateReplies) and on the receiving side (Received, Expired,
	// DeadLetters, HandlerErrors).
	Messages map[string]Counters
	// Services holds the counters per service: Sent and the request
	// counters for what it sent, Received and the handler counters for
	// what was delivered to its instances in this process.
	Services map[string]Counters
	// Unknown counts refusals and drops of envelopes whose name the App
	// does not declare (they have no entry in Messages).
	Unknown Counters
	// Translated lists, for each message name that some service's code
	// knows by another name (troupe.ServiceDecl.Translate), those names as
	// "service/local": {"account.create": ["users/user.create"]}. The
	// counters are kept under the application's name.
	Translated map[string][]string
}

// Counters are the numbers of one message name or one service.
type Counters struct {
	Sent          uint64  // requests, sends and publishes accepted for routing
	Received      uint64  // envelopes delivered to a handler
	Errors        uint64  // requests answered with an Error reply, timed out or failed to route
	HandlerErrors uint64  // Error replies and failed durable handlers on the receiving side
	Refusals      uint64  // refused: not permitted, no receiver, bad input, bulkhead full
	InFlight      int64   // requests waiting for their final reply
	LateReplies   uint64  // replies that arrived after their deadline, dropped
	Expired       uint64  // envelopes whose deadline had passed on delivery, dropped
	Dropped       uint64  // other drops: malformed envelopes, replies to unknown requests
	DeadLetters   uint64  // durable deliveries given up after their last attempt
	Latency       Latency // request to final reply, successful or not
}

// Latency summarises a latency histogram.
type Latency struct {
	Count uint64
	Sum   time.Duration
	P50   time.Duration
	P90   time.Duration
	P99   time.Duration
}

// Stats returns a snapshot of the counters.
func (b *Bus) Stats() Stats {
	s := Stats{
		Messages: make(map[string]Counters, len(b.names)),
		Services: make(map[string]Counters, len(b.services)),
		Unknown:  b.unknown.snapshot(),
	}
	if len(b.translated) > 0 {
		s.Translated = make(map[string][]string, len(b.translated))
		for n, locals := range b.translated {
			s.Translated[n] = append([]string(nil), locals...)
		}
	}
	for n, ni := range b.names {
		s.Messages[n] = ni.stats.snapshot()
	}
	for n, sp := range b.services {
		s.Services[n] = sp.stats.snapshot()
	}
	return s
}

// counters is the live, atomically updated form of Counters.
type counters struct {
	sent, received, errors, handlerErrors, refusals atomic.Uint64
	inFlight                                        atomic.Int64
	late, expired, dropped, dead                    atomic.Uint64
	latency                                         histogram
}

func newCounters() *counters { return new(counters) }

func (c *counters) snapshot() Counters {
	return Counters{
		Sent:          c.sent.Load(),
		Received:      c.received.Load(),
		Errors:        c.errors.Load(),
		HandlerErrors: c.handlerErrors.Load(),
		Refusals:      c.refusals.Load(),
		InFlight:      c.inFlight.Load(),
		LateReplies:   c.late.Load(),
		Expired:       c.expired.Load(),
		Dropped:       c.dropped.Load(),
		DeadLetters:   c.dead.Load(),
		Latency:       c.latency.summary(),
	}
}

// The histogram's buckets have upper bounds 1µs·√2^i for i in [0, nBuckets),
// from 1µs to about 16s; one more bucket holds what is slower.
const nBuckets = 49

var bucketBounds = func() [nBuckets]time.Duration {
	var b [nBuckets]time.Duration
	for i := range b {
		// 1µs · 2^(i/2), exact for even i, rounded for odd i.
		d := time.Microsecond << (i / 2)
		if i%2 == 1 {
			d = time.Duration(float64(d) * 1.4142135623730951)
		}
		b[i] = d
	}
	return b
}()

// histogram counts durations in fixed buckets, lock-free.
type histogram struct {
	counts [nBuckets + 1]atomic.Uint64
	sum    atomic.Int64 // nanoseconds
}

func (h *histogram) observe(d time.Duration) {
	i := sort.Search(nBuckets, func(i int) bool { return d <= bucketBounds[i] })
	h.counts[i].Add(1)
	h.sum.Add(int64(d))
}

// buckets returns the count per bucket (the last is above every bound) and
// the total.
func (h *histogram) buckets() (counts [nBuckets + 1]uint64, total uint64) {
	for i := range h.counts {
		counts[i] = h.counts[i].Load()
		total += counts[i]
	}
	return counts, total
}

func (h *histogram) summary() Latency {
	counts, total := h.buckets()
	l := Latency{Count: total, Sum: time.Duration(h.sum.Load())}
	if total == 0 {
		return l
	}
	l.P50 = quantile(&counts, total, 0.50)
	l.P90 = quantile(&counts, total, 0.90)
	l.P99 = quantile(&counts, total, 0.99)
	return l
}

// quantile estimates the q-quantile by linear interpolation inside the
// bucket that holds it. Above the last bound it reports the last bound.
func quantile(counts *[nBuckets + 1]uint64, total uint64, q float64) time.Duration {
	rank := q * float64(total)
	var cum float64
	for i, n := range counts {
		if n == 0 {
			continue
		}
		if cum+float64(n) >= rank {
			if i == nBuckets {
				return bucketBounds[nBuckets-1]
			}
			var lo time.Duration
			if i > 0 {
				lo = bucketBounds[i-1]
			}
			hi := bucketBounds[i]
			frac := (rank - cum) / float64(n)
			return lo + time.Duration(frac*float64(hi-lo))
		}
		cum += float64(n)
	}
	return bucketBounds[nBuckets-1]
}

func (h *histogram) sumDuration() time.Duration { return time.Duration(h.sum.Load()) }
