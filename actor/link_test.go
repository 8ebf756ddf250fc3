package actor_test

import (
	"errors"
	"testing"

	"github.com/troupe-go/troupe/actor"
)

// linker spawns a linked child on "spawn" and reports what it receives.
type linker struct {
	trap bool
	out  chan any
}

func (l *linker) Init(ctx *actor.Context) error {
	ctx.TrapExit(l.trap)
	return nil
}

func (l *linker) Receive(ctx *actor.Context, msg any) {
	switch m := msg.(type) {
	case actor.Exited:
		if m.From.IsZero() { // shutdown
			ctx.Stop(m.Reason)
			return
		}
		l.out <- msg
	case spawnLinked:
		pid, err := ctx.Spawn(&worker{name: "child"}, actor.Options{Link: true})
		if err != nil {
			panic(err)
		}
		ctx.Reply(pid)
	case die:
		if m.reason == nil {
			panic("linker told to crash")
		}
		ctx.Stop(m.reason)
	default:
		l.out <- msg
	}
}

type spawnLinked struct{}

func TestLinks(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name       string
		trap       bool
		kill       string // "child" or "parent"
		reason     error  // nil: panic
		parentDies bool   // only when the child dies
		childDies  bool   // only when the parent dies
		trapped    bool   // the parent receives an Exited message
	}{
		{name: "child crashes, parent dies", kill: "child", parentDies: true},
		{name: "child exits with error, parent dies", kill: "child", reason: boom, parentDies: true},
		{name: "child exits normally, parent lives", kill: "child", reason: actor.ReasonNormal},
		{name: "child crashes, trapping parent gets Exited", trap: true, kill: "child", trapped: true},
		{name: "child exits normally, trapping parent gets Exited", trap: true, kill: "child", reason: actor.ReasonNormal, trapped: true},
		{name: "parent crashes, child dies", kill: "parent", childDies: true},
		{name: "parent exits normally, child lives", kill: "parent", reason: actor.ReasonNormal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sys, _ := newSystem(t)
			out := make(chan any, 10)
			parent := spawn(t, sys, &linker{trap: tt.trap, out: out}, actor.Options{})
			v, err := actor.Ask(ctxT(t), parent, spawnLinked{})
			if err != nil {
				t.Fatal(err)
			}
			child := v.(actor.PID)
			parentDown, childDown := watch(t, sys, parent), watch(t, sys, child)
			victim, other, otherDown := child, parent, parentDown
			if tt.kill == "parent" {
				victim, other, otherDown = parent, child, childDown
			}
			victimDown := parentDown
			if tt.kill == "child" {
				victimDown = childDown
			}
			_ = actor.Send(victim, die{tt.reason})
			reason := waitDown(t, victimDown)
			if tt.reason != nil && reason != tt.reason {
				t.Errorf("victim reason: got %v, want %v", reason, tt.reason)
			}
			otherShouldDie := tt.parentDies || tt.childDies
			if otherShouldDie {
				got := waitDown(t, otherDown)
				if got != reason {
					t.Errorf("linked process exit reason: got %v, want the victim's %v", got, reason)
				}
				return
			}
			if tt.trapped {
				m, ok := recv(t, out).(actor.Exited)
				if !ok || m.From != child || m.Reason != reason {
					t.Errorf("got %#v, want Exited from %v with %v", m, child, reason)
				}
			}
			// The other process is still alive and serving.
			if _, err := actor.Ask(ctxT(t), other, "ping"); errors.Is(err, actor.ErrNoProcess) {
				t.Errorf("linked process died: %v", err)
			}
		})
	}
}

