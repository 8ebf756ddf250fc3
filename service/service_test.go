package service_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/service"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// records is a slog.Handler that keeps every record for inspection.
type records struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	r.recs = append(r.recs, rec.Clone())
	r.mu.Unlock()
	return nil
}
func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *records) WithGroup(string) slog.Handler      { return r }

// crashes returns the attributes of every crash report logged so far.
func (r *records) crashes() []map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]string
	for _, rec := range r.recs {
		if rec.Message != "process crashed" {
			continue
		}
		attrs := map[string]string{}
		rec.Attrs(func(a slog.Attr) bool {
			attrs[a.Key] = a.Value.String()
			return true
		})
		out = append(out, attrs)
	}
	return out
}

type Hello struct {
	Name string `json:"name,omitempty"`
}

type World struct {
	Greeting string `json:"greeting"`
}

// world is the app used by most tests: a caller and a greeter.
var world = &troupe.App{
	Name: "test",
	Services: []troupe.ServiceDecl{
		{Name: "caller", Sends: []string{"Hello", "Crash", "Chain", "note", "event", "Count", "quote"}},
		{Name: "greeter", Sends: []string{"Hello"}, Receives: []string{"Hello", "Crash", "Chain", "note", "event", "Count", "quote"}},
		{Name: "other", Receives: []string{"event", "quote"}},
	},
}

// fixture starts a bus, an actor system, the greeter service (configured by
// setup) and a caller client; everything is stopped at the end of the test.
type fixture struct {
	bus    *bus.Bus
	sys    *actor.System
	logs   *records
	caller *bus.Client
}

