package actor_test

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
)

// Helpers shared by the otp_*_test.go files, which translate cases of
// Erlang/OTP's own test suites (lib/stdlib/test/supervisor_SUITE.erl and
// erts/emulator/test/{process,monitor,erl_link,timer_bif}_SUITE.erl). Each
// test is named after its OTP case and quotes what the case checks. Where
// troupe differs from OTP on purpose, the test says so; docs/actors.md
// lists the differences.

// errDied is the exit reason of an otpWorker told to "die" (OTP's died).
var errDied = errors.New("died")

// errStart is the error of a start that fails.
var errStart = errors.New("start failed")

// otpWorker plays supervisor_1 of supervisor_SUITE: "stop" makes it exit
// normally, "die" exit with errDied, "sleep" block until block is closed;
// init, when set, decides what its Init returns.
type otpWorker struct {
	init  func(ctx *actor.Context) error
	block chan struct{}
}

func (w *otpWorker) Init(ctx *actor.Context) error {
	if w.init != nil {
		return w.init(ctx)
	}
	return nil
}

func (w *otpWorker) Receive(ctx *actor.Context, msg any) {
	switch msg {
	case "stop":
		ctx.Stop(nil)
	case "die":
		ctx.Stop(errDied)
	case "sleep":
		<-w.block
	case "ping":
		ctx.Reply("pong")
	}
}

// newWorker makes plain otpWorkers.
func newWorker(any) actor.Behavior { return &otpWorker{} }

// failingRestarts plays supervisor_1:start_child(error): the first start
// succeeds, every later one fails.
func failingRestarts() func(any) actor.Behavior {
	var n atomic.Int32
	return func(any) actor.Behavior {
		if n.Add(1) == 1 {
			return &otpWorker{}
		}
		return &otpWorker{init: func(*actor.Context) error { return errStart }}
	}
}

// ignoring makes workers whose Init returns ErrIgnore.
func ignoring(any) actor.Behavior {
	return &otpWorker{init: func(*actor.Context) error { return actor.ErrIgnore }}
}

// spec is {Name, {supervisor_1, start_child, []}, Restart, 1000, worker, []}.
func spec(name string, restart actor.Restart) actor.ChildSpec {
	return actor.ChildSpec{Name: name, New: newWorker, Restart: restart, Shutdown: time.Second}
}

// startSup is OTP's start_link({ok, {{Strategy, Intensity, Period}, Children}}).
func startSup(t *testing.T, sys *actor.System, strategy actor.Strategy, intensity int, children ...actor.ChildSpec) actor.PID {
	t.Helper()
	sup, err := sys.StartSupervisor(actor.SupervisorSpec{Name: "sup_test", Strategy: strategy, Intensity: intensity, Period: time.Hour, Children: children})
	if err != nil {
		t.Fatal(err)
	}
	return sup
}

// startChild is supervisor:start_child returning {ok, Pid}.
func startChild(t *testing.T, sup actor.PID, arg any) actor.PID {
	t.Helper()
	pid, err := actor.StartChild(ctxT(t), sup, arg)
	if err != nil {
		t.Fatalf("start child: %v", err)
	}
	return pid
}

// counts is get_child_counts: [specs, active, supervisors, workers].
func counts(t *testing.T, sup actor.PID) [4]int {
	t.Helper()
	c, err := actor.CountChildren(ctxT(t), sup)
	if err != nil {
		t.Fatalf("count children: %v", err)
	}
	return [4]int{c.Specs, c.Active, c.Supervisors, c.Workers}
}

// which is which_children, rendered as "name" with ":undefined" for a
// stopped child and ":restarting" for a restarting one, in start order
// (OTP lists the newest child first).
func which(t *testing.T, sup actor.PID) []string {
	t.Helper()
	cs, err := actor.Children(ctxT(t), sup)
	if err != nil {
		t.Fatalf("which children: %v", err)
	}
	out := []string{}
	for _, c := range cs {
		switch {
		case c.Restarting:
			out = append(out, c.Name+":restarting")
		case c.PID.IsZero():
			out = append(out, c.Name+":undefined")
		case !c.PID.Alive():
			out = append(out, c.Name+":DEAD "+c.PID.String())
		default:
			out = append(out, c.Name)
		}
	}
	return out
}

// childPID returns the PID of the child name.
func childPID(t *testing.T, sup actor.PID, name string) actor.PID {
	t.Helper()
	cs, err := actor.Children(ctxT(t), sup)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Name == name {
			return c.PID
		}
	}
	t.Fatalf("no child %q", name)
	return actor.PID{}
}

// pids returns the PIDs of sup's children in start order.
func pids(t *testing.T, sup actor.PID) []actor.PID {
	t.Helper()
	cs, err := actor.Children(ctxT(t), sup)
	if err != nil {
		t.Fatal(err)
	}
	var out []actor.PID
	for _, c := range cs {
		out = append(out, c.PID)
	}
	return out
}

