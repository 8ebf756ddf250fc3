package actor

import (
	"container/heap"
	"sync"
	"time"
)

// Timer is a pending message: from SendAfter, SendInterval or StartTimer
// (and their Context forms), or System.SendAfterName. A timer aimed at a
// process is cancelled when that process exits; one aimed at a name is
// looked up when it fires. The zero Timer (and a nil *Timer) is a timer
// that has already fired: Cancel reports false and Remaining (0, false).
type Timer struct {
	svc *timerService

	// Guarded by svc.mu.
	when   int64 // nanoseconds since svc.base
	seq    uint64
	index  int // in svc.heap; -1 when not pending
	period time.Duration
	to     *process // nil for a timer aimed at a name
	name   string
	msg    any
	wrap   bool // send Timeout{Timer, Msg}
}

// Timeout is the message of a timer from StartTimer (OTP's {timeout,
// TimerRef, Msg}): which timer fired, and its message.
type Timeout struct {
	Timer *Timer
	Msg   any
}

// SendAfter sends msg to pid after d (OTP erlang:send_after/3), unless the
// timer is cancelled or pid exits first. If pid has exited already the
// timer is inactive from the start. Timers fire in the order of their
// deadlines; timers with the same deadline fire in the order they were
// set.
func SendAfter(d time.Duration, pid PID, msg any) *Timer {
	if pid.p == nil {
		return &Timer{index: -1}
	}
	return pid.p.sys.timers.start(d, pid.p, "", msg, 0, false)
}

// SendInterval sends msg to pid every d until the timer is cancelled or pid
// exits.
func SendInterval(d time.Duration, pid PID, msg any) *Timer {
	if pid.p == nil {
		return &Timer{index: -1}
	}
	return pid.p.sys.timers.start(d, pid.p, "", msg, d, false)
}

// StartTimer is SendAfter, except that pid receives Timeout{Timer: t, Msg:
// msg}, t being the returned timer (OTP erlang:start_timer/3): a process
// can tell a stale timeout from the current one.
func StartTimer(d time.Duration, pid PID, msg any) *Timer {
	if pid.p == nil {
		return &Timer{index: -1}
	}
	return pid.p.sys.timers.start(d, pid.p, "", msg, 0, true)
}

// SendAfterName sends msg after d to the process registered under name at
// that moment (OTP erlang:send_after/3 with a name); if no process has the
// name then, the message is a dead letter. The timer does not depend on
// any process's life.
func (s *System) SendAfterName(d time.Duration, name string, msg any) *Timer {
	return s.timers.start(d, nil, name, msg, 0, false)
}

// Cancel stops the timer and reports whether it was still pending. Once
// Cancel returns, the timer sends nothing more; a message it sent already
// stays in the mailbox.
func (t *Timer) Cancel() bool {
	if t == nil || t.svc == nil {
		return false
	}
	if !t.stop() {
		return false
	}
	t.forget()
	return true
}

// Remaining returns how long until the timer fires next (OTP
// erlang:read_timer/1), and false if it is not pending (it fired, was
// cancelled, or its process exited).
func (t *Timer) Remaining() (time.Duration, bool) {
	if t == nil || t.svc == nil {
		return 0, false
	}
	s := t.svc
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.index < 0 {
		return 0, false
	}
	left := time.Duration(t.when - s.now())
	return max(left, 0), true
}

// stop takes the timer out of the heap and reports whether it was pending.
func (t *Timer) stop() bool {
	s := t.svc
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.index < 0 {
		return false
	}
	heap.Remove(&s.heap, t.index)
	return true
}

// forget removes the timer from its process's list.
func (t *Timer) forget() {
	if t.to == nil {
		return
	}
	e := t.to.getExt()
	e.mu.Lock()
	delete(e.timers, t)
	e.mu.Unlock()
}

// timerService runs every timer of a System from one goroutine over a heap
// ordered by deadline and then by the order timers were set, so that timers
// fire in order. The goroutine runs only while a timer is pending.
type timerService struct {
	sys  *System
	base time.Time
	wake chan struct{}
	wg   sync.WaitGroup

	mu      sync.Mutex
	heap    timerHeap
	seq     uint64
	running bool
	closed  bool
}

