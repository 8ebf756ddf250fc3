package service_test

import (
	"context"
	"fmt"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/service"
)

// A service with one typed handler, called over the in-process bus.
func Example() {
	app := &troupe.App{
		Name: "example",
		Services: []troupe.ServiceDecl{
			{Name: "hello", Receives: []string{"Hello"}},
			{Name: "client", Sends: []string{"Hello"}},
		},
	}
	ctx := context.Background()
	b, _ := bus.New(bus.Config{App: app})
	sys := actor.NewSystem(actor.Config{})

	type Hello struct{ Name string }
	type World struct{ Greeting string }
	hello := service.New(service.Config{Name: "hello"})
	_ = service.Handle(hello, "Hello", "World", func(ctx context.Context, h Hello) (World, error) {
		return World{Greeting: "Hello, " + h.Name + "!"}, nil
	})
	if err := hello.Start(ctx, b, sys); err != nil {
		fmt.Println(err)
		return
	}

	client := service.New(service.Config{Name: "client"})
	_ = client.Start(ctx, b, sys)
	w, err := service.Request[World](ctx, client, "Hello", Hello{Name: "troupe"})
	fmt.Println(w.Greeting, err)

	_ = client.Stop(ctx)
	_ = hello.Stop(ctx)
	_ = b.Close(ctx)
	_ = sys.Shutdown(ctx)
	// Output: Hello, troupe! <nil>
}

// startExample starts a bus for app and an actor system, quietly.
func startExample(app *troupe.App) (*bus.Bus, *actor.System) {
	b, err := bus.New(bus.Config{App: app, Logger: quiet})
	if err != nil {
		panic(err)
	}
	return b, actor.NewSystem(actor.Config{Logger: quiet})
}

func stopExample(b *bus.Bus, sys *actor.System) {
	ctx := context.Background()
	_ = b.Close(ctx)
	_ = sys.Shutdown(ctx)
}

// A caller keeps answering while the service it calls is down: its
// fallback gives a default price, the reply says so, and after five
// failures (DefaultBreakerFailures) the circuit breaker opens, so that the
// requests fail at once without being sent.
func ExampleFallback() {
	app := &troupe.App{
		Name: "example",
		Services: []troupe.ServiceDecl{
			{Name: "web", Sends: []string{"price.get"}},
			{Name: "pricing", Receives: []string{"price.get"}}, // not running
		},
	}
	ctx := context.Background()
	b, sys := startExample(app)
	defer stopExample(b, sys)

	type Price struct{ Cents int }
	web := service.New(service.Config{Name: "web", Logger: quiet})
	_ = web.Start(ctx, b, sys)
	defer web.Stop(ctx)

	for range 7 {
		r, err := service.RequestReply[Price](ctx, web, "price.get", nil, service.Fallback(Price{Cents: 999}))
		fmt.Println(r.Value.Cents, err, r.Fallback)
	}
	ts := web.Targets()[0]
	fmt.Println(ts.Target, ts.Breaker.State, ts.Fallbacks, "fallbacks")
	// Output:
	// 999 <nil> bus: request "price.get": no instance receives it now; try again later
	// 999 <nil> bus: request "price.get": no instance receives it now; try again later
	// 999 <nil> bus: request "price.get": no instance receives it now; try again later
	// 999 <nil> bus: request "price.get": no instance receives it now; try again later
	// 999 <nil> bus: request "price.get": no instance receives it now; try again later
	// 999 <nil> service web: request "price.get": the circuit breaker in front of pricing is open
	// 999 <nil> service web: request "price.get": the circuit breaker in front of pricing is open
	// pricing open 7 fallbacks
}

// A request marked Idempotent is retried after a failure that is its
// target's, with the same message id, so that the handler can tell a retry
// from a new request.
func ExampleIdempotent() {
	app := &troupe.App{
		Name: "example",
		Services: []troupe.ServiceDecl{
			{Name: "web", Sends: []string{"stock.get"}},
			{Name: "stock", Receives: []string{"stock.get"}},
		},
	}
	ctx := context.Background()
	b, sys := startExample(app)
	defer stopExample(b, sys)

	type Stock struct{ Count int }
	stock := service.New(service.Config{Name: "stock", Logger: quiet})
	keys := map[string]bool{}
	_ = service.Handle(stock, "stock.get", "stock", func(ctx context.Context, _ struct{}) (Stock, error) {
		attempt := service.Attempt(ctx)
		keys[service.IdempotencyKey(ctx)] = true
		fmt.Println("attempt", attempt)
		if attempt == 1 {
			return Stock{}, troupe.Errorf(troupe.CodeUnavailable, "warming up")
		}
		return Stock{Count: 3}, nil
	})
	_ = stock.Start(ctx, b, sys)
	defer stock.Stop(ctx)
	web := service.New(service.Config{Name: "web", Logger: quiet})
	_ = web.Start(ctx, b, sys)
	defer web.Stop(ctx)

	s, err := service.Request[Stock](ctx, web, "stock.get", nil, service.Idempotent())
	fmt.Println(s.Count, err, len(keys), "key", web.Targets()[0].Retries, "retry")
	// Output:
	// attempt 1
	// attempt 2
	// 3 <nil> 1 key 1 retry
}
