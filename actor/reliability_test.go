package actor_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
)

// observer monitors processes on request and forwards their Down.
type observer struct{ downs chan actor.Down }

type observe struct{ pid actor.PID }

func (o observer) Receive(ctx *actor.Context, msg any) {
	switch m := msg.(type) {
	case observe:
		ctx.Monitor(m.pid)
		ctx.Reply(nil)
	case actor.Down:
		o.downs <- m
	}
}

// TestReliability crashes, kills and stops random workers of a three-level
// tree (root, three supervisors with different strategies, workers of
// every restart type) and checks after each step that every permanent
// child runs (escalations are handled by the root), that no process is
// orphaned, that every crash was reported exactly once, and, at the end,
// that no goroutine leaked.
func TestReliability(t *testing.T) {
	iterations := 3000
	if testing.Short() {
		iterations = 300
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 42))
	sys, rec := newSystem(t)
	baseGoroutines := runtime.NumGoroutine()

	restarts := []actor.Restart{actor.Permanent, actor.Transient, actor.Temporary, actor.Permanent}
	mid := func(name string, s actor.Strategy) actor.ChildSpec {
		spec := &actor.SupervisorSpec{Name: name, Strategy: s, Intensity: 3, Period: time.Hour}
		for i, r := range restarts {
			wname := fmt.Sprintf("%s-w%d", name, i)
			spec.Children = append(spec.Children, actor.ChildSpec{
				Name: wname, Restart: r,
				New: func(any) actor.Behavior { return &worker{name: wname} },
			})
		}
		return actor.ChildSpec{Name: name, Supervisor: spec}
	}
	root, err := sys.StartSupervisor(actor.SupervisorSpec{
		Name: "root", Intensity: 1 << 30, Period: time.Hour,
		Children: []actor.ChildSpec{
			mid("m1", actor.OneForOne), mid("m2", actor.OneForAll), mid("m3", actor.RestForOne),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	downs := make(chan actor.Down, 1)
	obs := spawn(t, sys, observer{downs}, actor.Options{})

	crashes := 0
	for it := 0; it < iterations; it++ {
		mids, workers := inspect(t, root)
		// Invariants.
		if got, want := sys.NumProcesses(), 2+len(mids)+len(workers); got != want {
			t.Fatalf("iteration %d: %d processes alive, want %d (root, observer, %d supervisors, %d workers): orphans", it, got, want, len(mids), len(workers))
		}
		if got := rec.count("process crashed"); got != crashes {
			t.Fatalf("iteration %d: %d crash reports, want %d", it, got, crashes)
		}
		if len(workers) == 0 {
			t.Fatalf("iteration %d: no worker running", it)
		}
		// Hit one worker.
		victim := workers[rng.IntN(len(workers))]
		if _, err := actor.Ask(ctxT(t), obs, observe{victim}); err != nil {
			t.Fatal(err)
		}
		switch rng.IntN(4) {
		case 0, 1:
			crashes++
			_ = actor.Send(victim, die{})
		case 2:
			_ = actor.Send(victim, die{actor.ReasonNormal})
		case 3:
			actor.Exit(victim, actor.ReasonKill)
		}
		recv(t, downs)
		// Let the supervisors (and the root, on escalation) react.
		for _, m := range mids {
			settleAny(t, m)
		}
		settleAny(t, root)
		for _, m := range mids {
			settleAny(t, m)
		}
	}
	if err := goleakSettled(baseGoroutines + 2); err != nil {
		t.Error(err)
	}
}

// inspect walks the tree and checks that every permanent child runs. It
// returns the running supervisors below the root and the running workers.
func inspect(t *testing.T, root actor.PID) (mids, workers []actor.PID) {
	t.Helper()
	cs, err := actor.Children(ctxT(t), root)
	if err != nil {
		t.Fatalf("root: %v", err)
	}
	for _, m := range cs {
		if m.PID.IsZero() || !m.PID.Alive() {
			t.Fatalf("supervisor %s not running: %+v", m.Name, cs)
		}
		mids = append(mids, m.PID)
		ws, err := actor.Children(ctxT(t), m.PID)
		if err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		for _, w := range ws {
			if w.PID.IsZero() {
				if w.Restart == actor.Permanent {
					t.Fatalf("permanent child %s not running", w.Name)
				}
				continue
			}
			if !w.PID.Alive() {
				t.Fatalf("child %s listed with a dead process", w.Name)
			}
			workers = append(workers, w.PID)
		}
	}
	return mids, workers
}

// settleAny is settle for a supervisor that may have exited meanwhile.
func settleAny(t *testing.T, sup actor.PID) {
	for i := 0; i < 2; i++ {
		if _, err := actor.Children(ctxT(t), sup); err != nil {
			return
		}
	}
}
