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
	// (a reason other than ReasonNormal or ReasonShutdown).
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
	// Infinity for a supervisor.
	Shutdown time.Duration
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
	// Children are started in order and stopped in reverse order. Under
	// SimpleOneForOne, Children holds exactly one template and no child
	// is started until StartChild.
	Children []ChildSpec
}

// ChildInfo describes a running or stopped child (OTP which_children).
type ChildInfo struct {
	Name       string
	PID        PID // zero when the child is not running
	Restart    Restart
	Supervisor bool
	Restarts   int // how many times this child has been restarted
}

// StartSupervisor starts a top-level supervisor and its children. It
// returns an error if the spec is invalid or a child fails to start (the
// children already started are then stopped).
func (s *System) StartSupervisor(spec SupervisorSpec) (PID, error) {
	if err := spec.validate(); err != nil {
		return PID{}, err
	}
	p, err := s.spawn(newSupervisor(spec, spec.Name, nil), Options{TrapExit: true}, nil, true, spec.Name, nil)
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
	p, err := c.p.sys.spawn(newSupervisor(spec, spec.Name, c.p), Options{TrapExit: true, Link: true}, c.p, false, spec.Name, nil)
	if err != nil {
		return PID{}, err
	}
	return PID{p}, nil
}

func (spec *SupervisorSpec) validate() error {
	if spec.Strategy > SimpleOneForOne {
		return fmt.Errorf("actor: supervisor %q: unknown strategy %d", spec.Name, spec.Strategy)
	}
	if spec.Period < 0 {
		return fmt.Errorf("actor: supervisor %q: negative period", spec.Name)
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
		if (c.New == nil) == (c.Supervisor == nil) {
			return fmt.Errorf("actor: supervisor %q: child %q needs exactly one of New and Supervisor", spec.Name, c.Name)
		}
		if c.Restart > Temporary {
			return fmt.Errorf("actor: supervisor %q: child %q: unknown restart type %d", spec.Name, c.Name, c.Restart)
		}
		if c.Shutdown < 0 && c.Shutdown != BrutalKill {
			return fmt.Errorf("actor: supervisor %q: child %q: negative shutdown", spec.Name, c.Name)
		}
		if c.Supervisor != nil {
			if err := c.Supervisor.validate(); err != nil {
				return err
			}
		}
	}
	return nil
}

// Supervisor requests, sent with Ask.
type (
	startChildReq struct{ arg any }
	adoptReq      struct{ c *child }
	childrenReq   struct{}
	retryRestart  struct{ spec *ChildSpec }
)

// StartChild adds a child to a SimpleOneForOne supervisor, made by the
// template's New(arg), and returns its PID.
func StartChild(ctx context.Context, sup PID, arg any) (PID, error) {
	v, err := Ask(ctx, sup, startChildReq{arg: arg})
	if err != nil {
		return PID{}, fmt.Errorf("actor: start child: %w", err)
	}
	switch v := v.(type) {
	case PID:
		return v, nil
	case error:
		return PID{}, v
	}
	return PID{}, fmt.Errorf("actor: start child: %v is not a supervisor", sup)
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
	sp := sup.p
	if sp == nil {
		return PID{}, fmt.Errorf("actor: spawn child: %w", ErrNoProcess)
	}
	s, ok := sp.behavior.(*supervisor)
	if !ok || s.spec.Strategy != SimpleOneForOne {
		return PID{}, fmt.Errorf("actor: spawn child: %v is not a simple_one_for_one supervisor", sup)
	}
	if s.spec.Children[0].Restart != Temporary {
		return PID{}, fmt.Errorf("actor: spawn child: supervisor %q: the template is %v, not temporary (use StartChild)", s.path, s.spec.Children[0].Restart)
	}
	if sp.state.Load() == stateDead {
		return PID{}, fmt.Errorf("actor: spawn child: %w", ErrNoProcess)
	}
	c := &child{spec: &s.spec.Children[0], arg: arg}
	if err := s.start(c); err != nil {
		return PID{}, fmt.Errorf("actor: spawn child: supervisor %q: %w", s.path, err)
	}
	pid := PID{c.pid}
	if err := sp.send(adoptReq{c: c}); err != nil {
		// The supervisor is gone; the link has ended the child or will.
		return PID{}, fmt.Errorf("actor: spawn child: %w", ErrNoProcess)
	}
	return pid, nil
}

