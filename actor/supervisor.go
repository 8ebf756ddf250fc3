package actor

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// Strategy is a supervisor's restart strategy (OTP's restart strategies).
type Strategy uint8

// The restart strategies.
const (
	// OneForOne restarts only the child that exited.
	OneForOne Strategy = iota
	// OneForAll stops all other children (in reverse start order) and
	// restarts all of them (in start order).
	OneForAll
	// RestForOne stops the children started after the one that exited
	// (in reverse start order) and restarts it and them (in start order).
	RestForOne
	// SimpleOneForOne supervises dynamically added instances of one
	// child template (StartChild); only the exited child is restarted.
	SimpleOneForOne
)

var strategyNames = [...]string{"one_for_one", "one_for_all", "rest_for_one", "simple_one_for_one"}

// String returns OTP's name of the strategy, e.g. "one_for_all".
func (s Strategy) String() string {
	if int(s) < len(strategyNames) {
		return strategyNames[s]
	}
	return "unknown"
}

// Restart says when a child is restarted (OTP's restart types).
type Restart uint8

// The restart types.
const (
	// Permanent children are always restarted.
	Permanent Restart = iota
	// Transient children are restarted only when they exit abnormally
	// (a reason for which IsNormal is false).
	Transient
	// Temporary children are never restarted, not even when a sibling's
	// exit makes the supervisor stop them.
	Temporary
)

var restartNames = [...]string{"permanent", "transient", "temporary"}

// String returns OTP's name of the restart type, e.g. "transient".
func (r Restart) String() string {
	if int(r) < len(restartNames) {
		return restartNames[r]
	}
	return "unknown"
}

// AutoShutdown says whether a supervisor shuts itself down when its
// significant children exit (OTP's auto_shutdown flag).
type AutoShutdown uint8

// The auto-shutdown settings.
const (
	// NoAutoShutdown: significant children are not allowed (OTP never).
	NoAutoShutdown AutoShutdown = iota
	// AnySignificant: the supervisor stops its other children and exits
	// with ReasonShutdown as soon as a significant child exits by itself
	// and is not restarted (a transient child exiting normally, a
	// temporary child exiting for any reason).
	AnySignificant
	// AllSignificant: the same, once the last running significant child
	// has exited so.
	AllSignificant
)

var autoShutdownNames = [...]string{"never", "any_significant", "all_significant"}

// String returns OTP's name of the setting, e.g. "any_significant".
func (a AutoShutdown) String() string {
	if int(a) < len(autoShutdownNames) {
		return autoShutdownNames[a]
	}
	return "unknown"
}

// Shutdown values for ChildSpec.Shutdown besides a positive timeout.
const (
	// BrutalKill kills the child at once (ReasonKill).
	BrutalKill time.Duration = -1
	// Infinity waits for the child without a limit (the default for a
	// child that is a supervisor).
	Infinity time.Duration = math.MaxInt64
)

// DefaultShutdown is the shutdown timeout of a worker whose ChildSpec
// leaves Shutdown zero (OTP's 5000 ms).
const DefaultShutdown = 5 * time.Second

// Errors of the supervisor API. Use errors.Is to test for them.
var (
	// ErrNotSupervisor means the PID given as a supervisor is not one.
	ErrNotSupervisor = errors.New("actor: not a supervisor")
	// ErrNotFound means the supervisor has no child by that name or PID.
	ErrNotFound = errors.New("actor: no such child")
	// ErrRunning means the child is running (RestartChild, DeleteChild).
	ErrRunning = errors.New("actor: child is running")
	// ErrRestarting means the supervisor is retrying to restart the
	// child (RestartChild, DeleteChild).
	ErrRestarting = errors.New("actor: child is restarting")
	// ErrAlreadyStarted means StartChild was given the spec of a child
	// that runs; StartChild returns its PID with the error.
	ErrAlreadyStarted = errors.New("actor: child already started")
	// ErrAlreadyPresent means StartChild was given the name of a child
	// that is stopped (RestartChild starts it).
	ErrAlreadyPresent = errors.New("actor: child already present")
	// ErrSimpleOneForOne means the operation names a child, which a
	// simple_one_for_one supervisor's children do not have.
	ErrSimpleOneForOne = errors.New("actor: not allowed for simple_one_for_one")
)

// ChildSpec describes one child of a supervisor.
type ChildSpec struct {
	// Name identifies the child in its supervisor and in crash reports.
	// Names must be unique among a supervisor's static children.
	Name string
	// New makes the child's behaviour for each (re)start. arg is Arg for
	// static children and StartChild's argument under SimpleOneForOne.
	New func(arg any) Behavior
	// Arg is passed to New for static children.
	Arg any
	// Supervisor, when set instead of New, makes the child a supervisor
	// with this spec (a nested tree).
	Supervisor *SupervisorSpec
	// Options for the child process; Link is implied.
	Options Options
	// Restart is when the child is restarted; the zero value is Permanent.
	Restart Restart
	// Shutdown is how long the supervisor waits for the child to stop
	// after ReasonShutdown before killing it; BrutalKill kills at once,
	// Infinity waits for ever. Zero means DefaultShutdown for a worker and
	// Infinity for a supervisor. A child still busy in a callback when it
	// is killed is abandoned (see docs/actors.md).
	Shutdown time.Duration
	// Significant marks a transient or temporary child whose exit can shut
	// the supervisor down (see AutoShutdown). It needs an AutoShutdown
	// other than NoAutoShutdown and is not allowed for permanent children.
	Significant bool
}

