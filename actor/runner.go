package actor

import (
	"sync"
	"sync/atomic"
	"time"
)

// Runners run processes. A process owns no goroutine while its mailbox is
// empty; when a message arrives it is handed to an idle runner if one waits,
// and otherwise to a new one. Reusing runners keeps their stacks: a new
// goroutine starts with a small stack, and a callback that goes deep (JSON
// decoding, say) grows it by copying on every activation. An idle runner
// exits after runnerIdle, so an idle System owns no goroutine, and Shutdown
// stops them all and waits.
const (
	runnerIdle = 500 * time.Millisecond
	maxRunners = 1024 // past this, a busy system starts plain goroutines
)

type runners struct {
	handoff chan *process // unbuffered: a send succeeds only to a waiting runner
	n       atomic.Int32  // runners alive
	wg      sync.WaitGroup
	quit    chan struct{}
	once    sync.Once
}

func (r *runners) init() {
	r.handoff = make(chan *process)
	r.quit = make(chan struct{})
}

// schedule runs p, which its caller has just moved from idle to running.
func (s *System) schedule(p *process) {
	r := &s.runners
	select {
	case r.handoff <- p:
		return
	default:
	}
	if r.n.Add(1) > maxRunners || s.closed.Load() {
		r.n.Add(-1)
		go p.run(false)
		return
	}
	r.wg.Add(1)
	go s.runner(p)
}

func (s *System) runner(p *process) {
	r := &s.runners
	idle := time.NewTimer(runnerIdle)
	defer idle.Stop()
	for {
		if p.run(true) {
			return // abandoned by a killer, which released our place
		}
		p = nil
		idle.Reset(runnerIdle)
		select {
		case p = <-r.handoff:
		case <-idle.C:
			r.detach()
			return
		case <-r.quit:
			r.detach()
			return
		}
	}
}

// detach releases a runner's place: the runner is exiting, or is stuck in
// a callback whose process a killer finished (Shutdown does not wait for
// it).
func (r *runners) detach() {
	r.n.Add(-1)
	r.wg.Done()
}

// stopRunners ends the idle runners, and the busy ones once their process
// returns; with wait, it waits for them (Shutdown does once every process
// has exited, so none is busy for long). Later activations get plain
// goroutines.
func (s *System) stopRunners(wait bool) {
	s.runners.once.Do(func() { close(s.runners.quit) })
	if wait {
		s.runners.wg.Wait()
	}
}
