package actor

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Scheduling states of a process.
const (
	stateIdle    int32 = iota // no goroutine; a message schedules one
	stateRunning              // a goroutine (or the spawner, during Init) owns the process
	stateDead                 // exited
)

// Phases of the goroutine that owns a process. They decide who finishes a
// process that is killed while its owner is busy: the owner (between
// callbacks), or the killer, which then abandons the owner's goroutine.
const (
	phaseIdle      uint32 = iota // no owner runs user code (idle, or in Init)
	phaseOwner                   // an owner is in its batch: callbacks may run
	phaseAbandoned               // a killer finished the process; the owner only cleans up
	phaseExiting                 // the owner is finishing the process itself
)

// How an emptied process waits for more messages before it gives its
// goroutine up (starting a goroutine for the next message costs more than
// a short wait when messages come in a stream):
//
//   - After a drain that handled fewer than streamBatch messages (a request,
//     say), it polls its mailbox busyPolls times with a pause of pauseIters
//     empty loop iterations (tens of nanoseconds) in between, so that the
//     next request is taken at once (once with one P: oneProc), and then
//     for requestYieldFor with a runtime.Gosched in between. The yields are
//     bounded by time, not by count: on an idle machine a yield comes back
//     at once and the process looks some tens of times, but when other
//     goroutines are runnable each yield runs them first, and a count of
//     yields then kept idle request processes cycling through the run
//     queue for milliseconds (the demo under wrk serves 13 % more requests
//     a second with the bound than with 64 yields; docs/benchmarks.md,
//     "Idle request processes stop yielding when the machine is busy").
//   - After a larger drain, or after small drains that each found more
//     waiting at their first look and together took streamBatch messages,
//     it is behind a stream: it yields spinRounds times without looking,
//     then looks once. It comes back to a batch
//     rather than chasing the producer slot by slot, which would bounce the
//     cache line the producer is writing and cost the producer half its
//     throughput.
const (
	streamBatch = 16
	busyPolls   = 32
	pauseIters  = 50
	spinRounds  = 64

	requestYieldFor = 10 * time.Microsecond
)

// oneProc says whether the program runs with GOMAXPROCS=1, as a container
// limited to one CPU starts it (Go sets GOMAXPROCS from the CPU limit).
// Polling with pauses pays only while another P runs the other side of the
// exchange; with one P, a pause only delays it, and the waiters look once
// and then yield at once (an Ask of an idle process: five times as fast).
// runtime.GOMAXPROCS takes the scheduler's lock to read, so oneProc is set
// by NewSystem and read again whenever a waiter parks, a slow path already:
// a change is seen by the next wait that does not end in time.
var oneProc atomic.Bool

func readProcs() { oneProc.Store(runtime.GOMAXPROCS(0) == 1) }

// pause spins for n iterations without touching memory.
//
//go:noinline
func pause(n int) {
	for i := 0; i < n; i++ {
	}
}

type process struct {
	// Read by senders on every message.
	state atomic.Int32
	bound int32
	sys   *System
	mbox  queue
	count atomic.Int32 // messages in the mailbox, kept only when bound > 0
	trap  atomic.Bool
	gone  atomic.Bool // the process has begun to exit (PID.Alive)

	top      bool // spawned by System.Spawn
	unlisted bool // guarded by sys.mu
	pooled   bool // the owner is a pooled runner; written before phase turns phaseOwner
	phase    atomic.Uint32
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
	// The consumer's position as of its last batch, for an observer's
	// estimate of the mailbox's length (mailboxLen); written once per
	// batch, not per message.
	pubSeg atomic.Pointer[segment]
	pubHi  atomic.Uint32
}

// ext holds what most processes never need; it is allocated on first use.
type ext struct {
	mu         sync.Mutex
	exiting    bool // timers are refused
	dead       bool // links and monitors are refused
	links      map[*process]struct{}
	watchers   map[Ref]watch    // monitors on this process
	monitoring map[Ref]*process // monitors this process holds
	downs      map[Ref]*downNote
	timers     map[*Timer]struct{}
	done       chan struct{}

	drainMu   sync.Mutex // serialises draining the mailbox after death
	ownerGone bool       // guarded by drainMu: senders drain a dead mailbox themselves

	parent *process // spawned linked by parent; set before the process is visible

	// Owned by the process's goroutine.
	stopReason error
	supPath    string
	restarts   int
}

