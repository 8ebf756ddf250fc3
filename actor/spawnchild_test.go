package actor_test

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
)

// oneShot handles one message and stops; "panic" makes it crash.
type oneShot struct{ handled *atomic.Int64 }

func (o oneShot) Receive(ctx *actor.Context, msg any) {
	if msg == "panic" {
		panic("one-shot crashed")
	}
	if msg == "block" {
		return // keep running until stopped
	}
	o.handled.Add(1)
	ctx.Stop(nil)
}

func requestSupervisor(t *testing.T, sys *actor.System, restart actor.Restart, handled *atomic.Int64) actor.PID {
	t.Helper()
	sup, err := sys.StartSupervisor(actor.SupervisorSpec{
		Name:     "requests",
		Strategy: actor.SimpleOneForOne,
		Children: []actor.ChildSpec{{
			Name:    "request",
			New:     func(any) actor.Behavior { return oneShot{handled: handled} },
			Restart: restart,
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return sup
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestSpawnChildManyShortLived(t *testing.T) {
	sys, rec := newSystem(t)
	var handled atomic.Int64
	sup := requestSupervisor(t, sys, actor.Temporary, &handled)
	const n = 5000
	for i := 0; i < n; i++ {
		pid, err := actor.SpawnChild(sup, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := actor.Send(pid, i); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "every child handled its message", func() bool { return handled.Load() == n })
	eventually(t, "the supervisor forgot every exited child", func() bool {
		cs, err := actor.Children(ctxT(t), sup)
		return err == nil && len(cs) == 0
	})
	if got := rec.count("process crashed"); got != 0 {
		t.Errorf("%d crash reports, want 0", got)
	}
}

func TestSpawnChildCrashIsReportedNotRestarted(t *testing.T) {
	sys, rec := newSystem(t)
	var handled atomic.Int64
	sup := requestSupervisor(t, sys, actor.Temporary, &handled)
	pid, err := actor.SpawnChild(sup, nil)
	if err != nil {
		t.Fatal(err)
	}
	down := watch(t, sys, pid)
	if err := actor.Send(pid, "panic"); err != nil {
		t.Fatal(err)
	}
	if reason := waitDown(t, down); !errors.Is(reason, actor.ErrCrashed) {
		t.Fatalf("exit reason = %v, want a crash", reason)
	}
	crashes := rec.crashes()
	if len(crashes) != 1 || crashes[0]["supervisor"] != "requests" {
		t.Fatalf("crash reports = %v, want one under supervisor requests", crashes)
	}
	eventually(t, "no child is left", func() bool {
		cs, err := actor.Children(ctxT(t), sup)
		return err == nil && len(cs) == 0
	})
	if !sup.Alive() {
		t.Error("the supervisor exited after a temporary child crashed")
	}
}

func TestSpawnChildStoppedWithSupervisor(t *testing.T) {
	sys, _ := newSystem(t)
	var handled atomic.Int64
	sup := requestSupervisor(t, sys, actor.Temporary, &handled)
	var downs []<-chan actor.Down
	for i := 0; i < 10; i++ {
		pid, err := actor.SpawnChild(sup, nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = actor.Send(pid, "block")
		downs = append(downs, watch(t, sys, pid))
	}
	eventually(t, "the supervisor adopted the children", func() bool {
		cs, err := actor.Children(ctxT(t), sup)
		return err == nil && len(cs) == 10
	})
	if err := actor.Stop(ctxT(t), sup); err != nil {
		t.Fatal(err)
	}
	for _, d := range downs {
		if reason := waitDown(t, d); !actor.IsNormal(reason) && !strings.Contains(reason.Error(), "shutdown") {
			t.Errorf("child exit reason = %v, want shutdown", reason)
		}
	}
	if _, err := actor.SpawnChild(sup, nil); !errors.Is(err, actor.ErrNoProcess) {
		t.Errorf("SpawnChild on a stopped supervisor: err = %v, want ErrNoProcess", err)
	}
}

func TestSpawnChildRefusals(t *testing.T) {
	sys, _ := newSystem(t)
	var handled atomic.Int64
	permanent := requestSupervisor(t, sys, actor.Permanent, &handled)
	oneForOne, err := sys.StartSupervisor(actor.SupervisorSpec{Name: "static"})
	if err != nil {
		t.Fatal(err)
	}
	plain := spawn(t, sys, actor.BehaviorFunc(func(*actor.Context, any) {}), actor.Options{})
	for _, tt := range []struct {
		name string
		sup  actor.PID
		want string
	}{
		{"zero pid", actor.PID{}, "no such process"},
		{"not a supervisor", plain, "not a supervisor"},
		{"one_for_one", oneForOne, "not a simple_one_for_one supervisor"},
		{"permanent template", permanent, "not temporary"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := actor.SpawnChild(tt.sup, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
