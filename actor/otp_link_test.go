package actor_test

import (
	"errors"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
)

// Cases of erts/emulator/test/erl_link_SUITE.erl that apply to one node.
// check_link and check_unlink read process_info(links); here the
// test-only actor.LinkedTo.

func checkLink(t *testing.T, a, b actor.PID, want bool) {
	t.Helper()
	if got := actor.LinkedTo(a, b); got != want {
		t.Errorf("linked(%v, %v) = %v, want %v", a, b, got, want)
	}
}

// OTP: "Tests node local links" (common_link_test): spawn_link links,
// unlink and link work both ways, a trapping process gets {'EXIT', TP1,
// died}, the link is gone after the exit, and a process spawn_linked by
// one that dies with died dies too; link(self()) makes no link.
//
// Difference: a process spawned linked treats its spawner as its parent,
// and a trapping process is stopped by its parent's exit instead of
// receiving it (OTP's gen_server rule, which troupe applies to every
// process, all of them being behaviours). So TP2, which traps, is spawned
// and then linked; TP3 is spawned linked.
func TestOTP_links(t *testing.T) {
	sys, _ := newSystem(t)
	tp1 := newProbe(t, sys, actor.Options{})
	checkLink(t, tp1.pid, tp1.pid, false)
	tp2 := &probe{msgs: make(chan any, 100)}
	tp2.pid = tp1.call(t, func(ctx *actor.Context) any {
		pid, err := ctx.Spawn(tp2, actor.Options{})
		if err != nil {
			return err
		}
		if err := ctx.Link(pid); err != nil {
			return err
		}
		return pid
	}).(actor.PID)
	checkLink(t, tp1.pid, tp2.pid, true)
	tp2.call(t, func(ctx *actor.Context) any { ctx.Unlink(tp1.pid); return nil })
	checkLink(t, tp1.pid, tp2.pid, false)
	tp2.call(t, func(ctx *actor.Context) any { return ctx.Link(tp1.pid) })
	checkLink(t, tp1.pid, tp2.pid, true)
	tp2.call(t, func(ctx *actor.Context) any { ctx.TrapExit(true); return nil })
	died := errors.New("died")
	tp1.cast(func(ctx *actor.Context) any { ctx.Stop(died); return nil })
	tp2.expectExit(t, tp1.pid, died)
	checkLink(t, tp1.pid, tp2.pid, false)

	tp3 := &probe{msgs: make(chan any, 100)}
	tp3.pid = tp2.spawnLink(t, tp3)
	checkLink(t, tp3.pid, tp2.pid, true)
	d3 := watch(t, sys, tp3.pid)
	tp2.cast(func(ctx *actor.Context) any { ctx.Stop(died); return nil })
	if got := waitDown(t, d3); got != died {
		t.Errorf("tp3: got %v, want died", got)
	}
	checkLink(t, tp3.pid, tp2.pid, false)

	p := newProbe(t, sys, actor.Options{})
	if err := p.call(t, func(ctx *actor.Context) any { return ctx.Link(ctx.Self()) }); err != nil {
		t.Error(err)
	}
	checkLink(t, p.pid, p.pid, false)
}

