package actor_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/troupe-go/troupe/actor"
)

// described is a message that names itself in crash reports.
type described struct{}

func (d described) Describe() actor.Description {
	return actor.Description{Type: "request todo.add", Text: "todo #1", Attrs: []slog.Attr{slog.String("service", "todo"), slog.String("name", "todo.add")}}
}

func userPanics() { panic("the user's bug") }

func TestCrashReportDescribed(t *testing.T) {
	sys, rec := newSystem(t)
	_, err := sys.StartSupervisor(actor.SupervisorSpec{
		Name: "todo-1",
		Children: []actor.ChildSpec{{
			Name: "worker",
			New: func(any) actor.Behavior {
				return actor.BehaviorFunc(func(*actor.Context, any) { userPanics() })
			},
			Options: actor.Options{Name: "worker"},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := sys.Whereis("worker")
	_, err = actor.Ask(ctxT(t), pid, described{})
	ce, ok := err.(*actor.CrashError)
	if !ok {
		t.Fatalf("got %v, want a *CrashError", err)
	}
	if got, want := ce.Message, "request todo.add"; got != want {
		t.Errorf("Message = %q, want %q", got, want)
	}
	if got, want := ce.Attr("service"), "todo"; got != want {
		t.Errorf("Attr(service) = %q, want %q", got, want)
	}
	if got, want := ce.Tree(), "todo-1"; got != want {
		t.Errorf("Tree() = %q, want %q", got, want)
	}
	r := rec.crashes()[0]
	for key, want := range map[string]string{"message_type": "request todo.add", "message": "todo #1", "service": "todo", "name": "todo.add", "supervisor": "todo-1"} {
		if r[key] != want {
			t.Errorf("report %s = %q, want %q", key, r[key], want)
		}
	}
	// The stack starts at the user's code, and troupe's frames are folded.
	lines := strings.Split(ce.Stack, "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "goroutine ") || !strings.Contains(lines[1], "actor_test.userPanics") {
		t.Errorf("stack does not start with the user's frame:\n%s", ce.Stack)
	}
	if !strings.Contains(lines[len(lines)-1], "of troupe and the Go runtime folded") {
		t.Errorf("stack does not end with the folded frames:\n%s", ce.Stack)
	}
	if strings.Contains(ce.Stack, "runtime/debug.Stack") || strings.Contains(ce.Stack, "(*process).crash") {
		t.Errorf("stack shows the crash report's own frames:\n%s", ce.Stack)
	}
}

func TestFoldStack(t *testing.T) {
	stack := `goroutine 7 [running]:
runtime/debug.Stack()
	/go/src/runtime/debug/stack.go:26 +0x5e
github.com/troupe-go/troupe/actor.(*process).crash(0xc0001, {0x1, 0x2})
	/src/actor/crash.go:52 +0x1
panic({0x7b, 0x8})
	/go/src/runtime/panic.go:792 +0x132
github.com/troupe-go/troupe/examples/todo/todo.(*server).add(0xc0, {0x1})
	/src/examples/todo/todo/todo.go:120 +0x1d
github.com/troupe-go/troupe/service.Handle[...].func1({0x1, 0x2})
	/src/service/handle.go:30 +0x2
example.com/shop.checkout(...)
	/src/shop/checkout.go:12
github.com/troupe-go/troupe/actor.(*process).drainGuarded(0xc0)
	/src/actor/process.go:440 +0x3
created by github.com/troupe-go/troupe/actor.(*System).schedule in goroutine 1
	/src/actor/runner.go:40 +0x4
`
	want := `goroutine 7 [running]:
github.com/troupe-go/troupe/examples/todo/todo.(*server).add(0xc0, {0x1})
	/src/examples/todo/todo/todo.go:120 +0x1d
example.com/shop.checkout(...)
	/src/shop/checkout.go:12
… 3 frames of troupe and the Go runtime folded: service.Handle[...].func1, actor.(*process).drainGuarded, actor.(*System).schedule`
	if got := actor.FoldStack(stack); got != want {
		t.Errorf("FoldStack:\n%s\nwant:\n%s", got, want)
	}
	// A panic inside troupe itself keeps every frame below the panic.
	inside := "goroutine 1 [running]:\npanic({0x1})\n\t/go/src/runtime/panic.go:1\ngithub.com/troupe-go/troupe/bus.f()\n\t/src/bus/x.go:3 +0x1\n"
	if got, want := actor.FoldStack(inside), "goroutine 1 [running]:\ngithub.com/troupe-go/troupe/bus.f()\n\t/src/bus/x.go:3 +0x1"; got != want {
		t.Errorf("FoldStack of a framework panic:\n%s\nwant:\n%s", got, want)
	}
}

// syncBuf is a bytes.Buffer for concurrent writers.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestTextHandlerBlock(t *testing.T) {
	var out syncBuf
	log := slog.New(actor.NewTextHandler(&out, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})).With("node", "n1")
	log.Info("plain", "k", "v")
	log.Error("process crashed", "service", "todo", "process", "request", "incident", "01ABC",
		"panic", "boom", "message", "request todo.add", "stack", "goroutine 1 [running]:\nmain.f()\n\t/src/main.go:3")
	want := `level=INFO msg=plain node=n1 k=v
level=ERROR msg="process crashed" node=n1 service=todo process=request incident=01ABC
    panic: boom
    message: request todo.add
    stack:
      goroutine 1 [running]:
      main.f()
          /src/main.go:3
`
	if got := out.String(); got != want {
		t.Errorf("text log:\n%s\nwant:\n%s", got, want)
	}
	// A JSON handler keeps the report in one record.
	var js bytes.Buffer
	slog.New(slog.NewJSONHandler(&js, nil)).Error("process crashed", "stack", "a\nb")
	var rec map[string]any
	if err := json.Unmarshal(js.Bytes(), &rec); err != nil || strings.Count(js.String(), "\n") != 1 {
		t.Errorf("JSON record %q: %v", js.String(), err)
	}
}

func TestTreeAndCollector(t *testing.T) {
	sys, _ := newSystem(t)
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	sup, err := sys.StartSupervisor(actor.SupervisorSpec{
		Name:     "svc-1",
		Strategy: actor.OneForOne,
		Children: []actor.ChildSpec{{
			Name: "slow",
			New: func(any) actor.Behavior {
				return actor.BehaviorFunc(func(_ *actor.Context, msg any) {
					if msg == "block" {
						<-block
					}
				})
			},
			Options: actor.Options{Name: "slow"},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	slow, _ := sys.Whereis("slow")
	for _, m := range []any{"block", 1, 2, 3} {
		if err := actor.Send(slow, m); err != nil {
			t.Fatal(err)
		}
	}
	// The blocked process holds the message it handles and three more.
	var info actor.ProcessInfo
	for range 10000 {
		if info = actor.Inspect(slow); info.Mailbox == 4 {
			break
		}
		sleepABit()
	}
	if info.Mailbox != 4 || info.Name != "slow" || info.Supervisor != "svc-1" || !info.Alive {
		t.Errorf("Inspect = %+v, want 4 messages in slow's mailbox under svc-1", info)
	}
	tree, err := actor.Tree(ctxT(t), sup, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !tree.IsSupervisor || len(tree.Children) != 1 || tree.Children[0].Child != "slow" || tree.Children[0].Mailbox != 4 {
		t.Errorf("Tree = %+v, want svc-1 with slow (4 waiting)", tree)
	}
	var stats actor.TreeStats
	for _, ts := range sys.Trees() {
		if ts.Name == "svc-1" {
			stats = ts
		}
	}
	// The supervisor may still be in the batch that answered Tree: its
	// message counts until it is done.
	if stats.Processes != 2 || stats.Mailbox < 4 || stats.Mailbox > 5 || stats.MaxQueue != 4 {
		t.Errorf("Trees()[svc-1] = %+v, want 2 processes and 4 waiting at slow", stats)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(actor.Collector(sys, func(tree string) (string, string, bool) {
		return "svc", tree, tree == "svc-1"
	}))
	want := `
# HELP troupe_actor_mailbox_messages_max Messages waiting in the longest mailbox of a supervision tree (estimated).
# TYPE troupe_actor_mailbox_messages_max gauge
troupe_actor_mailbox_messages_max{instance="svc-1",service="svc"} 4
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "troupe_actor_mailbox_messages_max"); err != nil {
		t.Error(err)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) != 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}
