package bus

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/troupe-go/troupe"
)

// The W3C Trace Context headers (https://www.w3.org/TR/trace-context/). A
// request, send or publish made with a handler's context carries the
// handled envelope's trace context on to the next hop, and a reply carries
// its request's (or the one a serving-side interceptor set with
// Msg.SetReplyHeader), so that a trace context that entered at the gateway
// crosses every hop of the bus even where nothing records spans. The
// tracing package records spans and puts each hop's own span here.
const (
	HeaderTraceParent = "traceparent"
	HeaderTraceState  = "tracestate"
)

// TapKind says where a Tap saw an envelope.
type TapKind uint8

// The places a Tap sees envelopes.
const (
	// TapSent: a member of this process sent a request, send or publish,
	// and the transport accepted it.
	TapSent TapKind = iota + 1
	// TapDelivered: an envelope was delivered to a handler of a member
	// of this process.
	TapDelivered
	// TapReplied: a member of this process sent a reply (Env is the
	// reply; Took is the time since the request was delivered).
	TapReplied
	// TapDeadLetter: a member of this process gave up a durable delivery
	// after its last attempt (Reason says why).
	TapDeadLetter
)

var tapKindNames = [...]string{"", "sent", "delivered", "replied", "dead_letter"}

// String returns the kind's name, e.g. "delivered".
func (k TapKind) String() string {
	if int(k) < len(tapKindNames) {
		return tapKindNames[k]
	}
	return "unknown"
}

// A TapEvent is one envelope seen by a Tap.
type TapEvent struct {
	Kind   TapKind
	Member troupe.Member // the member that sent, received or replied
	// Env is the envelope, read-only and valid only during the call:
	// a Tap copies what it keeps.
	Env *troupe.Envelope
	// Took is, for TapReplied, the time from the request's delivery to
	// this reply.
	Took time.Duration
	// Reason is, for TapDeadLetter, the last attempt's error.
	Reason string
}

// A Tap sees envelopes as they pass through a Bus (see Bus.Tap). It is
// called on the path of the message itself, from many goroutines at once:
// it must be quick, must not block, and must not keep ev.Env.
type Tap func(ev TapEvent)

// taps is the list of a Bus's taps, replaced whole on every change so that
// the path of a message reads it with one atomic load.
type taps struct {
	mu   sync.Mutex
	list atomic.Pointer[[]*tapEntry]
}

type tapEntry struct{ f Tap }

// Tap adds t to the taps of the bus: from now on it sees every envelope that
// the members of this process send, receive and reply (see TapKind), until
// remove is called. Without taps the path of a message pays one atomic load
// per place. Taps are how operators watch traffic (troupe tap, the
// dashboard); they are read-only.
func (b *Bus) Tap(t Tap) (remove func()) {
	e := &tapEntry{f: t}
	b.taps.mu.Lock()
	var list []*tapEntry
	if old := b.taps.list.Load(); old != nil {
		list = append(list, *old...)
	}
	list = append(list, e)
	b.taps.list.Store(&list)
	b.taps.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			b.taps.mu.Lock()
			defer b.taps.mu.Unlock()
			old := b.taps.list.Load()
			if old == nil {
				return
			}
			var list []*tapEntry
			for _, x := range *old {
				if x != e {
					list = append(list, x)
				}
			}
			if len(list) == 0 {
				b.taps.list.Store(nil)
				return
			}
			b.taps.list.Store(&list)
		})
	}
}

// tapping returns the taps, or nil when there are none.
func (b *Bus) tapping() []*tapEntry {
	if l := b.taps.list.Load(); l != nil {
		return *l
	}
	return nil
}

// emit calls every tap with ev, containing a panic in one.
func emit(list []*tapEntry, ev TapEvent) {
	for _, t := range list {
		func() {
			defer func() { _ = recover() }()
			t.f(ev)
		}()
	}
}

// traceHeaders copies the trace context of parent, if it has one, into env,
// whose headers are empty.
func traceHeaders(env, parent *troupe.Envelope) {
	if parent == nil || parent.Headers == nil {
		return
	}
	tp := parent.Headers[HeaderTraceParent]
	if tp == "" {
		return
	}
	h := make(map[string]string, 2)
	h[HeaderTraceParent] = tp
	if ts := parent.Headers[HeaderTraceState]; ts != "" {
		h[HeaderTraceState] = ts
	}
	env.Headers = h
}