// SupervisorSpec describes a supervisor.
type SupervisorSpec struct {
	// Name of the supervisor; it is the last element of its path in crash
	// reports ("root/api/workers").
	Name string
	// Strategy is the restart strategy; the zero value is OneForOne.
	Strategy Strategy
	// Intensity and Period: if more than Intensity restarts happen within
	// Period, the supervisor stops all its children and exits with
	// ReasonShutdown, escalating to its own supervisor. Zero values mean
	// OTP's defaults, 1 restart in 5 seconds; a negative Intensity allows
	// no restart at all.
	Intensity int
	Period    time.Duration
	// AutoShutdown says whether significant children's exits shut the
	// supervisor down; the zero value is NoAutoShutdown.
	AutoShutdown AutoShutdown
	// Children are started in order and stopped in reverse order. Under
	// SimpleOneForOne, Children holds exactly one template and no child
	// is started until StartChild.
	Children []ChildSpec
	// Init, when set, is the supervisor's init callback (OTP's
	// Module:init/1). It runs in the supervisor process, before any child
	// starts, each time the supervisor starts (also when its own
	// supervisor restarts it), with a copy of this spec that it may change:
	// flags, children, anything but Init. The spec is validated after it
	// returns. Returning ErrIgnore makes the supervisor not start (a child
	// supervisor then stays stopped); any other error fails the start.
	Init func(ctx *Context, spec *SupervisorSpec) error
}

// ChildInfo describes a running or stopped child (OTP which_children).
type ChildInfo struct {
	Name       string
	PID        PID // zero when the child is not running
	Restart    Restart
	Supervisor bool
	Restarts   int  // how many times this child has been restarted
	Restarting bool // a restart failed and the supervisor is retrying it
}

// ChildCounts are a supervisor's child counts (OTP count_children).
type ChildCounts struct {
	Specs       int // child specifications (1 under SimpleOneForOne)
	Active      int // children running
	Supervisors int // children that are supervisors, running or not
	Workers     int // children that are workers, running or not
}

// StartSupervisor starts a top-level supervisor and its children. It
// returns an error if the spec is invalid or a child fails to start (the
// children already started are then stopped), and an error wrapping
// ErrIgnore if the spec's Init returns ErrIgnore.
func (s *System) StartSupervisor(spec SupervisorSpec) (PID, error) {
	if err := spec.validate(); err != nil {
		return PID{}, err
	}
	p, err := s.spawn(newSupervisor(spec, spec.Name, nil), Options{TrapExit: true}, spawnArgs{top: true, label: spec.Name})
	if err != nil {
		return PID{}, err
	}
	return PID{p}, nil
}

// StartSupervisor starts a supervisor linked to this process.
func (c *Context) StartSupervisor(spec SupervisorSpec) (PID, error) {
	if err := spec.validate(); err != nil {
		return PID{}, err
	}
	p, err := c.p.sys.spawn(newSupervisor(spec, spec.Name, c.p), Options{TrapExit: true, Link: true}, spawnArgs{parent: c.p, label: spec.Name})
	if err != nil {
		return PID{}, err
	}
	return PID{p}, nil
}

// validate checks a spec before its supervisor is spawned. A spec with an
// Init callback is checked after Init has run.
func (spec *SupervisorSpec) validate() error {
	if spec.Init != nil {
		return nil
	}
	return spec.check()
}

func (spec *SupervisorSpec) check() error {
	if spec.Strategy > SimpleOneForOne {
		return fmt.Errorf("actor: supervisor %q: unknown strategy %d", spec.Name, spec.Strategy)
	}
	if spec.Period < 0 {
		return fmt.Errorf("actor: supervisor %q: negative period", spec.Name)
	}
	if spec.AutoShutdown > AllSignificant {
		return fmt.Errorf("actor: supervisor %q: unknown auto shutdown %d", spec.Name, spec.AutoShutdown)
	}
	if spec.Strategy == SimpleOneForOne && len(spec.Children) != 1 {
		return fmt.Errorf("actor: supervisor %q: simple_one_for_one needs exactly one child template, got %d", spec.Name, len(spec.Children))
	}
	seen := make(map[string]bool, len(spec.Children))
	for i := range spec.Children {
		c := &spec.Children[i]
		if c.Name == "" {
			return fmt.Errorf("actor: supervisor %q: child %d has no name", spec.Name, i)
		}
		if seen[c.Name] {
			return fmt.Errorf("actor: supervisor %q: duplicate child name %q", spec.Name, c.Name)
		}
		seen[c.Name] = true
		if err := spec.checkChild(c); err != nil {
			return err
		}
	}
	return nil
}