func TestUnlink(t *testing.T) {
	sys, _ := newSystem(t)
	out := make(chan any, 10)
	parent := spawn(t, sys, &linker{out: out}, actor.Options{})
	v, err := actor.Ask(ctxT(t), parent, spawnLinked{})
	if err != nil {
		t.Fatal(err)
	}
	child := v.(actor.PID)
	unlinker := spawn(t, sys, actor.BehaviorFunc(func(ctx *actor.Context, msg any) {
		if msg == "go" {
			if err := ctx.Link(child); err != nil {
				t.Error(err)
			}
			ctx.Unlink(child)
		}
		ctx.Reply(nil)
	}), actor.Options{})
	if _, err := actor.Ask(ctxT(t), unlinker, "go"); err != nil {
		t.Fatal(err)
	}
	down := watch(t, sys, child)
	_ = actor.Send(child, die{})
	waitDown(t, down)
	if _, err := actor.Ask(ctxT(t), unlinker, "still alive?"); err != nil {
		t.Errorf("unlinked process affected: %v", err)
	}
}

func TestMonitors(t *testing.T) {
	sys, _ := newSystem(t)
	boom := errors.New("boom")
	tests := []struct {
		name   string
		reason error
	}{
		{"crash", nil},
		{"normal", actor.ReasonNormal},
		{"error", boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := spawn(t, sys, &worker{name: "t"}, actor.Options{})
			down := watch(t, sys, target)
			_ = actor.Send(target, die{tt.reason})
			got := waitDown(t, down)
			if tt.reason == nil {
				if !errors.Is(got, actor.ErrCrashed) {
					t.Errorf("got %v, want a crash", got)
				}
			} else if got != tt.reason {
				t.Errorf("got %v, want %v", got, tt.reason)
			}
		})
	}
	t.Run("already dead", func(t *testing.T) {
		target := spawn(t, sys, &worker{name: "t"}, actor.Options{})
		if err := actor.Stop(ctxT(t), target); err != nil {
			t.Fatal(err)
		}
		if got := waitDown(t, watch(t, sys, target)); got != actor.ReasonNoProc {
			t.Errorf("got %v, want %v", got, actor.ReasonNoProc)
		}
	})
	t.Run("demonitor", func(t *testing.T) {
		target := spawn(t, sys, &worker{name: "t"}, actor.Options{})
		out := make(chan any, 10)
		w := spawn(t, sys, actor.BehaviorFunc(func(ctx *actor.Context, msg any) {
			switch msg {
			case "monitor twice, demonitor one":
				r1 := ctx.Monitor(target)
				ctx.Monitor(target)
				ctx.Reply(ctx.Demonitor(r1))
			default:
				out <- msg
			}
		}), actor.Options{})
		v, err := actor.Ask(ctxT(t), w, "monitor twice, demonitor one")
		if err != nil || v != true {
			t.Fatalf("demonitor: got %v %v, want true", v, err)
		}
		_ = actor.Send(target, die{actor.ReasonNormal})
		if d, ok := recv(t, out).(actor.Down); !ok || d.PID != target {
			t.Errorf("got %v, want a Down from %v", d, target)
		}
		// Only one Down: a marker sent now is the next message.
		_ = actor.Send(w, "marker")
		if got := recv(t, out); got != "marker" {
			t.Errorf("got %v, want marker (a second Down leaked)", got)
		}
	})
}

// Links and monitors are released when a process exits: a watcher that
// exits does not get (or leave behind) a Down.
func TestMonitorCleanedUpWhenWatcherExits(t *testing.T) {
	sys, _ := newSystem(t)
	target := spawn(t, sys, &worker{name: "t"}, actor.Options{})
	before := sys.DeadLetters()
	w := spawn(t, sys, actor.BehaviorFunc(func(ctx *actor.Context, msg any) {
		ctx.Monitor(target)
		ctx.Stop(nil)
	}), actor.Options{})
	wd := watch(t, sys, w)
	_ = actor.Send(w, "go")
	waitDown(t, wd)
	td := watch(t, sys, target)
	_ = actor.Send(target, die{actor.ReasonNormal})
	waitDown(t, td)
	if got := sys.DeadLetters() - before; got != 0 {
		t.Errorf("got %d dead letters, want 0 (Down sent to an exited watcher)", got)
	}
}
