package service_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/service"
)

// BenchmarkRequest measures one request/response round trip through the bus,
// the service SDK (decode, a process per request, encode) and the actor
// runtime, over the in-process transport.
func BenchmarkRequest(b *testing.B) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	bs, err := bus.New(bus.Config{App: world, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	sys := actor.NewSystem(actor.Config{Logger: quiet})
	s := service.New(service.Config{Name: "greeter"})
	greet(s)
	ctx := context.Background()
	if err := s.Start(ctx, bs, sys); err != nil {
		b.Fatal(err)
	}
	caller, err := bs.Join(ctx, "caller", "caller-1")
	if err != nil {
		b.Fatal(err)
	}
	req := Hello{Name: "bench"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := caller.Request(ctx, "Hello", req); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	_ = s.Stop(ctx)
	_ = bs.Close(ctx)
	_ = sys.Shutdown(ctx)
}

// BenchmarkActorAsk is the baseline for BenchmarkRequest: a bare actor Ask
// round trip to an echo process, measured in the same run.
func BenchmarkActorAsk(b *testing.B) {
	sys := actor.NewSystem(actor.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	pid, err := sys.Spawn(actor.BehaviorFunc(func(ctx *actor.Context, msg any) { ctx.Reply(msg) }), actor.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := actor.Ask(ctx, pid, i); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	_ = sys.Shutdown(ctx)
}

// BenchmarkCall measures the same round trip as BenchmarkRequest with the
// caller a service of its own, calling through service.Request: with its
// circuit breaker off (mode=bare), on and closed (mode=breaker, the
// default), and on with every request marked Idempotent, so that the retry
// interceptor and its budget are on the path too (mode=retry; nothing
// fails, so nothing is retried). Compare the modes with each in a process of
// its own, interleaved (in one process the first sub-benchmark of each
// round runs slower); docs/bus.md, "What it costs", has the commands.
func BenchmarkCall(b *testing.B) {
	for _, mode := range []string{"bare", "breaker", "retry"} {
		b.Run("mode="+mode, func(b *testing.B) {
			quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
			bs, err := bus.New(bus.Config{App: world, Logger: quiet})
			if err != nil {
				b.Fatal(err)
			}
			sys := actor.NewSystem(actor.Config{Logger: quiet})
			s := service.New(service.Config{Name: "greeter"})
			greet(s)
			cfg := service.Config{Name: "caller", Logger: quiet}
			cfg.Breaker.Off = mode == "bare"
			caller := service.New(cfg)
			ctx := context.Background()
			if err := s.Start(ctx, bs, sys); err != nil {
				b.Fatal(err)
			}
			if err := caller.Start(ctx, bs, sys); err != nil {
				b.Fatal(err)
			}
			var opts []service.CallOption
			if mode == "retry" {
				opts = append(opts, service.Idempotent())
			}
			req := Hello{Name: "bench"}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := service.Request[World](ctx, caller, "Hello", req, opts...); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			_ = caller.Stop(ctx)
			_ = s.Stop(ctx)
			_ = bs.Close(ctx)
			_ = sys.Shutdown(ctx)
		})
	}
}
