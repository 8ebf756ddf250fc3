package actor

import (
	"runtime"
	"sync"
	"sync/atomic"
)

const (
	stateIdle    int32 = iota // no goroutine; a message schedules one
	stateRunning              // a goroutine (or the spawner, during Init) owns the process
	stateDead                 // exited
)

// spinRounds is how many times an emptied process looks for new messages
// (yielding in between) before it gives its goroutine up. Starting a
// goroutine for the next message costs more than a short spin when
// messages come in a stream.
const spinRounds = 64

type process struct {
	// Read by senders on every message.
	state atomic.Int32
	bound int32
	sys   *System
	mbox  queue
	count atomic.Int32 // messages in the mailbox, kept only when bound > 0
	trap  atomic.Bool

	top      bool // spawned by System.Spawn
	unlisted bool // guarded by sys.mu
	id       uint64
	behavior Behavior
	sysq     atomic.Pointer[sysNode]
	ext      atomic.Pointer[ext]
	name     string
	regName  string   // guarded by sys.mu
	prev     *process // guarded by sys.mu
	next     *process

	// Written by the process's goroutine on every message: kept at the
	// end, more than a cache line away from what senders read.
	ctx Context
	cur cursor
}

// ext holds what most processes never need; it is allocated on first use.
type ext struct {
	mu         sync.Mutex
	dead       bool
	links      map[*process]struct{}
	watchers   map[Ref]*process // monitors on this process
	monitoring map[Ref]*process // monitors this process holds
	timers     map[*Timer]struct{}
	done       chan struct{}

	drainMu sync.Mutex // serialises draining the mailbox after death

	parent *process // spawned linked by parent; set before the process runs

	// Owned by the process's goroutine.
	stopReason error
	supPath    string
	restarts   int
}

type supInfo struct {
	path     string
	restarts int
}

func (p *process) getExt() *ext {
	if e := p.ext.Load(); e != nil {
		return e
	}
	e := &ext{}
	if p.ext.CompareAndSwap(nil, e) {
		return e
	}
	return p.ext.Load()
}

type sigKind uint8

const (
	sigExit     sigKind = iota // exit signal sent with Exit or by the system
	sigLinkExit                // exit signal from a linked process that exited
)

type sysMsg struct {
	kind   sigKind
	from   *process
	reason error
}

