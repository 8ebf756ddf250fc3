package actor_test

import (
	"context"
	"sync/atomic"
	"testing"

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
