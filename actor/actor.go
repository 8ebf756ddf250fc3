package actor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
)

// Errors returned by the package. Use errors.Is to test for them.
var (
	// ErrNoProcess means the target process does not exist or has exited.
	ErrNoProcess = errors.New("actor: no such process")
	// ErrCrashed is matched by every *CrashError.
	ErrCrashed = errors.New("actor: process crashed")
	// ErrMailboxFull means a bounded mailbox refused a message.
	ErrMailboxFull = errors.New("actor: mailbox full")
	// ErrNoReply means the receiver of an Ask handled the message without
	// replying.
	ErrNoReply = errors.New("actor: no reply")
	// ErrNameTaken means a live process is already registered under a name.
	ErrNameTaken = errors.New("actor: name already registered")
	// ErrStopped means the System has been shut down.
	ErrStopped = errors.New("actor: system stopped")
	// ErrIgnore, returned by an Initializer's Init (or a supervisor's
	// Init callback), means the process decided not to start, as OTP's
	// init returning ignore: Spawn fails with an error that wraps
	// ErrIgnore, no crash is reported, and a supervisor keeps the child
	// stopped (StartChild returns the zero PID and no error).
	ErrIgnore = errors.New("actor: ignore")
)

// Exit reasons. A process that returns from its work normally exits with
// ReasonNormal; supervisors and System.Shutdown stop processes with
// ReasonShutdown; ReasonKill, sent with Exit, cannot be trapped and makes the
// target exit with ReasonKilled. A crash has a *CrashError as its reason; any
// other error is an abnormal reason too.
//
// Reasons are compared with errors.Is, so an error that wraps a reason
// counts as that reason: fmt.Errorf("draining: %w", ReasonShutdown), or a
// *ShutdownError, is a shutdown (OTP's {shutdown, Term}). ReasonKill is the
// exception: only ReasonKill itself is the untrappable kill.
var (
	ReasonNormal   = exitReason("normal")
	ReasonShutdown = exitReason("shutdown")
	ReasonKill     = exitReason("kill")
	ReasonKilled   = exitReason("killed")
	// ReasonNoProc is the reason of a Down for a process that was already
	// dead when the monitor was set.
	ReasonNoProc = exitReason("noproc")
)

type reason struct{ s string }

func (r *reason) Error() string { return r.s }

func exitReason(s string) error { return &reason{s} }

// ShutdownError is OTP's {shutdown, Term}: a shutdown that carries why.
// errors.Is(err, ReasonShutdown) holds for it, so a transient child that
// exits with it is not restarted and IsNormal reports true. If Info is an
// error, errors.Is and errors.As see it too.
type ShutdownError struct {
	// Info says why; it is rendered with %v.
	Info any
}

// Error renders the reason as "shutdown: <info>".
func (e *ShutdownError) Error() string { return fmt.Sprintf("shutdown: %v", e.Info) }

// Unwrap returns ReasonShutdown and, if Info is an error, Info.
func (e *ShutdownError) Unwrap() []error {
	if err, ok := e.Info.(error); ok {
		return []error{ReasonShutdown, err}
	}
	return []error{ReasonShutdown}
}

// IsNormal reports whether reason is a normal exit in the OTP sense:
// normal, shutdown, or an error that wraps either (a *ShutdownError, say).
// A transient child that exits for such a reason is not restarted and no
// crash is reported for it. (A linked process that does not trap exits
// ignores only a normal reason: a shutdown ends it, as in OTP.)
func IsNormal(reason error) bool {
	return errors.Is(reason, ReasonNormal) || errors.Is(reason, ReasonShutdown)
}

// isNormalExit reports whether reason is normal in the narrow sense a link
// uses: a non-trapping linked process ignores it.
func isNormalExit(reason error) bool { return errors.Is(reason, ReasonNormal) }

// Behavior is what a process does with each message it receives. Receive is
// called for one message at a time, never concurrently, on whatever
// goroutine runs the process.
//
// A Behavior may also implement Initializer and Terminator.
type Behavior interface {
	Receive(ctx *Context, msg any)
}

// BehaviorFunc adapts a function to a Behavior.
type BehaviorFunc func(ctx *Context, msg any)

// Receive calls f(ctx, msg).
func (f BehaviorFunc) Receive(ctx *Context, msg any) { f(ctx, msg) }

// Initializer is implemented by behaviours that need to set up before their
// first message. Init runs on the spawning goroutine before Spawn returns; if
// it returns an error or panics, Spawn returns an error and the process never
// runs. Returning ErrIgnore makes the process not start without counting as
// a failure (OTP's ignore).
type Initializer interface {
	Init(ctx *Context) error
}