func (spec *SupervisorSpec) checkChild(c *ChildSpec) error {
	if c.Name == "" {
		return fmt.Errorf("actor: supervisor %q: child has no name", spec.Name)
	}
	if (c.New == nil) == (c.Supervisor == nil) {
		return fmt.Errorf("actor: supervisor %q: child %q needs exactly one of New and Supervisor", spec.Name, c.Name)
	}
	if c.Restart > Temporary {
		return fmt.Errorf("actor: supervisor %q: child %q: unknown restart type %d", spec.Name, c.Name, c.Restart)
	}
	if c.Shutdown < 0 && c.Shutdown != BrutalKill {
		return fmt.Errorf("actor: supervisor %q: child %q: negative shutdown", spec.Name, c.Name)
	}
	if c.Options.MailboxSize < 0 {
		return fmt.Errorf("actor: supervisor %q: child %q: negative mailbox size", spec.Name, c.Name)
	}
	if c.Significant {
		if c.Restart == Permanent {
			return fmt.Errorf("actor: supervisor %q: child %q: a permanent child cannot be significant", spec.Name, c.Name)
		}
		if spec.AutoShutdown == NoAutoShutdown {
			return fmt.Errorf("actor: supervisor %q: child %q: significant, but the supervisor has no auto shutdown", spec.Name, c.Name)
		}
	}
	if c.Supervisor != nil {
		if err := c.Supervisor.validate(); err != nil {
			return err
		}
	}
	return nil
}

// Supervisor requests, sent with Ask.
type (
	startChildReq     struct{ arg any }
	terminateChildReq struct {
		name string
		pid  *process // by PID when set
	}
	restartChildReq  struct{ name string }
	deleteChildReq   struct{ name string }
	getChildSpecReq  struct{ name string }
	countChildrenReq struct{}
	childrenReq      struct{}
	adoptReq         struct{ c *child }
	retryRestart     struct{ c *child }
)

type pidReply struct {
	pid PID
	err error
}

type specReply struct {
	spec ChildSpec
	err  error
}

// supervisorOf checks that sup is a supervisor of this package.
func supervisorOf(sup PID) (*supervisor, error) {
	if sup.p == nil {
		return nil, ErrNoProcess
	}
	s, ok := sup.p.behavior.(*supervisor)
	if !ok {
		return nil, fmt.Errorf("%v: %w", sup, ErrNotSupervisor)
	}
	return s, nil
}

// askSupervisor sends req to sup and returns the reply.
func askSupervisor(ctx context.Context, sup PID, req any) (any, error) {
	if _, err := supervisorOf(sup); err != nil {
		return nil, err
	}
	return Ask(ctx, sup, req)
}

// StartChild adds a child to sup (OTP start_child). Under SimpleOneForOne
// the child is made by the template's New(arg). Otherwise arg must be a
// ChildSpec (or *ChildSpec), which is validated and kept: StartChild fails
// with ErrAlreadyStarted (and the running child's PID) or ErrAlreadyPresent
// if the supervisor has a child by that name. If the child's Init returns
// ErrIgnore, StartChild returns the zero PID and no error; the spec is kept
// (stopped) unless the child is temporary or the supervisor is
// SimpleOneForOne. If the child fails to start, its spec is not kept.
func StartChild(ctx context.Context, sup PID, arg any) (PID, error) {
	v, err := askSupervisor(ctx, sup, startChildReq{arg: arg})
	if err != nil {
		return PID{}, fmt.Errorf("actor: start child: %w", err)
	}
	r := v.(pidReply)
	return r.pid, r.err
}

// TerminateChild stops the static child name of sup (OTP terminate_child),
// as the supervisor stops children: ReasonShutdown, then a kill after its
// shutdown timeout. The child is not restarted; its spec is kept (stopped)
// for RestartChild, unless it is temporary. Terminating a stopped child
// succeeds. It fails with ErrNotFound, or ErrSimpleOneForOne (use
// TerminateChildPID).
func TerminateChild(ctx context.Context, sup PID, name string) error {
	v, err := askSupervisor(ctx, sup, terminateChildReq{name: name})
	if err != nil {
		return fmt.Errorf("actor: terminate child %q: %w", name, err)
	}
	return v.(pidReply).err
}

// TerminateChildPID stops the child pid of a SimpleOneForOne supervisor
// and forgets it (OTP terminate_child with a pid). It fails with
// ErrNotFound if pid is not its child (a child that has exited already is
// not found and that is not an error: TerminateChildPID returns nil).
func TerminateChildPID(ctx context.Context, sup PID, pid PID) error {
	if pid.p == nil {
		return fmt.Errorf("actor: terminate child %v: %w", pid, ErrNotFound)
	}
	v, err := askSupervisor(ctx, sup, terminateChildReq{pid: pid.p})
	if err != nil {
		return fmt.Errorf("actor: terminate child %v: %w", pid, err)
	}
	return v.(pidReply).err
}