// Children lists a supervisor's children in start order (OTP
// which_children).
func Children(ctx context.Context, sup PID) ([]ChildInfo, error) {
	v, err := Ask(ctx, sup, childrenReq{})
	if err != nil {
		return nil, fmt.Errorf("actor: children: %w", err)
	}
	cs, ok := v.([]ChildInfo)
	if !ok {
		return nil, fmt.Errorf("actor: children: %v is not a supervisor", sup)
	}
	return cs, nil
}

type child struct {
	spec     *ChildSpec
	arg      any
	pid      *process
	restarts int
	gone     bool // removed from a SimpleOneForOne supervisor (awaiting compaction)
}

type supervisor struct {
	spec     SupervisorSpec
	path     string
	parent   *process
	children []*child
	restarts []time.Time // restart times within the period
	self     *process

	// SimpleOneForOne only: the running children by process, so that an
	// exit is found in O(1) among thousands of short-lived children, and
	// how many entries of children are gone (compacted lazily).
	dyn  map[*process]*child
	gone int
}

func newSupervisor(spec SupervisorSpec, path string, parent *process) *supervisor {
	return &supervisor{spec: spec, path: path, parent: parent}
}

var (
	_ Initializer = (*supervisor)(nil)
	_ Terminator  = (*supervisor)(nil)
)

func (s *supervisor) Init(ctx *Context) error {
	s.self = ctx.p
	if s.spec.Strategy == SimpleOneForOne {
		return nil
	}
	for i := range s.spec.Children {
		c := &child{spec: &s.spec.Children[i], arg: s.spec.Children[i].Arg}
		if err := s.start(c); err != nil {
			s.stopAll()
			return fmt.Errorf("actor: supervisor %q: start child %q: %w", s.path, c.spec.Name, err)
		}
		s.children = append(s.children, c)
	}
	return nil
}

// start spawns c linked to the supervisor.
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
	p, err := sys.spawn(b, opt, s.self, false, label, &supInfo{path: s.path, restarts: c.restarts})
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
		if s.spec.Strategy != SimpleOneForOne {
			ctx.Reply(fmt.Errorf("actor: supervisor %q: start child: not simple_one_for_one", s.path))
			return
		}
		c := &child{spec: &s.spec.Children[0], arg: m.arg}
		if err := s.start(c); err != nil {
			ctx.Reply(fmt.Errorf("actor: supervisor %q: start child: %w", s.path, err))
			return
		}
		s.addDynamic(c)
		ctx.Reply(PID{c.pid})
	case adoptReq:
		// A child started by SpawnChild; it may already have exited
		// (its Exited then found no child and was ignored).
		if m.c.pid.state.Load() != stateDead {
			s.addDynamic(m.c)
		}
	case childrenReq:
		out := make([]ChildInfo, 0, len(s.children))
		for _, c := range s.children {
			if c.gone {
				continue
			}
			ci := ChildInfo{Name: c.spec.Name, Restart: c.spec.Restart, Supervisor: c.spec.Supervisor != nil, Restarts: c.restarts}
			if c.pid != nil {
				ci.PID = PID{c.pid}
			}
			out = append(out, ci)
		}
		ctx.Reply(out)
	case retryRestart:
		for i, c := range s.children {
			if c.spec == m.spec && c.pid == nil && !c.gone {
				s.restart(ctx, i)
				return
			}
		}
	}
}

func (s *supervisor) Terminate(ctx *Context, reason error) {
	s.stopAll()
}

func (s *supervisor) exited(ctx *Context, m Exited) {
	if m.From.p == nil || m.From.p == s.parent {
		ctx.Stop(m.Reason)
		return
	}
	if s.spec.Strategy == SimpleOneForOne {
		c := s.dyn[m.From.p]
		if c == nil {
			return // not a child (any more), or not adopted yet
		}
		delete(s.dyn, m.From.p)
		c.pid = nil
		if c.spec.Restart == Temporary || c.spec.Restart == Transient && IsNormal(m.Reason) {
			s.dropDynamic(c)
			return
		}
		s.restart(ctx, slices.Index(s.children, c))
		return
	}
	idx := -1
	for i, c := range s.children {
		if c.pid == m.From.p {
			idx = i
			break
		}
	}
	if idx < 0 {
		return // not a child (any more)
	}
	c := s.children[idx]
	c.pid = nil
	switch {
	case c.spec.Restart == Temporary:
		s.children = append(s.children[:idx], s.children[idx+1:]...)
		return
	case c.spec.Restart == Transient && IsNormal(m.Reason):
		return
	}
	s.restart(ctx, idx)
}