type sysNode struct {
	next *sysNode
	msg  sysMsg
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// doneChan returns a channel closed when p has exited.
func (p *process) doneChan() <-chan struct{} {
	e := p.getExt()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.dead {
		return closedChan
	}
	if e.done == nil {
		e.done = make(chan struct{})
	}
	return e.done
}

// send enqueues a user message.
func (p *process) send(m any) error {
	if p.state.Load() == stateDead {
		p.sys.deadLetter(p, m)
		return ErrNoProcess
	}
	if p.bound > 0 && p.count.Add(1) > p.bound {
		p.count.Add(-1)
		p.sys.deadLetter(p, m)
		return ErrMailboxFull
	}
	p.push(m)
	return nil
}

// pushSys enqueues a runtime notice (Down, Exit) as a user message that a
// bounded mailbox never refuses.
func (p *process) pushSys(m any) {
	if p.state.Load() == stateDead {
		p.sys.deadLetter(p, m)
		return
	}
	if p.bound > 0 {
		p.count.Add(1)
	}
	p.push(m)
}

func (p *process) push(m any) {
	p.mbox.push(m)
	switch p.state.Load() {
	case stateIdle:
		if p.state.CompareAndSwap(stateIdle, stateRunning) {
			p.sys.schedule(p)
		}
	case stateDead:
		// The process died after the check in send; it may have
		// drained its mailbox already, so drain what we added.
		e := p.getExt()
		e.drainMu.Lock()
		p.drainDead()
		e.drainMu.Unlock()
	}
}

// signal enqueues a system message; it overtakes user messages.
func (p *process) signal(m sysMsg) {
	if p.state.Load() == stateDead {
		return
	}
	n := &sysNode{msg: m}
	for {
		old := p.sysq.Load()
		n.next = old
		if p.sysq.CompareAndSwap(old, n) {
			break
		}
	}
	if p.state.Load() == stateIdle && p.state.CompareAndSwap(stateIdle, stateRunning) {
		p.sys.schedule(p)
	}
}

// idle gives up ownership after Init.
func (p *process) idle() {
	seg, hi := p.cur.head, p.cur.hi
	p.state.Store(stateIdle)
	if (pendingAt(&p.mbox, seg, hi) || p.sysq.Load() != nil) && p.state.CompareAndSwap(stateIdle, stateRunning) {
		p.sys.schedule(p)
	}
}

func (p *process) run() {
	for {
		if p.drain() {
			return
		}
		busy := false
		for i := 0; i < spinRounds; i++ {
			if !p.mbox.empty(&p.cur) || p.sysq.Load() != nil {
				busy = true
				break
			}
			runtime.Gosched()
		}
		if busy {
			continue
		}
		release(&p.cur)
		seg, hi := p.cur.head, p.cur.hi
		p.state.Store(stateIdle)
		if !pendingAt(&p.mbox, seg, hi) && p.sysq.Load() == nil {
			return
		}
		if !p.state.CompareAndSwap(stateIdle, stateRunning) {
			return
		}
	}
}

// drain handles messages until the mailbox is empty. It reports whether the
// process exited.
func (p *process) drain() bool {
	exited, ce, msg := p.drainGuarded()
	if ce == nil {
		return exited
	}
	if o, ok := msg.(CrashObserver); ok {
		o.Crashed(ce)
	}
	if p.ctx.req != nil {
		p.ctx.req.complete(nil, ce)
		p.ctx.req = nil
	}
	p.exit(ce, true)
	return true
}

// drainGuarded is drain's loop under one deferred recover (rather than one
// per message). When a callback panics it returns the crash and the
// message being handled.
func (p *process) drainGuarded() (exited bool, ce *CrashError, msg any) {
	defer func() {
		if v := recover(); v != nil {
			ce = p.crash(v, msg, "receive")
		}
	}()
	for {
		if p.sysq.Load() != nil && p.handleSystem() {
			return true, nil, nil
		}
		m, ok := p.mbox.pop(&p.cur)
		if !ok {
			return false, nil, nil
		}
		if p.bound > 0 {
			p.count.Add(-1)
		}
		msg = m
		if r, isAsk := m.(*askReq); isAsk {
			msg = r.msg
			p.ctx.req = r
		}
		p.behavior.Receive(&p.ctx, msg)
		msg = nil
		if p.ctx.req != nil {
			p.ctx.req.complete(nil, ErrNoReply)
			p.ctx.req = nil
		}
		if e := p.ext.Load(); e != nil && e.stopReason != nil {
			p.exit(e.stopReason, true)
			return true, nil, nil
		}
	}
}

func (p *process) handleSystem() bool {
	var list *sysNode
	for n := p.sysq.Swap(nil); n != nil; {
		next := n.next
		n.next = list
		list = n
		n = next
	}
	for n := list; n != nil; n = n.next {
		if n.msg.reason == ReasonKill && n.msg.kind == sigExit {
			p.exit(ReasonKilled, false) // kill overtakes every other signal
			return true
		}
	}
	for n := list; n != nil; n = n.next {
		m := n.msg
		if m.kind == sigLinkExit && !p.dropLink(m.from) {
			continue // unlinked meanwhile
		}
		if p.trap.Load() {
			// As in OTP's gen_server, an exit signal from the parent
			// (the process that spawned this one linked, or the
			// System) stops a trapping process too, with Terminate.
			if m.from == nil || m.from == p.getExt().parent {
				p.exit(m.reason, true)
				return true
			}
			p.pushSys(Exited{From: PID{m.from}, Reason: m.reason})
			continue
		}
		if m.reason == ReasonNormal {
			continue
		}
		p.exit(m.reason, true)
		return true
	}
	return false
}

func (p *process) init(in Initializer) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = p.crash(v, nil, "init")
		}
	}()
	if err := in.Init(&p.ctx); err != nil {
		return err
	}
	return nil
}

func (p *process) terminate(t Terminator, reason error) {
	defer func() {
		if v := recover(); v != nil {
			p.sys.log.Error("terminate panicked", "pid", PID{p}.String(), "panic", v)
		}
	}()
	t.Terminate(&p.ctx, reason)
}

