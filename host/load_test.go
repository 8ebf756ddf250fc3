package host_test

import (
	"context"
	"strings"
	"testing"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/host"
	"github.com/troupe-go/troupe/service"
)

// mixApp answers the requests of issue 17's mix: Hello on "/", and the todo
// routes, by a stand-in for the todo service.
func mixApp() (*troupe.App, []host.Service) {
	app := &troupe.App{
		Name: "mix",
		Services: []troupe.ServiceDecl{
			{Name: "greeter", Receives: []string{"Hello"}},
			{Name: "todo", Receives: []string{"todo.create", "todo.list"}},
		},
		Routes: []troupe.Route{
			{Path: "/", Types: []string{"Hello"}},
			{Method: "POST", Path: "/api/lists/{list}/todos", Message: "todo.create"},
			{Method: "GET", Path: "/api/lists/{list}/todos", Message: "todo.list"},
		},
	}
	empty := func(context.Context, struct{}) (struct{}, error) { return struct{}{}, nil }
	return app, []host.Service{
		{Name: "greeter", New: func(_ context.Context, in *host.Instance) (*service.Service, error) {
			s := service.New(in.Config())
			return s, service.Handle(s, "Hello", "World", empty)
		}},
		{Name: "todo", New: func(_ context.Context, in *host.Instance) (*service.Service, error) {
			s := service.New(in.Config())
			if err := service.Handle(s, "todo.create", "todo", empty); err != nil {
				return nil, err
			}
			return s, service.Handle(s, "todo.list", "todo.listing", empty)
		}},
	}
}

// TestBenchMix runs `bench mix` against a node, once and as a (too short)
// soak: the reports come out, and a soak shorter than three minutes fails
// its duration check.
func TestBenchMix(t *testing.T) {
	app, svcs := mixApp()
	n := startNode(t, host.Config{App: app, Services: svcs, Only: []string{"greeter", "todo", troupe.GatewayService}, InProc: true, HTTP: host.HTTPConfig{Addr: "127.0.0.1:0"}})
	p := greetProgram()
	code, stdout, stderr := exitCode(t, p, "bench", "mix", "-url", n.URL(), "-duration", "500ms", "-c", "4", "-sample", "100ms", "-burst-at", "100ms", "-burst-n", "100", "-burst-duration", "1m")
	if code != 0 {
		t.Fatalf("bench mix: status %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"#### capacity: closed loop, 4 connections", "| hello | ", "| create | ", "| list | ", "| all | ", "seed 001's burst beside the mix: 100/100 good"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("bench mix output lacks %q:\n%s", want, stdout)
		}
	}
	code, stdout, stderr = exitCode(t, p, "bench", "mix", "-url", n.URL(), "-soak", "-c", "4", "-capacity-for", "300ms", "-capacity-step", "200ms", "-duration", "400ms", "-overload", "300ms", "-sample", "100ms", "-label", "stand-in", "-settle", "5s")
	if code != 1 {
		t.Errorf("a soak of 400 ms: status %d, want 1 (too short)\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"#### closed loop:", "#### capacity: open loop, 15% more per step", "capacity: ", "#### steady at 70% of the capacity: open loop at ", "FAIL  duration", "#### overload at 150% of the capacity", "recovers:", "#### summary", "| stand-in | "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("soak output lacks %q:\n%s", want, stdout)
		}
	}
}
