package actor

import (
	"sync"
	"time"
)

// Timer is a pending SendAfter or SendInterval. It is cancelled by Cancel
// or when its process exits.
type Timer struct {
	p        *process
	msg      any
	d        time.Duration
	periodic bool

	mu      sync.Mutex
	t       *time.Timer
	stopped bool
}

func startTimer(p *process, d time.Duration, msg any, periodic bool) *Timer {
	if d <= 0 {
		d = 1 // fire at once, but still from the timer
	}
	t := &Timer{p: p, msg: msg, d: d, periodic: periodic}
	e := p.getExt()
	e.mu.Lock()
	if e.dead {
		e.mu.Unlock()
		t.stopped = true
		return t
	}
	if e.timers == nil {
		e.timers = make(map[*Timer]struct{})
	}
	e.timers[t] = struct{}{}
	t.mu.Lock()
	t.t = time.AfterFunc(d, t.fire)
	t.mu.Unlock()
	e.mu.Unlock()
	return t
}

func (t *Timer) fire() {
	t.mu.Lock()
	if t.stopped {
		t.mu.Unlock()
		return
	}
	if t.periodic {
		t.t.Reset(t.d)
	} else {
		t.stopped = true
	}
	t.mu.Unlock()
	if !t.periodic {
		e := t.p.getExt()
		e.mu.Lock()
		delete(e.timers, t)
		e.mu.Unlock()
	}
	_ = t.p.send(t.msg)
}

// Cancel stops the timer. It reports whether the timer was still active. A
// message already sent stays in the mailbox.
func (t *Timer) Cancel() bool {
	if !t.stop() {
		return false
	}
	e := t.p.getExt()
	e.mu.Lock()
	delete(e.timers, t)
	e.mu.Unlock()
	return true
}

func (t *Timer) stop() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return false
	}
	t.stopped = true
	if t.t != nil {
		t.t.Stop()
	}
	return true
}
