package observe_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/alarm"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/observe"
	"github.com/troupe-go/troupe/service"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// shop is the application of the tests: web asks greeter to greet.
func shop() *troupe.App {
	app := &troupe.App{
		Name: "shop",
		Services: []troupe.ServiceDecl{
			{Name: "web", Sends: []string{"greet", "order.placed"}},
			{Name: "greeter", Receives: []string{"greet", "order.placed"}, Durable: []string{"order.placed"}},
		},
	}
	app, err := app.WithOperator()
	if err != nil {
		panic(err)
	}
	return app
}

type greeting struct {
	Name string `json:"name"`
}

// rig is a node of the shop: its bus, actor system, greeter service, web
// client, alarms and agent.
type rig struct {
	bus     *bus.Bus
	sys     *actor.System
	greeter *service.Service
	web     *bus.Client
	agent   *observe.Agent
}

// newRig starts a node on tr (nil: in-process).
func newRig(t *testing.T, tr bus.Transport) *rig {
	t.Helper()
	ctx := context.Background()
	r := &rig{sys: actor.NewSystem(actor.Config{Logger: quiet})}
	var err error
	if r.bus, err = bus.New(bus.Config{App: shop(), Transport: tr, Logger: quiet, Timeout: 10 * time.Second}); err != nil {
		t.Fatal(err)
	}
	r.greeter = service.New(service.Config{Name: "greeter", Instance: "greeter-1", Logger: quiet})
	if err := service.Handle(r.greeter, "greet", "greeting", func(ctx context.Context, g greeting) (greeting, error) {
		if g.Name == "boom" {
			panic("greeter cannot greet boom")
		}
		if g.Name == "" {
			return greeting{}, troupe.Errorf(troupe.CodeBadRequest, "no name")
		}
		return greeting{Name: "hello " + g.Name}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := service.On(r.greeter, "order.placed", func(context.Context, greeting) error { return errors.New("cannot") }); err != nil {
		t.Fatal(err)
	}
	if err := r.greeter.Start(ctx, r.bus, r.sys); err != nil {
		t.Fatal(err)
	}
	if r.web, err = r.bus.Join(ctx, "web", "web-1"); err != nil {
		t.Fatal(err)
	}
	mon := alarm.New(alarm.Config{Logger: quiet})
	if _, err := mon.CrashLoop("crash-loop", alarm.CrashLoopConfig{}); err != nil {
		t.Fatal(err)
	}
	if r.agent, err = observe.New(observe.Config{App: shop(), Bus: r.bus, Actors: r.sys, Alarms: mon, Node: "node-1", Version: "v1.2.3", Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.agent.Close(ctx); err != nil {
			t.Error(err)
		}
		_ = r.greeter.Stop(ctx)
		_ = r.bus.Close(ctx)
		_ = r.sys.Shutdown(ctx)
	})
	return r
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// instance finds an instance in the nodes' snapshots.
func instance(nodes []observe.Node, id string) (observe.Instance, bool) {
	for _, n := range nodes {
		for _, in := range n.Instances {
			if in.ID == id {
				return in, true
			}
		}
	}
	return observe.Instance{}, false
}

func msgOf(in observe.Instance, name string) observe.Message {
	for _, m := range in.Messages {
		if m.Name == name {
			return m
		}
	}
	return observe.Message{}
}

// checkClient runs the same checks against any client of a rig.
func checkClient(t *testing.T, r *rig, c *observe.Client) {
	ctx := ctxT(t)
	// Record from now on, as a dashboard asks: every activity once the
	// node has measured its (light) traffic.
	for {
		nodes, err := c.Nodes(ctx, observe.NodeOptions{Record: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(nodes) == 1 && nodes[0].Sampling == 1 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	var activity troupe.ID
	for _, name := range []string{"ann", "bob", ""} {
		env, err := r.web.Request(ctx, "greet", greeting{Name: name})
		if name != "" && err != nil {
			t.Fatal(err)
		}
		if env != nil && activity == "" {
			activity = env.ActivityID
		}
	}
	_, err := r.web.Request(ctx, "greet", greeting{Name: "boom"})
	var te *troupe.Error
	if !errors.As(err, &te) || te.Incident == "" {
		t.Fatalf("boom: %v, want an internal error with an incident", err)
	}

	nodes, err := c.Nodes(ctx, observe.NodeOptions{Trees: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 1 || nodes[0].ID != "node-1" || nodes[0].Version != "v1.2.3" || nodes[0].App != "shop" {
		t.Fatalf("nodes = %+v, want node-1 of shop", nodes)
	}
	g, ok := instance(nodes, "greeter-1")
	if !ok {
		t.Fatalf("no greeter-1 among %+v", nodes[0].Instances)
	}
	if got := msgOf(g, "greet"); got.Received != 4 || got.HandlerErrors != 2 || !got.Receives || got.Handled != 4 || got.HandledTime <= 0 {
		t.Errorf("greeter's greet = %+v, want 4 received, 2 handler errors, 4 handled", got)
	}
	w, _ := instance(nodes, "web-1")
	if got := msgOf(w, "greet"); got.Sent != 4 || got.Errors != 2 || got.Codes["bad_request"] != 1 || got.Codes["internal"] != 1 || got.Latency.Count != 4 || len(got.Latency.Buckets) == 0 {
		t.Errorf("web's greet = %+v, want 4 sent, 2 errors (bad_request, internal), 4 latencies", got)
	}
	if g.Tree == nil || g.Tree.Name != "greeter-1" || len(g.Tree.Children) != 1 || g.Tree.Children[0].Child != "requests" {
		t.Errorf("greeter's tree = %+v, want greeter-1 with its requests supervisor", g.Tree)
	}
	if g.Crashes != 1 {
		t.Errorf("greeter's crashes = %d, want 1", g.Crashes)
	}
	// The crash report, with the incident the requester got.
	var crash observe.Crash
	for range 1000 {
		if nodes, _ = c.Nodes(ctx, observe.NodeOptions{}); len(nodes) == 1 && len(nodes[0].Crashes) == 1 {
			crash = nodes[0].Crashes[0]
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if crash.Incident != te.Incident || crash.Service != "greeter" || crash.Instance != "greeter-1" || crash.Name != "greet" ||
		crash.MessageType != "request greet" || !strings.Contains(crash.Panic, "cannot greet boom") || !strings.Contains(crash.Stack, "observe_test.go") {
		t.Errorf("crash = %+v, want the greeter's, incident %s", crash, te.Incident)
	}
	if len(nodes[0].Alarms) != 1 || nodes[0].Alarms[0].Name != "crash-loop" {
		t.Errorf("alarms = %+v, want the crash loop", nodes[0].Alarms)
	}

	// The first activity's hops: sent by web, delivered to and replied by
	// greeter. The replied hop is recorded once the reply has gone, which
	// can be a moment after the requester has it: wait for the three.
	const wantHops = "sent request web, delivered request greeter, replied reply greeter"
	var gotHops string
	for range 1000 {
		hops, err := c.Activity(ctx, activity, 0)
		if err != nil {
			t.Fatal(err)
		}
		var events []string
		for _, h := range hops {
			events = append(events, h.Event+" "+h.Kind+" "+h.Service)
		}
		if gotHops = strings.Join(events, ", "); len(hops) >= 3 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if gotHops != wantHops {
		t.Errorf("hops of %s: %s, want %s", activity, gotHops, wantHops)
	}

	// A tap shows requests of greet and their replies, with payloads.
	tctx, stop := context.WithCancel(ctx)
	var (
		mu   sync.Mutex
		seen []observe.Hop
	)
	tapped := make(chan error, 1)
	got := make(chan struct{}, 1)
	go func() {
		tapped <- c.Tap(tctx, observe.Filter{Names: []string{"gr*"}}, func(_ string, hs []observe.Hop, _ uint64) {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, hs...)
			for _, h := range seen {
				if h.Event == "replied" {
					select {
					case got <- struct{}{}:
					default:
					}
				}
			}
		})
	}()
	// Until the tap is open on the node, requests go unseen: repeat.
	for done := false; !done; {
		if _, err := r.web.Request(ctx, "greet", greeting{Name: "cy"}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-got:
			done = true
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal("the tap saw nothing")
		}
	}
	stop()
	if err := <-tapped; !errors.Is(err, context.Canceled) {
		t.Errorf("Tap returned %v, want context.Canceled", err)
	}
	mu.Lock()
	defer mu.Unlock()
	var req, rep *observe.Hop
	for i := range seen {
		if h := &seen[i]; h.Kind == "request" && h.Event == "sent" && req == nil {
			req = h
		}
	}
	for i := range seen {
		if h := &seen[i]; req != nil && h.Event == "replied" && h.ResponseTo == req.ID {
			rep = h
		}
	}
	if req == nil || rep == nil {
		t.Fatalf("tap saw %+v, want a request and its reply", seen)
	}
	var payload greeting
	if err := json.Unmarshal(rep.Payload, &payload); err != nil || payload.Name != "hello cy" || rep.Name != "greeting" || rep.Took <= 0 {
		t.Errorf("reply hop = %+v (%v), want the greeting", rep, err)
	}
}

func TestLocal(t *testing.T) {
	r := newRig(t, nil)
	checkClient(t, r, observe.Local(r.agent))
}

func TestMicroVersion(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"v1.2.3", "1.2.3"},
		{"1.2.3-rc.1+build.5", "1.2.3-rc.1+build.5"},
		{"devel", "0.0.0-devel"},
		{"", "0.0.0-devel"},
		{"v0.1.0-3-g0abc1de", "0.1.0-3-g0abc1de"},
		{"(devel)", "0.0.0-devel"},
		{"2024.01", "0.0.0-2024.x01"},
		{"abc 01", "0.0.0-abc-01"},
		{"1.02", "0.0.0-1.x02"},
	} {
		if got := observe.MicroVersion(tt.in); got != tt.want {
			t.Errorf("MicroVersion(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEndpointName(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"todo.list", "todo_list"},
		{"Hello", "Hello"},
		{"a-b_c.d.e", "a-b_c_d_e"},
	} {
		if got := observe.EndpointName(tt.in); got != tt.want {
			t.Errorf("EndpointName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