// RestartChild starts the stopped static child name again (OTP
// restart_child); it does not count toward the restart intensity. It fails
// with ErrNotFound, ErrRunning, ErrRestarting, ErrSimpleOneForOne, or the
// child's start error. If the child's Init returns ErrIgnore, it returns the
// zero PID and no error.
func RestartChild(ctx context.Context, sup PID, name string) (PID, error) {
	v, err := askSupervisor(ctx, sup, restartChildReq{name: name})
	if err != nil {
		return PID{}, fmt.Errorf("actor: restart child %q: %w", name, err)
	}
	r := v.(pidReply)
	return r.pid, r.err
}

// DeleteChild forgets the stopped static child name (OTP delete_child). It
// fails with ErrNotFound, ErrRunning, ErrRestarting or ErrSimpleOneForOne.
func DeleteChild(ctx context.Context, sup PID, name string) error {
	v, err := askSupervisor(ctx, sup, deleteChildReq{name: name})
	if err != nil {
		return fmt.Errorf("actor: delete child %q: %w", name, err)
	}
	return v.(pidReply).err
}

// GetChildSpec returns the spec of child name (OTP get_childspec), with the
// defaults filled in (the effective Shutdown). Under SimpleOneForOne the
// name is the template's. It fails with ErrNotFound.
func GetChildSpec(ctx context.Context, sup PID, name string) (ChildSpec, error) {
	v, err := askSupervisor(ctx, sup, getChildSpecReq{name: name})
	if err != nil {
		return ChildSpec{}, fmt.Errorf("actor: get child spec %q: %w", name, err)
	}
	r := v.(specReply)
	return r.spec, r.err
}

// CountChildren counts sup's children (OTP count_children).
func CountChildren(ctx context.Context, sup PID) (ChildCounts, error) {
	v, err := askSupervisor(ctx, sup, countChildrenReq{})
	if err != nil {
		return ChildCounts{}, fmt.Errorf("actor: count children: %w", err)
	}
	return v.(ChildCounts), nil
}

// SpawnChild starts a child of sup, a SimpleOneForOne supervisor whose
// template is Temporary, without a round trip to the supervisor: the
// template's New(arg) and the child's Init run on the caller's goroutine, the
// child is linked to sup, and sup adopts it asynchronously; from then on it is
// sup's child like one from StartChild (listed by Children, stopped with
// sup). It is StartChild for short-lived workers started at a high rate, one
// process per request, say; it is limited to Temporary children because they
// are never restarted, so an exit that overtakes the adoption loses nothing.
func SpawnChild(sup PID, arg any) (PID, error) {
	s, err := supervisorOf(sup)
	if err != nil {
		return PID{}, fmt.Errorf("actor: spawn child: %w", err)
	}
	if s.spec.Strategy != SimpleOneForOne {
		return PID{}, fmt.Errorf("actor: spawn child: %v is not a simple_one_for_one supervisor", sup)
	}
	if s.tmpl.Restart != Temporary {
		return PID{}, fmt.Errorf("actor: spawn child: supervisor %q: the template is %v, not temporary (use StartChild)", s.path, s.tmpl.Restart)
	}
	if sup.p.gone.Load() {
		return PID{}, fmt.Errorf("actor: spawn child: %w", ErrNoProcess)
	}
	c := &child{spec: s.tmpl, arg: arg}
	if err := s.start(c); err != nil {
		return PID{}, fmt.Errorf("actor: spawn child: supervisor %q: %w", s.path, err)
	}
	pid := PID{c.pid}
	if err := sup.p.send(adoptReq{c: c}); err != nil {
		// The supervisor is gone; the link has ended the child or will.
		return PID{}, fmt.Errorf("actor: spawn child: %w", ErrNoProcess)
	}
	return pid, nil
}

// Children lists a supervisor's children in start order (OTP
// which_children, which lists the newest first).
func Children(ctx context.Context, sup PID) ([]ChildInfo, error) {
	v, err := askSupervisor(ctx, sup, childrenReq{})
	if err != nil {
		return nil, fmt.Errorf("actor: children: %w", err)
	}
	return v.([]ChildInfo), nil
}

type child struct {
	spec       *ChildSpec
	arg        any
	pid        *process // nil when not running
	last       *process // under SimpleOneForOne: the key in dyn while restarting
	restarts   int
	restarting bool
	gone       bool // removed from a SimpleOneForOne supervisor (awaiting compaction)
}

type supervisor struct {
	orig     SupervisorSpec // as given; Init runs on a copy at each start
	spec     SupervisorSpec // in force; set by Init, then read-only
	tmpl     *ChildSpec     // SimpleOneForOne's template
	path     string
	parent   *process
	children []*child
	restarts []time.Time // restart times within the period
	self     *process

	// SimpleOneForOne only: the children by process, so that an exit is
	// found in O(1) among thousands of short-lived children, and how many
	// entries of children are gone (compacted lazily).
	dyn  map[*process]*child
	gone int
}

func newSupervisor(spec SupervisorSpec, path string, parent *process) *supervisor {
	return &supervisor{orig: spec, path: path, parent: parent}
}

var (
	_ Initializer = (*supervisor)(nil)
	_ Terminator  = (*supervisor)(nil)
)