// watch is one monitor on a process: who watches, and the name it was set
// by (MonitorName), if any.
type watch struct {
	w    *process
	name string
}

// downNote carries a Down through the mailbox, so that DemonitorFlush can
// drop it there.
type downNote struct {
	d       Down
	flushed bool // guarded by the watcher's ext.mu
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

func (p *process) parent() *process {
	if e := p.ext.Load(); e != nil {
		return e.parent
	}
	return nil
}

type sigKind uint8

const (
	sigExit sigKind = iota // exit signal sent with Exit or Context.Exit
	sigLink                // exit signal of a linked process that exited
	sigStop                // stop from the System or Stop: ends a trapping process too
)

type sysNode struct {
	next   *sysNode
	reason error
	kill   bool // untrappable: exit with ReasonKilled, without Terminate
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

// pushSys enqueues a runtime notice (Down, Exited) as a user message that
// a bounded mailbox never refuses.
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
		// The process died after the check in send. If its owner has
		// drained the mailbox already, drain what we added; otherwise the
		// owner will.
		e := p.getExt()
		e.drainMu.Lock()
		if e.ownerGone {
			p.drainDead()
		}
		e.drainMu.Unlock()
	}
}

// exitSignal delivers an exit signal from `from` (nil: from outside any
// process) to p. It decides at once, as the signal arrives, what it does:
// a process that traps exits gets an Exited message in its mailbox, in
// order with the messages sent to it; otherwise the signal either ends the
// process (overtaking its queued messages) or is ignored.
func (p *process) exitSignal(from *process, reason error, kind sigKind) {
	if p.gone.Load() {
		return
	}
	if kind == sigExit && reason == ReasonKill {
		p.kill(from)
		return
	}
	if p.trap.Load() {
		// As in OTP's gen_server, an exit signal from the parent (the
		// process that spawned this one linked) or a stop from the System
		// ends a trapping process too, with Terminate.
		if kind == sigStop || (from != nil && from == p.parent()) {
			p.signal(reason, false)
			return
		}
		p.pushSys(Exited{From: PID{from}, Reason: reason})
		return
	}
	if isNormalExit(reason) && from != p && kind != sigStop {
		return // normal does not end a process that does not trap, unless it sent it itself
	}
	p.signal(reason, false)
}

