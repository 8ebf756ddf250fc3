package actor

import (
	"log/slog"
	"strconv"
	"time"
)

// Context is a process's handle on the runtime, passed to Receive, Init and
// Terminate. It is valid only on the process's own goroutine while one of
// those runs; do not keep it.
type Context struct {
	p   *process
	req *askReq // the Ask being handled, until replied
}

// Self returns the process's PID.
func (c *Context) Self() PID { return PID{c.p} }

// System returns the System the process belongs to.
func (c *Context) System() *System { return c.p.sys }

// Logger returns the System's logger with the process's pid attached.
func (c *Context) Logger() *slog.Logger { return c.p.sys.log.With("pid", PID{c.p}.String()) }

// Reply answers the Ask being handled. Only the first Reply per message
// counts; Reply outside an Ask does nothing. It reports whether the reply
// was delivered to a waiting caller.
func (c *Context) Reply(v any) bool {
	r := c.req
	if r == nil {
		return false
	}
	c.req = nil
	return r.complete(v, nil)
}

// Asked reports whether the message being handled came from Ask and has not
// been replied to yet.
func (c *Context) Asked() bool { return c.req != nil }

// Spawn starts a process, optionally linked to this one (Options.Link). The
// new process's Init runs on this goroutine before Spawn returns.
func (c *Context) Spawn(b Behavior, opt Options) (PID, error) {
	p, err := c.p.sys.spawn(b, opt, c.p, false, "", nil)
	if err != nil {
		return PID{}, err
	}
	return PID{p}, nil
}

// Link links this process and pid: when either exits, the other receives
// an exit signal with the same reason. It returns ErrNoProcess if pid has
// exited.
func (c *Context) Link(pid PID) error {
	if pid.p == nil {
		return ErrNoProcess
	}
	return link(c.p, pid.p)
}

// Unlink removes the link with pid, if any. An exit signal from pid that
// arrives afterwards is ignored.
func (c *Context) Unlink(pid PID) {
	if pid.p != nil {
		unlink(c.p, pid.p)
	}
}

// Monitor asks for a Down message when pid exits. If pid is already dead
// the Down (with ReasonNoProc) is sent at once. Each call makes a separate
// monitor.
func (c *Context) Monitor(pid PID) Ref {
	if pid.p == nil {
		ref := Ref{id: c.p.sys.nextRef.Add(1)}
		c.p.pushSys(Down{Ref: ref, Reason: ReasonNoProc})
		return ref
	}
	return monitor(c.p, pid.p)
}

// Demonitor removes a monitor. It reports whether the monitor was still
// active; a Down already in the mailbox stays there.
func (c *Context) Demonitor(ref Ref) bool { return demonitor(c.p, ref) }

// TrapExit sets whether exit signals become Exited messages (true) or end
// the process (false, the default) when their reason is not normal.
func (c *Context) TrapExit(on bool) { c.p.trap.Store(on) }

// Stop makes the process exit with reason once the current callback
// returns. nil means ReasonNormal.
func (c *Context) Stop(reason error) {
	if reason == nil {
		reason = ReasonNormal
	}
	c.p.getExt().stopReason = reason
}

// SendAfter sends msg to this process after d, unless the timer is
// cancelled or the process exits first.
func (c *Context) SendAfter(d time.Duration, msg any) *Timer {
	return startTimer(c.p, d, msg, false)
}

// SendInterval sends msg to this process every d until the timer is
// cancelled or the process exits.
func (c *Context) SendInterval(d time.Duration, msg any) *Timer {
	return startTimer(c.p, d, msg, true)
}

// Ref identifies a monitor.
type Ref struct{ id uint64 }

// String renders the ref as #Ref<N>.
func (r Ref) String() string { return "#Ref<" + strconv.FormatUint(r.id, 10) + ">" }

// Down is the message a monitoring process receives when the monitored
// process exits.
type Down struct {
	Ref    Ref
	PID    PID
	Reason error
}

// Exited is the message a process that traps exits receives instead of
// exiting: From exited (or called Exit) with Reason. From is the zero PID
// for signals from outside any process (Exit, Stop, System.Shutdown).
type Exited struct {
	From   PID
	Reason error
}

// Exit sends pid an exit signal with reason from this process (see the
// package-level Exit).
func (c *Context) Exit(pid PID, reason error) {
	if pid.p != nil {
		pid.p.signal(sysMsg{kind: sigExit, from: c.p, reason: reason})
	}
}
