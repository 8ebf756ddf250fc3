package dashboard

import (
	"context"
	"testing"
	"time"

	"github.com/troupe-go/troupe/observe"
)

// TestSlowPageDropped: a page whose frames pile up (its connection does not
// drain) is dropped at the next state, not buffered for.
func TestSlowPageDropped(t *testing.T) {
	d, err := New(Config{Client: observe.Local(), Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	slow, err := d.join()
	if err != nil {
		t.Fatal(err)
	}
	fast, err := d.join()
	if err != nil {
		t.Fatal(err)
	}
	for range cap(slow.frames) + 1 {
		d.refresh(context.Background())
		select { // the fast page reads each frame
		case <-fast.frames:
		case <-time.After(10 * time.Second):
			t.Fatal("no frame for the fast page")
		}
	}
	select {
	case <-slow.kicked:
	default:
		t.Error("the slow page was not dropped")
	}
	select {
	case <-fast.kicked:
		t.Error("the fast page was dropped")
	default:
	}
	d.leave(slow)
	d.leave(fast)
}

func TestTimeline(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	hops := []observe.Hop{
		{At: at(0), Event: "sent", Kind: "request", Name: "a", ID: "1", Activity: "1", From: "gateway/g", Service: "gateway"},
		{At: at(1), Event: "delivered", Kind: "request", Name: "a", ID: "1", Activity: "1", From: "gateway/g", Service: "web", Instance: "w"},
		{At: at(2), Event: "sent", Kind: "request", Name: "b", ID: "2", Activity: "1", From: "web/w", Service: "web"},
		{At: at(3), Event: "delivered", Kind: "request", Name: "b", ID: "2", Activity: "1", From: "web/w", Service: "todo", Instance: "t"},
		{At: at(5), Event: "replied", Kind: "reply", Name: "Error", ID: "3", ResponseTo: "2", Activity: "1", From: "todo/t", Service: "todo", Instance: "t", Code: "not_found"},
		{At: at(6), Event: "sent", Kind: "publish", Name: "c", ID: "4", Activity: "1", From: "web/w", Service: "web"},
		{At: at(8), Event: "replied", Kind: "reply", Name: "ok", ID: "5", ResponseTo: "1", Activity: "1", From: "web/w", Service: "web", Instance: "w"},
	}
	tl := timeline("1", hops)
	if len(tl.Rows) != 3 {
		t.Fatalf("rows = %+v, want a, b and c", tl.Rows)
	}
	a, b, c := tl.Rows[0], tl.Rows[1], tl.Rows[2]
	if a.Name != "a" || a.End != 0.008 || !a.Complete || a.Reply != "ok" || len(a.To) != 1 || a.To[0] != "web/w" {
		t.Errorf("row a = %+v", a)
	}
	if b.Name != "b" || b.Start != 0.002 || b.End != 0.005 || b.Code != "not_found" {
		t.Errorf("row b = %+v", b)
	}
	if c.Name != "c" || c.Kind != "publish" || c.End != c.Start || c.Complete {
		t.Errorf("row c = %+v", c)
	}
	acts := activities(hops)
	if len(acts) != 1 || acts[0].Name != "a" || acts[0].From != "gateway" || acts[0].Hops != 3 || !acts[0].Failed || acts[0].Took != 0.008 {
		t.Errorf("activities = %+v", acts)
	}
}
