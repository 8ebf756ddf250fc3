package actor

import "sync/atomic"

// queue is an unbounded lock-free multi-producer single-consumer FIFO of
// messages, made of linked fixed-size segments. A producer claims a slot
// with one atomic add and publishes it with one atomic store; the consumer
// reads slots in order and drops a segment once it has read all of it.
// The first segment is small so that a process that receives a few
// messages stays small; later segments are larger.
//
// The producers' fields (queue) and the consumer's (cursor) are kept apart
// in the process struct so that the consumer's writes do not bounce the
// cache line the producers read.
type queue struct {
	first atomic.Pointer[segment] // the first segment, set once
	tail  atomic.Pointer[segment] // producers: segment to claim slots in
}

// cursor is the consumer's position in a queue.
type cursor struct {
	head  *segment
	hi    uint32 // next slot to read in head
	taken uint32 // messages popped, ever (wraps)
}

type slot struct {
	msg   any
	ready atomic.Uint32
}

type segment struct {
	// Read by the consumer: written once.
	slots []slot
	next  atomic.Pointer[segment]
	_     [cacheLine - 32]byte
	// Written by the producers on every push: on a line of its own, so
	// that the consumer's reads of the fields above do not bounce it.
	claim atomic.Uint32
	_     [cacheLine - 4]byte
}

const cacheLine = 64

const (
	firstSegment = 8
	nextSegment  = 256
)

func newSegment(n int) *segment { return &segment{slots: make([]slot, n)} }

// push appends m. It is safe for concurrent use by any number of producers.
func (q *queue) push(m any) {
	seg := q.tail.Load()
	if seg == nil {
		// The producer that installs the first segment as the tail
		// publishes it to the consumer; the consumer clears first once it
		// has taken it, which can only happen after that store.
		ns := newSegment(firstSegment)
		if q.tail.CompareAndSwap(nil, ns) {
			q.first.Store(ns)
		}
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
//
// Slots are not cleared as they are read, which would bounce their cache
// lines between consumer and producers; a read segment is dropped whole, and
// release clears what was read of the current one.
func (q *queue) pop(c *cursor) (any, bool) {
	seg := c.head
	if seg == nil {
		seg = q.first.Load()
		if seg == nil {
			return nil, false
		}
		c.head = seg
		q.first.Store(nil) // let read segments be collected
	}
	for {
		if int(c.hi) < len(seg.slots) {
			s := &seg.slots[c.hi]
			if s.ready.Load() == 0 {
				return nil, false
			}
			c.hi++
			c.taken++
			return s.msg, true
		}
		next := seg.next.Load()
		if next == nil {
			return nil, false
		}
		seg = next
		c.head = next
		c.hi = 0
	}
}

// release drops the references to messages already read from the current
// segment, so that an idle process does not keep them alive. Only the
// consumer calls it.
func release(c *cursor) {
	if c.head == nil {
		return
	}
	for i := range c.hi {
		c.head.slots[i].msg = nil
	}
}

// empty reports whether pop would find nothing. Only the consumer calls it.
func (q *queue) empty(c *cursor) bool {
	seg := c.head
	if seg == nil {
		f := q.first.Load()
		return f == nil || f.slots[0].ready.Load() == 0
	}
	if int(c.hi) < len(seg.slots) {
		return seg.slots[c.hi].ready.Load() == 0
	}
	next := seg.next.Load()
	return next == nil || next.slots[0].ready.Load() == 0
}

// pendingAt reports whether a message was published at the consumer's
// position (seg, hi) or later. It lets a consumer that gave up ownership
// look for new messages reading only atomics. It is safe to call concurrently with producers and a consumer.
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