// Terminator is implemented by behaviours that need to clean up. Terminate
// is called once when the process exits, with the exit reason, except when
// it is killed (ReasonKilled).
type Terminator interface {
	Terminate(ctx *Context, reason error)
}

// PID identifies a process. It is comparable and cheap to copy; the zero PID
// refers to no process. A PID stays valid (and unique) after its process
// exits; messages sent to it are then dead letters.
type PID struct{ p *process }

// String renders the PID as <0.ID> or, for a named process, <0.ID name>.
func (pid PID) String() string {
	if pid.p == nil {
		return "<nil>"
	}
	s := "<0." + strconv.FormatUint(pid.p.id, 10)
	if n := pid.p.name; n != "" {
		s += " " + n
	}
	return s + ">"
}

// IsZero reports whether pid is the zero PID.
func (pid PID) IsZero() bool { return pid.p == nil }

// Name returns the name the process was spawned with, or "".
func (pid PID) Name() string {
	if pid.p == nil {
		return ""
	}
	return pid.p.name
}

// Alive reports whether the process has not begun to exit. It turns false
// before the process's links and monitors are told, so a process that got
// the Down or Exited of pid finds it not alive.
func (pid PID) Alive() bool { return pid.p != nil && !pid.p.gone.Load() }

// Options configure one process. The zero value spawns an anonymous process
// with an unbounded mailbox that does not trap exits.
type Options struct {
	// Name registers the process under this name for its lifetime (see
	// System.Whereis). Spawn fails with ErrNameTaken if a live process
	// already has it.
	Name string
	// MailboxSize bounds the mailbox. When it holds MailboxSize user
	// messages, Send drops the new message, counts it as a dead letter and
	// returns ErrMailboxFull. System messages (exit signals) and Down and
	// Exit notices are never dropped. 0 means unbounded.
	MailboxSize int
	// TrapExit turns exit signals into Exited messages (see Context.TrapExit).
	TrapExit bool
	// Link links the new process to the spawning process once Init has
	// succeeded (OTP spawn_link). Only Context.Spawn honours it.
	Link bool
}

// Config configures a System. The zero value is valid.
type Config struct {
	// Logger receives crash reports and supervisor reports. nil means
	// slog.Default().
	Logger *slog.Logger
}

// System owns processes: it numbers them, holds the registry of names, the
// event stream, the timers and the dead-letter count, and stops everything
// on Shutdown.
type System struct {
	log     *slog.Logger
	nextID  atomic.Uint64
	nextRef atomic.Uint64
	dead    atomic.Uint64
	closed  atomic.Bool

	mu    sync.Mutex // guards the list of live processes and names
	live  int
	first *process
	last  *process
	names map[string]*process

	events  eventHub
	runners runners
	timers  timerService
	trees   sync.Map     // tree name → *treeCounts (observe.go)
	nTrees  atomic.Int32 // entries of trees
}

// NewSystem returns a System ready to spawn processes.
func NewSystem(cfg Config) *System {
	s := &System{log: cfg.Logger, names: make(map[string]*process)}
	readProcs()
	s.runners.init()
	s.timers.init(s)
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

// Logger returns the logger crash reports go to.
func (s *System) Logger() *slog.Logger { return s.log }

// DeadLetters returns how many messages could not be delivered: sent to an
// exited process, refused by a full mailbox, or left in a mailbox at exit.
func (s *System) DeadLetters() uint64 { return s.dead.Load() }

// NumProcesses returns how many processes are alive.
func (s *System) NumProcesses() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live
}

// Spawn starts a top-level process running b. Init, if b has one, runs
// before Spawn returns. System.Shutdown stops top-level processes in
// reverse order of spawning.
func (s *System) Spawn(b Behavior, opt Options) (PID, error) {
	p, err := s.spawn(b, opt, spawnArgs{top: true})
	if err != nil {
		return PID{}, err
	}
	return PID{p}, nil
}

// Whereis returns the live process registered under name.
func (s *System) Whereis(name string) (PID, bool) {
	p := s.whereis(name)
	if p == nil {
		return PID{}, false
	}
	return PID{p}, true
}

func (s *System) whereis(name string) *process {
	s.mu.Lock()
	p := s.names[name]
	s.mu.Unlock()
	return p
}

