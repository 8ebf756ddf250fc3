package bus

import (
	"errors"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/troupe-go/troupe"
)

// Stats is a snapshot of what a Bus has counted since New: per declared
// message name, per declared service, and per member (instance) of this
// process. Names and services that saw no traffic are present with zero
// counters. The counts are kept per member and name; Messages and Services
// are their sums, and keep the counts of members that have left.
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
	// Members holds the counters of each member of this process that is
	// still joined, over all names: the sum over the instances of every
	// process is what the application's clients sent and got.
	Members map[troupe.Member]Counters
	// Unknown counts refusals and drops of envelopes whose name the App
	// does not declare (they have no entry in Messages).
	Unknown Counters
	// Translated lists, for each message name that some service's code
	// knows by another name (troupe.ServiceDecl.Translate), those names as
	// "service/local": {"account.create": ["users/user.create"]}. The
	// counters are kept under the application's name.
	Translated map[string][]string
}

// Counters are the numbers of one message name, one service or one member.
type Counters struct {
	Sent          uint64                 // requests, sends and publishes accepted for routing
	Received      uint64                 // envelopes delivered to a handler
	Errors        uint64                 // requests answered with an Error reply, timed out or failed to route
	ErrorsByCode  map[troupe.Code]uint64 // Errors by the error's code; nil when there are none
	HandlerErrors uint64                 // Error replies and failed durable handlers on the receiving side
	Refusals      uint64                 // refused: not permitted, no receiver, bad input, bulkhead full
	InFlight      int64                  // requests waiting for their final reply
	LateReplies   uint64                 // replies that arrived after their deadline, dropped
	Expired       uint64                 // envelopes whose deadline had passed on delivery, dropped
	Dropped       uint64                 // other drops: malformed envelopes, replies to unknown requests
	DeadLetters   uint64                 // durable deliveries given up after their last attempt
	Latency       Latency                // request to final reply, successful or not
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
		Members:  map[troupe.Member]Counters{},
	}
	var u tally
	u.add(b.unknown)
	s.Unknown = u.counters()
	if len(b.translated) > 0 {
		s.Translated = make(map[string][]string, len(b.translated))
		for n, locals := range b.translated {
			s.Translated[n] = append([]string(nil), locals...)
		}
	}
	names := make([]tally, len(b.nameList))
	services := make(map[string]*tally, len(b.services))
	for n := range b.services {
		services[n] = &tally{}
	}
	// Under b.mu, a client is either joined or retired, never both.
	b.mu.Lock()
	b.retired.mu.Lock()
	for i := range b.retired.names {
		names[i].addTally(&b.retired.names[i])
	}
	for n, t := range b.retired.services {
		services[n].addTally(t)
	}
	b.retired.mu.Unlock()
	clients := make([]*Client, 0, len(b.clients))
	for c := range b.clients {
		clients = append(clients, c)
	}
	b.mu.Unlock()
	for _, c := range clients {
		var member tally
		for _, ni := range b.nameList {
			k := &c.stats[ni.idx]
			names[ni.idx].add(k)
			member.add(k)
		}
		member.add(&c.stats[len(b.nameList)]) // what had no declared name
		services[c.sp.name].addTally(&member)
		s.Members[c.member] = member.counters()
	}
	for _, ni := range b.nameList {
		s.Messages[ni.name] = names[ni.idx].counters()
	}
	for n, t := range services {
		s.Services[n] = t.counters()
	}
	return s
}

// retired keeps the counts of the clients that have closed, so that the
// sums in Stats never go down.
type retired struct {
	mu       sync.Mutex
	names    []tally // by nameInfo.idx
	services map[string]*tally
}

// retire folds a closing client's counts into b.retired; b.mu is held.
func (b *Bus) retire(c *Client) {
	b.retired.mu.Lock()
	defer b.retired.mu.Unlock()
	if b.retired.names == nil {
		b.retired.names = make([]tally, len(b.nameList))
		b.retired.services = map[string]*tally{}
	}
	svc := b.retired.services[c.sp.name]
	if svc == nil {
		svc = &tally{}
		b.retired.services[c.sp.name] = svc
	}
	for _, ni := range b.nameList {
		b.retired.names[ni.idx].add(&c.stats[ni.idx])
		b.retired.names[ni.idx].inFlight = 0
		svc.add(&c.stats[ni.idx])
	}
	svc.add(&c.stats[len(b.nameList)])
	// A closed client has no request in flight: those Close ended are
	// still being released on their callers' goroutines.
	svc.inFlight = 0
}