func (s *supervisor) Init(ctx *Context) error {
	s.self = ctx.p
	spec := s.orig
	spec.Children = slices.Clone(spec.Children)
	if spec.Init != nil {
		if err := spec.Init(ctx, &spec); err != nil {
			return err
		}
		spec.Init = s.orig.Init
		if err := spec.check(); err != nil {
			return err
		}
	}
	s.spec = spec
	if spec.Strategy == SimpleOneForOne {
		t := spec.Children[0]
		s.tmpl = &t
		return nil
	}
	for i := range spec.Children {
		cs := spec.Children[i]
		c := &child{spec: &cs, arg: cs.Arg}
		if err := s.start(c); err != nil {
			if errors.Is(err, ErrIgnore) {
				if cs.Restart != Temporary {
					s.children = append(s.children, c) // kept, stopped
				}
				continue
			}
			s.stopAll()
			return fmt.Errorf("actor: supervisor %q: start child %q: %w", s.path, cs.Name, err)
		}
		s.children = append(s.children, c)
	}
	return nil
}

// start spawns c linked to the supervisor. It returns an error wrapping
// ErrIgnore if the child's Init ignored the start.
func (s *supervisor) start(c *child) error {
	sys := s.self.sys
	var b Behavior
	opt := c.spec.Options
	opt.Link = true
	if c.spec.Supervisor != nil {
		b = newSupervisor(*c.spec.Supervisor, s.path+"/"+c.spec.Name, s.self)
		opt.TrapExit = true
	} else {
		b = c.spec.New(c.arg)
		if b == nil {
			return errors.New("actor: child New returned a nil behavior")
		}
	}
	label := opt.Name
	if label == "" {
		label = c.spec.Name
	}
	p, err := sys.spawn(b, opt, spawnArgs{parent: s.self, label: label, sup: &supInfo{path: s.path, restarts: c.restarts}})
	if err != nil {
		return err
	}
	c.pid = p
	return nil
}

func (s *supervisor) Receive(ctx *Context, msg any) {
	switch m := msg.(type) {
	case Exited:
		s.exited(ctx, m)
	case startChildReq:
		ctx.Reply(s.startChild(m.arg))
	case terminateChildReq:
		ctx.Reply(pidReply{err: s.terminateChild(m)})
	case restartChildReq:
		ctx.Reply(s.restartChild(m.name))
	case deleteChildReq:
		ctx.Reply(pidReply{err: s.deleteChild(m.name)})
	case getChildSpecReq:
		ctx.Reply(s.getChildSpec(m.name))
	case countChildrenReq:
		ctx.Reply(s.countChildren())
	case childrenReq:
		ctx.Reply(s.which())
	case adoptReq:
		// A child started by SpawnChild; it may already have exited
		// (its Exited then found no child and was ignored).
		if !m.c.pid.gone.Load() {
			s.addDynamic(m.c)
		}
	case retryRestart:
		if m.c.restarting && !m.c.gone {
			m.c.restarting = false
			s.restart(ctx, m.c)
		}
	}
}

func (s *supervisor) Terminate(ctx *Context, reason error) {
	s.stopAll()
}

// find returns the static child name and its index.
func (s *supervisor) find(name string) (*child, int) {
	for i, c := range s.children {
		if c.spec.Name == name {
			return c, i
		}
	}
	return nil, -1
}

func (s *supervisor) startChild(arg any) pidReply {
	if s.spec.Strategy == SimpleOneForOne {
		c := &child{spec: s.tmpl, arg: arg}
		if err := s.start(c); err != nil {
			if errors.Is(err, ErrIgnore) {
				return pidReply{}
			}
			return pidReply{err: fmt.Errorf("actor: supervisor %q: start child: %w", s.path, err)}
		}
		s.addDynamic(c)
		return pidReply{pid: PID{c.pid}}
	}
	var cs ChildSpec
	switch a := arg.(type) {
	case ChildSpec:
		cs = a
	case *ChildSpec:
		if a == nil {
			return pidReply{err: fmt.Errorf("actor: supervisor %q: start child: nil child spec", s.path)}
		}
		cs = *a
	default:
		return pidReply{err: fmt.Errorf("actor: supervisor %q: start child: want a ChildSpec, got %T", s.path, arg)}
	}
	if err := s.spec.checkChild(&cs); err != nil {
		return pidReply{err: err}
	}
	if old, _ := s.find(cs.Name); old != nil {
		if old.pid != nil {
			return pidReply{pid: PID{old.pid}, err: fmt.Errorf("actor: supervisor %q: start child %q: %w", s.path, cs.Name, ErrAlreadyStarted)}
		}
		return pidReply{err: fmt.Errorf("actor: supervisor %q: start child %q: %w", s.path, cs.Name, ErrAlreadyPresent)}
	}
	c := &child{spec: &cs, arg: cs.Arg}
	if err := s.start(c); err != nil {
		if errors.Is(err, ErrIgnore) {
			if cs.Restart != Temporary {
				s.children = append(s.children, c)
			}
			return pidReply{}
		}
		return pidReply{err: fmt.Errorf("actor: supervisor %q: start child %q: %w", s.path, cs.Name, err)}
	}
	s.children = append(s.children, c)
	return pidReply{pid: PID{c.pid}}
}

