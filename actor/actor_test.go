package actor_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/troupe-go/troupe/actor"
)

func TestSendAskReply(t *testing.T) {
	sys, _ := newSystem(t)
	pid := spawn(t, sys, actor.BehaviorFunc(func(ctx *actor.Context, msg any) {
		ctx.Reply(fmt.Sprintf("echo %v", msg))
	}), actor.Options{})
	got, err := actor.Ask(ctxT(t), pid, 42)
	if err != nil {
		t.Fatal(err)
	}
	if want := "echo 42"; got != want {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestOneProc: with GOMAXPROCS=1 (a container limited to one CPU), where
// the waiters yield instead of polling, asks are answered and messages of
// a stream arrive in order, from a new system and from one made before the
// change.
func TestOneProc(t *testing.T) {
	before, _ := newSystem(t)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	after, _ := newSystem(t)
	for _, sys := range []*actor.System{before, after} {
		echo := spawn(t, sys, actor.BehaviorFunc(func(ctx *actor.Context, msg any) { ctx.Reply(msg) }), actor.Options{})
		for i := range 2000 {
			got, err := actor.Ask(ctxT(t), echo, i)
			if err != nil || got != i {
				t.Fatalf("Ask %d = %v, %v", i, got, err)
			}
		}
		got := make(chan int, 1000)
		sink := spawn(t, sys, actor.BehaviorFunc(func(_ *actor.Context, msg any) { got <- msg.(int) }), actor.Options{})
		for i := range 1000 {
			if err := actor.Send(sink, i); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 1000 {
			if n := <-got; n != i {
				t.Fatalf("message %d arrived as the %dth", n, i)
			}
		}
	}
}

func TestPerPairFIFO(t *testing.T) {
	sys, _ := newSystem(t)
	const senders, n = 4, 5000
	type m struct{ from, seq int }
	var (
		mu   sync.Mutex
		last = map[int]int{}
		bad  []string
		done = make(chan struct{})
		got  int
	)
	pid := spawn(t, sys, actor.BehaviorFunc(func(ctx *actor.Context, msg any) {
		v := msg.(m)
		mu.Lock()
		defer mu.Unlock()
		if prev, ok := last[v.from]; ok && v.seq != prev+1 {
			bad = append(bad, fmt.Sprintf("sender %d: %d after %d", v.from, v.seq, prev))
		}
		last[v.from] = v.seq
		got++
		if got == senders*n {
			close(done)
		}
	}), actor.Options{})
	var wg sync.WaitGroup
	for s := 0; s < senders; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n; i++ {
				if err := actor.Send(pid, m{s, i}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	recv(t, done)
	mu.Lock()
	defer mu.Unlock()
	if len(bad) > 0 {
		t.Errorf("out of order: %v", bad[:min(len(bad), 5)])
	}
}

func TestAskErrors(t *testing.T) {
	sys, _ := newSystem(t)
	silent := spawn(t, sys, actor.BehaviorFunc(func(*actor.Context, any) {}), actor.Options{})
	block := make(chan struct{})
	blocked := spawn(t, sys, actor.BehaviorFunc(func(ctx *actor.Context, msg any) {
		<-block
	}), actor.Options{})
	t.Cleanup(func() { close(block) })
	crasher := spawn(t, sys, actor.BehaviorFunc(func(ctx *actor.Context, msg any) {
		panic("boom")
	}), actor.Options{})
	dead := spawn(t, sys, actor.BehaviorFunc(func(*actor.Context, any) {}), actor.Options{})
	if err := actor.Stop(ctxT(t), dead); err != nil {
		t.Fatal(err)
	}
	expired, cancel := context.WithCancel(context.Background())
	cancel()

	tests := []struct {
		name string
		ctx  context.Context
		pid  actor.PID
		want error
	}{
		{"no reply", ctxT(t), silent, actor.ErrNoReply},
		{"dead", ctxT(t), dead, actor.ErrNoProcess},
		{"zero pid", ctxT(t), actor.PID{}, actor.ErrNoProcess},
		{"crashed", ctxT(t), crasher, actor.ErrCrashed},
		{"cancelled", expired, silent, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := actor.Ask(tt.ctx, tt.pid, "hi")
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() {
			_, err := actor.Ask(ctx, blocked, "hi")
			errc <- err
		}()
		cancel()
		if err := recv(t, errc); !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want %v", err, context.Canceled)
		}
	})
}

// A process asked while it dies with the Ask still in its mailbox answers
// ErrNoProcess at once.
func TestAskQueuedWhenExiting(t *testing.T) {
	sys, _ := newSystem(t)
	entered, release := make(chan struct{}), make(chan struct{})
	pid := spawn(t, sys, actor.BehaviorFunc(func(ctx *actor.Context, msg any) {
		if msg == "block" {
			close(entered)
			<-release
			ctx.Stop(nil)
		}
	}), actor.Options{})
	_ = actor.Send(pid, "block")
	<-entered
	errc := make(chan error, 1)
	go func() {
		_, err := actor.Ask(ctxT(t), pid, "question")
		errc <- err
	}()
	// The Ask is queued or about to be; either way it fails with
	// ErrNoProcess once the process stops.
	close(release)
	if err := recv(t, errc); !errors.Is(err, actor.ErrNoProcess) {
		t.Errorf("got %v, want %v", err, actor.ErrNoProcess)
	}
}

type initFails struct {
	err  error
	stop error // Init calls ctx.Stop with it
}

func (b initFails) Init(ctx *actor.Context) error {
	if b.stop != nil {
		ctx.Stop(b.stop)
		return nil
	}
	if b.err == nil {
		panic("init panics")
	}
	return b.err
}
func (initFails) Receive(*actor.Context, any) {}

func TestInitFailure(t *testing.T) {
	sys, rec := newSystem(t)
	myErr := errors.New("no config")
	tests := []struct {
		name    string
		b       actor.Behavior
		want    error
		crashes int
	}{
		{"error", initFails{err: myErr}, myErr, 0},
		{"panic", initFails{}, actor.ErrCrashed, 1},
		{"stop", initFails{stop: myErr}, myErr, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(rec.crashes())
			_, err := sys.Spawn(tt.b, actor.Options{Name: "svc"})
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
			if got := len(rec.crashes()) - before; got != tt.crashes {
				t.Errorf("got %d crash reports, want %d", got, tt.crashes)
			}
			if _, ok := sys.Whereis("svc"); ok {
				t.Error("name still registered after failed init")
			}
		})
	}
}

func TestSpawnBadInput(t *testing.T) {
	sys, _ := newSystem(t)
	spawn(t, sys, actor.BehaviorFunc(func(*actor.Context, any) {}), actor.Options{Name: "taken"})
	tests := []struct {
		name string
		b    actor.Behavior
		opt  actor.Options
		want error
	}{
		{"nil behavior", nil, actor.Options{}, nil},
		{"negative mailbox", actor.BehaviorFunc(func(*actor.Context, any) {}), actor.Options{MailboxSize: -1}, nil},
		{"name taken", actor.BehaviorFunc(func(*actor.Context, any) {}), actor.Options{Name: "taken"}, actor.ErrNameTaken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sys.Spawn(tt.b, tt.opt)
			if err == nil {
				t.Fatal("got nil error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestBoundedMailbox(t *testing.T) {
	sys, _ := newSystem(t)
	entered, release := make(chan struct{}), make(chan struct{})
	got := make(chan any, 10)
	pid := spawn(t, sys, actor.BehaviorFunc(func(ctx *actor.Context, msg any) {
		if msg == "block" {
			close(entered)
			<-release
			return
		}
		got <- msg
	}), actor.Options{MailboxSize: 2})
	_ = actor.Send(pid, "block")
	<-entered
	before := sys.DeadLetters()
	var errs []error
	for i := 0; i < 4; i++ {
		errs = append(errs, actor.Send(pid, i))
	}
	close(release)
	want := []error{nil, nil, actor.ErrMailboxFull, actor.ErrMailboxFull}
	if diff := cmp.Diff(want, errs, cmp.Comparer(func(a, b error) bool { return errors.Is(a, b) })); diff != "" {
		t.Errorf("send errors (-want +got):\n%s", diff)
	}
	if g, w := []any{recv(t, got), recv(t, got)}, []any{0, 1}; !cmp.Equal(g, w) {
		t.Errorf("got %v, want %v", g, w)
	}
	if g, w := sys.DeadLetters()-before, uint64(2); g != w {
		t.Errorf("got %d dead letters, want %d", g, w)
	}
}

// An exit signal overtakes user messages already in the mailbox.
func TestSystemMessagesOvertake(t *testing.T) {
	sys, _ := newSystem(t)
	entered, release := make(chan struct{}), make(chan struct{})
	handled := make(chan any, 100)
	pid := spawn(t, sys, actor.BehaviorFunc(func(ctx *actor.Context, msg any) {
		if msg == "block" {
			close(entered)
			<-release
			return
		}
		handled <- msg
	}), actor.Options{})
	down := watch(t, sys, pid)
	_ = actor.Send(pid, "block")
	<-entered
	for i := 0; i < 10; i++ {
		_ = actor.Send(pid, i)
	}
	actor.Exit(pid, errors.New("stop now"))
	close(release)
	if err := waitDown(t, down); err == nil || err.Error() != "stop now" {
		t.Errorf("got reason %v, want stop now", err)
	}
	if len(handled) != 0 {
		t.Errorf("handled %d user messages after the exit signal, want 0", len(handled))
	}
}

func TestSendToDeadProcess(t *testing.T) {
	sys, _ := newSystem(t)
	sub := sys.Subscribe(16)
	pid := spawn(t, sys, actor.BehaviorFunc(func(*actor.Context, any) {}), actor.Options{})
	if err := actor.Stop(ctxT(t), pid); err != nil {
		t.Fatal(err)
	}
	before := sys.DeadLetters()
	if err := actor.Send(pid, "late"); !errors.Is(err, actor.ErrNoProcess) {
		t.Errorf("got %v, want %v", err, actor.ErrNoProcess)
	}
	if got, want := sys.DeadLetters()-before, uint64(1); got != want {
		t.Errorf("got %d dead letters, want %d", got, want)
	}
	for e := range sub.C {
		if e.Kind == actor.DeadLetter {
			if e.Message != "late" || e.PID != pid {
				t.Errorf("got dead letter %v to %v, want late to %v", e.Message, e.PID, pid)
			}
			break
		}
	}
	sub.Close()
}

// Idle processes own no goroutine.
func TestIdleProcessesHaveNoGoroutine(t *testing.T) {
	sys, _ := newSystem(t)
	before := runtime.NumGoroutine()
	const n = 1000
	done := make(chan struct{}, n)
	for i := 0; i < n; i++ {
		pid := spawn(t, sys, actor.BehaviorFunc(func(ctx *actor.Context, msg any) { done <- struct{}{} }), actor.Options{})
		_ = actor.Send(pid, "wake")
	}
	for i := 0; i < n; i++ {
		recv(t, done)
	}
	if err := goleakSettled(before + 10); err != nil {
		t.Error(err)
	}
}

// goleakSettled waits until at most max goroutines run.
func goleakSettled(max int) error {
	var g int
	for i := 0; i < 1000; i++ {
		if g = runtime.NumGoroutine(); g <= max {
			return nil
		}
		runtime.Gosched()
		sleepABit()
	}
	return fmt.Errorf("%d goroutines still running, want at most %d", g, max)
}

func TestRegistry(t *testing.T) {
	sys, _ := newSystem(t)
	nop := actor.BehaviorFunc(func(*actor.Context, any) {})
	a := spawn(t, sys, nop, actor.Options{Name: "a"})
	b := spawn(t, sys, nop, actor.Options{})

	if got, ok := sys.Whereis("a"); !ok || got != a {
		t.Errorf("whereis a: got %v %v, want %v", got, ok, a)
	}
	if err := sys.Register("a", b); !errors.Is(err, actor.ErrNameTaken) {
		t.Errorf("register live name: got %v, want %v", err, actor.ErrNameTaken)
	}
	if err := sys.Register("", b); err == nil {
		t.Error("register empty name: got nil error")
	}
	if err := sys.Register("b", b); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), fmt.Sprintf("<0.%s>", b.String()[3:len(b.String())-1]); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if !sys.Unregister("b") || sys.Unregister("b") {
		t.Error("unregister: want true then false")
	}
	// Released on exit.
	if err := actor.Stop(ctxT(t), a); err != nil {
		t.Fatal(err)
	}
	if _, ok := sys.Whereis("a"); ok {
		t.Error("name a still registered after exit")
	}
	if err := sys.Register("a", b); err != nil {
		t.Errorf("register released name: %v", err)
	}
	if err := sys.Register("x", a); !errors.Is(err, actor.ErrNoProcess) {
		t.Errorf("register dead process: got %v, want %v", err, actor.ErrNoProcess)
	}
}

func TestPIDString(t *testing.T) {
	sys, _ := newSystem(t)
	nop := actor.BehaviorFunc(func(*actor.Context, any) {})
	named := spawn(t, sys, nop, actor.Options{Name: "api"})
	tests := []struct {
		pid  actor.PID
		want string
	}{
		{actor.PID{}, "<nil>"},
		{named, fmt.Sprintf("<0.%d api>", pidNum(named))},
	}
	for _, tt := range tests {
		if got := tt.pid.String(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

func pidNum(pid actor.PID) int {
	var n int
	var rest string
	fmt.Sscanf(pid.String(), "<0.%d %s", &n, &rest)
	return n
}

type lifecycle struct{ log chan<- string }

func (l lifecycle) Init(*actor.Context) error { l.log <- "init"; return nil }
func (l lifecycle) Receive(_ *actor.Context, msg any) {
	l.log <- fmt.Sprint("receive ", msg)
}
func (l lifecycle) Terminate(_ *actor.Context, reason error) { l.log <- "terminate " + reason.Error() }

func TestLifecycleHooks(t *testing.T) {
	sys, _ := newSystem(t)
	log := make(chan string, 10)
	pid := spawn(t, sys, lifecycle{log}, actor.Options{})
	// Ask, not Send: the exit signal would overtake a queued message.
	if _, err := actor.Ask(ctxT(t), pid, 1); !errors.Is(err, actor.ErrNoReply) {
		t.Fatalf("got %v, want %v", err, actor.ErrNoReply)
	}
	if err := actor.Stop(ctxT(t), pid); err != nil {
		t.Fatal(err)
	}
	close(log)
	var got []string
	for s := range log {
		got = append(got, s)
	}
	want := []string{"init", "receive 1", "terminate shutdown"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("hooks (-want +got):\n%s", diff)
	}
}

func TestShutdownStopsInReverseOrder(t *testing.T) {
	sys := actor.NewSystem(actor.Config{})
	log := make(chan string, 10)
	for _, name := range []string{"first", "second", "third"} {
		spawn(t, sys, stopLogger{name, log}, actor.Options{Name: name})
	}
	if err := sys.Shutdown(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	close(log)
	var got []string
	for s := range log {
		got = append(got, s)
	}
	if diff := cmp.Diff([]string{"third", "second", "first"}, got); diff != "" {
		t.Errorf("stop order (-want +got):\n%s", diff)
	}
	if _, err := sys.Spawn(stopLogger{}, actor.Options{}); !errors.Is(err, actor.ErrStopped) {
		t.Errorf("spawn after shutdown: got %v, want %v", err, actor.ErrStopped)
	}
}

type stopLogger struct {
	name string
	log  chan<- string
}

func (stopLogger) Receive(*actor.Context, any) {}
func (s stopLogger) Terminate(*actor.Context, error) {
	s.log <- s.name
}

// Shutdown gives up at ctx's end, even when a callback never returns.
func TestShutdownDeadline(t *testing.T) {
	sys := actor.NewSystem(actor.Config{})
	entered, release := make(chan struct{}), make(chan struct{})
	pid := spawn(t, sys, actor.BehaviorFunc(func(ctx *actor.Context, msg any) {
		close(entered)
		<-release
	}), actor.Options{})
	_ = actor.Send(pid, "block")
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sys.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want %v", err, context.Canceled)
	}
	down := make(chan struct{})
	go func() {
		for pid.Alive() {
			runtime.Gosched()
		}
		close(down)
	}()
	close(release) // the kill takes effect when the callback returns
	recv(t, down)
}

// The first message pushed into a fresh mailbox can race with the
// mailbox's consumer (a process woken by an exit signal drains its
// mailbox as it dies); neither may lose the message or the segment.
func TestMailboxFirstPushRace(t *testing.T) {
	sys, _ := newSystem(t)
	for range 2000 {
		pid := spawn(t, sys, actor.BehaviorFunc(func(*actor.Context, any) {}), actor.Options{})
		var wg sync.WaitGroup
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = actor.Send(pid, 1)
			}()
		}
		actor.Exit(pid, errors.New("bye"))
		wg.Wait()
	}
}