// count returns the counters of the member of c for name ni (nil: a name
// the App does not declare).
func (c *Client) count(ni *nameInfo) *counters {
	if ni == nil {
		return &c.stats[len(c.stats)-1]
	}
	return &c.stats[ni.idx]
}

// codes are the outcomes of failed requests that are counted apart, in the
// order of counters.byCode.
var codes = []troupe.Code{troupe.CodeBadRequest, troupe.CodeNotFound, troupe.CodeForbidden, troupe.CodeTimeout,
	troupe.CodeUnavailable, troupe.CodeConflict, troupe.CodeInternal}

const nCodes = 7

// codeIndex is the outcome slot of a failed request's error: its code, or
// internal for an error without a known one.
func codeIndex(err error) int {
	var te *troupe.Error
	if errors.As(err, &te) {
		for i, c := range codes {
			if te.Code == c {
				return i
			}
		}
	}
	return nCodes - 1 // internal
}

// counters is the live, atomically updated form of Counters, for one member
// and one name.
type counters struct {
	sent, received, errors, handlerErrors, refusals atomic.Uint64
	inFlight                                        atomic.Int64
	late, expired, dropped, dead                    atomic.Uint64
	byCode                                          [nCodes]atomic.Uint64
	latency                                         histogram
	handled                                         atomic.Uint64 // final replies sent by handlers
	handledNs                                       atomic.Int64  // their time from delivery, summed
}

func newCounters() *counters { return new(counters) }

// tally is a sum of counters, read once.
type tally struct {
	sent, received, errors, handlerErrors, refusals uint64
	inFlight                                        int64
	late, expired, dropped, dead                    uint64
	byCode                                          [nCodes]uint64
	buckets                                         [nBuckets + 1]uint64
	sum                                             int64
}

func (t *tally) add(c *counters) {
	t.sent += c.sent.Load()
	t.received += c.received.Load()
	t.errors += c.errors.Load()
	t.handlerErrors += c.handlerErrors.Load()
	t.refusals += c.refusals.Load()
	t.inFlight += c.inFlight.Load()
	t.late += c.late.Load()
	t.expired += c.expired.Load()
	t.dropped += c.dropped.Load()
	t.dead += c.dead.Load()
	for i := range c.byCode {
		t.byCode[i] += c.byCode[i].Load()
	}
	for i := range c.latency.counts {
		t.buckets[i] += c.latency.counts[i].Load()
	}
	t.sum += c.latency.sum.Load()
}

func (t *tally) addTally(o *tally) {
	t.sent += o.sent
	t.received += o.received
	t.errors += o.errors
	t.handlerErrors += o.handlerErrors
	t.refusals += o.refusals
	t.inFlight += o.inFlight
	t.late += o.late
	t.expired += o.expired
	t.dropped += o.dropped
	t.dead += o.dead
	for i := range o.byCode {
		t.byCode[i] += o.byCode[i]
	}
	for i := range o.buckets {
		t.buckets[i] += o.buckets[i]
	}
	t.sum += o.sum
}

func (t *tally) counters() Counters {
	c := Counters{
		Sent:          t.sent,
		Received:      t.received,
		Errors:        t.errors,
		HandlerErrors: t.handlerErrors,
		Refusals:      t.refusals,
		InFlight:      t.inFlight,
		LateReplies:   t.late,
		Expired:       t.expired,
		Dropped:       t.dropped,
		DeadLetters:   t.dead,
		Latency:       summary(&t.buckets, time.Duration(t.sum)),
	}
	for i, n := range t.byCode {
		if n > 0 {
			if c.ErrorsByCode == nil {
				c.ErrorsByCode = map[troupe.Code]uint64{}
			}
			c.ErrorsByCode[codes[i]] = n
		}
	}
	return c
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

// summary summarises the histogram.
func (h *histogram) summary() Latency {
	counts, _ := h.buckets()
	return summary(&counts, time.Duration(h.sum.Load()))
}

// summary summarises bucket counts and their sum.
func summary(counts *[nBuckets + 1]uint64, sum time.Duration) Latency {
	var total uint64
	for _, n := range counts {
		total += n
	}
	l := Latency{Count: total, Sum: sum}
	if total == 0 {
		return l
	}
	l.P50 = quantile(counts, total, 0.50)
	l.P90 = quantile(counts, total, 0.90)
	l.P99 = quantile(counts, total, 0.99)
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