func start(t *testing.T, setup func(s *service.Service)) *fixture {
	t.Helper()
	logs := &records{}
	b, err := bus.New(bus.Config{App: world, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	sys := actor.NewSystem(actor.Config{Logger: slog.New(logs)})
	s := service.New(service.Config{Name: "greeter", Instance: "greeter-1"})
	setup(s)
	ctx := context.Background()
	if err := s.Start(ctx, b, sys); err != nil {
		t.Fatal(err)
	}
	caller, err := b.Join(ctx, "caller", "caller-1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
		if err := b.Close(ctx); err != nil {
			t.Errorf("bus close: %v", err)
		}
		if err := sys.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return &fixture{bus: b, sys: sys, logs: logs, caller: caller}
}

func greet(s *service.Service) {
	if err := service.Handle(s, "Hello", "World", func(_ context.Context, h Hello) (World, error) {
		if h.Name == "" {
			return World{}, troupe.Errorf(troupe.CodeBadRequest, "name is required")
		}
		return World{Greeting: "hello, " + h.Name}, nil
	}); err != nil {
		panic(err)
	}
}

func TestRequestReply(t *testing.T) {
	f := start(t, greet)
	env, err := f.caller.Request(context.Background(), "Hello", Hello{Name: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := env.Name, "World"; got != want {
		t.Errorf("reply name = %q, want %q", got, want)
	}
	if got, want := string(env.Payload), `{"greeting":"hello, ann"}`; got != want {
		t.Errorf("reply payload = %s, want %s", got, want)
	}
}

func TestHandlerErrors(t *testing.T) {
	f := start(t, greet)
	tests := []struct {
		name     string
		payload  any
		wantCode troupe.Code
		wantMsg  string
	}{
		{"handler error keeps its code", Hello{}, troupe.CodeBadRequest, "name is required"},
		{"payload of the wrong shape", []int{1, 2}, troupe.CodeBadRequest, "Hello: payload:"},
		{"payload field of the wrong type", map[string]any{"name": 42}, troupe.CodeBadRequest, "Hello: payload:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.caller.Request(context.Background(), "Hello", tt.payload)
			var te *troupe.Error
			if !errors.As(err, &te) {
				t.Fatalf("err = %v, want a *troupe.Error", err)
			}
			if te.Code != tt.wantCode || !strings.Contains(te.Msg, tt.wantMsg) {
				t.Errorf("err = %s %q, want %s containing %q", te.Code, te.Msg, tt.wantCode, tt.wantMsg)
			}
		})
	}
	if n := len(f.logs.crashes()); n != 0 {
		t.Errorf("%d crash reports for handler errors, want 0", n)
	}
}

func TestPanicGivesIncident(t *testing.T) {
	f := start(t, func(s *service.Service) {
		greet(s)
		if err := service.Handle(s, "Crash", "Never", func(context.Context, Hello) (World, error) {
			panic("boom")
		}); err != nil {
			t.Fatal(err)
		}
	})
	ctx := context.Background()
	const crashes = 3
	var incidents []string
	for i := 0; i < crashes; i++ {
		_, err := f.caller.Request(ctx, "Crash", Hello{Name: "x"})
		var te *troupe.Error
		if !errors.As(err, &te) {
			t.Fatalf("crash %d: err = %v, want a *troupe.Error", i, err)
		}
		if te.Code != troupe.CodeInternal || te.Incident == "" {
			t.Fatalf("crash %d: err = %+v, want internal with an incident", i, te)
		}
		incidents = append(incidents, te.Incident)
		// The service keeps serving.
		if _, err := f.caller.Request(ctx, "Hello", Hello{Name: "after"}); err != nil {
			t.Fatalf("request after crash %d: %v", i, err)
		}
	}
	reports := f.logs.crashes()
	var logged []string
	for _, r := range reports {
		logged = append(logged, r["incident"])
		if r["panic"] != "boom" || !strings.Contains(r["message"], "Crash") || !strings.Contains(r["stack"], "service_test.go") {
			t.Errorf("crash report lacks the panic, message or stack: %v", r)
		}
		if r["supervisor"] != "greeter-1/requests" { // the instance's tree
			t.Errorf("crash report supervisor = %q, want greeter-1/requests", r["supervisor"])
		}
	}
	if diff := cmp.Diff(incidents, logged); diff != "" {
		t.Errorf("incidents given to callers and logged differ (-callers +log):\n%s", diff)
	}
}

func TestNestedRequestInheritsActivityAndDeadline(t *testing.T) {
	type seen struct {
		Activity string    `json:"activity"`
		Deadline time.Time `json:"deadline"`
	}
	var s *service.Service
	f := start(t, func(svc *service.Service) {
		s = svc
		if err := service.Handle(svc, "Chain", "Chained", func(ctx context.Context, _ Hello) (seen, error) {
			// A nested request from inside a handler.
			w, err := service.Request[seen](ctx, s, "Hello", Hello{Name: "inner"})
			return w, err
		}); err != nil {
			t.Fatal(err)
		}
		if err := service.Handle(svc, "Hello", "World", func(ctx context.Context, _ Hello) (seen, error) {
			env := bus.EnvelopeFrom(ctx)
			d, _ := ctx.Deadline()
			return seen{Activity: env.ActivityID, Deadline: d}, nil
		}); err != nil {
			t.Fatal(err)
		}
	})
	deadline := time.Now().Add(3 * time.Second).Truncate(time.Millisecond)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	call, err := f.caller.Call(ctx, "Chain", nil)
	if err != nil {
		t.Fatal(err)
	}
	env, err := call.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got seen
	if err := decodeJSON(env.Payload, &got); err != nil {
		t.Fatal(err)
	}
	if got.Activity != call.ID() {
		t.Errorf("inner activity = %q, want the outer request's id %q", got.Activity, call.ID())
	}
	if got.Deadline.After(deadline) || got.Deadline.IsZero() {
		t.Errorf("inner deadline = %v, want at most the outer %v", got.Deadline, deadline)
	}
}

func TestOneWayMessages(t *testing.T) {
	got := make(chan string, 10)
	f := start(t, func(s *service.Service) {
		if err := service.On(s, "note", func(_ context.Context, h Hello) error {
			got <- "note:" + h.Name
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := service.On(s, "event", func(_ context.Context, h Hello) error {
			got <- "event:" + h.Name
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	})
	ctx := context.Background()
	if err := f.caller.Send(ctx, "note", Hello{Name: "a"}); err != nil {
		t.Fatal(err)
	}
	if err := f.caller.Publish(ctx, "event", Hello{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for len(seen) < 2 {
		select {
		case s := <-got:
			seen[s] = true
		case <-time.After(10 * time.Second):
			t.Fatalf("handled %v, want note:a and event:b", seen)
		}
	}
	if diff := cmp.Diff(map[string]bool{"note:a": true, "event:b": true}, seen); diff != "" {
		t.Errorf("handled (-want +got):\n%s", diff)
	}
	// A request to a one-way handler is answered "ok" once handled.
	env, err := f.caller.Request(ctx, "note", Hello{Name: "c"})
	if err != nil {
		t.Fatal(err)
	}
	if env.Name != "ok" {
		t.Errorf("reply to a request for a one-way handler = %q, want ok", env.Name)
	}
}

func TestStreamSeveralReplies(t *testing.T) {
	f := start(t, func(s *service.Service) {
		if err := service.Stream(s, "Count", "Counted", func(_ context.Context, n struct{ To int }, emit func(int) error) error {
			for i := 1; i <= n.To; i++ {
				if err := emit(i); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	})
	ctx := context.Background()
	call, err := f.caller.Call(ctx, "Count", struct{ To int }{4})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		env, err := call.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(env.Payload))
		if !env.More {
			got = append(got, "final")
		}
	}
	if diff := cmp.Diff([]string{"1", "2", "3", "4", "final"}, got); diff != "" {
		t.Errorf("replies (-want +got):\n%s", diff)
	}
}

func TestCollect(t *testing.T) {
	b, err := bus.New(bus.Config{App: world, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	sys := actor.NewSystem(actor.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx := context.Background()
	var services []*service.Service
	for _, name := range []string{"greeter", "other"} {
		s := service.New(service.Config{Name: name})
		price := len(name)
		if err := service.Handle(s, "quote", "quoted", func(context.Context, struct{}) (int, error) { return price, nil }); err != nil {
			t.Fatal(err)
		}
		if err := s.Start(ctx, b, sys); err != nil {
			t.Fatal(err)
		}
		services = append(services, s)
	}
	caller := service.New(service.Config{Name: "caller"})
	if err := caller.Start(ctx, b, sys); err != nil {
		t.Fatal(err)
	}
	services = append(services, caller)
	defer func() {
		for _, s := range services {
			if err := s.Stop(ctx); err != nil {
				t.Error(err)
			}
		}
		if err := b.Close(ctx); err != nil {
			t.Error(err)
		}
		if err := sys.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	}()
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	quotes, err := service.Collect[int](cctx, caller, "quote", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]bool{}
	for _, q := range quotes {
		got[q] = true
	}
	if diff := cmp.Diff(map[int]bool{len("greeter"): true, len("other"): true}, got); diff != "" {
		t.Errorf("quotes (-want +got):\n%s", diff)
	}
}

func TestRegistrationErrors(t *testing.T) {
	s := service.New(service.Config{Name: "greeter"})
	greet(s)
	if err := service.Handle(s, "Hello", "World", func(context.Context, Hello) (World, error) { return World{}, nil }); err == nil {
		t.Error("second handler for Hello accepted")
	}
	if err := service.Handle(s, "bad name!", "World", func(context.Context, Hello) (World, error) { return World{}, nil }); err == nil {
		t.Error("invalid message name accepted")
	}
	if err := service.Handle(s, "Other", "", func(context.Context, Hello) (World, error) { return World{}, nil }); err == nil {
		t.Error("empty reply name accepted")
	}
	// A handler for a name the service does not declare is refused at Start.
	b, err := bus.New(bus.Config{App: world, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	sys := actor.NewSystem(actor.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx := context.Background()
	undeclared := service.New(service.Config{Name: "other"})
	if err := service.On(undeclared, "note", func(context.Context, Hello) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := undeclared.Start(ctx, b, sys); !errors.Is(err, troupe.ErrForbidden) {
		t.Errorf("start with an undeclared handler: err = %v, want forbidden", err)
	}
	if err := b.Close(ctx); err != nil {
		t.Error(err)
	}
	if err := sys.Shutdown(ctx); err != nil {
		t.Error(err)
	}
}

func TestCallsBeforeStart(t *testing.T) {
	s := service.New(service.Config{Name: "caller"})
	ctx := context.Background()
	if _, err := service.Request[World](ctx, s, "Hello", nil); !errors.Is(err, troupe.ErrUnavailable) {
		t.Errorf("request before start: err = %v, want unavailable", err)
	}
	if err := s.Send(ctx, "note", nil); !errors.Is(err, troupe.ErrUnavailable) {
		t.Errorf("send before start: err = %v, want unavailable", err)
	}
	if err := s.Publish(ctx, "event", nil); !errors.Is(err, troupe.ErrUnavailable) {
		t.Errorf("publish before start: err = %v, want unavailable", err)
	}
}