func (s *timerService) init(sys *System) {
	s.sys = sys
	s.base = time.Now()
	s.wake = make(chan struct{}, 1)
}

func (s *timerService) now() int64 { return int64(time.Since(s.base)) }

// start sets a timer aimed at p (or, if p is nil, at name).
func (s *timerService) start(d time.Duration, p *process, name string, msg any, period time.Duration, wrap bool) *Timer {
	if d < 0 {
		d = 0
	}
	t := &Timer{svc: s, to: p, name: name, msg: msg, period: period, wrap: wrap, index: -1}
	if p == nil {
		s.add(t, d)
		return t
	}
	// Registered with the process under its lock, so that the process's
	// exit either sees the timer (and cancels it) or happened before (and
	// the timer never starts).
	e := p.getExt()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.exiting {
		return t
	}
	if !s.add(t, d) {
		return t
	}
	if e.timers == nil {
		e.timers = make(map[*Timer]struct{})
	}
	e.timers[t] = struct{}{}
	return t
}

// add puts t into the heap to fire after d. It reports false if the System
// is shut down.
func (s *timerService) add(t *Timer, d time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	t.when = s.now() + int64(d)
	s.seq++
	t.seq = s.seq
	heap.Push(&s.heap, t)
	if !s.running {
		s.running = true
		s.wg.Add(1)
		go s.loop()
	} else if t.index == 0 {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	return true
}

// loop fires due timers in order and sleeps until the next one. It exits
// when no timer is pending.
func (s *timerService) loop() {
	defer s.wg.Done()
	var sleep *time.Timer
	var fired []*Timer
	for {
		s.mu.Lock()
		now := s.now()
		for len(s.heap) > 0 && s.heap[0].when <= now {
			t := s.heap[0]
			if t.period > 0 {
				t.when += int64(t.period)
				if t.when <= now {
					t.when = now + int64(t.period) // fell behind: no burst
				}
				s.seq++
				t.seq = s.seq
				heap.Fix(&s.heap, 0)
			} else {
				heap.Pop(&s.heap)
				if t.to != nil {
					fired = append(fired, t)
				}
			}
			// Delivered under the lock, so that a Cancel that returns
			// true is never followed by a message.
			s.deliver(t)
		}
		if len(s.heap) == 0 {
			s.running = false
			s.mu.Unlock()
			s.forgetAll(fired)
			if sleep != nil {
				sleep.Stop()
			}
			return
		}
		wait := time.Duration(s.heap[0].when - now)
		s.mu.Unlock()
		fired = s.forgetAll(fired)
		if sleep == nil {
			sleep = time.NewTimer(wait)
		} else {
			sleep.Reset(wait)
		}
		select {
		case <-sleep.C:
		case <-s.wake:
			if !sleep.Stop() {
				<-sleep.C
			}
		}
	}
}

// forgetAll removes fired one-shot timers from their processes' lists
// (outside s.mu: start takes a process's lock and then s.mu).
func (s *timerService) forgetAll(fired []*Timer) []*Timer {
	for i, t := range fired {
		t.forget()
		fired[i] = nil
	}
	return fired[:0]
}

func (s *timerService) deliver(t *Timer) {
	msg := t.msg
	if t.wrap {
		msg = Timeout{Timer: t, Msg: t.msg}
	}
	if t.to != nil {
		_ = t.to.send(msg)
		return
	}
	if p := s.sys.whereis(t.name); p != nil {
		_ = p.send(msg)
		return
	}
	s.sys.dead.Add(1)
}

// close cancels every timer and waits for the goroutine.
func (s *timerService) close() {
	s.mu.Lock()
	s.closed = true
	for _, t := range s.heap {
		t.index = -1
	}
	s.heap = nil
	select {
	case s.wake <- struct{}{}:
	default:
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// timerHeap orders timers by deadline, then by the order they were set.
type timerHeap []*Timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].when != h[j].when {
		return h[i].when < h[j].when
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *timerHeap) Push(x any) {
	t := x.(*Timer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	n := len(old)
	t := old[n-1]
	old[n-1] = nil
	t.index = -1
	*h = old[:n-1]
	return t
}