// OTP: "Tests node local process monitors" (common_process_monitors): a
// monitor is seen from both ends; the monitored process cannot remove it;
// demonitor removes it; a DOWN carries the reason; a monitor of a dead
// process gives noproc; the same by registered name; monitors of self give
// no DOWN.
func TestOTP_process_monitors(t *testing.T) {
	sys, _ := newSystem(t)
	for _, byName := range []bool{false, true} {
		tp1 := newProbe(t, sys, actor.Options{})
		opt := actor.Options{}
		if byName {
			opt.Name = "tp4"
		}
		tp2 := newProbe(t, sys, opt)
		mon := func() actor.Ref {
			return tp1.call(t, func(ctx *actor.Context) any {
				if byName {
					return ctx.MonitorName("tp4")
				}
				return ctx.Monitor(tp2.pid)
			}).(actor.Ref)
		}
		check := func(mons, by int) {
			t.Helper()
			if m, _ := actor.MonitorCounts(tp1.pid); m != mons {
				t.Errorf("tp1 monitors %d, want %d", m, mons)
			}
			if _, b := actor.MonitorCounts(tp2.pid); b != by {
				t.Errorf("tp2 monitored by %d, want %d", b, by)
			}
		}
		r1 := mon()
		check(1, 1)
		tp2.call(t, func(ctx *actor.Context) any { return ctx.Demonitor(r1) })
		check(1, 1)
		if !tp1.call(t, func(ctx *actor.Context) any { return ctx.Demonitor(r1) }).(bool) {
			t.Error("demonitor: got false")
		}
		check(0, 0)
		r2 := mon()
		bye := errors.New("bye")
		tp2.cast(func(ctx *actor.Context) any { ctx.Stop(bye); return nil })
		if d := tp1.expectDown(t, r2, tp2.pid, bye); byName && d.Name != "tp4" {
			t.Errorf("got name %q, want tp4", d.Name)
		}
		check(0, 0)
		r3 := mon()
		want := tp2.pid
		if byName {
			want = actor.PID{}
		}
		tp1.expectDown(t, r3, want, actor.ReasonNoProc)
		check(0, 0)
	}
	p := newProbe(t, sys, actor.Options{Name: "process_monitors"})
	mon1 := monitorIn(t, p, p.pid)
	mon2 := p.call(t, func(ctx *actor.Context) any { return ctx.MonitorName("process_monitors") }).(actor.Ref)
	p.expectNoMsg(t)
	if !demonitorIn(t, p, mon1, false) || !demonitorIn(t, p, mon2, false) {
		t.Error("demonitor of self monitors: got false")
	}
}

// OTP otp_5772_link: exit(TP1, bang) then unlink(TP1) from a trapping
// process: an EXIT may be there at once ("after 0"), but none may arrive
// later ("got_late_exit_message").
func TestOTP_otp_5772_link(t *testing.T) {
	sys, _ := newSystem(t)
	p := trappingProbe(t, sys)
	for range 200 {
		tp1 := p.spawnLink(t, &otpWorker{})
		p.call(t, func(ctx *actor.Context) any {
			ctx.Exit(tp1, errors.New("bang"))
			ctx.Unlink(tp1)
			return nil
		})
		p.queued(t) // receive {'EXIT', TP1, _} after 0
		waitGone(t, tp1)
		for _, m := range p.queued(t) {
			if e, ok := m.(actor.Exited); ok && e.From == tp1 {
				t.Fatalf("got_late_exit_message %v", e)
			}
		}
	}
}

// OTP otp_5772_monitor: exit(TP1, bang) then demonitor(M1): a DOWN may be
// there at once, but none may arrive later ("got_late_down_message").
func TestOTP_otp_5772_monitor(t *testing.T) {
	sys, _ := newSystem(t)
	p := newProbe(t, sys, actor.Options{})
	for range 200 {
		tp1 := spawn(t, sys, &otpWorker{}, actor.Options{})
		m1 := monitorIn(t, p, tp1)
		p.call(t, func(ctx *actor.Context) any {
			actor.Exit(tp1, errors.New("bang"))
			return ctx.Demonitor(m1)
		})
		p.queued(t)
		waitGone(t, tp1)
		for _, m := range p.queued(t) {
			if d, ok := m.(actor.Down); ok && d.Ref == m1 {
				t.Fatalf("got_late_down_message %v", d)
			}
		}
	}
}

// otp_5772 raced once more, with the exit and the unlink or demonitor on
// different goroutines: the guarantee holds for any interleaving.
func TestOTP_otp_5772_race(t *testing.T) {
	sys, _ := newSystem(t)
	p := trappingProbe(t, sys)
	for range 500 {
		tp1 := p.spawnLink(t, &otpWorker{})
		m1 := monitorIn(t, p, tp1)
		go actor.Exit(tp1, errors.New("bang"))
		var active bool
		p.call(t, func(ctx *actor.Context) any {
			time.Sleep(time.Duration(len(p.msgs)%3) * time.Microsecond)
			ctx.Unlink(tp1)
			active = ctx.Demonitor(m1)
			return nil
		})
		before := p.queued(t)
		waitGone(t, tp1)
		for _, m := range p.queued(t) {
			switch m := m.(type) {
			case actor.Exited:
				if m.From == tp1 {
					t.Fatalf("late Exited %v", m)
				}
			case actor.Down:
				if m.Ref == m1 {
					t.Fatalf("late Down %v", m)
				}
			}
		}
		var down bool
		for _, m := range before {
			if d, ok := m.(actor.Down); ok && d.Ref == m1 {
				down = true
			}
		}
		if active == down {
			t.Fatalf("Demonitor reported %v with a DOWN queued: %v", active, down)
		}
	}
}
