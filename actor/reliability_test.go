package actor_test

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
)

// relWorker obeys die, answers strings, and on stick blocks in its
// callback until release is closed: a callback Go cannot preempt. It
// closes the stick's in when the callback has begun, so that the test
// knows the worker is stuck rather than only sent the message (a worker
// that has not taken it yet is stopped at once, and is never overrun).
type relWorker struct {
	name    string
	release <-chan struct{}
}

type stick struct{ in chan struct{} }

func (w *relWorker) Receive(ctx *actor.Context, msg any) {
	switch m := msg.(type) {
	case die:
		if m.reason == nil {
			panic("worker " + w.name + " told to crash")
		}
		ctx.Stop(m.reason)
	case stick:
		close(m.in)
		<-w.release
	case string:
		ctx.Reply(w.name + ":" + m)
	}
}

// relObserver monitors and links to (it traps exits) the processes it is
// told to observe, forgets them (Unlink and Demonitor) on request, and
// reports on out, in the order it handles them, every Down, Exited and
// marker, and each forget with what Demonitor returned.
type relObserver struct{ out chan any }

type (
	observeReq struct{ pid actor.PID }
	forgetReq  struct {
		pid   actor.PID
		ref   actor.Ref
		flush bool
	}
	forgotten struct {
		ref    actor.Ref
		active bool
	}
	// forgetDone is queued by the observer to itself as the forget
	// returns: whatever it handles before it had arrived by then.
	forgetDone struct{ ref actor.Ref }
	relMarker  struct{ n int }
)

func (o relObserver) Receive(ctx *actor.Context, msg any) {
	switch m := msg.(type) {
	case observeReq:
		ref := ctx.Monitor(m.pid)
		_ = ctx.Link(m.pid) // ErrNoProcess if it died already: the Down says so
		ctx.Reply(ref)
	case forgetReq:
		ctx.Unlink(m.pid)
		var active bool
		if m.flush {
			active = ctx.DemonitorFlush(m.ref)
		} else {
			active = ctx.Demonitor(m.ref)
		}
		o.out <- forgotten{m.ref, active}
		_ = actor.Send(ctx.Self(), forgetDone{m.ref})
		ctx.Reply(active)
	case actor.Down, actor.Exited, relMarker, forgetDone:
		o.out <- msg
	}
}

