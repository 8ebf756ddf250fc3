package actor_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/troupe-go/troupe/actor"
)

// Cases of erts/emulator/test/timer_bif_SUITE.erl. OTP's cancel_timer
// returns the time left; troupe's Cancel reports whether the timer was
// pending and Remaining reads the time left (read_timer). The cases' checks
// of how long a timer took (a message must not come within 900 ms) are not
// translated: tests here assert no timing.

// collect receives messages until last.
func collect(t *testing.T, p *probe, last any) []any {
	t.Helper()
	var out []any
	for {
		m := p.recv(t)
		out = append(out, m)
		if m == last {
			return out
		}
	}
}

// OTP: "Basic start_timer/3 functionality": the message is {timeout,
// TRef, Msg}; afterwards read_timer and cancel_timer are false; a pending
// timer's time left is at most its timeout; once cancelled, no message.
func TestOTP_start_timer_1(t *testing.T) {
	sys, _ := newSystem(t)
	p := newProbe(t, sys, actor.Options{})
	ref1 := actor.StartTimer(time.Millisecond, p.pid, "plopp")
	if m := p.recv(t); m != (actor.Timeout{Timer: ref1, Msg: "plopp"}) {
		t.Errorf("got %v, want {timeout, Ref1, plopp}", m)
	}
	if _, ok := ref1.Remaining(); ok {
		t.Error("read_timer after the timeout: pending")
	}
	if ref1.Cancel() {
		t.Error("cancel_timer after the timeout: true")
	}
	ref2 := actor.StartTimer(time.Hour, p.pid, "plapp")
	if left, ok := ref2.Remaining(); !ok || left <= 0 || left > time.Hour {
		t.Errorf("read_timer: got %v %v, want 0 < left <= 1h", left, ok)
	}
	if !ref2.Cancel() {
		t.Error("cancel_timer of a pending timer: false")
	}
	p.expectNoMsg(t)
	if ref2.Cancel() {
		t.Error("second cancel_timer: true")
	}
}

// OTP: "Basic send_after/3 functionality"
func TestOTP_send_after_1(t *testing.T) {
	sys, _ := newSystem(t)
	p := newProbe(t, sys, actor.Options{})
	ref3 := actor.SendAfter(time.Millisecond, p.pid, "plipp")
	if m := p.recv(t); m != "plipp" {
		t.Errorf("got %v, want plipp", m)
	}
	if _, ok := ref3.Remaining(); ok {
		t.Error("read_timer after the message: pending")
	}
}

// OTP: "Big timeouts for start_timer/3" and send_after/3: a 2^31 ms timer
// can be read and cancelled.
func TestOTP_send_after_big(t *testing.T) {
	sys, _ := newSystem(t)
	p := newProbe(t, sys, actor.Options{})
	big := time.Duration(1<<31) * time.Millisecond
	for _, r := range []*actor.Timer{actor.StartTimer(big, p.pid, "hej"), actor.SendAfter(big, p.pid, "hej")} {
		if left, ok := r.Remaining(); !ok || left <= big-time.Hour || left > big {
			t.Errorf("got %v %v, want about %v", left, ok, big)
		}
		if !r.Cancel() {
			t.Error("cancel: false")
		}
	}
}

