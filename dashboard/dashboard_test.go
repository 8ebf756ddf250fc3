package dashboard_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/dashboard"
	"github.com/troupe-go/troupe/observe"
	"github.com/troupe-go/troupe/service"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
	)
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type greeting struct {
	Name string `json:"name"`
}

// node runs a greeter and a web client on the in-process bus, its agent,
// and a dashboard of it behind an httptest server.
func node(t *testing.T) (*bus.Client, string) {
	t.Helper()
	ctx := context.Background()
	app, _ := (&troupe.App{Name: "shop", Services: []troupe.ServiceDecl{
		{Name: "web", Sends: []string{"greet"}},
		{Name: "greeter", Receives: []string{"greet"}},
	}}).WithOperator()
	sys := actor.NewSystem(actor.Config{Logger: quiet})
	b, err := bus.New(bus.Config{App: app, Logger: quiet, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	g := service.New(service.Config{Name: "greeter", Instance: "greeter-1", Logger: quiet})
	if err := service.Handle(g, "greet", "greeting", func(_ context.Context, in greeting) (greeting, error) {
		if in.Name == "" {
			return greeting{}, troupe.Errorf(troupe.CodeBadRequest, "no name")
		}
		return greeting{Name: "hello " + in.Name}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := g.Start(ctx, b, sys); err != nil {
		t.Fatal(err)
	}
	web, err := b.Join(ctx, "web", "web-1")
	if err != nil {
		t.Fatal(err)
	}
	agent, err := observe.New(observe.Config{App: app, Bus: b, Actors: sys, Node: "node-1", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	d, err := dashboard.New(dashboard.Config{Client: observe.Local(agent), App: "shop", Interval: 50 * time.Millisecond, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d)
	t.Cleanup(func() {
		d.Close()
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = agent.Close(ctx)
		_ = g.Stop(ctx)
		_ = b.Close(ctx)
		_ = sys.Shutdown(ctx)
	})
	return web, srv.URL
}

// events reads a server-sent event stream, passing each event to each
// until it returns false.
func events(t *testing.T, url string, each func(event string, data []byte) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("%s: Content-Type %q", url, ct)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 8<<20)
	var event string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			if !each(event, []byte(line[len("data: "):])) {
				return
			}
		}
	}
	t.Fatalf("%s: the stream ended: %v", url, sc.Err())
}

func TestStream(t *testing.T) {
	web, url := node(t)
	ctx := context.Background()
	sawHistory := false
	frames := 0
	events(t, url+"/api/stream", func(event string, data []byte) bool {
		switch event {
		case "history":
			sawHistory = true
			return true
		case "state":
		default:
			return true
		}
		if !sawHistory {
			t.Fatal("a state came before the history")
		}
		var st dashboard.State
		if err := json.Unmarshal(data, &st); err != nil {
			t.Fatal(err)
		}
		frames++
		// Traffic between frames, so that rates show.
		for _, name := range []string{"ann", "bob", ""} {
			_, _ = web.Request(ctx, "greet", greeting{Name: name})
		}
		if st.App != "shop" || len(st.Nodes) != 1 || len(st.Services) != 2 {
			t.Fatalf("state: app %q, %d nodes, %d services", st.App, len(st.Nodes), len(st.Services))
		}
		for _, m := range st.Messages {
			if m.Name == "greet" && m.Rate > 0 && m.Errors > 0 && m.Codes["bad_request"] > 0 && m.P99 > 0 && len(m.Receivers) == 1 {
				return false // rates, errors by code, percentiles: done
			}
		}
		if frames > 200 {
			t.Fatalf("no traffic in %d frames: %s", frames, data)
		}
		return true
	})
	// A new page gets the charts' history first.
	events(t, url+"/api/stream", func(event string, data []byte) bool {
		if event != "history" {
			t.Fatalf("first event %q, want history", event)
		}
		var h struct {
			Series map[string][]dashboard.Point `json:"series"`
		}
		if err := json.Unmarshal(data, &h); err != nil || len(h.Series["greet"]) == 0 {
			t.Errorf("history %s: %v, want points of greet", data, err)
		}
		return false
	})
}

func TestPage(t *testing.T) {
	_, url := node(t)
	for path, want := range map[string]string{
		"/":                 "text/html",
		"/static/app.js":    "text/javascript",
		"/static/style.css": "text/css",
	} {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), want) || resp.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s: %d %q, want %s with a content security policy", path, resp.StatusCode, resp.Header.Get("Content-Type"), want)
		}
	}
	for _, path := range []string{"/nope", "/api/activity", "/api/activity?id=" + strings.Repeat("x", 100)} {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Errorf("GET %s: %d, want an error", path, resp.StatusCode)
		}
	}
	if resp, err := http.Post(url+"/api/state", "application/json", nil); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST /api/state: %d, want 405: the dashboard only reads", resp.StatusCode)
		}
	}
}

func TestTapAndActivity(t *testing.T) {
	web, url := node(t)
	ctx := context.Background()
	tctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { // traffic while the tap opens (bounded)
		defer close(done)
		for i := 0; i < 2000 && tctx.Err() == nil; i++ {
			_, _ = web.Request(tctx, "greet", greeting{Name: "cy"})
			time.Sleep(5 * time.Millisecond)
		}
	}()
	var activity string
	events(t, url+"/api/tap?name=greet", func(event string, data []byte) bool {
		var f struct {
			Hops []observe.Hop `json:"hops"`
		}
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatal(err)
		}
		for _, h := range f.Hops {
			if h.Event == "replied" {
				activity = h.Activity
				return false
			}
		}
		return true
	})
	stop()
	<-done
	// The stream open above made the node record; the activity's
	// timeline shows its request, from web to greeter, and its reply.
	events(t, url+"/api/stream", func(event string, _ []byte) bool { return event != "state" })
	deadline := time.Now().Add(10 * time.Second)
	for {
		env, err := web.Request(ctx, "greet", greeting{Name: "dee"})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(url + "/api/activity?id=" + env.ActivityID)
		if err != nil {
			t.Fatal(err)
		}
		var tl dashboard.Timeline
		err = json.NewDecoder(resp.Body).Decode(&tl)
		resp.Body.Close()
		// The reply's hop is recorded as it passes the tap, which can
		// be a moment after the requester has it: wait for the row to
		// complete, then check it whole.
		if err == nil && len(tl.Rows) == 1 && (tl.Rows[0].Complete || time.Now().After(deadline)) {
			r := tl.Rows[0]
			if r.Name != "greet" || r.Kind != "request" || !strings.HasPrefix(r.From, "web/") || len(r.To) != 1 || r.To[0] != "greeter/greeter-1" || !r.Complete || r.Reply != "greeting" || r.End < r.Start {
				t.Errorf("timeline row %+v", r)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no timeline for %s (tap saw %s)", env.ActivityID, activity)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