// TestReliability crashes, kills and stops random workers of a three-level
// tree (root, three supervisors with different strategies, workers of
// every restart type), makes some workers stick in a callback, and shuts
// whole subtrees down. After each step it checks that:
//
//   - Children agrees with the processes alive: every listed child is
//     alive, every permanent child runs, and no other process is alive
//     (no orphans, nothing abandoned still counted);
//   - every crash was reported exactly once;
//   - no Down or Exited arrives after the Demonitor or Unlink that removed
//     its monitor or link returned (the observer forgets victims before,
//     during or not at all around their exit), and a Demonitor that
//     reports the monitor inactive has its Down queued already;
//   - shutting a subtree down completes although some of its workers are
//     stuck in callbacks that never return while it runs, each of them is
//     reported as having overrun, and it ends within the sum of the
//     subtree's shutdown times.
//
// The last bound is checked as a bound on the logical sequence: the stuck
// callbacks are released only at the end of the test, so a stop that
// waited for any of them would never finish; completing at all proves that
// each worker was waited for at most its shutdown time. The elapsed time
// is compared with that sum plus a slack of testTimeout, so that it can
// only catch a wait of a different order (the stuck callbacks would hold a
// stop for ever), never the machine's load. At the end no goroutine may be
// left.
func TestReliability(t *testing.T) {
	iterations := 3000
	if testing.Short() {
		iterations = 300
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 42))
	rec := &recorder{}
	sys := actor.NewSystem(actor.Config{Logger: slog.New(rec)})
	release := make(chan struct{})
	released := false
	defer func() {
		if !released {
			close(release)
		}
		ctx := ctxT(t)
		if err := sys.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	}()
	baseGoroutines := runtime.NumGoroutine()

	const workerShutdown = 20 * time.Millisecond
	restarts := []actor.Restart{actor.Permanent, actor.Transient, actor.Temporary, actor.Permanent}
	mid := func(name string, s actor.Strategy) actor.ChildSpec {
		spec := &actor.SupervisorSpec{Name: name, Strategy: s, Intensity: 3, Period: time.Hour}
		for i, r := range restarts {
			wname := fmt.Sprintf("%s-w%d", name, i)
			spec.Children = append(spec.Children, actor.ChildSpec{
				Name: wname, Restart: r, Shutdown: workerShutdown,
				New: func(any) actor.Behavior { return &relWorker{name: wname, release: release} },
			})
		}
		return actor.ChildSpec{Name: name, Supervisor: spec}
	}
	subtreeShutdown := time.Duration(len(restarts)) * workerShutdown // sum over a mid's workers
	root, err := sys.StartSupervisor(actor.SupervisorSpec{
		Name: "root", Intensity: 1 << 30, Period: time.Hour,
		Children: []actor.ChildSpec{
			mid("m1", actor.OneForOne), mid("m2", actor.OneForAll), mid("m3", actor.RestForOne),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan any, 1000)
	obs, err := sys.Spawn(relObserver{out}, actor.Options{TrapExit: true})
	if err != nil {
		t.Fatal(err)
	}
	markerN := 0
	// drainObserver returns what the observer reported up to now.
	drainObserver := func() []any {
		markerN++
		m := relMarker{markerN}
		_ = actor.Send(obs, m)
		var got []any
		for {
			v := recv(t, out)
			if v == m {
				return got
			}
			got = append(got, v)
		}
	}

	crashes := 0
	stuck := map[actor.PID]bool{}
	for it := 0; it < iterations; it++ {
		tree := inspect(t, root)
		for p := range stuck {
			if !p.Alive() {
				delete(stuck, p) // abandoned by a restart of its siblings
			}
		}
		// Invariants.
		if got, want := sys.NumProcesses(), 2+len(tree.mids)+len(tree.workers); got != want {
			t.Fatalf("iteration %d: %d processes alive, want %d (root, observer, %d supervisors, %d workers): orphans", it, got, want, len(tree.mids), len(tree.workers))
		}
		if got := rec.count("process crashed"); got != crashes {
			t.Fatalf("iteration %d: %d crash reports, want %d", it, got, crashes)
		}
		var healthy []actor.PID
		for _, w := range tree.workers {
			if !stuck[w] {
				healthy = append(healthy, w)
			}
		}
		if len(healthy) == 0 {
			t.Fatalf("iteration %d: no healthy worker running", it)
		}

		switch r := rng.IntN(40); {
		case r == 0 && len(stuck) < 3:
			// Make a worker stick in a callback.
			w := healthy[rng.IntN(len(healthy))]
			stuck[w] = true
			in := make(chan struct{})
			_ = actor.Send(w, stick{in})
			recv(t, in)
			continue
		case r == 1:
			// Shut a subtree down and start it again.
			m := tree.midNames[rng.IntN(len(tree.midNames))]
			var inside []actor.PID
			for _, w := range tree.byMid[m] {
				if stuck[w] {
					inside = append(inside, w)
				}
			}
			before := rec.count("supervisor abandoned child that overran its shutdown time")
			start := time.Now()
			if err := actor.TerminateChild(ctxT(t), root, m); err != nil {
				t.Fatalf("iteration %d: terminate %s: %v", it, m, err)
			}
			if el := time.Since(start); el > subtreeShutdown+testTimeout {
				t.Fatalf("iteration %d: shutting %s down took %v, more than the sum of its shutdown times %v (plus slack)", it, m, el, subtreeShutdown)
			}
			for _, w := range inside {
				if !rec.hasAttr("supervisor abandoned child that overran its shutdown time", "pid", w.String()) {
					t.Fatalf("iteration %d: stuck worker %v not reported as overrun", it, w)
				}
				delete(stuck, w)
			}
			if got := rec.count("supervisor abandoned child that overran its shutdown time") - before; got < len(inside) {
				t.Fatalf("iteration %d: %d overrun reports for %d stuck workers", it, got, len(inside))
			}
			if _, err := actor.RestartChild(ctxT(t), root, m); err != nil {
				t.Fatalf("iteration %d: restart %s: %v", it, m, err)
			}
			continue
		}

		// Hit one healthy worker, observed by a process that may forget it.
		victim := healthy[rng.IntN(len(healthy))]
		v, err := actor.Ask(ctxT(t), obs, observeReq{victim})
		if err != nil {
			t.Fatal(err)
		}
		ref := v.(actor.Ref)
		mode := rng.IntN(4) // 0: keep; 1: forget before the exit; 2, 3: forget racing it (3 with flush)
		forget := func() bool {
			v, err := actor.Ask(ctxT(t), obs, forgetReq{pid: victim, ref: ref, flush: mode == 3})
			if err != nil {
				t.Error(err)
				return false
			}
			return v.(bool)
		}
		if mode == 1 {
			forget()
		}
		raced := make(chan struct{})
		if mode >= 2 {
			go func() { defer close(raced); forget() }()
		} else {
			close(raced)
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
		<-raced
		waitGone(t, victim)
		// Its supervisor has handled its exit before answering this; a
		// supervisor that escalated is restarted by the root before the
		// root answers.
		_, _ = actor.Children(ctxT(t), tree.midOf[victim])
		_, _ = actor.Children(ctxT(t), root)

		checkObserved(t, it, drainObserver(), victim, ref, mode)
	}
	if t.Failed() {
		return
	}
	// The whole tree stops although workers are stuck.
	tree := inspect(t, root)
	for _, w := range tree.workers[:min(2, len(tree.workers))] {
		_ = actor.Send(w, stick{make(chan struct{})})
	}
	if err := actor.Stop(ctxT(t), root); err != nil {
		t.Fatal(err)
	}
	close(release)
	released = true
	if err := actor.Stop(ctxT(t), obs); err != nil {
		t.Fatal(err)
	}
	if err := goleakSettled(baseGoroutines); err != nil {
		t.Error(err)
	}
}

// checkObserved checks what the observer reported around a victim's exit.
func checkObserved(t *testing.T, it int, got []any, victim actor.PID, ref actor.Ref, mode int) {
	t.Helper()
	var (
		forgot     = -1 // index of the end of the forget in got
		active     bool
		downAt     = -1
		exitedAt   = -1
		downs, exs int
	)
	for i, v := range got {
		switch m := v.(type) {
		case forgotten:
			if m.ref == ref {
				active = m.active
			}
		case forgetDone:
			if m.ref == ref {
				forgot = i
			}
		case actor.Down:
			if m.Ref == ref {
				downAt = i
				downs++
			}
		case actor.Exited:
			if m.From == victim {
				exitedAt = i
				exs++
			}
		}
	}
	if downs > 1 || exs > 1 {
		t.Fatalf("iteration %d: %d Downs and %d Exited for one victim: %v", it, downs, exs, got)
	}
	if mode == 0 {
		if downAt < 0 || exitedAt < 0 {
			t.Fatalf("iteration %d: kept victim: Down at %d, Exited at %d: %v", it, downAt, exitedAt, got)
		}
		return
	}
	if forgot < 0 {
		t.Fatalf("iteration %d: no forget reported: %v", it, got)
	}
	if downAt > forgot || exitedAt > forgot {
		t.Fatalf("iteration %d: a Down (%d) or Exited (%d) arrived after the forget (%d) returned: %v", it, downAt, exitedAt, forgot, got)
	}
	switch {
	case active && downAt >= 0:
		t.Fatalf("iteration %d: Demonitor reported the monitor active, yet its Down arrived: %v", it, got)
	case !active && mode != 3 && downAt < 0:
		t.Fatalf("iteration %d: Demonitor reported the monitor fired, but no Down was queued: %v", it, got)
	}
}

// relTree is a snapshot of the reliability test's tree.
type relTree struct {
	mids     []actor.PID
	midNames []string
	workers  []actor.PID
	byMid    map[string][]actor.PID
	midOf    map[actor.PID]actor.PID
}

// inspect walks the tree and checks that Children agrees with the
// processes alive: every listed child is alive and every permanent child
// runs.
func inspect(t *testing.T, root actor.PID) relTree {
	t.Helper()
	tr := relTree{byMid: map[string][]actor.PID{}, midOf: map[actor.PID]actor.PID{}}
	cs, err := actor.Children(ctxT(t), root)
	if err != nil {
		t.Fatalf("root: %v", err)
	}
	for _, m := range cs {
		if m.PID.IsZero() || !m.PID.Alive() {
			t.Fatalf("supervisor %s not running: %+v", m.Name, cs)
		}
		tr.mids = append(tr.mids, m.PID)
		tr.midNames = append(tr.midNames, m.Name)
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
			tr.workers = append(tr.workers, w.PID)
			tr.byMid[m.Name] = append(tr.byMid[m.Name], w.PID)
			tr.midOf[w.PID] = m.PID
		}
	}
	return tr
}