// SetReplyHeader sets a header that every reply to m carries (a
// serving-side interceptor puts its span's trace context here). Without
// one, a reply carries the request's trace context. It has no effect once
// the final reply is sent, and none for sends and publishes.
func (m *Msg) SetReplyHeader(key, value string) {
	m.hmu.Lock()
	defer m.hmu.Unlock()
	if m.replyHeaders == nil {
		m.replyHeaders = make(map[string]string, 2)
	}
	m.replyHeaders[key] = value
}

// replyHeaders returns the headers of a reply to m: those set with
// SetReplyHeader, else the request's trace context; nil if none.
func (m *Msg) headersOfReply() map[string]string {
	m.hmu.Lock()
	h := m.replyHeaders
	m.hmu.Unlock()
	if h != nil {
		out := make(map[string]string, len(h))
		for k, v := range h {
			out[k] = v
		}
		return out
	}
	var env troupe.Envelope
	traceHeaders(&env, m.Env)
	return env.Headers
}

// Delivered returns when m was delivered to its handler.
func (m *Msg) Delivered() time.Time { return m.at }

// RepliedAt returns when the final reply to m was sent (the clock reading of
// its SentAt, on the clock Delivered reads), or the zero Time while no
// final reply has been sent. A caller that measures a handler to its answer
// uses it instead of reading the clock again.
func (m *Msg) RepliedAt() time.Time {
	d := m.took.Load()
	if d == 0 {
		return time.Time{}
	}
	return m.at.Add(time.Duration(d - 1))
}

// MemberFrom returns the member that a handler's context (or one derived
// from it) was delivered to: the service and instance handling the message.
func MemberFrom(ctx context.Context) (troupe.Member, bool) {
	m, ok := ctx.Value(memberKey{}).(*troupe.Member)
	if !ok || m == nil {
		return troupe.Member{}, false
	}
	return *m, true
}

type memberKey struct{}

// NameStats are the counters of one member for one message name, with the
// latency histogram's counts (see LatencyBounds), for an observer that
// computes percentiles over windows of its own.
type NameStats struct {
	Counters
	// Buckets counts the member's requests of this name by latency: one
	// count per bound of LatencyBounds, and a last one for the slower.
	Buckets []uint64
	// Handled is how many requests of this name the member's handlers
	// answered with a final reply, and HandledTime the sum of the times
	// from delivery to final reply.
	Handled     uint64
	HandledTime time.Duration
}

// MemberStats are the counters of one member of this process.
type MemberStats struct {
	Member troupe.Member
	Joined time.Time // when it joined the bus
	// Names holds the counters of every name the member's service sends
	// or receives.
	Names map[string]NameStats
}

// Members returns the counters of every member joined in this process, per
// name its service sends or receives, in no particular order.
func (b *Bus) Members() []MemberStats {
	b.mu.Lock()
	clients := make([]*Client, 0, len(b.clients))
	for c := range b.clients {
		clients = append(clients, c)
	}
	b.mu.Unlock()
	out := make([]MemberStats, 0, len(clients))
	for _, c := range clients {
		ms := MemberStats{Member: c.member, Joined: c.joined, Names: map[string]NameStats{}}
		for _, ni := range b.nameList {
			if c.sp.sends[ni.name] == nil && c.sp.receives[ni.name] == nil {
				continue
			}
			k := &c.stats[ni.idx]
			var t tally
			t.add(k)
			ns := NameStats{
				Counters:    t.counters(),
				Buckets:     append([]uint64(nil), t.buckets[:]...),
				Handled:     k.handled.Load(),
				HandledTime: time.Duration(k.handledNs.Load()),
			}
			ms.Names[ni.name] = ns
		}
		out = append(out, ms)
	}
	return out
}

// LatencyBounds returns the upper bounds of the latency histogram's buckets
// (see NameStats.Buckets): 1µs·√2^i, from 1µs to about 16s.
func LatencyBounds() []time.Duration { return append([]time.Duration(nil), bucketBounds[:]...) }

// Quantile estimates the q-quantile (0 < q < 1) of a latency histogram with
// the buckets of LatencyBounds, or 0 if it counts nothing.
func Quantile(buckets []uint64, q float64) time.Duration {
	var counts [nBuckets + 1]uint64
	copy(counts[:], buckets)
	var total uint64
	for _, n := range counts {
		total += n
	}
	if total == 0 {
		return 0
	}
	return quantile(&counts, total, q)
}

// Transport returns the transport the bus routes through (the in-process
// one it made itself, if Config.Transport was nil): an observer reads the
// in-process transport's dead letters there.
func (b *Bus) Transport() Transport { return b.tr }
