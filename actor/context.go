package actor

import (
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"
)

// Context is a process's handle on the runtime, passed to Receive, Init and
// Terminate. It is valid only on the process's own goroutine while one of
// those runs; do not keep it.
type Context struct {
	p   *process
	req atomic.Pointer[askReq] // the Ask being handled, until replied
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
	if c.req.Load() == nil {
		return false
	}
	r := c.req.Swap(nil)
	if r == nil {
		return false
	}
	return r.complete(v, nil)
}

// Asked reports whether the message being handled came from Ask and has not
// been replied to yet.
func (c *Context) Asked() bool { return c.req.Load() != nil }

// Spawn starts a process, optionally linked to this one (Options.Link). The
// new process's Init runs on this goroutine before Spawn returns.
func (c *Context) Spawn(b Behavior, opt Options) (PID, error) {
	p, err := c.p.sys.spawn(b, opt, spawnArgs{parent: c.p})
	if err != nil {
		return PID{}, err
	}
	return PID{p}, nil
}

// SpawnMonitor starts a process as Spawn does and monitors it in the same
// step, before it can run (OTP spawn_monitor): its Down cannot be missed.
// If Init fails there is no process and no monitor.
func (c *Context) SpawnMonitor(b Behavior, opt Options) (PID, Ref, error) {
	var ref Ref
	p, err := c.p.sys.spawn(b, opt, spawnArgs{parent: c.p, monitorBy: c.p, ref: &ref})
	if err != nil {
		return PID{}, Ref{}, err
	}
	return PID{p}, ref, nil
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

// Unlink removes the link with pid, if any. Once Unlink returns, no Exited
// from pid arrives and no exit signal from pid ends this process; an
// Exited that pid's exit queued before Unlink stays in the mailbox (as in
// OTP).
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
		return c.noProc("")
	}
	return monitor(c.p, pid.p, "")
}

// MonitorName monitors the process registered under name now (OTP
// monitor(process, Name)); its Down carries Name. If no process has the
// name, the Down (with ReasonNoProc and the zero PID) is sent at once.
func (c *Context) MonitorName(name string) Ref {
	t := c.p.sys.whereis(name)
	if t == nil {
		return c.noProc(name)
	}
	return monitor(c.p, t, name)
}

func (c *Context) noProc(name string) Ref {
	ref := Ref{id: c.p.sys.nextRef.Add(1)}
	e := c.p.getExt()
	e.mu.Lock()
	if !e.dead {
		c.p.queueDown(e, Down{Ref: ref, Name: name, Reason: ReasonNoProc})
	}
	e.mu.Unlock()
	return ref
}

// Demonitor removes a monitor (OTP demonitor(Ref, [info])). It reports
// whether the monitor was still active: then no Down for it will arrive.
// When it reports false, the monitor had fired: its Down is in the mailbox
// already (or was received) and stays there. Either way no Down for ref can
// arrive after Demonitor returns.
func (c *Context) Demonitor(ref Ref) bool { return demonitor(c.p, ref, false) }

// DemonitorFlush removes a monitor and also drops its Down if one is still
// in the mailbox (OTP demonitor(Ref, [flush, info])): once it returns, this
// process never receives a Down for ref. It reports what Demonitor reports.
func (c *Context) DemonitorFlush(ref Ref) bool { return demonitor(c.p, ref, true) }

// TrapExit sets whether exit signals become Exited messages (true) or end
// the process (false, the default) when their reason is not normal.
func (c *Context) TrapExit(on bool) { c.p.trap.Store(on) }

// Stop makes the process exit with reason once the current callback
// returns. nil means ReasonNormal. An exit signal that ends the process
// during the same callback (Exit(Self(), ...), say) takes precedence.
func (c *Context) Stop(reason error) {
	if reason == nil {
		reason = ReasonNormal
	}
	c.p.getExt().stopReason = reason
}

// SendAfter sends msg to this process after d, unless the timer is
// cancelled or the process exits first.
func (c *Context) SendAfter(d time.Duration, msg any) *Timer {
	return c.p.sys.timers.start(d, c.p, "", msg, 0, false)
}

// SendInterval sends msg to this process every d until the timer is
// cancelled or the process exits.
func (c *Context) SendInterval(d time.Duration, msg any) *Timer {
	return c.p.sys.timers.start(d, c.p, "", msg, d, false)
}

// Ref identifies a monitor.
type Ref struct{ id uint64 }

// String renders the ref as #Ref<N>.
func (r Ref) String() string { return "#Ref<" + strconv.FormatUint(r.id, 10) + ">" }

// Down is the message a monitoring process receives when the monitored
// process exits.
type Down struct {
	Ref Ref
	PID PID // zero for a MonitorName of a name no process had
	// Name is the registered name the monitor was set by (MonitorName),
	// or "".
	Name   string
	Reason error
}

// Exited is the message a process that traps exits receives instead of
// exiting: From exited (or called Exit) with Reason. From is the zero PID
// for signals from outside any process (the package-level Exit).
type Exited struct {
	From   PID
	Reason error
}

// Exit sends pid an exit signal with reason from this process (OTP
// exit/2; see the package-level Exit). Sent to Self, ReasonNormal ends a
// process that does not trap exits (with reason normal), and any reason
// reaches a trapping process as an Exited from itself.
func (c *Context) Exit(pid PID, reason error) {
	if pid.p != nil {
		pid.p.exitSignal(c.p, reason, sigExit)
	}
}