func (s *supervisor) terminateChild(m terminateChildReq) error {
	if m.pid != nil {
		if s.spec.Strategy != SimpleOneForOne {
			return fmt.Errorf("actor: supervisor %q: terminate child %v: %w", s.path, PID{m.pid}, ErrNotFound)
		}
		c := s.dyn[m.pid]
		if c == nil {
			if m.pid.gone.Load() && m.pid.parent() == s.self {
				return nil // an exited child of ours: nothing to do
			}
			return fmt.Errorf("actor: supervisor %q: terminate child %v: %w", s.path, PID{m.pid}, ErrNotFound)
		}
		delete(s.dyn, m.pid)
		if c.pid != nil {
			s.stopChild(c)
		}
		c.restarting = false
		s.dropDynamic(c)
		return nil
	}
	if s.spec.Strategy == SimpleOneForOne {
		return fmt.Errorf("actor: supervisor %q: terminate child %q: %w", s.path, m.name, ErrSimpleOneForOne)
	}
	c, i := s.find(m.name)
	if c == nil {
		return fmt.Errorf("actor: supervisor %q: terminate child %q: %w", s.path, m.name, ErrNotFound)
	}
	if c.pid != nil {
		s.stopChild(c)
	}
	c.restarting = false
	if c.spec.Restart == Temporary {
		s.children = slices.Delete(s.children, i, i+1)
	}
	return nil
}

func (s *supervisor) restartChild(name string) pidReply {
	if s.spec.Strategy == SimpleOneForOne {
		return pidReply{err: fmt.Errorf("actor: supervisor %q: restart child %q: %w", s.path, name, ErrSimpleOneForOne)}
	}
	c, _ := s.find(name)
	switch {
	case c == nil:
		return pidReply{err: fmt.Errorf("actor: supervisor %q: restart child %q: %w", s.path, name, ErrNotFound)}
	case c.pid != nil:
		return pidReply{err: fmt.Errorf("actor: supervisor %q: restart child %q: %w", s.path, name, ErrRunning)}
	case c.restarting:
		return pidReply{err: fmt.Errorf("actor: supervisor %q: restart child %q: %w", s.path, name, ErrRestarting)}
	}
	if err := s.start(c); err != nil {
		if errors.Is(err, ErrIgnore) {
			return pidReply{}
		}
		return pidReply{err: fmt.Errorf("actor: supervisor %q: restart child %q: %w", s.path, name, err)}
	}
	return pidReply{pid: PID{c.pid}}
}

func (s *supervisor) deleteChild(name string) error {
	if s.spec.Strategy == SimpleOneForOne {
		return fmt.Errorf("actor: supervisor %q: delete child %q: %w", s.path, name, ErrSimpleOneForOne)
	}
	c, i := s.find(name)
	switch {
	case c == nil:
		return fmt.Errorf("actor: supervisor %q: delete child %q: %w", s.path, name, ErrNotFound)
	case c.pid != nil:
		return fmt.Errorf("actor: supervisor %q: delete child %q: %w", s.path, name, ErrRunning)
	case c.restarting:
		return fmt.Errorf("actor: supervisor %q: delete child %q: %w", s.path, name, ErrRestarting)
	}
	s.children = slices.Delete(s.children, i, i+1)
	return nil
}

func (s *supervisor) getChildSpec(name string) specReply {
	var cs *ChildSpec
	if s.spec.Strategy == SimpleOneForOne {
		if s.tmpl.Name == name {
			cs = s.tmpl
		}
	} else if c, _ := s.find(name); c != nil {
		cs = c.spec
	}
	if cs == nil {
		return specReply{err: fmt.Errorf("actor: supervisor %q: child %q: %w", s.path, name, ErrNotFound)}
	}
	out := *cs
	out.Shutdown = shutdownOf(cs)
	return specReply{spec: out}
}

func (s *supervisor) countChildren() ChildCounts {
	var n ChildCounts
	for _, c := range s.children {
		if c.gone {
			continue
		}
		if s.spec.Strategy != SimpleOneForOne {
			n.Specs++
		}
		if c.pid != nil {
			n.Active++
		}
		if c.spec.Supervisor != nil {
			n.Supervisors++
		} else {
			n.Workers++
		}
	}
	if s.spec.Strategy == SimpleOneForOne {
		n.Specs = 1
	}
	return n
}

func (s *supervisor) which() []ChildInfo {
	out := make([]ChildInfo, 0, len(s.children)-s.gone)
	for _, c := range s.children {
		if c.gone {
			continue
		}
		ci := ChildInfo{Name: c.spec.Name, Restart: c.spec.Restart, Supervisor: c.spec.Supervisor != nil, Restarts: c.restarts, Restarting: c.restarting}
		if c.pid != nil {
			ci.PID = PID{c.pid}
		}
		out = append(out, ci)
	}
	return out
}