// Register gives a live process a name. It fails if the name is empty, is
// held by a live process, or the process already has a name or has exited.
// The name is released when the process exits.
func (s *System) Register(name string, pid PID) error {
	if name == "" {
		return errors.New("actor: register: empty name")
	}
	if pid.p == nil || pid.p.sys != s {
		return fmt.Errorf("actor: register %q: %w", name, ErrNoProcess)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.names[name] != nil {
		return fmt.Errorf("actor: register %q: %w", name, ErrNameTaken)
	}
	if pid.p.gone.Load() || pid.p.unlisted {
		return fmt.Errorf("actor: register %q: %w", name, ErrNoProcess)
	}
	if pid.p.regName != "" {
		return fmt.Errorf("actor: register %q: process %v is already registered as %q", name, pid, pid.p.regName)
	}
	pid.p.regName = name
	s.names[name] = pid.p
	return nil
}

// Unregister releases name. It reports whether the name was registered.
func (s *System) Unregister(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.names[name]
	if p == nil {
		return false
	}
	delete(s.names, name)
	p.regName = ""
	return true
}

// Send delivers msg to the process pid without waiting for it to be
// handled; it never blocks on the receiver. Messages from one sender to one
// receiver arrive in the order sent. It returns ErrNoProcess if the process
// has exited and ErrMailboxFull if its bounded mailbox is full; either way
// the message is counted as a dead letter.
func Send(pid PID, msg any) error {
	if pid.p == nil {
		return ErrNoProcess
	}
	return pid.p.send(msg)
}

// SendName delivers msg to the process registered under name, as Send does
// (OTP's Name ! Msg). It returns an error wrapping ErrNoProcess, and counts
// a dead letter, if no live process has the name.
func (s *System) SendName(name string, msg any) error {
	p := s.whereis(name)
	if p == nil {
		s.dead.Add(1)
		return fmt.Errorf("actor: send to %q: %w", name, ErrNoProcess)
	}
	if err := p.send(msg); err != nil {
		return fmt.Errorf("actor: send to %q: %w", name, err)
	}
	return nil
}

// Exit sends an exit signal with reason to pid from outside any process
// (OTP exit/2). A process that traps exits receives an Exited message with
// the zero From, except for ReasonKill, which always kills. A process that
// does not trap exits ignores ReasonNormal and exits with any other reason.
// A kill ends the process at once even if it is busy in a callback: the
// callback's goroutine is abandoned (see docs/actors.md).
func Exit(pid PID, reason error) {
	if pid.p != nil {
		pid.p.exitSignal(nil, reason, sigExit)
	}
}

// Ask sends msg to pid and waits for the reply (see Context.Reply). It
// returns at once with ErrNoProcess if the receiver is dead or exits before
// handling msg, with a *CrashError (errors.Is(err, ErrCrashed)) carrying the
// crash's incident id if the receiver panics while handling msg, with
// ErrNoReply if it handles msg without replying, and with an error wrapping
// ctx.Err() when ctx ends first.
func Ask(ctx context.Context, pid PID, msg any) (any, error) {
	if pid.p == nil {
		return nil, fmt.Errorf("actor: ask %v: %w", pid, ErrNoProcess)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("actor: ask %v: %w", pid, err)
	}
	r := newAskReq(msg)
	if err := pid.p.send(r); err != nil {
		releaseAskReq(r)
		return nil, fmt.Errorf("actor: ask %v: %w", pid, err)
	}
	v, err := r.wait(ctx)
	if err != nil {
		if ce, ok := err.(*CrashError); ok {
			return nil, ce
		}
		return nil, fmt.Errorf("actor: ask %v: %w", pid, err)
	}
	return v, nil
}

// Stop ends pid with ReasonShutdown as OTP's gen_server:stop does, and
// waits until it has exited or ctx ends. A process that traps exits is
// stopped too (it gets no Exited message); its Terminate runs, and a
// supervisor stops its children first. Stop does not kill: a process busy
// in a callback exits when the callback returns.
func Stop(ctx context.Context, pid PID) error {
	if pid.p == nil {
		return ErrNoProcess
	}
	done := pid.p.doneChan()
	pid.p.exitSignal(nil, ReasonShutdown, sigStop)
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("actor: stop %v: %w", pid, ctx.Err())
	}
}

// Shutdown stops every top-level process and supervision tree in reverse
// order of spawning (each with ReasonShutdown, so supervisors stop their
// children in reverse start order), then any process left, and waits until
// all have exited. Spawning fails afterwards with ErrStopped, and timers
// are cancelled. If ctx ends first, every process left is killed at once
// (a process busy in a callback is abandoned: its goroutine runs on until
// the callback returns, holding no name and reaching no one) and ctx's
// error is returned.
func (s *System) Shutdown(ctx context.Context) error {
	s.closed.Store(true)
	defer s.events.closeAll()
	for _, topOnly := range []bool{true, false} {
		for {
			p := s.lastLive(topOnly)
			if p == nil {
				break
			}
			done := p.doneChan()
			p.exitSignal(nil, ReasonShutdown, sigStop)
			select {
			case <-done:
			case <-ctx.Done():
				s.mu.Lock()
				var rest []*process
				for q := s.last; q != nil; q = q.prev {
					rest = append(rest, q)
				}
				s.mu.Unlock()
				for _, q := range rest {
					q.kill(nil)
				}
				s.timers.close()
				s.stopRunners(false)
				return fmt.Errorf("actor: shutdown: %w", ctx.Err())
			}
		}
	}
	s.timers.close()
	s.stopRunners(true)
	return nil
}

