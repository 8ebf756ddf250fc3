package actor_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/troupe-go/troupe/actor"
)

// Cases of erts/emulator/test/monitor_SUITE.erl that apply to one node.
// troupe's Demonitor reports, as OTP's demonitor(Ref, [info]) does,
// whether the monitor was still active; OTP's demonitor/1 always returns
// true.

func monitorIn(t *testing.T, p *probe, pid actor.PID) actor.Ref {
	t.Helper()
	return p.call(t, func(ctx *actor.Context) any { return ctx.Monitor(pid) }).(actor.Ref)
}

func demonitorIn(t *testing.T, p *probe, ref actor.Ref, flush bool) bool {
	t.Helper()
	return p.call(t, func(ctx *actor.Context) any {
		if flush {
			return ctx.DemonitorFlush(ref)
		}
		return ctx.Demonitor(ref)
	}).(bool)
}

// OTP: "A monitors B, B kills A and then exits (yielded core dump)" — with
// monitor (case_1) and spawn_monitor (case_1a).
func TestOTP_case_1(t *testing.T) {
	for _, spawnMonitor := range []bool{false, true} {
		sys, _ := newSystem(t)
		p := trappingProbe(t, sys)
		foo := errors.New("foo")
		var b actor.PID
		a := funSpawn(t, p, func(ctx *actor.Context) {
			beh := &funProc{f: func(bctx *actor.Context) { bctx.Exit(ctx.Self(), foo) }}
			if spawnMonitor {
				b, _, _ = ctx.SpawnMonitor(beh, actor.Options{})
			} else {
				b, _ = ctx.Spawn(beh, actor.Options{})
				ctx.Monitor(b)
			}
			_ = actor.Send(b, "go")
		})
		p.expectExit(t, a, foo)
		if b.IsZero() {
			t.Fatal("B not spawned")
		}
	}
}

// OTP: "A monitors B, B demonitors A (yielded core dump)" — B cannot
// remove A's monitor; A still gets B's DOWN (case_2, case_2a).
func TestOTP_case_2(t *testing.T) {
	for _, spawnMonitor := range []bool{false, true} {
		sys, _ := newSystem(t)
		p := newProbe(t, sys, actor.Options{})
		var got bool
		var ref actor.Ref
		var b actor.PID
		beh := actor.BehaviorFunc(func(ctx *actor.Context, msg any) {
			if r, ok := msg.(actor.Ref); ok {
				got = ctx.Demonitor(r)
				ctx.Stop(nil)
			}
		})
		p.call(t, func(ctx *actor.Context) any {
			if spawnMonitor {
				b, ref, _ = ctx.SpawnMonitor(beh, actor.Options{})
			} else {
				b, _ = ctx.Spawn(beh, actor.Options{})
				ref = ctx.Monitor(b)
			}
			return actor.Send(b, ref)
		})
		p.expectDown(t, ref, b, actor.ReasonNormal)
		if got {
			t.Error("B removed A's monitor")
		}
	}
}

// OTP: "Cases for demonitor/1": a monitor of self is removed; an extra
// demonitor is harmless; a normal DOWN; demonitor before the DOWN means no
// DOWN at all.
func TestOTP_demon_2(t *testing.T) {
	sys, _ := newSystem(t)
	p := newProbe(t, sys, actor.Options{})
	r1 := monitorIn(t, p, p.pid)
	if !demonitorIn(t, p, r1, false) {
		t.Error("demonitor of a monitor of self: got false")
	}
	// "Extra demonitor": OTP's demonitor/1 returns true; troupe reports
	// that the monitor was no longer active.
	if demonitorIn(t, p, r1, false) {
		t.Error("extra demonitor: got true")
	}
	p.expectNoMsg(t)

	// "Normal 'DOWN'"
	p2 := spawn(t, sys, &otpWorker{}, actor.Options{})
	r2 := monitorIn(t, p, p2)
	_ = actor.Send(p2, "stop")
	p.expectDown(t, r2, p2, actor.ReasonNormal)

	// "Demonitor before 'DOWN'"
	p4 := spawn(t, sys, &otpWorker{}, actor.Options{})
	r4 := monitorIn(t, p, p4)
	demonitorIn(t, p, r4, false)
	actor.Exit(p4, errors.New("frop"))
	waitGone(t, p4)
	p.expectNoMsg(t)
}

