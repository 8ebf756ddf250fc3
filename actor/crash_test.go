package actor_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/actor"
)

type order struct {
	ID    int
	Notes string
}

// observed is a message that wants to hear about a crash.
type observed struct {
	ch chan *actor.CrashError
}

func (o observed) Crashed(ce *actor.CrashError) { o.ch <- ce }

func TestCrashReport(t *testing.T) {
	sys, rec := newSystem(t)
	sup, err := sys.StartSupervisor(actor.SupervisorSpec{
		Name: "root",
		Children: []actor.ChildSpec{{
			Name: "orders",
			New: func(any) actor.Behavior {
				return actor.BehaviorFunc(func(ctx *actor.Context, msg any) {
					if o, ok := msg.(order); ok && o.ID < 0 {
						panic("negative order id")
					}
					ctx.Reply("ok")
				})
			},
			Options: actor.Options{Name: "orders"},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = sup
	pid, _ := sys.Whereis("orders")
	long := strings.Repeat("x", 2000)
	_, err = actor.Ask(ctxT(t), pid, order{ID: -1, Notes: long})
	var ce *actor.CrashError
	if !errors.As(err, &ce) || !errors.Is(err, actor.ErrCrashed) {
		t.Fatalf("got %v, want a *CrashError", err)
	}
	if !troupe.ValidID(ce.Incident) {
		t.Errorf("incident %q is not an ID", ce.Incident)
	}
	reports := rec.crashes()
	if len(reports) != 1 {
		t.Fatalf("got %d crash reports, want 1", len(reports))
	}
	r := reports[0]
	checks := []struct{ key, want string }{
		{"level", "ERROR"},
		{"process", "orders"},
		{"pid", pid.String()},
		{"supervisor", "root"},
		{"message_type", "actor_test.order"},
		{"panic", "negative order id"},
		{"restarts", "0"},
		{"incident", ce.Incident},
	}
	for _, c := range checks {
		if got := r[c.key]; got != c.want {
			t.Errorf("%s: got %q, want %q", c.key, got, c.want)
		}
	}
	if m := r["message"]; !strings.HasPrefix(m, "{ID:-1 Notes:xxx") || len(m) > 520 {
		t.Errorf("message rendering %q... (%d bytes): want a bounded %%+v", m[:min(len(m), 40)], len(m))
	}
	if s := r["stack"]; !strings.Contains(s, "crash_test.go") || len(s) > 9000 {
		t.Errorf("stack (%d bytes) does not show the panicking handler or is unbounded", len(s))
	}

	// The restarted child's next crash reports one restart.
	pid2 := waitRestart(t, sys, "orders", pid)
	_, err = actor.Ask(ctxT(t), pid2, order{ID: -2})
	if !errors.Is(err, actor.ErrCrashed) {
		t.Fatalf("got %v, want %v", err, actor.ErrCrashed)
	}
	reports = rec.crashes()
	if len(reports) != 2 {
		t.Fatalf("got %d crash reports, want 2", len(reports))
	}
	if got, want := reports[1]["restarts"], "1"; got != want {
		t.Errorf("restarts: got %s, want %s", got, want)
	}
}

// waitRestart waits until name is registered to a process other than old.
func waitRestart(t *testing.T, sys *actor.System, name string, old actor.PID) actor.PID {
	t.Helper()
	for i := 0; i < 10000; i++ {
		if pid, ok := sys.Whereis(name); ok && pid != old {
			return pid
		}
		sleepABit()
	}
	t.Fatalf("%s not restarted", name)
	return actor.PID{}
}

func TestCrashObserver(t *testing.T) {
	sys, rec := newSystem(t)
	pid := spawn(t, sys, actor.BehaviorFunc(func(ctx *actor.Context, msg any) {
		panic(errors.New("handler failed"))
	}), actor.Options{Name: "svc"})
	down := watch(t, sys, pid)
	ch := make(chan *actor.CrashError, 1)
	if err := actor.Send(pid, observed{ch}); err != nil {
		t.Fatal(err)
	}
	ce := recv(t, ch)
	reason := waitDown(t, down)
	var exitCE *actor.CrashError
	if !errors.As(reason, &exitCE) || exitCE != ce {
		t.Errorf("exit reason %v is not the observed crash %v", reason, ce)
	}
	reports := rec.crashes()
	if len(reports) != 1 {
		t.Fatalf("got %d crash reports, want 1", len(reports))
	}
	if got, want := reports[0]["incident"], ce.Incident; got != want {
		t.Errorf("incident: got %s, want %s", got, want)
	}
	if got, want := ce.Value.(error).Error(), "handler failed"; got != want {
		t.Errorf("panic value: got %s, want %s", got, want)
	}
}

func TestCrashReportOnlyOncePerCrash(t *testing.T) {
	sys, rec := newSystem(t)
	const n = 20
	for i := 0; i < n; i++ {
		pid := spawn(t, sys, &worker{name: "w"}, actor.Options{})
		down := watch(t, sys, pid)
		_ = actor.Send(pid, die{})
		waitDown(t, down)
	}
	if got := rec.count("process crashed"); got != n {
		t.Errorf("got %d crash reports, want %d", got, n)
	}
}
