package actor_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/troupe-go/troupe/actor"
)

func TestEvents(t *testing.T) {
	sys, _ := newSystem(t)
	sub := sys.Subscribe(100)
	defer sub.Close()
	sup, err := sys.StartSupervisor(actor.SupervisorSpec{
		Name: "sup", Intensity: 5, Period: time.Hour,
		Children: []actor.ChildSpec{{Name: "w", New: func(any) actor.Behavior { return &worker{name: "w"} }, Options: actor.Options{Name: "w"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	w, _ := sys.Whereis("w")
	_ = actor.Send(w, die{})
	w2 := waitRestart(t, sys, "w", w)
	settle(t, sup)
	_ = actor.Stop(ctxT(t), w2) // shutdown: restarted once more
	settle(t, sup)
	type ev struct {
		Kind actor.EventKind
		PID  actor.PID
	}
	var got []ev
	for len(sub.C) > 0 {
		e := <-sub.C
		got = append(got, ev{e.Kind, e.PID})
	}
	w3, _ := sys.Whereis("w")
	want := []ev{
		{actor.Started, w}, {actor.Started, sup},
		{actor.Crashed, w}, {actor.Started, w2}, {actor.Restarted, w2},
		{actor.Stopped, w2}, {actor.Started, w3}, {actor.Restarted, w3},
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b actor.PID) bool { return a == b })); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if sub.Dropped() != 0 {
		t.Errorf("dropped %d", sub.Dropped())
	}
}

// A subscriber that does not keep up loses events, counted; the runtime
// never waits for it.
func TestEventsSlowSubscriber(t *testing.T) {
	sys, _ := newSystem(t)
	sub := sys.Subscribe(1)
	for i := 0; i < 5; i++ {
		spawn(t, sys, &worker{}, actor.Options{})
	}
	if got, want := sub.Dropped(), uint64(4); got != want {
		t.Errorf("got %d dropped, want %d", got, want)
	}
	if e := <-sub.C; e.Kind != actor.Started {
		t.Errorf("got %v, want started", e.Kind)
	}
	sub.Close()
	if _, ok := <-sub.C; ok {
		t.Error("C open after Close")
	}
}
