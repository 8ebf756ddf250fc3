// Adapter: troupe (github.com/troupe-go/troupe/actor), from the working tree.
// Workload definitions: ../README.md. Output: "framework workload value unit".
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/troupe-go/troupe/actor"
)

const framework = "troupe"

// Msg is the one message type used by every workload.
type Msg struct{ N int }

var (
	wl      = flag.String("w", "W1", "workload: W1 | W2 | W2a | W3 | W4")
	n1      = flag.Int("n1", 3_000_000, "W1 messages")
	n2      = flag.Int("n2", 100_000, "W2/W2a round trips")
	n3      = flag.Int("n3", 1_000_000, "W3 messages per pair")
	pairs   = flag.Int("pairs", 4, "W3 sender/receiver pairs")
	n4      = flag.Int("n4", 200_000, "W4 actors")
	timeout = 5 * time.Second
)

var sys *actor.System

func main() {
	flag.Parse()
	sys = actor.NewSystem(actor.Config{
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	fmt.Printf("# %s %s GOMAXPROCS=%d %s\n", framework, version(), runtime.GOMAXPROCS(0), runtime.Version())
	switch *wl {
	case "W1":
		w1()
	case "W2":
		w2()
	case "W2a":
		w2a()
	case "W3":
		w3()
	case "W4":
		w4()
	default:
		fail("unknown workload %q", *wl)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := sys.Shutdown(ctx); err != nil {
		fail("shutdown: %v", err)
	}
}

// ---- framework-specific actors ----

// counter counts Msg and closes done after target messages.
type counter struct {
	n, target int
	done      chan struct{}
}

func (c *counter) Receive(_ *actor.Context, msg any) {
	if _, ok := msg.(Msg); ok {
		c.n++
		if c.n == c.target {
			close(c.done)
		}
	}
}

func spawn(b actor.Behavior) actor.PID {
	pid, err := sys.Spawn(b, actor.Options{})
	if err != nil {
		fail("spawn: %v", err)
	}
	return pid
}

// echo replies to every Msg with the same Msg.
var echo = actor.BehaviorFunc(func(ctx *actor.Context, msg any) {
	if m, ok := msg.(Msg); ok {
		ctx.Reply(m)
	}
})

// ---- workloads ----

func w1() {
	n := *n1
	done := make(chan struct{})
	pid := spawn(&counter{target: n, done: done})
	runtime.GC()
	t0 := time.Now()
	for i := 0; i < n; i++ {
		actor.Send(pid, Msg{N: i})
	}
	<-done
	report("W1", float64(n)/time.Since(t0).Seconds(), "msgs/s")
}

func w2() {
	n := *n2
	pid := spawn(echo)
	runtime.GC()
	t0 := time.Now()
	for i := 0; i < n; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		r, err := actor.Ask(ctx, pid, Msg{N: i})
		cancel()
		check(r, err, i)
	}
	report("W2", float64(time.Since(t0).Microseconds())/float64(n), "us/op")
}

// W2a (supplementary): the same round trips, but the caller is an actor.
type askLoop struct {
	n    int
	done chan time.Duration
}

func w2a() {
	n := *n2
	echoPID := spawn(echo)
	driver := spawn(actor.BehaviorFunc(func(_ *actor.Context, msg any) {
		if s, ok := msg.(askLoop); ok {
			t0 := time.Now()
			for i := 0; i < s.n; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				r, err := actor.Ask(ctx, echoPID, Msg{N: i})
				cancel()
				check(r, err, i)
			}
			s.done <- time.Since(t0)
		}
	}))
	runtime.GC()
	done := make(chan time.Duration, 1)
	actor.Send(driver, askLoop{n: n, done: done})
	el := <-done
	report("W2a", float64(el.Microseconds())/float64(n), "us/op")
}

func w3() {
	n, p := *n3, *pairs
	pids := make([]actor.PID, p)
	dones := make([]chan struct{}, p)
	for k := range pids {
		dones[k] = make(chan struct{})
		pids[k] = spawn(&counter{target: n, done: dones[k]})
	}
	start := make(chan struct{})
	var ready sync.WaitGroup
	for k := range pids {
		ready.Add(1)
		go func(pid actor.PID) {
			ready.Done()
			<-start
			for i := 0; i < n; i++ {
				actor.Send(pid, Msg{N: i})
			}
		}(pids[k])
	}
	ready.Wait()
	runtime.GC()
	t0 := time.Now()
	close(start)
	for _, d := range dones {
		<-d
	}
	report("W3", float64(n*p)/time.Since(t0).Seconds(), "msgs/s")
}

// idle counts its start in Init and ignores messages.
type idle struct {
	started    *atomic.Int64
	n          int64
	allStarted chan struct{}
}

func (a *idle) Init(*actor.Context) error {
	if a.started.Add(1) == a.n {
		close(a.allStarted)
	}
	return nil
}

func (*idle) Receive(*actor.Context, any) {}

func w4() {
	n := *n4
	var started atomic.Int64
	allStarted := make(chan struct{})
	b := &idle{started: &started, n: int64(n), allStarted: allStarted}
	pids := make([]actor.PID, n)
	before, g0 := heap(), runtime.NumGoroutine()
	t0 := time.Now()
	for i := range pids {
		pids[i] = spawn(b)
	}
	<-allStarted
	el := time.Since(t0)
	g1 := settleGoroutines()
	after := heap()
	report("W4.spawn", float64(n)/el.Seconds(), "actors/s")
	report("W4.heap", float64(int64(after)-int64(before))/float64(n), "B/actor")
	report("W4.goroutines", float64(g1), "goroutines")
	fmt.Printf("# goroutines before spawn: %d\n", g0)
	runtime.KeepAlive(pids)
}

// ---- common helpers (identical in every adapter) ----

func check(r any, err error, i int) {
	if err != nil {
		fail("ask %d: %v", i, err)
	}
	if m, ok := r.(Msg); !ok || m.N != i {
		fail("ask %d: bad reply %#v", i, r)
	}
}

func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// settleGoroutines waits (max 2 s) until the goroutine count stops falling.
func settleGoroutines() int {
	g := runtime.NumGoroutine()
	for i := 0; i < 20; i++ {
		time.Sleep(100 * time.Millisecond)
		g2 := runtime.NumGoroutine()
		if g2 >= g && i >= 2 {
			return g2
		}
		g = g2
	}
	return g
}

func report(w string, v float64, unit string) {
	f := "%s %s %.3f %s\n"
	if v >= 100 || v == float64(int64(v)) {
		f = "%s %s %.0f %s\n"
	}
	fmt.Printf(f, framework, w, v, unit)
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, framework+": "+format+"\n", a...)
	os.Exit(1)
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/troupe-go/troupe" {
				return d.Path + "@" + d.Version + " (replaced by the working tree)"
			}
		}
	}
	return "unknown"
}
