package alarm

import (
	"sync"
	"sync/atomic"
	"time"
)

// slot is one time slice of a window: two counters on their own cache line,
// so that observers on different cores do not fight over the ring's index.
type slot struct {
	a, b atomic.Uint64
	_    [48]byte
}

// window counts events in a ring of time slots. Observers add to the current
// slot with one atomic load and one atomic add; the evaluator advances the
// ring to the clock's time, zeroing the slots that fell out of the window,
// and sums the completed slots.
//
// The ring has n+1 slots: n completed ones that make up the window and the
// current one that is still filling. Sums cover the completed slots only, so
// a value is exact for the window that ended at the last slot boundary.
type window struct {
	width int64 // nanoseconds per slot
	n     int64 // completed slots in the window
	slots []slot
	cur   atomic.Int64 // index of the slot being filled

	mu   sync.Mutex // serializes advance
	last int64      // slot number (time / width) of the current slot
}

func newWindow(now time.Time, length time.Duration, buckets int) *window {
	w := &window{
		width: int64(length) / int64(buckets),
		n:     int64(buckets),
		slots: make([]slot, buckets+1),
	}
	w.last = now.UnixNano() / w.width
	w.cur.Store(w.index(w.last))
	return w
}

func (w *window) index(slotNumber int64) int64 {
	i := slotNumber % int64(len(w.slots))
	if i < 0 {
		i += int64(len(w.slots))
	}
	return i
}

// inc counts one a in the current slot: the hot path of Rate.Observe.
func (w *window) inc() { w.slots[w.cur.Load()].a.Add(1) }

// add counts a and b in the current slot.
func (w *window) add(a, b uint64) {
	s := &w.slots[w.cur.Load()]
	if a != 0 {
		s.a.Add(a)
	}
	if b != 0 {
		s.b.Add(b)
	}
}

// advance moves the current slot to now, zeroing every slot it passes over.
// A clock that goes backwards leaves the ring as it is.
func (w *window) advance(now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	sn := now.UnixNano() / w.width
	if sn <= w.last {
		return
	}
	steps := min(sn-w.last, int64(len(w.slots)))
	for i := int64(1); i <= steps; i++ {
		s := &w.slots[w.index(sn-steps+i)]
		s.a.Store(0)
		s.b.Store(0)
	}
	w.last = sn
	w.cur.Store(w.index(sn))
}

// sum returns the totals of the completed slots.
func (w *window) sum() (a, b uint64) {
	cur := w.cur.Load()
	for i := range w.slots {
		if int64(i) == cur {
			continue
		}
		a += w.slots[i].a.Load()
		b += w.slots[i].b.Load()
	}
	return a, b
}

// length is the span of the completed slots.
func (w *window) length() time.Duration { return time.Duration(w.width * w.n) }