// signal enqueues an exit that overtakes user messages.
func (p *process) signal(reason error, kill bool) {
	n := &sysNode{reason: reason, kill: kill}
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

// kill ends p with ReasonKilled. If p's owner is busy (in a callback, a
// Terminate, or between them) the killer finishes p itself, abandoning the
// owner's goroutine; otherwise p's runner takes the kill before running
// any more user code. kill does not wait; it reports whether it abandoned
// the owner.
func (p *process) kill(from *process) bool {
	if p.gone.Load() {
		return false
	}
	p.signal(ReasonKilled, true)
	if !p.phase.CompareAndSwap(phaseOwner, phaseAbandoned) {
		return false // idle (the runner will take the kill) or exiting already
	}
	p.abandon()
	return true
}

// abandon finishes p for a killer while p's owner is still busy. The
// owner's goroutine keeps running its callback; it holds no name and no
// lock of the runtime, and when it returns it only drains the mailbox.
func (p *process) abandon() {
	if r := p.ctx.req.Swap(nil); r != nil {
		r.complete(nil, ErrNoProcess)
	}
	if p.pooled {
		p.sys.runners.detach()
	}
	done := p.finish(ReasonKilled)
	if done != nil {
		close(done)
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

type drainResult uint8

const (
	drainEmpty     drainResult = iota // the mailbox is empty
	drainExited                       // the owner finished the process
	drainAbandoned                    // a killer finished the process
)

// run owns p until its mailbox is empty (or it exits). pooled says whether
// the calling goroutine is a pooled runner. It reports whether the owner
// was abandoned by a killer (a pooled runner then no longer counts as one).
func (p *process) run(pooled bool) (abandoned bool) {
	p.pooled = pooled
	p.phase.Store(phaseOwner)
	// mark counts the messages taken since the last wait that found
	// nothing at its first look; quick says whether the last wait found
	// something at its first look. Many small drains with quick waits in
	// between are a stream too.
	mark, quick := p.cur.taken, false
	for {
		before := p.cur.taken
		switch p.drain() {
		case drainExited:
			return false
		case drainAbandoned:
			p.drainAbandoned()
			return true
		}
		var found bool
		if p.cur.taken-before >= streamBatch || quick && p.cur.taken-mark >= streamBatch {
			found = p.waitBehindStream()
			mark, quick = p.cur.taken, false
		} else {
			found, quick = p.waitForRequest()
			if !quick {
				mark = p.cur.taken
			}
		}
		if found {
			continue
		}
		if !p.phase.CompareAndSwap(phaseOwner, phaseIdle) {
			p.drainAbandoned()
			return true
		}
		readProcs() // the goroutine is given up: a slow path (oneProc)
		release(&p.cur)
		seg, hi := p.cur.head, p.cur.hi
		p.publishCursor()
		p.state.Store(stateIdle)
		if !pendingAt(&p.mbox, seg, hi) && p.sysq.Load() == nil {
			return false
		}
		if !p.state.CompareAndSwap(stateIdle, stateRunning) {
			return false
		}
		p.phase.Store(phaseOwner)
		mark, quick = p.cur.taken, false
	}
}

// waitBehindStream yields spinRounds times without looking, then looks
// once (see streamBatch). It reports whether more came.
func (p *process) waitBehindStream() bool {
	for range spinRounds {
		runtime.Gosched()
	}
	return p.pending()
}

// waitForRequest polls with pauses, then yields for requestYieldFor (see
// streamBatch). It reports whether more came, and whether it was there at
// the first look.
func (p *process) waitForRequest() (found, first bool) {
	for i := range busyPolls {
		if p.pending() {
			return true, i == 0
		}
		if oneProc.Load() {
			break // no other P to run a sender meanwhile (oneProc)
		}
		pause(pauseIters)
	}
	// The first yield reads no clock: with one P it runs the sender, and
	// the next request is most often there after it.
	var start time.Time
	for i := 0; ; i++ {
		if p.pending() {
			return true, false
		}
		switch {
		case i == 1:
			start = time.Now()
		case i > 1 && time.Since(start) >= requestYieldFor:
			return false, false
		}
		runtime.Gosched()
	}
}

// pending reports whether a message or a signal waits. Only the owner
// calls it.
func (p *process) pending() bool { return !p.mbox.empty(&p.cur) || p.sysq.Load() != nil }

// drain handles messages until the mailbox is empty or the process exits.
func (p *process) drain() drainResult {
	p.publishCursor()
	res, ce, msg := p.drainGuarded()
	if ce == nil {
		return res
	}
	if o, ok := msg.(CrashObserver); ok {
		o.Crashed(ce)
	}
	if r := p.ctx.req.Swap(nil); r != nil {
		r.complete(nil, ce)
	}
	return p.exit(ce, true)
}

// drainGuarded is drain's loop under one deferred recover (rather than one
// per message). When a callback panics it returns the crash and the
// message being handled.
func (p *process) drainGuarded() (res drainResult, ce *CrashError, msg any) {
	defer func() {
		if v := recover(); v != nil {
			ce = p.crash(v, msg, "receive")
		}
	}()
	if p.sysq.Load() != nil {
		return p.handleSystem(), nil, nil
	}
	for {
		m, ok := p.mbox.pop(&p.cur)
		if !ok {
			return drainEmpty, nil, nil
		}
		if p.bound > 0 {
			p.count.Add(-1)
		}
		if p.phase.Load() == phaseAbandoned {
			p.sys.deadLetterPopped(p, m)
			return drainAbandoned, nil, nil
		}
		msg = m
		switch r := m.(type) {
		case *askReq:
			msg = r.msg
			p.ctx.req.Store(r)
		case *downNote:
			if !p.takeDown(r) {
				msg = nil
				continue // flushed by DemonitorFlush
			}
			msg = r.d
		}
		p.behavior.Receive(&p.ctx, msg)
		msg = nil
		if p.ctx.req.Load() != nil {
			if r := p.ctx.req.Swap(nil); r != nil {
				r.complete(nil, ErrNoReply)
			}
		}
		// An exit signal (a self-exit, say) wins over a Stop made in the
		// same callback: it came first.
		if p.sysq.Load() != nil {
			return p.handleSystem(), nil, nil
		}
		if e := p.ext.Load(); e != nil && e.stopReason != nil {
			return p.exit(e.stopReason, true), nil, nil
		}
	}
}

// takeDown forgets a Down popped from the mailbox and reports whether it
// is to be handled (not flushed).
func (p *process) takeDown(n *downNote) bool {
	e := p.getExt()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.downs[n.d.Ref] == n {
		delete(e.downs, n.d.Ref)
	}
	return !n.flushed
}

// handleSystem ends the process for the signals in its system queue: a
// kill overtakes the others, which are taken in the order they arrived.
func (p *process) handleSystem() drainResult {
	var first *sysNode
	for n := p.sysq.Swap(nil); n != nil; n = n.next {
		if n.kill {
			return p.exit(ReasonKilled, false)
		}
		first = n // the list is newest first
	}
	if first == nil {
		return drainEmpty
	}
	return p.exit(first.reason, true)
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

// exit ends the process with reason. It runs on the goroutine that owns p,
// in its batch; a killer may abandon the owner while Terminate runs.
func (p *process) exit(reason error, callTerminate bool) drainResult {
	if callTerminate {
		if t, ok := p.behavior.(Terminator); ok {
			p.terminate(t, reason)
		}
	}
	if !p.phase.CompareAndSwap(phaseOwner, phaseExiting) {
		return drainAbandoned
	}
	p.finishOwned(reason)
	return drainExited
}

// finishNoRun cleans up a process that never ran (its Init failed), on the
// spawning goroutine.
func (p *process) finishNoRun(reason error) {
	p.phase.Store(phaseExiting)
	p.finishOwned(reason)
}

// finishOwned finishes p on its owner's goroutine: the bookkeeping, then
// the mailbox, then done.
func (p *process) finishOwned(reason error) {
	done := p.finish(reason)
	e := p.getExt()
	e.drainMu.Lock()
	e.ownerGone = true
	p.drainDead()
	e.drainMu.Unlock()
	if done != nil {
		close(done)
	}
}

// drainAbandoned is what an abandoned owner does when its callback
// returns: fail what is left in the mailbox.
func (p *process) drainAbandoned() {
	if r := p.ctx.req.Swap(nil); r != nil {
		r.complete(nil, ErrNoProcess)
	}
	e := p.getExt()
	e.drainMu.Lock()
	e.ownerGone = true
	p.drainDead()
	e.drainMu.Unlock()
}

// finish does the bookkeeping of an exit, exactly once (by the owner or by
// a killer): the name is released, timers are cancelled, links get the exit
// signal and monitors their Down, and senders see the process dead. It
// returns the done channel to close once the caller is through.
func (p *process) finish(reason error) chan struct{} {
	p.gone.Store(true)
	e := p.getExt()
	e.mu.Lock()
	e.exiting = true // no new timers from here on
	timers := e.timers
	e.timers = nil
	e.mu.Unlock()
	for t := range timers {
		t.stop()
	}
	// The name is released before the process counts as dead to links and
	// monitors, so that a Down (even one with ReasonNoProc for a monitor
	// set by name from now on) means the name is free.
	p.sys.unlist(p)

	e.mu.Lock()
	e.dead = true // no new links or monitors from here on
	links, watchers, monitoring, done := e.links, e.watchers, e.monitoring, e.done
	e.links, e.watchers, e.monitoring, e.downs = nil, nil, nil, nil
	e.mu.Unlock()

	kind := Stopped
	if _, ok := reason.(*CrashError); ok {
		kind = Crashed
	}
	p.sys.events.publish(Event{Kind: kind, PID: PID{p}, Reason: reason})
	for ref, t := range monitoring {
		t.dropWatcher(ref)
	}
	// Links first, then monitors: a supervisor has its Exited in its
	// mailbox before anyone can have seen this process's Down.
	for q := range links {
		q.linkExit(p, reason)
	}
	for ref, w := range watchers {
		w.w.deliverDown(ref, p, w.name, reason)
	}
	// Only now do senders see the process dead, so that whoever gets
	// ErrNoProcess knows that links and monitors have been notified.
	p.state.Store(stateDead)
	return done
}

// linkExit delivers the exit signal of q's linked process p, unless q has
// unlinked meanwhile: the check and the delivery are one step under q's
// lock, so once Unlink returns no Exited from p can arrive.
func (q *process) linkExit(p *process, reason error) {
	e := q.getExt()
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.links[p]; !ok {
		return
	}
	delete(e.links, p)
	q.exitSignal(p, reason, sigLink)
}

// deliverDown puts the Down of monitor ref into w's mailbox, unless w has
// demonitored meanwhile; as with links, Demonitor and delivery exclude each
// other under w's lock.
func (w *process) deliverDown(ref Ref, p *process, name string, reason error) {
	e := w.getExt()
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.monitoring[ref]; !ok {
		return
	}
	delete(e.monitoring, ref)
	w.queueDown(e, Down{Ref: ref, PID: PID{p}, Name: name, Reason: reason})
}

// queueDown puts d into w's mailbox. The caller holds e.mu (w's ext).
func (w *process) queueDown(e *ext, d Down) {
	n := &downNote{d: d}
	if e.downs == nil {
		e.downs = make(map[Ref]*downNote)
	}
	e.downs[d.Ref] = n
	w.pushSys(n)
}

// drainDead empties the mailbox of a dead process: asks fail at once, other
// messages become dead letters. The caller holds ext.drainMu.
func (p *process) drainDead() {
	for {
		m, ok := p.mbox.pop(&p.cur)
		if !ok {
			return
		}
		p.sys.deadLetterPopped(p, m)
	}
}

func (s *System) deadLetterPopped(p *process, m any) {
	switch r := m.(type) {
	case *askReq:
		r.complete(nil, ErrNoProcess)
		s.dead.Add(1)
		return
	case *downNote:
		m = r.d
	}
	s.deadLetter(p, m)
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

func (p *process) dropWatcher(ref Ref) {
	e := p.getExt()
	e.mu.Lock()
	delete(e.watchers, ref)
	e.mu.Unlock()
}

// lockPair locks the ext of a and b (distinct) in a fixed order.
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

func isLinked(a, b *process) bool {
	if a == b {
		return false
	}
	ea, eb := lockPair(a, b)
	defer ea.mu.Unlock()
	defer eb.mu.Unlock()
	_, ok := ea.links[b]
	return ok
}

// monitor sets a monitor of w on t; name is the registered name it was set
// by, if any. Both sides are recorded in one step under both locks, so t's
// exit either sees the monitor whole or not at all (then t is dead and w
// gets a Down with ReasonNoProc at once).
func monitor(w, t *process, name string) Ref {
	ref := Ref{id: w.sys.nextRef.Add(1)}
	if w == t {
		e := w.getExt()
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.dead {
			return ref
		}
		addMonitor(e, e, ref, w, t, name)
		return ref
	}
	ew, et := lockPair(w, t)
	defer ew.mu.Unlock()
	defer et.mu.Unlock()
	switch {
	case ew.dead:
		// An abandoned callback: the watcher is gone, nothing to tell.
	case et.dead:
		w.queueDown(ew, Down{Ref: ref, PID: PID{t}, Name: name, Reason: ReasonNoProc})
	default:
		addMonitor(ew, et, ref, w, t, name)
	}
	return ref
}

func addMonitor(ew, et *ext, ref Ref, w, t *process, name string) {
	if et.watchers == nil {
		et.watchers = make(map[Ref]watch)
	}
	et.watchers[ref] = watch{w: w, name: name}
	if ew.monitoring == nil {
		ew.monitoring = make(map[Ref]*process)
	}
	ew.monitoring[ref] = t
}

// demonitor removes monitor ref of w and reports whether it was active.
// When it reports false the Down is in w's mailbox already (or was
// received, or ref was never w's): none can arrive later. With flush a Down
// still in the mailbox is dropped.
func demonitor(w *process, ref Ref, flush bool) bool {
	ew := w.getExt()
	ew.mu.Lock()
	t := ew.monitoring[ref]
	delete(ew.monitoring, ref)
	if t == nil && flush {
		if n := ew.downs[ref]; n != nil {
			n.flushed = true
			delete(ew.downs, ref)
		}
	}
	ew.mu.Unlock()
	if t == nil {
		return false
	}
	t.dropWatcher(ref)
	return true
}
