package actor_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/troupe-go/troupe/actor"
)

// The expectations below follow the OTP supervisor manual
// (https://www.erlang.org/doc/apps/stdlib/supervisor.html):
//   - one_for_one: if a child terminates and is to be restarted, only that
//     child is affected;
//   - one_for_all: all other children are terminated and then all are
//     restarted;
//   - rest_for_one: the children after the terminated one in start order
//     are terminated, then it and they are restarted;
//   - permanent children are always restarted; transient ones only after
//     an abnormal exit (not normal, shutdown); temporary ones never, not
//     even when a sibling's death makes the supervisor terminate them;
//   - children start in order and are terminated in reverse order.

// tree starts a supervisor over workers a, b, c whose starts are reported
// on the returned channel.
func tree(t *testing.T, sys *actor.System, strategy actor.Strategy, restarts map[string]actor.Restart) (actor.PID, chan string) {
	t.Helper()
	started := make(chan string, 100)
	spec := actor.SupervisorSpec{Name: "sup", Strategy: strategy, Intensity: 10, Period: time.Hour}
	for _, name := range []string{"a", "b", "c"} {
		spec.Children = append(spec.Children, actor.ChildSpec{
			Name:    name,
			New:     func(any) actor.Behavior { return &worker{name: name, started: started} },
			Restart: restarts[name],
			Options: actor.Options{Name: name},
		})
	}
	sup, err := sys.StartSupervisor(spec)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := drain(started), []string{"a", "b", "c"}; !cmp.Equal(got, want) {
		t.Fatalf("start order: got %v, want %v", got, want)
	}
	return sup, started
}

func drain(ch chan string) []string {
	var out []string
	for {
		select {
		case s := <-ch:
			out = append(out, s)
		default:
			return out
		}
	}
}