// OTP: "send_after/3: messages in the right order, kind version" (send_after_2)
// and "worse than send_after_2" (send_after_3, deadlines a millisecond
// apart): timers fire in the order of their deadlines, whatever the order
// they were set in. troupe also keeps the order of timers with the same
// deadline (OTP's commented-out c1..c3 check, "not guaranteed" there).
func TestOTP_send_after_2(t *testing.T) {
	sys, _ := newSystem(t)
	p := newProbe(t, sys, actor.Options{})
	ms := time.Millisecond
	for _, s := range []struct {
		d   time.Duration
		msg string
	}{{500 * ms, "last"}, {0, "a0"}, {20 * ms, "a2"}, {10 * ms, "a1"}, {50 * ms, "a5"}, {30 * ms, "a3"}, {40 * ms, "a4"}} {
		actor.SendAfter(s.d, p.pid, s.msg)
	}
	if diff := cmp.Diff([]any{"a0", "a1", "a2", "a3", "a4", "a5", "last"}, collect(t, p, "last")); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

func TestOTP_send_after_3(t *testing.T) {
	sys, _ := newSystem(t)
	p := newProbe(t, sys, actor.Options{})
	for i, msg := range []string{"b1", "b2", "b3", "last"} {
		actor.SendAfter(time.Duration(20+i)*time.Millisecond, p.pid, msg)
	}
	if diff := cmp.Diff([]any{"b1", "b2", "b3", "last"}, collect(t, p, "last")); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	for _, msg := range []string{"c1", "c2", "c3", "last"} {
		actor.SendAfter(20*time.Millisecond, p.pid, msg)
	}
	if diff := cmp.Diff([]any{"c1", "c2", "c3", "last"}, collect(t, p, "last")); diff != "" {
		t.Errorf("same deadline order (-want +got):\n%s", diff)
	}
}

// OTP: "Check trivial cancel_timer/1 behaviour" and read_timer_trivial: a
// timer that does not exist is not pending (the zero Timer, a nil *Timer).
func TestOTP_cancel_timer_1(t *testing.T) {
	var zero actor.Timer
	if zero.Cancel() {
		t.Error("zero Timer: Cancel true")
	}
	if _, ok := zero.Remaining(); ok {
		t.Error("zero Timer: Remaining pending")
	}
	var nilTimer *actor.Timer
	if nilTimer.Cancel() {
		t.Error("nil Timer: Cancel true")
	}
	if _, ok := nilTimer.Remaining(); ok {
		t.Error("nil Timer: Remaining pending")
	}
	if actor.SendAfter(time.Hour, actor.PID{}, "hej").Cancel() {
		t.Error("timer to the zero PID: Cancel true")
	}
}

// OTP: "Test that read_timer/1 seems to return the correct values." The
// time left read just before the cancel is not less than what is left at
// the cancel, and after it nothing is pending.
func TestOTP_read_timer(t *testing.T) {
	sys, _ := newSystem(t)
	p := newProbe(t, sys, actor.Options{})
	big := time.Duration(1<<31) * time.Millisecond
	r := actor.SendAfter(big, p.pid, "hej_hopp")
	left, ok := r.Remaining()
	left2, ok2 := r.Remaining()
	if !ok || !ok2 || left2 > left || left > big {
		t.Errorf("got %v then %v, want non-increasing values up to %v", left, left2, big)
	}
	r.Cancel()
	if _, ok := r.Remaining(); ok {
		t.Error("read_timer after cancel: pending")
	}
}

// OTP cleanup: a timer aimed at a dead process is not pending; a process
// that dies takes its timers with it; cancelled and fired timers leave
// nothing behind.
func TestOTP_cleanup(t *testing.T) {
	sys, _ := newSystem(t)
	// "Timer on dead process"
	p1 := spawn(t, sys, &otpWorker{}, actor.Options{})
	if err := actor.Stop(ctxT(t), p1); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*actor.Timer{actor.StartTimer(time.Hour, p1, "hej"), actor.SendAfter(time.Hour, p1, "hej")} {
		if _, ok := r.Remaining(); ok {
			t.Error("timer on a dead process is pending")
		}
	}
	if n := actor.PendingTimers(sys); n != 0 {
		t.Errorf("%d timers pending", n)
	}
	// "Process dies before timeout"
	p2 := spawn(t, sys, &otpWorker{}, actor.Options{})
	t3, t4 := actor.StartTimer(time.Hour, p2, "hej"), actor.SendAfter(time.Hour, p2, "hej")
	for _, r := range []*actor.Timer{t3, t4} {
		if _, ok := r.Remaining(); !ok {
			t.Error("timer on a live process not pending")
		}
	}
	if err := actor.Stop(ctxT(t), p2); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*actor.Timer{t3, t4} {
		if _, ok := r.Remaining(); ok {
			t.Error("timer of a dead process still pending")
		}
	}
	// "Cancel timer"
	p3 := spawn(t, sys, &otpWorker{}, actor.Options{})
	t5, t6 := actor.StartTimer(time.Hour, p3, "hej"), actor.SendAfter(time.Hour, p3, "hej")
	for _, r := range []*actor.Timer{t5, t6} {
		if !r.Cancel() {
			t.Error("cancel: false")
		}
		if _, ok := r.Remaining(); ok {
			t.Error("cancelled timer pending")
		}
	}
	// "Timeout"
	p := newProbe(t, sys, actor.Options{})
	t7, t8 := actor.StartTimer(time.Millisecond, p.pid, "ref"), actor.SendAfter(time.Millisecond, p.pid, "ref")
	got := map[any]bool{p.recv(t): true, p.recv(t): true}
	if !got[actor.Timeout{Timer: t7, Msg: "ref"}] || !got["ref"] {
		t.Errorf("got %v", got)
	}
	_ = t8
	if n := actor.PendingTimers(sys); n != 0 {
		t.Errorf("%d timers pending at the end", n)
	}
}

// OTP registered_process: timers aimed at a name: cancelled ones send
// nothing; the name is looked up when the timer fires, so a process that
// registers after the timer was set gets the message.
func TestOTP_registered_process(t *testing.T) {
	sys, _ := newSystem(t)
	t1 := sys.SendAfterName(time.Hour, "timer_bif_SUITE", "hej")
	if _, ok := t1.Remaining(); !ok {
		t.Error("timer to a name not pending")
	}
	if !t1.Cancel() {
		t.Error("cancel: false")
	}
	if _, ok := t1.Remaining(); ok {
		t.Error("cancelled timer pending")
	}
	// "Timeout register after start"
	p := newProbe(t, sys, actor.Options{})
	t3 := sys.SendAfterName(200*time.Millisecond, "timer_bif_SUITE", "ref1")
	if err := sys.Register("timer_bif_SUITE", p.pid); err != nil {
		t.Fatal(err)
	}
	if m := p.recv(t); m != "ref1" {
		t.Errorf("got %v, want ref1", m)
	}
	if _, ok := t3.Remaining(); ok {
		t.Error("fired timer pending")
	}
	// "Timeout register before start"
	sys.SendAfterName(time.Millisecond, "timer_bif_SUITE", "ref2")
	if m := p.recv(t); m != "ref2" {
		t.Errorf("got %v, want ref2", m)
	}
	if n := actor.PendingTimers(sys); n != 0 {
		t.Errorf("%d timers pending", n)
	}
}

// OTP same_time_yielding: many timers with the same deadline all fire (and
// nothing is left); troupe also keeps their order.
func TestOTP_same_time_yielding(t *testing.T) {
	sys, _ := newSystem(t)
	p := newProbe(t, sys, actor.Options{})
	const n = 602 // (TIMEOUT_YIELD_LIMIT*3+1)*2 schedulers
	var want []any
	for i := range n {
		actor.SendAfter(10*time.Millisecond, p.pid, i)
		want = append(want, i)
	}
	var got []any
	for range n {
		got = append(got, p.recv(t))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	if n := actor.PendingTimers(sys); n != 0 {
		t.Errorf("%d timers pending", n)
	}
}

// OTP same_time_yielding_with_cancel(_other): timers are cancelled, from
// the receiving process or another, as they expire; each one either fires
// (its cancel is false) or is cancelled (true, and it sends nothing):
// exactly one of the two.
func TestOTP_same_time_yielding_with_cancel(t *testing.T) {
	for _, other := range []bool{false, true} {
		t.Run(fmt.Sprint("other=", other), func(t *testing.T) {
			sys, _ := newSystem(t)
			p := newProbe(t, sys, actor.Options{})
			const n = 602
			timers := make([]*actor.Timer, n)
			start := time.Now()
			for i := range timers {
				timers[i] = actor.StartTimer(2*time.Millisecond, p.pid, "hej")
			}
			cancelled := make([]bool, n)
			cancel := func() {
				// As do_cancel_tmrs: start cancelling just before the
				// deadline, so that cancels and expiries interleave.
				for time.Since(start) < 2*time.Millisecond-100*time.Microsecond {
				}
				for i, tm := range timers {
					cancelled[i] = tm.Cancel()
				}
			}
			if other {
				done := make(chan struct{})
				go func() { cancel(); close(done) }()
				<-done
			} else {
				p.call(t, func(*actor.Context) any { cancel(); return nil })
			}
			fired := map[*actor.Timer]bool{}
			for _, m := range p.queued(t) {
				if to, ok := m.(actor.Timeout); ok {
					fired[to.Timer] = true
				}
			}
			time.Sleep(5 * time.Millisecond) // a cancelled timer would have fired by now
			for _, m := range p.queued(t) {
				if to, ok := m.(actor.Timeout); ok {
					fired[to.Timer] = true
				}
			}
			for i, tm := range timers {
				if cancelled[i] == fired[tm] {
					t.Fatalf("timer %d: cancelled %v, fired %v", i, cancelled[i], fired[tm])
				}
			}
		})
	}
}

// OTP auto_cancel_yielding: a process with many pending timers is killed;
// its timers go with it.
func TestOTP_auto_cancel_yielding(t *testing.T) {
	sys, _ := newSystem(t)
	started := make(chan struct{})
	p := spawn(t, sys, actor.BehaviorFunc(func(ctx *actor.Context, msg any) {
		for i := range 602 {
			actor.StartTimer(time.Hour+time.Duration(i)*10*time.Millisecond, ctx.Self(), "hej")
		}
		close(started)
	}), actor.Options{})
	_ = actor.Send(p, "go")
	<-started
	if n := actor.PendingTimers(sys); n != 602 {
		t.Errorf("%d timers pending, want 602", n)
	}
	exitWith(t, sys, p, errors.New("bang"))
	if n := actor.PendingTimers(sys); n != 0 {
		t.Errorf("%d timers pending after the exit, want 0", n)
	}
}

// Interval timers keep their period and stop for good on Cancel; a timer
// aimed at another process dies with that process, not with the one that
// set it.
func TestOTP_send_interval(t *testing.T) {
	sys, _ := newSystem(t)
	p := newProbe(t, sys, actor.Options{})
	tick := actor.SendInterval(time.Millisecond, p.pid, "tick")
	for range 3 {
		if m := p.recv(t); m != "tick" {
			t.Fatalf("got %v, want tick", m)
		}
	}
	if !tick.Cancel() {
		t.Error("cancel of an interval: false")
	}
	p.queued(t)
	time.Sleep(5 * time.Millisecond)
	p.expectNoMsg(t)

	setter := newProbe(t, sys, actor.Options{})
	tm := setter.call(t, func(*actor.Context) any { return actor.SendAfter(time.Hour, p.pid, "later") }).(*actor.Timer)
	if err := actor.Stop(ctxT(t), setter.pid); err != nil {
		t.Fatal(err)
	}
	if _, ok := tm.Remaining(); !ok {
		t.Error("timer died with a process other than its target")
	}
	tm.Cancel()
}