// terminate is supervisor_SUITE's terminate(Sup, ChildPid, Id, How): it
// monitors the child, makes it exit, and waits for the Down with the reason
// How implies; the caller then queries the supervisor at once, as the OTP
// cases do.
func terminate(t *testing.T, sys *actor.System, pid actor.PID, how string) {
	t.Helper()
	down := watch(t, sys, pid)
	var want error
	switch how {
	case "normal":
		_ = actor.Send(pid, "stop")
		want = actor.ReasonNormal
	case "abnormal":
		_ = actor.Send(pid, "die")
		want = errDied
	case "shutdown":
		actor.Exit(pid, actor.ReasonShutdown)
		want = actor.ReasonShutdown
	case "kill":
		actor.Exit(pid, actor.ReasonKill)
		want = actor.ReasonKilled
	default:
		t.Fatalf("terminate: unknown how %q", how)
	}
	if got := waitDown(t, down); got != want {
		t.Fatalf("terminate %v (%s): got reason %v, want %v", pid, how, got, want)
	}
}

// exitWith is terminate with an exit signal carrying reason.
func exitWith(t *testing.T, sys *actor.System, pid actor.PID, reason error) {
	t.Helper()
	down := watch(t, sys, pid)
	actor.Exit(pid, reason)
	if got := waitDown(t, down); got != reason {
		t.Fatalf("exit %v: got reason %v, want %v", pid, got, reason)
	}
}

// probe plays the Erlang test process (and erl_link_SUITE's test_proc): it
// runs closures sent to it, inside the process, and forwards every other
// message to msgs in the order it handles them.
type probe struct {
	pid  actor.PID
	msgs chan any
}

type probeCall struct{ f func(ctx *actor.Context) any }

type probeMarker struct{ n uint64 }

var markers atomic.Uint64

func (p *probe) Receive(ctx *actor.Context, msg any) {
	if c, ok := msg.(probeCall); ok {
		ctx.Reply(c.f(ctx))
		return
	}
	p.msgs <- msg
}

// newProbe spawns a probe.
func newProbe(t *testing.T, sys *actor.System, opt actor.Options) *probe {
	t.Helper()
	p := &probe{msgs: make(chan any, 10000)}
	p.pid = spawn(t, sys, p, opt)
	return p
}

// call runs f in the probe's process and returns its result (tp_call).
func (p *probe) call(t testing.TB, f func(ctx *actor.Context) any) any {
	t.Helper()
	v, err := actor.Ask(ctxT(t), p.pid, probeCall{f})
	if err != nil {
		t.Fatalf("probe call: %v", err)
	}
	return v
}

// cast runs f in the probe's process without waiting (tp_cast).
func (p *probe) cast(f func(ctx *actor.Context) any) {
	_ = actor.Send(p.pid, probeCall{f})
}

// recv returns the next message the probe handled.
func (p *probe) recv(t testing.TB) any {
	t.Helper()
	return recv(t, p.msgs)
}

// queued returns the messages in the probe's mailbox now, in order (what
// an Erlang receive ... after 0 loop would see): a marker the probe sends
// itself goes behind everything already queued.
func (p *probe) queued(t testing.TB) []any {
	t.Helper()
	m := probeMarker{markers.Add(1)}
	p.call(t, func(ctx *actor.Context) any { return actor.Send(ctx.Self(), m) })
	var out []any
	for {
		v := p.recv(t)
		if v == m {
			return out
		}
		out = append(out, v)
	}
}

// expectNoMsg fails if the probe has anything queued (expect_no_msg).
func (p *probe) expectNoMsg(t testing.TB) {
	t.Helper()
	if q := p.queued(t); len(q) != 0 {
		t.Errorf("unexpected messages: %v", q)
	}
}

// expectDown waits for the next message and checks it is the Down of ref.
func (p *probe) expectDown(t testing.TB, ref actor.Ref, pid actor.PID, reason error) actor.Down {
	t.Helper()
	m := p.recv(t)
	d, ok := m.(actor.Down)
	if !ok || d.Ref != ref || d.PID != pid || (reason != nil && !errors.Is(d.Reason, reason)) {
		t.Fatalf("got %v, want Down %v of %v with %v", m, ref, pid, reason)
	}
	return d
}

// expectExit waits for the next message and checks it is an Exited.
func (p *probe) expectExit(t testing.TB, from actor.PID, reason error) {
	t.Helper()
	m := p.recv(t)
	e, ok := m.(actor.Exited)
	if !ok || e.From != from || (reason != nil && e.Reason != reason) {
		t.Fatalf("got %v, want Exited from %v with %v", m, from, reason)
	}
}

// spawnLink spawns b linked to the probe (spawn_link from the test
// process) and returns its PID.
func (p *probe) spawnLink(t testing.TB, b actor.Behavior) actor.PID {
	t.Helper()
	v := p.call(t, func(ctx *actor.Context) any {
		pid, err := ctx.Spawn(b, actor.Options{Link: true})
		if err != nil {
			return err
		}
		return pid
	})
	pid, ok := v.(actor.PID)
	if !ok {
		t.Fatalf("spawn_link: %v", v)
	}
	return pid
}

// funProc runs f on its first message and then behaves as an otpWorker:
// OTP's fun_spawn(fun() -> ... end) processes.
type funProc struct {
	otpWorker
	f func(ctx *actor.Context)
}

func (b *funProc) Receive(ctx *actor.Context, msg any) {
	if msg == "go" && b.f != nil {
		b.f(ctx)
		return
	}
	b.otpWorker.Receive(ctx, msg)
}
