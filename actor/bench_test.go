package actor_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/troupe-go/troupe/actor"
)

type benchMsg struct{ N int }

func BenchmarkSend(b *testing.B) {
	sys := actor.NewSystem(actor.Config{})
	defer sys.Shutdown(context.Background())
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

func BenchmarkAsk(b *testing.B) {
	sys := actor.NewSystem(actor.Config{})
	defer sys.Shutdown(context.Background())
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

func BenchmarkSpawn(b *testing.B) {
	sys := actor.NewSystem(actor.Config{})
	defer sys.Shutdown(context.Background())
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