// settle returns the supervisor's children once it has handled every exit
// signal sent to it before the call. The first Children call is queued
// behind the exit signal, which becomes an Exited message queued behind
// that call; the second is queued behind the Exited message.
func settle(t *testing.T, sup actor.PID) []actor.ChildInfo {
	t.Helper()
	if _, err := actor.Children(ctxT(t), sup); err != nil {
		t.Fatal(err)
	}
	cs, err := actor.Children(ctxT(t), sup)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// summary renders children as "name" (running) or "name-" (not running).
func summary(cs []actor.ChildInfo) []string {
	out := []string{}
	for _, c := range cs {
		if c.PID.IsZero() {
			out = append(out, c.Name+"-")
		} else {
			out = append(out, c.Name)
		}
	}
	return out
}

func TestSupervisorStrategies(t *testing.T) {
	var (
		crash    error // nil: the worker panics
		boom     = errors.New("boom")
		normal   = actor.ReasonNormal
		shutdown = actor.ReasonShutdown
		P, T, Tm = actor.Permanent, actor.Transient, actor.Temporary
	)
	type strategyCase struct {
		strategy  actor.Strategy
		restarted []string // restarted after b exits, in start order
		children  []string
	}
	restartB := func(s actor.Strategy) strategyCase {
		switch s {
		case actor.OneForAll:
			return strategyCase{s, []string{"a", "b", "c"}, []string{"a", "b", "c"}}
		case actor.RestForOne:
			return strategyCase{s, []string{"b", "c"}, []string{"a", "b", "c"}}
		}
		return strategyCase{s, []string{"b"}, []string{"a", "b", "c"}}
	}
	strategies := []actor.Strategy{actor.OneForOne, actor.OneForAll, actor.RestForOne}
	tests := []struct {
		name     string
		restarts map[string]actor.Restart
		reason   error
		want     func(actor.Strategy) strategyCase
	}{
		{"permanent crashes", map[string]actor.Restart{"b": P}, crash, restartB},
		{"permanent exits with error", map[string]actor.Restart{"b": P}, boom, restartB},
		{"permanent exits normally", map[string]actor.Restart{"b": P}, normal, restartB},
		{"permanent exits shutdown", map[string]actor.Restart{"b": P}, shutdown, restartB},
		{"transient crashes", map[string]actor.Restart{"b": T}, crash, restartB},
		{"transient exits with error", map[string]actor.Restart{"b": T}, boom, restartB},
		{"transient exits normally", map[string]actor.Restart{"b": T}, normal, func(s actor.Strategy) strategyCase {
			return strategyCase{s, nil, []string{"a", "b-", "c"}}
		}},
		{"transient exits shutdown", map[string]actor.Restart{"b": T}, shutdown, func(s actor.Strategy) strategyCase {
			return strategyCase{s, nil, []string{"a", "b-", "c"}}
		}},
		{"temporary crashes", map[string]actor.Restart{"b": Tm}, crash, func(s actor.Strategy) strategyCase {
			return strategyCase{s, nil, []string{"a", "c"}}
		}},
		{"temporary exits normally", map[string]actor.Restart{"b": Tm}, normal, func(s actor.Strategy) strategyCase {
			return strategyCase{s, nil, []string{"a", "c"}}
		}},
		{"permanent crashes beside a temporary sibling", map[string]actor.Restart{"b": P, "c": Tm}, crash, func(s actor.Strategy) strategyCase {
			switch s {
			case actor.OneForAll:
				return strategyCase{s, []string{"a", "b"}, []string{"a", "b"}}
			case actor.RestForOne:
				return strategyCase{s, []string{"b"}, []string{"a", "b"}}
			}
			return strategyCase{s, []string{"b"}, []string{"a", "b", "c"}}
		}},
	}
	for _, strategy := range strategies {
		for _, tt := range tests {
			t.Run(strategy.String()+"/"+tt.name, func(t *testing.T) {
				sys, rec := newSystem(t)
				sup, started := tree(t, sys, strategy, tt.restarts)
				before := map[string]actor.PID{}
				for _, n := range []string{"a", "b", "c"} {
					before[n], _ = sys.Whereis(n)
				}
				down := watch(t, sys, before["b"])
				_ = actor.Send(before["b"], die{tt.reason})
				waitDown(t, down)
				cs := settle(t, sup)
				want := tt.want(strategy)
				if diff := cmp.Diff(want.restarted, drain(started)); diff != "" {
					t.Errorf("restarted (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(want.children, summary(cs)); diff != "" {
					t.Errorf("children (-want +got):\n%s", diff)
				}
				// Children that were not restarted keep their process.
				for _, n := range []string{"a", "c"} {
					if !contains(want.restarted, n) && contains(want.children, n) {
						if now, _ := sys.Whereis(n); now != before[n] {
							t.Errorf("%s: got pid %v, want unchanged %v", n, now, before[n])
						}
					}
				}
				wantCrashes := 0
				if tt.reason == nil {
					wantCrashes = 1
				}
				if got := len(rec.crashes()); got != wantCrashes {
					t.Errorf("got %d crash reports, want %d", got, wantCrashes)
				}
			})
		}
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestSupervisorIntensity(t *testing.T) {
	sys, rec := newSystem(t)
	started := make(chan string, 100)
	sup, err := sys.StartSupervisor(actor.SupervisorSpec{
		Name: "sup", Intensity: 2, Period: time.Hour,
		Children: []actor.ChildSpec{
			{Name: "a", New: func(any) actor.Behavior { return &worker{name: "a", started: started} }, Options: actor.Options{Name: "a"}},
			{Name: "b", New: func(any) actor.Behavior { return &worker{name: "b", started: started} }, Options: actor.Options{Name: "b"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	supDown := watch(t, sys, sup)
	drain(started)
	for i := 0; i < 2; i++ { // two restarts are allowed
		b, _ := sys.Whereis("b")
		down := watch(t, sys, b)
		_ = actor.Send(b, die{})
		waitDown(t, down)
		if cs := settle(t, sup); len(cs) != 2 || cs[1].Restarts != i+1 {
			t.Fatalf("after crash %d: children %+v", i+1, cs)
		}
	}
	a, _ := sys.Whereis("a")
	aDown := watch(t, sys, a)
	b, _ := sys.Whereis("b")
	_ = actor.Send(b, die{})
	if got := waitDown(t, supDown); got != actor.ReasonShutdown {
		t.Errorf("supervisor exit reason: got %v, want %v", got, actor.ReasonShutdown)
	}
	if got := waitDown(t, aDown); got != actor.ReasonShutdown {
		t.Errorf("sibling exit reason: got %v, want %v", got, actor.ReasonShutdown)
	}
	if got := rec.count("supervisor reached max restart intensity"); got != 1 {
		t.Errorf("got %d intensity reports, want 1", got)
	}
	if got := len(rec.crashes()); got != 3 {
		t.Errorf("got %d crash reports, want 3", got)
	}
}

// A nested supervisor that exceeds its intensity escalates: it exits with
// ReasonShutdown and its (permanent) supervisor restarts it with fresh
// children.
func TestSupervisorEscalation(t *testing.T) {
	sys, rec := newSystem(t)
	started := make(chan string, 100)
	root, err := sys.StartSupervisor(actor.SupervisorSpec{
		Name: "root", Intensity: 5, Period: time.Hour,
		Children: []actor.ChildSpec{
			{Name: "db", New: func(any) actor.Behavior { return &worker{name: "db", started: started} }, Options: actor.Options{Name: "db"}},
			{Name: "api", Supervisor: &actor.SupervisorSpec{
				Name: "api", Intensity: -1, // no restarts allowed
				Children: []actor.ChildSpec{{Name: "workers", Supervisor: &actor.SupervisorSpec{
					Name: "workers",
					Children: []actor.ChildSpec{
						{Name: "w", New: func(any) actor.Behavior { return &worker{name: "w", started: started} }, Options: actor.Options{Name: "w"}},
					},
				}}},
			}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := drain(started), []string{"db", "w"}; !cmp.Equal(got, want) {
		t.Fatalf("start order: got %v, want %v", got, want)
	}
	db, _ := sys.Whereis("db")
	cs, err := actor.Children(ctxT(t), root)
	if err != nil {
		t.Fatal(err)
	}
	apiSup := cs[1].PID
	apiDown := watch(t, sys, apiSup)
	// w crashes: "workers" restarts it (intensity 1 by default).
	w, _ := sys.Whereis("w")
	_ = actor.Send(w, die{})
	w2 := waitRestart(t, sys, "w", w)
	// w crashes again: "workers" exceeds 1 restart, exits shutdown; "api"
	// may not restart anything and exits shutdown; "root" restarts "api".
	_ = actor.Send(w2, die{})
	if got := waitDown(t, apiDown); got != actor.ReasonShutdown {
		t.Errorf("api exit: got %v, want %v", got, actor.ReasonShutdown)
	}
	waitRestart(t, sys, "w", w2)
	cs = settle(t, root)
	if got, want := summary(cs), []string{"db", "api"}; !cmp.Equal(got, want) {
		t.Errorf("root children: got %v, want %v", got, want)
	}
	if cs[1].Restarts != 1 || cs[1].PID == apiSup {
		t.Errorf("api: got %+v, want restarted once", cs[1])
	}
	if now, _ := sys.Whereis("db"); now != db {
		t.Errorf("db restarted (one_for_one root): got %v, want %v", now, db)
	}
	reports := rec.crashes()
	if len(reports) != 2 {
		t.Fatalf("got %d crash reports, want 2", len(reports))
	}
	if got, want := reports[0]["supervisor"], "root/api/workers"; got != want {
		t.Errorf("supervisor path: got %q, want %q", got, want)
	}
}

// terminator logs its Terminate; trap makes it trap exits.
type terminator struct {
	name string
	log  chan<- string
	trap bool
}

func (s *terminator) Init(ctx *actor.Context) error {
	ctx.TrapExit(s.trap)
	return nil
}

func (s *terminator) Receive(*actor.Context, any) {}

func (s *terminator) Terminate(_ *actor.Context, reason error) {
	s.log <- s.name + " " + reason.Error()
}

func TestSupervisorShutdown(t *testing.T) {
	sys, _ := newSystem(t)
	log := make(chan string, 10)
	child := func(name string, shutdown time.Duration, trap bool) actor.ChildSpec {
		return actor.ChildSpec{
			Name:     name,
			New:      func(any) actor.Behavior { return &terminator{name: name, log: log, trap: trap} },
			Shutdown: shutdown,
		}
	}
	sup, err := sys.StartSupervisor(actor.SupervisorSpec{
		Name: "sup",
		Children: []actor.ChildSpec{
			child("first", 0, false),
			child("brutal", actor.BrutalKill, false),
			child("trapping", time.Hour, true), // traps exits, stops for its parent
			child("last", actor.Infinity, false),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := actor.Stop(ctxT(t), sup); err != nil {
		t.Fatal(err)
	}
	close(log)
	var got []string
	for s := range log {
		got = append(got, s)
	}
	// Reverse start order; the killed children run no Terminate.
	want := []string{"last shutdown", "trapping shutdown", "first shutdown"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("terminations (-want +got):\n%s", diff)
	}
}

func TestSupervisorStartFailure(t *testing.T) {
	sys, _ := newSystem(t)
	log := make(chan string, 10)
	_, err := sys.StartSupervisor(actor.SupervisorSpec{
		Name: "sup",
		Children: []actor.ChildSpec{
			{Name: "ok", New: func(any) actor.Behavior { return &terminator{name: "ok", log: log} }},
			{Name: "bad", New: func(any) actor.Behavior { return initFails{err: errors.New("no db")} }},
		},
	})
	if err == nil {
		t.Fatal("got nil error")
	}
	if got, want := recv(t, log), "ok shutdown"; got != want {
		t.Errorf("got %q, want %q (started children are stopped)", got, want)
	}
}

func TestSupervisorSpecErrors(t *testing.T) {
	sys, _ := newSystem(t)
	nop := func(any) actor.Behavior { return &worker{} }
	tests := []struct {
		name string
		spec actor.SupervisorSpec
	}{
		{"no child name", actor.SupervisorSpec{Children: []actor.ChildSpec{{New: nop}}}},
		{"duplicate names", actor.SupervisorSpec{Children: []actor.ChildSpec{{Name: "a", New: nop}, {Name: "a", New: nop}}}},
		{"neither New nor Supervisor", actor.SupervisorSpec{Children: []actor.ChildSpec{{Name: "a"}}}},
		{"both New and Supervisor", actor.SupervisorSpec{Children: []actor.ChildSpec{{Name: "a", New: nop, Supervisor: &actor.SupervisorSpec{}}}}},
		{"simple_one_for_one without template", actor.SupervisorSpec{Strategy: actor.SimpleOneForOne}},
		{"bad strategy", actor.SupervisorSpec{Strategy: 9}},
		{"bad restart", actor.SupervisorSpec{Children: []actor.ChildSpec{{Name: "a", New: nop, Restart: 9}}}},
		{"negative shutdown", actor.SupervisorSpec{Children: []actor.ChildSpec{{Name: "a", New: nop, Shutdown: -5}}}},
		{"negative period", actor.SupervisorSpec{Period: -time.Second}},
		{"bad nested spec", actor.SupervisorSpec{Children: []actor.ChildSpec{{Name: "a", Supervisor: &actor.SupervisorSpec{Strategy: 9}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := sys.StartSupervisor(tt.spec); err == nil {
				t.Error("got nil error")
			}
		})
	}
}

func TestSimpleOneForOne(t *testing.T) {
	sys, _ := newSystem(t)
	started := make(chan string, 100)
	for _, restart := range []actor.Restart{actor.Permanent, actor.Temporary} {
		t.Run(restart.String(), func(t *testing.T) {
			sup, err := sys.StartSupervisor(actor.SupervisorSpec{
				Name: "conns", Strategy: actor.SimpleOneForOne, Intensity: 10, Period: time.Hour,
				Children: []actor.ChildSpec{{
					Name:    "conn",
					Restart: restart,
					New: func(arg any) actor.Behavior {
						return &worker{name: fmt.Sprint(arg), started: started}
					},
				}},
			})
			if err != nil {
				t.Fatal(err)
			}
			var pids []actor.PID
			for i := 0; i < 3; i++ {
				pid, err := actor.StartChild(ctxT(t), sup, i)
				if err != nil {
					t.Fatal(err)
				}
				pids = append(pids, pid)
			}
			if got, want := drain(started), []string{"0", "1", "2"}; !cmp.Equal(got, want) {
				t.Errorf("started: got %v, want %v", got, want)
			}
			down := watch(t, sys, pids[1])
			_ = actor.Send(pids[1], die{})
			waitDown(t, down)
			cs := settle(t, sup)
			wantStarted, wantN := []string{"1"}, 3 // restarted with its argument
			if restart == actor.Temporary {
				wantStarted, wantN = nil, 2
			}
			if got := drain(started); !cmp.Equal(got, wantStarted) {
				t.Errorf("restarted: got %v, want %v", got, wantStarted)
			}
			if len(cs) != wantN {
				t.Errorf("got %d children, want %d", len(cs), wantN)
			}
			if v, err := actor.Ask(ctxT(t), pids[2], "hi"); err != nil || v != "2:hi" {
				t.Errorf("sibling: got %v %v, want 2:hi", v, err)
			}
			if err := actor.Stop(ctxT(t), sup); err != nil {
				t.Fatal(err)
			}
			if pids[0].Alive() || pids[2].Alive() {
				t.Error("children alive after their supervisor stopped")
			}
		})
	}
	t.Run("not simple", func(t *testing.T) {
		sup, err := sys.StartSupervisor(actor.SupervisorSpec{Name: "s"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := actor.StartChild(ctxT(t), sup, 1); err == nil {
			t.Error("got nil error")
		}
	})
}

// A child that does not stop within its shutdown timeout is killed; one
// still busy in a callback then is abandoned: the supervisor's stop
// returns while the callback is still blocked, the child is dead to
// everyone (Down with ReasonKilled, name released, no Terminate), and the
// supervisor reports that it overran.
func TestSupervisorKillsAfterShutdownTimeout(t *testing.T) {
	sys, rec := newSystem(t)
	log := make(chan string, 10)
	entered, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	sup, err := sys.StartSupervisor(actor.SupervisorSpec{
		Name: "sup",
		Children: []actor.ChildSpec{{
			Name:     "busy",
			Shutdown: time.Millisecond,
			Options:  actor.Options{Name: "busy"},
			New: func(any) actor.Behavior {
				return &busy{terminator: terminator{name: "busy", log: log}, entered: entered, release: release}
			},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	child, _ := sys.Whereis("busy")
	down := watch(t, sys, child)
	_ = actor.Send(child, "work")
	<-entered
	if err := actor.Stop(ctxT(t), sup); err != nil {
		t.Fatal(err)
	}
	// The callback is still blocked on release here.
	if got := waitDown(t, down); got != actor.ReasonKilled {
		t.Errorf("got %v, want %v", got, actor.ReasonKilled)
	}
	if _, ok := sys.Whereis("busy"); ok {
		t.Error("the abandoned child still holds its name")
	}
	if got := rec.count("supervisor abandoned child that overran its shutdown time"); got != 1 {
		t.Errorf("got %d overrun reports, want 1", got)
	}
	if len(log) != 0 {
		t.Errorf("Terminate ran for a killed child: %v", <-log)
	}
}

// busy blocks in its first message until released.
type busy struct {
	terminator
	entered, release chan struct{}
}

func (b *busy) Receive(*actor.Context, any) {
	close(b.entered)
	<-b.release
}
