package actor

import "sync/atomic"

// queue is an unbounded lock-free multi-producer single-consumer FIFO of
// messages, made of linked fixed-size segments. A producer claims a slot
// with one atomic add and publishes it with one atomic store; the consumer
// reads slots in order and drops a segment once it has read all of it.
// The first segment is small so that a process that receives a few
// messages stays small; later segments are larger.
type queue struct {
	first atomic.Pointer[segment] // the first segment, set once
	tail  atomic.Pointer[segment] // producers: segment to claim slots in
	head  *segment                // consumer only
	hi    uint32                  // consumer only: next slot to read in head
}

type slot struct {
	msg   any
	ready atomic.Uint32
}

type segment struct {
	claim atomic.Uint32
	next  atomic.Pointer[segment]
	slots []slot
}

const (
	firstSegment = 8
	nextSegment  = 256
)

func newSegment(n int) *segment { return &segment{slots: make([]slot, n)} }

// push appends m. It is safe for concurrent use by any number of producers.
func (q *queue) push(m any) {
	seg := q.tail.Load()
	if seg == nil {
		q.first.CompareAndSwap(nil, newSegment(firstSegment))
		q.tail.CompareAndSwap(nil, q.first.Load())
		seg = q.tail.Load()
	}
	for {
		i := seg.claim.Add(1) - 1
		if int(i) < len(seg.slots) {
			s := &seg.slots[i]
			s.msg = m
			s.ready.Store(1)
			return
		}
		next := seg.next.Load()
		if next == nil {
			ns := newSegment(nextSegment)
			if seg.next.CompareAndSwap(nil, ns) {
				next = ns
			} else {
				next = seg.next.Load()
			}
		}
		q.tail.CompareAndSwap(seg, next)
		seg = next
	}
}

// pop removes the oldest published message. It reports false when the queue
// is empty or its oldest message is claimed but not yet published (the
// producer then schedules the consumer again). Only the consumer calls pop.
func (q *queue) pop() (any, bool) {
	seg := q.head
	if seg == nil {
		seg = q.first.Load()
		if seg == nil {
			return nil, false
		}
		q.head = seg
	}
	for {
		if int(q.hi) < len(seg.slots) {
			s := &seg.slots[q.hi]
			if s.ready.Load() == 0 {
				return nil, false
			}
			m := s.msg
			s.msg = nil
			q.hi++
			return m, true
		}
		next := seg.next.Load()
		if next == nil {
			return nil, false
		}
		seg = next
		q.head = next
		q.hi = 0
	}
}

// empty reports whether pop would find nothing. Only the consumer calls it.
func (q *queue) empty() bool {
	seg := q.head
	if seg == nil {
		f := q.first.Load()
		return f == nil || f.slots[0].ready.Load() == 0
	}
	if int(q.hi) < len(seg.slots) {
		return seg.slots[q.hi].ready.Load() == 0
	}
	next := seg.next.Load()
	return next == nil || next.slots[0].ready.Load() == 0
}

// snapshot returns the consumer's position. Together with pendingAt it lets
// the consumer check for new messages after giving up ownership, reading
// only atomics.
func (q *queue) snapshot() (*segment, uint32) { return q.head, q.hi }

// pendingAt reports whether a message was published at position (seg, hi)
// or later. It is safe to call concurrently with producers and a consumer.
func pendingAt(q *queue, seg *segment, hi uint32) bool {
	if seg == nil {
		f := q.first.Load()
		return f != nil && f.slots[0].ready.Load() != 0
	}
	if int(hi) < len(seg.slots) {
		return seg.slots[hi].ready.Load() != 0
	}
	next := seg.next.Load()
	return next != nil && next.slots[0].ready.Load() != 0
}
