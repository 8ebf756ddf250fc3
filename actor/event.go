package actor

import (
	"sync"
	"sync/atomic"
)

// EventKind says what happened to a process.
type EventKind uint8

// The kinds of Event.
const (
	Started    EventKind = iota + 1 // a process finished Init
	Stopped                         // a process exited without crashing
	Crashed                         // a process exited because it panicked
	Restarted                       // a supervisor restarted a child
	DeadLetter                      // a message could not be delivered
)

var kindNames = [...]string{"", "started", "stopped", "crashed", "restarted", "dead_letter"}

// String returns the kind's name, e.g. "crashed".
func (k EventKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Event is one entry of the event stream.
type Event struct {
	Kind    EventKind
	PID     PID
	Reason  error // Stopped, Crashed: the exit reason
	Message any   // DeadLetter: the message
}

// Subscription receives events until Close. Delivery never blocks the
// runtime: when C's buffer is full, the event is dropped for this
// subscriber and counted in Dropped.
type Subscription struct {
	// C delivers the events. It is closed by Close and by System.Shutdown.
	C       <-chan Event
	c       chan Event
	hub     *eventHub
	dropped atomic.Uint64
}

// Dropped returns how many events this subscriber lost to a full buffer.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Close ends the subscription and closes C.
func (s *Subscription) Close() { s.hub.remove(s) }

// Subscribe returns a subscription to the event stream with a buffer of
// size events (at least 1).
func (s *System) Subscribe(size int) *Subscription {
	if size < 1 {
		size = 1
	}
	c := make(chan Event, size)
	sub := &Subscription{C: c, c: c, hub: &s.events}
	s.events.add(sub)
	return sub
}

type eventHub struct {
	n    atomic.Int32
	mu   sync.RWMutex
	subs []*Subscription
}

func (h *eventHub) active() bool { return h.n.Load() > 0 }

func (h *eventHub) add(s *Subscription) {
	h.mu.Lock()
	h.subs = append(h.subs, s)
	h.n.Store(int32(len(h.subs)))
	h.mu.Unlock()
}

func (h *eventHub) remove(s *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, x := range h.subs {
		if x == s {
			h.subs = append(h.subs[:i:i], h.subs[i+1:]...)
			h.n.Store(int32(len(h.subs)))
			close(s.c)
			return
		}
	}
}

func (h *eventHub) closeAll() {
	h.mu.Lock()
	for _, s := range h.subs {
		close(s.c)
	}
	h.subs = nil
	h.n.Store(0)
	h.mu.Unlock()
}

func (h *eventHub) publish(e Event) {
	if h.n.Load() == 0 {
		return
	}
	h.mu.RLock()
	for _, s := range h.subs {
		select {
		case s.c <- e:
		default:
			s.dropped.Add(1)
		}
	}
	h.mu.RUnlock()
}
