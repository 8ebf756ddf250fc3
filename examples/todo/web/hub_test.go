package web

import (
	"context"
	"testing"
	"time"

	"github.com/troupe-go/troupe/examples/todo/store"
	"github.com/troupe-go/troupe/examples/todo/todo"
)

// TestSlowFollowerIsDroppedNotWaitedFor fills one follower's queue: the
// next event drops it, and the other followers of the list still get every
// event.
func TestSlowFollowerIsDroppedNotWaitedFor(t *testing.T) {
	h := newHub(2, time.Second, 0)
	slow := &liveConn{list: "l", kick: make(chan struct{})}
	fast := &liveConn{list: "l", kick: make(chan struct{})}
	other := &liveConn{list: "m", user: "u2", kick: make(chan struct{})}
	for _, c := range []*liveConn{slow, fast, other} {
		if !h.add(c) {
			t.Fatal("add refused")
		}
	}
	td := store.Todo{ID: "t", ListID: "l", Title: "x"}
	for i := range 3 {
		if err := h.publish(todo.Event{Kind: todo.KindCreated, List: "l", Seq: uint64(i + 1), Todo: &td}); err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			fast.q = fast.q[1:] // the fast follower keeps up
		}
	}
	select {
	case <-slow.kick:
	default:
		t.Error("the slow follower was not dropped")
	}
	select {
	case <-fast.kick:
		t.Error("the fast follower was dropped")
	default:
	}
	if got := len(fast.q); got != 1 {
		t.Errorf("fast follower has %d queued, want 1", got)
	}
	if got := len(other.q); got != 0 {
		t.Errorf("follower of another list got %d events", got)
	}
	// A new list reaches the browsers of its user only, whatever list
	// they follow.
	if err := h.publish(todo.Event{Kind: todo.KindListCreated, List: "n", ListInfo: &store.List{ID: "n"}, User: "u2"}); err != nil {
		t.Fatal(err)
	}
	if got := len(other.q); got != 1 {
		t.Errorf("a new list of u2 reached %d of u2's browsers, want 1", got)
	}
	if got := len(fast.q); got != 1 {
		t.Errorf("a new list of u2 reached another user's browser (%d queued, want 1)", got)
	}
	if _, drops := h.count(); drops != 1 {
		t.Errorf("drops %d, want 1", drops)
	}
	for _, c := range []*liveConn{slow, fast, other} {
		h.remove(c)
		h.wg.Done()
	}
	if err := h.close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if h.add(fast) {
		t.Error("add after close accepted")
	}
}