// OTP demonitor_flush: four monitors of P; M1 demonitored with flush
// before P exits; M3 with flush after (its DOWN is dropped from the
// mailbox); M4 without flush after (its DOWN stays); no DOWN for M1 or M3
// ever arrives.
func TestOTP_demonitor_flush(t *testing.T) {
	sys, _ := newSystem(t)
	p := newProbe(t, sys, actor.Options{})
	target := spawn(t, sys, &otpWorker{}, actor.Options{})
	m := [5]actor.Ref{}
	for i := 1; i <= 4; i++ {
		m[i] = monitorIn(t, p, target)
	}
	if !demonitorIn(t, p, m[1], true) {
		t.Error("demonitor(M1, [flush]) of an active monitor: got false")
	}
	bang := errors.New("bang")
	// In one callback, so that the DOWNs stay in the mailbox meanwhile
	// (the probe hands on what it receives).
	res := p.call(t, func(ctx *actor.Context) any {
		actor.Exit(target, bang)
		waitGone(t, target) // every DOWN of target is queued now
		return [2]bool{ctx.DemonitorFlush(m[3]), ctx.Demonitor(m[4])}
	}).([2]bool)
	if res[0] {
		t.Error("demonitor(M3, [flush]) after the DOWN: got true")
	}
	if res[1] {
		t.Error("demonitor(M4) after the DOWN: got true")
	}
	got := map[actor.Ref]bool{}
	for _, msg := range p.queued(t) {
		if d, ok := msg.(actor.Down); ok {
			got[d.Ref] = true
		}
	}
	if len(got) != 2 || !got[m[2]] || !got[m[4]] {
		t.Errorf("got DOWNs %v, want those of M2 %v and M4 %v only", got, m[2], m[4])
	}
}

// waitGone waits until pid is dead to senders, which happens only once its
// links and monitors have all been told.
func waitGone(t *testing.T, pid actor.PID) {
	t.Helper()
	for i := 0; !errors.Is(actor.Send(pid, "are you there"), actor.ErrNoProcess); i++ {
		if i == 100000 {
			t.Errorf("%v never exited", pid) // Errorf: also called from a process
			return
		}
		sleepABit()
	}
}