func (s *supervisor) exited(ctx *Context, m Exited) {
	if m.From.p == nil || m.From.p == s.parent {
		ctx.Stop(m.Reason)
		return
	}
	var c *child
	if s.spec.Strategy == SimpleOneForOne {
		c = s.dyn[m.From.p]
		if c == nil || c.pid != m.From.p {
			return // not a child (any more), or not adopted yet
		}
		delete(s.dyn, m.From.p)
		c.last = m.From.p
	} else {
		c, _ = s.findPID(m.From.p)
		if c == nil {
			return // not a child (any more)
		}
	}
	c.pid = nil
	switch {
	case c.spec.Restart == Temporary:
		s.forget(c)
	case c.spec.Restart == Transient && IsNormal(m.Reason):
		if s.spec.Strategy == SimpleOneForOne {
			s.forget(c)
		}
	default:
		s.restart(ctx, c)
		return
	}
	if c.spec.Significant {
		s.autoShutdown(ctx)
	}
}

// findPID returns the static child running as p.
func (s *supervisor) findPID(p *process) (*child, int) {
	for i, c := range s.children {
		if c.pid == p {
			return c, i
		}
	}
	return nil, -1
}

// forget removes an exited child that is not to be restarted.
func (s *supervisor) forget(c *child) {
	if s.spec.Strategy == SimpleOneForOne {
		if c.last != nil && s.dyn[c.last] == c {
			delete(s.dyn, c.last)
		}
		c.last = nil
		s.dropDynamic(c)
		return
	}
	if i := slices.Index(s.children, c); i >= 0 {
		s.children = slices.Delete(s.children, i, i+1)
	}
}

// autoShutdown shuts the supervisor down if its AutoShutdown says so after
// a significant child exited by itself and was not restarted.
func (s *supervisor) autoShutdown(ctx *Context) {
	switch s.spec.AutoShutdown {
	case AnySignificant:
	case AllSignificant:
		for _, c := range s.children {
			if !c.gone && c.spec.Significant && (c.pid != nil || c.restarting) {
				return
			}
		}
	default:
		return
	}
	s.stopAll()
	ctx.Stop(ReasonShutdown)
}

// addDynamic records a running child of a SimpleOneForOne supervisor.
func (s *supervisor) addDynamic(c *child) {
	if s.dyn == nil {
		s.dyn = make(map[*process]*child)
	}
	s.dyn[c.pid] = c
	s.children = append(s.children, c)
}

// dropDynamic forgets a child of a SimpleOneForOne supervisor. The slice
// (kept for start order) is compacted once half of it is gone, so removal
// is O(1) amortised.
func (s *supervisor) dropDynamic(c *child) {
	if c.gone {
		return
	}
	c.gone = true
	s.gone++
	if s.gone < 64 || s.gone*2 < len(s.children) {
		return
	}
	kept := s.children[:0]
	for _, c := range s.children {
		if !c.gone {
			kept = append(kept, c)
		}
	}
	clear(s.children[len(kept):])
	s.children = kept
	s.gone = 0
}

// restart applies the strategy after child c exited abnormally (or is
// permanent), counting one restart toward the intensity.
func (s *supervisor) restart(ctx *Context, c *child) {
	if !s.allowRestart() {
		s.self.sys.log.Error("supervisor reached max restart intensity",
			"supervisor", s.path, "pid", PID{s.self}.String(), "child", c.spec.Name,
			"intensity", s.intensity(), "period", s.period().String())
		s.stopAll()
		ctx.Stop(ReasonShutdown)
		return
	}
	switch s.spec.Strategy {
	case OneForOne:
		s.restartOne(c)
	case SimpleOneForOne:
		old := c.last
		if old != nil && s.dyn[old] == c {
			delete(s.dyn, old)
		}
		c.last = nil
		s.restartOne(c)
		switch {
		case c.pid != nil:
			s.dyn[c.pid] = c
		case c.restarting:
			// Keep it findable by its last PID (TerminateChildPID).
			c.last = old
			if old != nil {
				s.dyn[old] = c
			}
		default:
			s.dropDynamic(c) // ignored its restart
		}
	case OneForAll, RestForOne:
		from := 0
		if s.spec.Strategy == RestForOne {
			from = slices.Index(s.children, c)
		}
		s.restartFrom(from)
	}
}

// restartOne restarts c alone; a failure schedules another try.
func (s *supervisor) restartOne(c *child) {
	c.restarts++
	err := s.start(c)
	switch {
	case err == nil:
		s.self.sys.tree(treeOf(s.path)).restarts.Add(1)
		s.self.sys.events.publish(Event{Kind: Restarted, PID: PID{c.pid}})
	case errors.Is(err, ErrIgnore):
		// Stays stopped, as OTP does when a restart returns ignore.
	default:
		s.retryLater(c, err)
	}
}

