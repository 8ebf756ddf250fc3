package actor_test

import (
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
)

type tick struct{}
type fired struct{}

func TestTimers(t *testing.T) {
	sys, _ := newSystem(t)
	out := make(chan any, 100)
	var interval *actor.Timer
	pid := spawn(t, sys, actor.BehaviorFunc(func(ctx *actor.Context, msg any) {
		switch msg {
		case "after":
			ctx.SendAfter(time.Millisecond, fired{})
		case "cancelled":
			tm := ctx.SendAfter(time.Hour, fired{})
			ctx.Reply(tm.Cancel())
		case "interval":
			interval = ctx.SendInterval(time.Millisecond, tick{})
		case "stop interval":
			ctx.Reply(interval.Cancel())
		default:
			out <- msg
		}
	}), actor.Options{})

	_ = actor.Send(pid, "after")
	if got := recv(t, out); got != (fired{}) {
		t.Errorf("got %v, want fired", got)
	}
	if v, err := actor.Ask(ctxT(t), pid, "cancelled"); err != nil || v != true {
		t.Errorf("cancel: got %v %v, want true", v, err)
	}
	_ = actor.Send(pid, "interval")
	for i := 0; i < 3; i++ {
		if got := recv(t, out); got != (tick{}) {
			t.Errorf("got %v, want tick", got)
		}
	}
	if v, err := actor.Ask(ctxT(t), pid, "stop interval"); err != nil || v != true {
		t.Errorf("cancel interval: got %v %v, want true", v, err)
	}
	// After the cancel, no tick is sent: the next message is the marker.
	for len(out) > 0 {
		<-out // ticks sent before the cancel
	}
	_ = actor.Send(pid, "marker")
	if got := recv(t, out); got != "marker" {
		t.Errorf("got %v, want marker", got)
	}
}

// Timers die with their process: by the time its monitors hear of the
// exit, its timers are cancelled (goleak checks that nothing runs on).
func TestTimersCancelledOnExit(t *testing.T) {
	sys, _ := newSystem(t)
	timers := make(chan *actor.Timer, 2)
	pid := spawn(t, sys, actor.BehaviorFunc(func(ctx *actor.Context, msg any) {
		timers <- ctx.SendInterval(time.Millisecond, tick{})
		timers <- ctx.SendAfter(time.Hour, fired{})
		ctx.Stop(nil)
	}), actor.Options{})
	down := watch(t, sys, pid)
	_ = actor.Send(pid, "start")
	waitDown(t, down)
	for i := 0; i < 2; i++ {
		if recv(t, timers).Cancel() {
			t.Errorf("timer %d still active after its process exited", i)
		}
	}
}
