package service

import (
	"context"
	"testing"

	"github.com/troupe-go/troupe"
)

// BenchmarkChain measures what troupe's calling-side interceptors (the
// fallback, the retries and the breaker) add to one request when nothing
// fails, without the bus: the innermost Invoker answers at once. mode=bare
// has the breaker off, mode=breaker has it on and closed, mode=retry has it
// on and the request marked Idempotent.
func BenchmarkChain(b *testing.B) {
	for _, mode := range []string{"bare", "breaker", "retry"} {
		b.Run("mode="+mode, func(b *testing.B) {
			s := New(Config{Name: "web", Breaker: troupe.BreakerPolicy{Off: mode == "bare"}})
			app := &troupe.App{Services: []troupe.ServiceDecl{
				{Name: "web", Sends: []string{"stock.get"}},
				{Name: "stock", Receives: []string{"stock.get"}},
			}}
			o, _, err := s.calling(app, troupe.Member{Service: "web", Instance: "web-1"})
			if err != nil {
				b.Fatal(err)
			}
			reply := &troupe.Envelope{Kind: troupe.KindReply, Name: "stock"}
			inv := breakerMiddleware(func(context.Context, *Outgoing) (*troupe.Envelope, error) { return reply, nil })
			inv = fallbackMiddleware(retryMiddleware(inv))
			env := &troupe.Envelope{Kind: troupe.KindRequest, Name: "stock.get"}
			r := o.routes["stock.get"]
			var opts callOptions
			if mode == "retry" {
				Idempotent()(&opts)
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				out := outgoingPool.Get().(*Outgoing)
				*out = Outgoing{Env: env, r: r, opts: opts}
				if _, err := inv(ctx, out); err != nil {
					b.Fatal(err)
				}
				*out = Outgoing{}
				outgoingPool.Put(out)
			}
		})
	}
}
