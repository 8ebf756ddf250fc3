package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/troupe-go/troupe/examples/todo/internal/apptest"
	"github.com/troupe-go/troupe/examples/todo/web"
)

// waitUntil polls cond for at most 10 s (a bound for a hung test, not a
// timing assertion).
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestLivePingsIdleBrowsers: an idle connection, which has no goroutine
// writing to it between events, is still pinged every interval, and stays
// open while the browser answers.
func TestLivePingsIdleBrowsers(t *testing.T) {
	a := apptest.Start(t, apptest.Options{Web: web.Options{PingInterval: 10 * time.Millisecond}})
	u, b := login(t, a, "ann")
	var pings atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(a.Server.URL, "http")+"/live?list="+url.QueryEscape(u.List), &websocket.DialOptions{
		HTTPHeader:     http.Header{"Cookie": {u.Cookie().String()}, "Origin": {a.Server.URL}},
		OnPingReceived: func(context.Context, []byte) bool { pings.Add(1); return true },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if m := readMsg(t, c); m["kind"] != "state" {
		t.Fatalf("first message %v", m)
	}
	read := make(chan error, 1)
	go func() { // answers the pings
		_, _, err := c.Read(context.Background())
		read <- err
	}()
	waitUntil(t, "three pings", func() bool { return pings.Load() >= 3 })
	if n, _ := a.Pages.LiveConns(); n != 1 {
		t.Errorf("live connections %d, want 1", n)
	}
	// Events still get through between the pings.
	postForm(t, b, a.Server.URL+"/lists/"+u.List+"/todos", url.Values{"title": {"between pings"}})
	select {
	case err := <-read:
		if err != nil {
			t.Fatalf("read: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event")
	}
	c.Close(websocket.StatusNormalClosure, "")
	waitUntil(t, "the connection to be gone", func() bool { n, _ := a.Pages.LiveConns(); return n == 0 })
}

// TestLiveDataMessageClosesTheConnection: browsers send nothing on the
// live endpoint; a data message closes the connection as a policy
// violation.
func TestLiveDataMessageClosesTheConnection(t *testing.T) {
	a := apptest.Start(t, apptest.Options{})
	u := a.SignUp(t, "ann")
	c := dial(t, u, a.Server.URL, u.List)
	readMsg(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"kind":"hello"}`)); err != nil {
		t.Fatal(err)
	}
	var err error
	for err == nil { // a change may be on its way before the close
		_, _, err = c.Read(ctx)
	}
	if got := websocket.CloseStatus(err); got != websocket.StatusPolicyViolation {
		t.Errorf("close status %v (%v), want policy violation", got, err)
	}
	waitUntil(t, "the connection to be gone", func() bool { n, _ := a.Pages.LiveConns(); return n == 0 })
}

// TestLiveEventsKeepTheirOrder: events written by writers that start and
// stop with the queue arrive in the order they were published.
func TestLiveEventsKeepTheirOrder(t *testing.T) {
	a := apptest.Start(t, apptest.Options{})
	u, b := login(t, a, "ann")
	c := dial(t, u, a.Server.URL, u.List)
	if m := readChange(t, c); m["kind"] != "state" {
		t.Fatalf("first message %v", m)
	}
	const n = 20
	for i := range n {
		postForm(t, b, a.Server.URL+"/lists/"+u.List+"/todos", url.Values{"title": {fmt.Sprint("todo ", i)}})
	}
	for i := range n {
		m := readChange(t, c)
		if m["kind"] != "created" || m["seq"] != float64(i+1) {
			t.Fatalf("event %d: %v, want created with seq %d", i+1, m, i+1)
		}
	}
}