func (s *System) lastLive(topOnly bool) *process {
	s.mu.Lock()
	defer s.mu.Unlock()
	for p := s.last; p != nil; p = p.prev {
		if !topOnly || p.top {
			return p
		}
	}
	return nil
}

func (s *System) list(p *process) {
	s.mu.Lock()
	s.live++
	p.prev = s.last
	if s.last != nil {
		s.last.next = p
	} else {
		s.first = p
	}
	s.last = p
	s.mu.Unlock()
}

// unlist removes p from the live list and releases its name.
func (s *System) unlist(p *process) {
	s.mu.Lock()
	if !p.unlisted {
		p.unlisted = true
		s.live--
		if p.prev != nil {
			p.prev.next = p.next
		} else {
			s.first = p.next
		}
		if p.next != nil {
			p.next.prev = p.prev
		} else {
			s.last = p.prev
		}
		p.prev, p.next = nil, nil
	}
	if p.regName != "" {
		if s.names[p.regName] == p {
			delete(s.names, p.regName)
		}
		p.regName = ""
	}
	s.mu.Unlock()
}

// spawnArgs are what the different ways to spawn add to Options.
type spawnArgs struct {
	parent    *process // the spawning process (links with Options.Link)
	top       bool     // spawned by System.Spawn
	label     string   // name in PIDs and reports; Options.Name if empty
	sup       *supInfo // set for a supervisor's child
	monitorBy *process // set the monitor of this process before it runs
	ref       *Ref     // where to put that monitor's ref
}

func (s *System) spawn(b Behavior, opt Options, a spawnArgs) (*process, error) {
	if b == nil {
		return nil, errors.New("actor: spawn: nil behavior")
	}
	if opt.MailboxSize < 0 {
		return nil, fmt.Errorf("actor: spawn: negative mailbox size %d", opt.MailboxSize)
	}
	if s.closed.Load() {
		return nil, ErrStopped
	}
	label := a.label
	if label == "" {
		label = opt.Name
	}
	p := &process{sys: s, behavior: b, id: s.nextID.Add(1), name: label, top: a.top, bound: int32(opt.MailboxSize)}
	p.ctx.p = p
	p.state.Store(stateRunning) // no runner until Init is done
	if opt.TrapExit {
		p.trap.Store(true)
	}
	if a.sup != nil || (opt.Link && a.parent != nil) {
		// Set before the process can be found (by name or PID), so that
		// senders read it without a lock.
		e := &ext{}
		if a.sup != nil {
			e.supPath, e.restarts = a.sup.path, a.sup.restarts
		}
		if opt.Link {
			e.parent = a.parent
		}
		p.ext.Store(e)
	}
	if opt.Name != "" {
		s.mu.Lock()
		if s.names[opt.Name] != nil {
			s.mu.Unlock()
			return nil, fmt.Errorf("actor: spawn %q: %w", opt.Name, ErrNameTaken)
		}
		s.names[opt.Name] = p
		p.regName = opt.Name
		s.mu.Unlock()
	}
	s.list(p)
	if in, ok := b.(Initializer); ok {
		if err := p.init(in); err != nil {
			if errors.Is(err, ErrIgnore) {
				p.finishNoRun(ReasonNormal)
				return nil, fmt.Errorf("actor: spawn: %w", err)
			}
			p.finishNoRun(err)
			if _, ok := err.(*CrashError); ok {
				return nil, err
			}
			return nil, fmt.Errorf("actor: spawn: init: %w", err)
		}
	}
	if e := p.ext.Load(); e != nil && e.stopReason != nil {
		reason := e.stopReason // Init called ctx.Stop
		p.finishNoRun(reason)
		return nil, fmt.Errorf("actor: spawn: init stopped: %w", reason)
	}
	if opt.Link && a.parent != nil {
		if err := link(a.parent, p); err != nil {
			p.finishNoRun(ReasonNoProc)
			return nil, fmt.Errorf("actor: spawn: link: %w", err)
		}
	}
	if a.monitorBy != nil {
		*a.ref = monitor(a.monitorBy, p, "")
	}
	s.events.publish(Event{Kind: Started, PID: PID{p}})
	p.idle()
	return p, nil
}