// restartFrom stops the running children from index from on (in reverse
// start order) and starts them all again in start order (OneForAll,
// RestForOne). Temporary children stopped here are not restarted. If a
// child fails to start, OneForAll stops those it restarted already; either
// way the failed child is retried later through the mailbox (OTP's
// try_again_restart), restarting the group again.
func (s *supervisor) restartFrom(from int) {
	for j := len(s.children) - 1; j >= from; j-- {
		if s.children[j].pid != nil {
			s.stopChild(s.children[j])
		}
	}
	kept := s.children[:from]
	for _, c := range s.children[from:] {
		if c.spec.Restart != Temporary {
			kept = append(kept, c)
		}
	}
	clear(s.children[len(kept):])
	s.children = kept
	for j := from; j < len(s.children); j++ {
		c := s.children[j]
		c.restarts++
		err := s.start(c)
		switch {
		case err == nil:
			s.self.sys.tree(treeOf(s.path)).restarts.Add(1)
			s.self.sys.events.publish(Event{Kind: Restarted, PID: PID{c.pid}})
		case errors.Is(err, ErrIgnore):
		default:
			if s.spec.Strategy == OneForAll {
				for k := j - 1; k >= from; k-- {
					if s.children[k].pid != nil {
						s.stopChild(s.children[k])
					}
				}
			}
			s.retryLater(c, err)
			return
		}
	}
}

// retryLater marks c restarting and asks the supervisor, through its own
// mailbox, to try again, counting another restart.
func (s *supervisor) retryLater(c *child, err error) {
	s.self.sys.log.Error("supervisor failed to restart child",
		"supervisor", s.path, "child", c.spec.Name, "error", err.Error())
	c.restarting = true
	_ = s.self.send(retryRestart{c: c})
}

func (s *supervisor) intensity() int {
	switch {
	case s.spec.Intensity < 0:
		return 0
	case s.spec.Intensity == 0 && s.spec.Period == 0:
		return 1
	}
	return s.spec.Intensity
}

func (s *supervisor) period() time.Duration {
	if s.spec.Period == 0 {
		return 5 * time.Second
	}
	return s.spec.Period
}

// allowRestart records a restart and reports whether it stays within the
// intensity. The times are in order, so those out of the period are cut
// from the front.
func (s *supervisor) allowRestart() bool {
	now := time.Now()
	cut := now.Add(-s.period())
	i := 0
	for i < len(s.restarts) && !s.restarts[i].After(cut) {
		i++
	}
	if i > 0 {
		s.restarts = append(s.restarts[:0], s.restarts[i:]...)
	}
	s.restarts = append(s.restarts, now)
	return len(s.restarts) <= s.intensity()
}

// stopAll stops every running child: in reverse start order, or under
// SimpleOneForOne all at once (as OTP does), waiting for them together.
func (s *supervisor) stopAll() {
	if s.spec.Strategy == SimpleOneForOne {
		var procs []*process
		for _, c := range s.children {
			if c.pid != nil {
				procs = append(procs, c.pid)
				unlink(s.self, c.pid)
				c.pid = nil
			}
			c.restarting = false
		}
		if len(procs) > 0 {
			s.shutdown(s.tmpl, procs)
		}
		return
	}
	for j := len(s.children) - 1; j >= 0; j-- {
		c := s.children[j]
		if c.pid != nil {
			s.stopChild(c)
		}
		c.restarting = false
	}
}

// stopChild stops c as OTP does: unlink, send shutdown (or kill), wait up
// to the shutdown timeout, then kill.
func (s *supervisor) stopChild(c *child) {
	p := c.pid
	c.pid = nil
	unlink(s.self, p)
	s.shutdown(c.spec, []*process{p})
}

func shutdownOf(spec *ChildSpec) time.Duration {
	if spec.Shutdown != 0 {
		return spec.Shutdown
	}
	if spec.Supervisor != nil {
		return Infinity
	}
	return DefaultShutdown
}

// shutdown stops procs (unlinked children with this spec) together: each
// gets ReasonShutdown from the supervisor, and those left when the
// shutdown timeout ends are killed. A child still busy in a callback then
// is abandoned, so shutdown never waits longer than the timeout (or the
// time its children's own shutdowns take, for a child supervisor).
func (s *supervisor) shutdown(spec *ChildSpec, procs []*process) {
	timeout := shutdownOf(spec)
	dones := make([]<-chan struct{}, len(procs))
	for i, p := range procs {
		dones[i] = p.doneChan()
	}
	if timeout == BrutalKill {
		for i, p := range procs {
			p.kill(s.self)
			<-dones[i]
		}
		return
	}
	for _, p := range procs {
		p.exitSignal(s.self, ReasonShutdown, sigExit)
	}
	if timeout == Infinity {
		for _, d := range dones {
			<-d
		}
		return
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	expired := false
	for i, p := range procs {
		if !expired {
			select {
			case <-dones[i]:
				continue
			case <-t.C:
				expired = true
			}
		}
		select {
		case <-dones[i]:
			continue
		default:
		}
		// OTP reports this as a shutdown_error with reason killed.
		if p.kill(s.self) {
			s.self.sys.log.Error("supervisor abandoned child that overran its shutdown time",
				"supervisor", s.path, "child", spec.Name, "pid", PID{p}.String(), "timeout", timeout.String(),
				"abandoned", true)
		} else {
			s.self.sys.log.Error("supervisor killed child after its shutdown timeout",
				"supervisor", s.path, "child", spec.Name, "pid", PID{p}.String(), "timeout", timeout.String())
		}
		<-dones[i]
	}
}