// exit ends the process with reason. It runs on the goroutine that owns p.
func (p *process) exit(reason error, callTerminate bool) {
	if callTerminate {
		if t, ok := p.behavior.(Terminator); ok {
			p.terminate(t, reason)
		}
	}
	e := p.getExt()
	e.mu.Lock()
	e.dead = true // no new links, monitors or timers from here on
	links, watchers, monitoring, timers, done := e.links, e.watchers, e.monitoring, e.timers, e.done
	e.links, e.watchers, e.monitoring, e.timers = nil, nil, nil, nil
	e.mu.Unlock()

	p.sys.unlist(p)
	kind := Stopped
	if _, ok := reason.(*CrashError); ok {
		kind = Crashed
	}
	p.sys.events.publish(Event{Kind: kind, PID: PID{p}, Reason: reason})
	for t := range timers {
		t.stop()
	}
	for ref, t := range monitoring {
		t.dropWatcher(ref)
	}
	for q := range links {
		q.signal(sysMsg{kind: sigLinkExit, from: p, reason: reason})
	}
	for ref, w := range watchers {
		w.pushSys(Down{Ref: ref, PID: PID{p}, Reason: reason})
	}
	// Only now do senders see the process dead, so that whoever gets
	// ErrNoProcess knows that links and monitors have been notified.
	p.state.Store(stateDead)
	e.drainMu.Lock()
	p.drainDead()
	e.drainMu.Unlock()

	if done != nil {
		close(done)
	}
}

// finishNoRun cleans up a process whose Init failed.
func (p *process) finishNoRun(reason error) {
	p.exit(reason, false)
}

// drainDead empties the mailbox of a dead process: asks fail at once, other
// messages become dead letters. The caller holds ext.drainMu.
func (p *process) drainDead() {
	for p.sysq.Swap(nil) != nil {
	}
	for {
		m, ok := p.mbox.pop(&p.cur)
		if !ok {
			return
		}
		if r, isAsk := m.(*askReq); isAsk {
			r.complete(nil, ErrNoProcess)
			p.sys.dead.Add(1)
			continue
		}
		p.sys.deadLetter(p, m)
	}
}

func (s *System) deadLetter(p *process, m any) {
	s.dead.Add(1)
	if s.events.active() {
		if r, ok := m.(*askReq); ok {
			m = r.msg
		}
		s.events.publish(Event{Kind: DeadLetter, PID: PID{p}, Message: m})
	}
}

func (p *process) dropLink(q *process) bool {
	e := p.getExt()
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.links[q]; !ok {
		return false
	}
	delete(e.links, q)
	return true
}

func (p *process) dropWatcher(ref Ref) {
	e := p.getExt()
	e.mu.Lock()
	delete(e.watchers, ref)
	e.mu.Unlock()
}

// lockPair locks the ext of a and b in a fixed order.
func lockPair(a, b *process) (ea, eb *ext) {
	ea, eb = a.getExt(), b.getExt()
	if a.id < b.id {
		ea.mu.Lock()
		eb.mu.Lock()
	} else {
		eb.mu.Lock()
		ea.mu.Lock()
	}
	return ea, eb
}

func link(a, b *process) error {
	if a == b {
		return nil
	}
	ea, eb := lockPair(a, b)
	defer ea.mu.Unlock()
	defer eb.mu.Unlock()
	if ea.dead || eb.dead {
		return ErrNoProcess
	}
	if ea.links == nil {
		ea.links = make(map[*process]struct{})
	}
	if eb.links == nil {
		eb.links = make(map[*process]struct{})
	}
	ea.links[b] = struct{}{}
	eb.links[a] = struct{}{}
	return nil
}

func unlink(a, b *process) {
	if a == b {
		return
	}
	ea, eb := lockPair(a, b)
	delete(ea.links, b)
	delete(eb.links, a)
	ea.mu.Unlock()
	eb.mu.Unlock()
}

func monitor(w, t *process) Ref {
	ref := Ref{id: w.sys.nextRef.Add(1)}
	et := t.getExt()
	et.mu.Lock()
	if et.dead {
		et.mu.Unlock()
		w.pushSys(Down{Ref: ref, PID: PID{t}, Reason: ReasonNoProc})
		return ref
	}
	if et.watchers == nil {
		et.watchers = make(map[Ref]*process)
	}
	et.watchers[ref] = w
	et.mu.Unlock()
	ew := w.getExt()
	ew.mu.Lock()
	if ew.monitoring == nil {
		ew.monitoring = make(map[Ref]*process)
	}
	ew.monitoring[ref] = t
	ew.mu.Unlock()
	return ref
}

func demonitor(w *process, ref Ref) bool {
	ew := w.getExt()
	ew.mu.Lock()
	t := ew.monitoring[ref]
	delete(ew.monitoring, ref)
	ew.mu.Unlock()
	if t == nil {
		return false
	}
	et := t.getExt()
	et.mu.Lock()
	_, ok := et.watchers[ref]
	delete(et.watchers, ref)
	et.mu.Unlock()
	return ok
}