// addDynamic records a running child of a SimpleOneForOne supervisor.
func (s *supervisor) addDynamic(c *child) {
	if s.dyn == nil {
		s.dyn = make(map[*process]*child)
	}
	s.dyn[c.pid] = c
	s.children = append(s.children, c)
}

// dropDynamic forgets an exited child of a SimpleOneForOne supervisor. The
// slice (kept for start order) is compacted once half of it is gone, so
// removal is O(1) amortised.
func (s *supervisor) dropDynamic(c *child) {
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

// restart applies the strategy after child i exited abnormally (or is
// permanent), counting one restart toward the intensity.
func (s *supervisor) restart(ctx *Context, i int) {
	if !s.allowRestart() {
		s.self.sys.log.Error("supervisor reached max restart intensity",
			"supervisor", s.path, "pid", PID{s.self}.String(), "child", s.children[i].spec.Name,
			"intensity", s.intensity(), "period", s.period().String())
		s.stopAll()
		ctx.Stop(ReasonShutdown)
		return
	}
	var todo []int // children to (re)start, in order
	switch s.spec.Strategy {
	case OneForOne, SimpleOneForOne:
		todo = []int{i}
	case OneForAll, RestForOne:
		from := 0
		if s.spec.Strategy == RestForOne {
			from = i
		}
		for j := len(s.children) - 1; j >= from; j-- {
			if s.children[j].pid != nil {
				s.stopChild(s.children[j])
			}
		}
		// Temporary children stopped here are not restarted.
		kept := s.children[:from]
		for _, c := range s.children[from:] {
			if c.spec.Restart != Temporary {
				kept = append(kept, c)
			}
		}
		s.children = kept
		for j := from; j < len(s.children); j++ {
			todo = append(todo, j)
		}
	}
	for _, j := range todo {
		c := s.children[j]
		c.restarts++
		if err := s.start(c); err != nil {
			s.self.sys.log.Error("supervisor failed to restart child",
				"supervisor", s.path, "child", c.spec.Name, "error", err.Error())
			// Try again through the mailbox, counting another restart
			// (OTP's try_again_restart).
			_ = s.self.send(retryRestart{spec: c.spec})
			return
		}
		if s.spec.Strategy == SimpleOneForOne {
			s.dyn[c.pid] = c
		}
		s.self.sys.events.publish(Event{Kind: Restarted, PID: PID{c.pid}})
	}
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
// intensity.
func (s *supervisor) allowRestart() bool {
	now := time.Now()
	cut := now.Add(-s.period())
	kept := s.restarts[:0]
	for _, t := range s.restarts {
		if t.After(cut) {
			kept = append(kept, t)
		}
	}
	s.restarts = append(kept, now)
	return len(s.restarts) <= s.intensity()
}

// stopAll stops every running child in reverse start order.
func (s *supervisor) stopAll() {
	for j := len(s.children) - 1; j >= 0; j-- {
		if c := s.children[j]; c.pid != nil {
			s.stopChild(c)
		}
	}
}

// stopChild stops c as OTP does: unlink, send shutdown (or kill), wait up
// to the shutdown timeout, then kill.
func (s *supervisor) stopChild(c *child) {
	p := c.pid
	c.pid = nil
	unlink(s.self, p)
	done := p.doneChan()
	timeout := c.spec.Shutdown
	if timeout == 0 {
		timeout = DefaultShutdown
		if c.spec.Supervisor != nil {
			timeout = Infinity
		}
	}
	if timeout == BrutalKill {
		p.signal(sysMsg{kind: sigExit, from: s.self, reason: ReasonKill})
		<-done
		return
	}
	p.signal(sysMsg{kind: sigExit, from: s.self, reason: ReasonShutdown})
	if timeout == Infinity {
		<-done
		return
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		// OTP reports this as a shutdown_error with reason killed.
		s.self.sys.log.Error("supervisor killed child after its shutdown timeout",
			"supervisor", s.path, "child", c.spec.Name, "pid", PID{p}.String(), "timeout", timeout.String())
		p.signal(sysMsg{kind: sigExit, from: s.self, reason: ReasonKill})
		<-done
	}
}