// OTP local_remove_monitor: groups of processes monitor short-lived
// processes and demonitor them with info; "true" must mean no DOWN is in
// the mailbox, "false" that one is there already.
func TestOTP_local_remove_monitor(t *testing.T) {
	sys, _ := newSystem(t)
	const groups, perGroup = 10, 100
	var wg sync.WaitGroup
	errs := make(chan error, groups)
	var trues, falses [groups]int
	for g := range groups {
		wg.Add(1)
		p := newProbe(t, sys, actor.Options{})
		go func() {
			defer wg.Done()
			refs := p.call(t, func(ctx *actor.Context) any {
				var refs []actor.Ref
				for range perGroup {
					pid, err := ctx.Spawn(&funProc{f: func(ctx *actor.Context) { ctx.Stop(nil) }}, actor.Options{})
					if err != nil {
						return err
					}
					_ = actor.Send(pid, "go")
					refs = append(refs, ctx.Monitor(pid))
				}
				return refs
			}).([]actor.Ref)
			seen := map[actor.Ref]bool{} // DOWNs taken from the mailbox so far
			for _, ref := range refs {
				active := demonitorIn(t, p, ref, false)
				for _, msg := range p.queued(t) {
					if d, ok := msg.(actor.Down); ok {
						seen[d.Ref] = true
					}
				}
				switch {
				case active && seen[ref]:
					errs <- errors.New("down_msg_found")
					return
				case !active && !seen[ref]:
					errs <- errors.New("no_down_msg_found")
					return
				case active:
					trues[g]++
				default:
					falses[g]++
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// OTP mon_1, "Cases for monitor/2": normal DOWN; spawn_monitor; DOWN with
// another reason; monitor of a dead process gives noproc; a monitor by
// registered name gets a DOWN naming it, and noproc once the name is gone.
func TestOTP_mon_1(t *testing.T) {
	sys, _ := newSystem(t)
	p := newProbe(t, sys, actor.Options{})
	p2 := spawn(t, sys, &otpWorker{}, actor.Options{})
	r2 := monitorIn(t, p, p2)
	_ = actor.Send(p2, "stop")
	p.expectDown(t, r2, p2, actor.ReasonNormal)

	v := p.call(t, func(ctx *actor.Context) any {
		pid, ref, err := ctx.SpawnMonitor(&funProc{f: func(ctx *actor.Context) { ctx.Stop(nil) }}, actor.Options{})
		if err != nil {
			return err
		}
		_ = actor.Send(pid, "go")
		return [2]any{pid, ref}
	}).([2]any)
	p.expectDown(t, v[1].(actor.Ref), v[0].(actor.PID), actor.ReasonNormal)

	// "'DOWN' with other reason"
	frop := errors.New("frop")
	p3 := spawn(t, sys, &otpWorker{}, actor.Options{})
	r3 := monitorIn(t, p, p3)
	actor.Exit(p3, frop)
	p.expectDown(t, r3, p3, frop)

	// "Monitor fails because process is dead"
	r4 := monitorIn(t, p, p3)
	p.expectDown(t, r4, p3, actor.ReasonNoProc)

	// "Normal case (named process)"
	jeeves := spawn(t, sys, &otpWorker{}, actor.Options{Name: "jeeves"})
	r5 := p.call(t, func(ctx *actor.Context) any { return ctx.MonitorName("jeeves") }).(actor.Ref)
	_ = actor.Send(jeeves, "stop")
	if d := p.expectDown(t, r5, jeeves, actor.ReasonNormal); d.Name != "jeeves" {
		t.Errorf("got name %q, want jeeves", d.Name)
	}
	// "Monitor (named process) fails because process is dead"
	r7 := p.call(t, func(ctx *actor.Context) any { return ctx.MonitorName("jeeves") }).(actor.Ref)
	if d := p.expectDown(t, r7, actor.PID{}, actor.ReasonNoProc); d.Name != "jeeves" {
		t.Errorf("got name %q, want jeeves", d.Name)
	}
}

// OTP: "Large exit reason": the DOWN carries the exit reason itself.
func TestOTP_large_exit(t *testing.T) {
	sys, _ := newSystem(t)
	p := newProbe(t, sys, actor.Options{})
	for range 100 {
		s := kb128()
		pid := spawn(t, sys, &funProc{f: func(ctx *actor.Context) { ctx.Stop(s) }}, actor.Options{})
		ref := monitorIn(t, p, pid)
		_ = actor.Send(pid, "go")
		if d := p.expectDown(t, ref, pid, nil); d.Reason != s {
			t.Fatalf("got %v, want the same reason", d.Reason)
		}
	}
}

// OTP: "Testing of monitor link list cleanup": monitors and monitored_by
// lists are emptied by demonitor, by the monitored process's exit and by
// the monitoring process's exit.
func TestOTP_list_cleanup(t *testing.T) {
	sys, _ := newSystem(t)
	p := newProbe(t, sys, actor.Options{Name: "master_bertie"})
	check := func(pid actor.PID, mons, by int) {
		t.Helper()
		if m, b := actor.MonitorCounts(pid); m != mons || b != by {
			t.Errorf("%v: monitors %d, monitored_by %d; want %d, %d", pid, m, b, mons, by)
		}
	}
	j1 := newProbe(t, sys, actor.Options{Name: "jeeves"})
	check(p.pid, 0, 0)
	r1a := monitorIn(t, p, j1.pid)
	check(p.pid, 1, 0)
	check(j1.pid, 0, 1)
	demonitorIn(t, p, r1a, false)
	p.expectNoMsg(t)
	check(p.pid, 0, 0)
	check(j1.pid, 0, 0)
	// "Remonitor named and try again, now exiting the monitored process"
	r1b := p.call(t, func(ctx *actor.Context) any { return ctx.MonitorName("jeeves") }).(actor.Ref)
	check(j1.pid, 0, 1)
	actor.Exit(j1.pid, actor.ReasonKill)
	p.expectDown(t, r1b, j1.pid, actor.ReasonKilled)
	check(p.pid, 0, 0)
	// "Slightly weird local case - the monitoring process crashes"
	j2 := newProbe(t, sys, actor.Options{})
	j2.call(t, func(ctx *actor.Context) any { return ctx.MonitorName("master_bertie") })
	check(p.pid, 0, 1)
	check(j2.pid, 1, 0)
	d := watch(t, sys, j2.pid)
	actor.Exit(j2.pid, errors.New("frop"))
	waitDown(t, d)
	check(p.pid, 0, 0)
}

// OTP: "Test that DOWN message for a named monitor isn't delivered until
// name has been unregistered": once the DOWN is in, the name is free.
func TestOTP_named_down(t *testing.T) {
	sys, _ := newSystem(t)
	p := newProbe(t, sys, actor.Options{})
	for range 100 {
		named := spawn(t, sys, &otpWorker{}, actor.Options{Name: "named_down"})
		actor.Exit(named, errors.New("bang"))
		ref := p.call(t, func(ctx *actor.Context) any { return ctx.MonitorName("named_down") }).(actor.Ref)
		m := p.recv(t).(actor.Down)
		if m.Ref != ref {
			t.Fatalf("got %v, want the DOWN of %v", m, ref)
		}
		if err := sys.Register("named_down", p.pid); err != nil {
			t.Fatalf("register after the DOWN: %v", err)
		}
		if !sys.Unregister("named_down") {
			t.Fatal("unregister: false")
		}
	}
}
