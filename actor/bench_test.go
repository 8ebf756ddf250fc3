package actor_test

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
)

type benchMsg struct{ N int }

// BenchmarkSend measures one outside goroutine sending to one process
// (the W1 workload of docs/benchmarks.md).
func BenchmarkSend(b *testing.B) {
	sys := actor.NewSystem(actor.Config{})
	defer func() {
		b.StopTimer()
		sys.Shutdown(context.Background())
	}()
	done := make(chan struct{})
	n := b.N
	count := 0
	pid, err := sys.Spawn(actor.BehaviorFunc(func(ctx *actor.Context, msg any) {
		count++
		if count == n {
			close(done)
		}
	}), actor.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < n; i++ {
		_ = actor.Send(pid, benchMsg{N: i})
	}
	<-done
}

// BenchmarkAsk measures sequential Ask round trips to an echo process.
func BenchmarkAsk(b *testing.B) {
	sys := actor.NewSystem(actor.Config{})
	defer func() {
		b.StopTimer()
		sys.Shutdown(context.Background())
	}()
	pid, err := sys.Spawn(actor.BehaviorFunc(func(ctx *actor.Context, msg any) {
		ctx.Reply(msg)
	}), actor.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v, err := actor.Ask(ctx, pid, benchMsg{N: i})
		if err != nil || v.(benchMsg).N != i {
			b.Fatalf("ask %d: %v %v", i, v, err)
		}
	}
}

// BenchmarkAskTimeout is BenchmarkAsk as the W2 workload does it: each
// round trip with its own context.WithTimeout.
func BenchmarkAskTimeout(b *testing.B) {
	sys := actor.NewSystem(actor.Config{})
	defer func() {
		b.StopTimer()
		sys.Shutdown(context.Background())
	}()
	pid, err := sys.Spawn(actor.BehaviorFunc(func(ctx *actor.Context, msg any) {
		ctx.Reply(msg)
	}), actor.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		v, err := actor.Ask(ctx, pid, benchMsg{N: i})
		cancel()
		if err != nil || v.(benchMsg).N != i {
			b.Fatalf("ask %d: %v %v", i, v, err)
		}
	}
}

// BenchmarkBaselineWithTimeout is the part of BenchmarkAskTimeout that is
// the context's: context.WithTimeout and its cancel.
func BenchmarkBaselineWithTimeout(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		cancel()
	}
}

type idle struct{ started *atomic.Int64 }

func (a idle) Init(*actor.Context) error { a.started.Add(1); return nil }
func (idle) Receive(*actor.Context, any) {}

// BenchmarkSpawn measures spawning idle processes whose Init counts them.
func BenchmarkSpawn(b *testing.B) {
	sys := actor.NewSystem(actor.Config{})
	defer func() {
		b.StopTimer()
		sys.Shutdown(context.Background())
	}()
	var started atomic.Int64
	beh := idle{&started}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := sys.Spawn(beh, actor.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBaselineChan is Send's bare-Go baseline: one goroutine sending
// to another over a buffered channel of any.
func BenchmarkBaselineChan(b *testing.B) {
	ch := make(chan any, 1024)
	done := make(chan struct{})
	n := b.N
	go func() {
		for i := 0; i < n; i++ {
			<-ch
		}
		close(done)
	}()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < n; i++ {
		ch <- benchMsg{N: i}
	}
	<-done
}

// BenchmarkBaselineRoundTrip is Ask's bare-Go baseline: a request and a
// reply over two unbuffered channels to a server goroutine.
func BenchmarkBaselineRoundTrip(b *testing.B) {
	req, rep := make(chan any), make(chan any)
	go func() {
		for m := range req {
			rep <- m
		}
	}()
	defer close(req)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req <- benchMsg{N: i}
		if v := <-rep; v.(benchMsg).N != i {
			b.Fatal("bad reply")
		}
	}
}

// BenchmarkBaselineGoroutine is Spawn's bare-Go baseline: starting a
// goroutine that waits on a channel, as an idle actor with its own
// goroutine would.
func BenchmarkBaselineGoroutine(b *testing.B) {
	stop := make(chan struct{})
	var started atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ch := make(chan any)
		go func() {
			started.Add(1)
			select {
			case <-ch:
			case <-stop:
			}
		}()
	}
	b.StopTimer()
	close(stop)
	for started.Load() != int64(b.N) {
		runtime.Gosched()
	}
}
