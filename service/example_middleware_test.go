package service_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/service"
)

// Authorization and metrics, written as serving-side interceptors: the
// first refuses a message whose sender did not present a role, the second
// counts every message handled by name and outcome and measures its time.
// Both see the envelope and the context; neither knows the handler.
func ExampleMiddleware() {
	app := &troupe.App{
		Name: "example",
		Services: []troupe.ServiceDecl{
			{Name: "web", Sends: []string{"order.cancel"}},
			{Name: "orders", Receives: []string{"order.cancel"}},
		},
	}
	ctx := context.Background()
	b, sys := startExample(app)
	defer stopExample(b, sys)

	// authorize lets through only messages that carry the "role" header.
	authorize := func(next service.Handler) service.Handler {
		return func(ctx context.Context, m *bus.Msg) error {
			if m.Env.Headers["role"] == "" {
				return troupe.Errorf(troupe.CodeForbidden, "%s: %s has no role", m.Env.Name, m.Env.Sender.Service)
			}
			return next(ctx, m)
		}
	}
	// metrics counts outcomes and latency per name; a real one would
	// feed Prometheus.
	var (
		mu      sync.Mutex
		counts  = map[string]int{}
		latency time.Duration
	)
	metrics := func(next service.Handler) service.Handler {
		return func(ctx context.Context, m *bus.Msg) error {
			start := time.Now()
			err := next(ctx, m)
			mu.Lock()
			counts[m.Env.Name+" "+outcome(err)]++
			latency += time.Since(start)
			mu.Unlock()
			return err
		}
	}
	orders := service.New(service.Config{
		Name:       "orders",
		Logger:     quiet,
		Middleware: []service.Middleware{metrics, authorize}, // metrics sees the refusals too
	})
	_ = service.Handle(orders, "order.cancel", "order.cancelled", func(ctx context.Context, id string) (string, error) {
		return id + " cancelled", nil
	})
	_ = orders.Start(ctx, b, sys)
	defer orders.Stop(ctx)

	// The caller's side of the same convention: a calling-side
	// interceptor puts the role on every message it sends.
	withRole := func(role string) service.CallMiddleware {
		return func(next service.Invoker) service.Invoker {
			return func(ctx context.Context, out *service.Outgoing) (*troupe.Envelope, error) {
				out.SetHeader("role", role)
				return next(ctx, out)
			}
		}
	}
	anonymous := service.New(service.Config{Name: "web", Logger: quiet})
	_ = anonymous.Start(ctx, b, sys)
	defer anonymous.Stop(ctx)
	clerk := service.New(service.Config{Name: "web", Logger: quiet, CallMiddleware: []service.CallMiddleware{withRole("clerk")}})
	_ = clerk.Start(ctx, b, sys)
	defer clerk.Stop(ctx)

	_, err := service.Request[string](ctx, anonymous, "order.cancel", "o-1")
	fmt.Println(err)
	s, err := service.Request[string](ctx, clerk, "order.cancel", "o-2")
	fmt.Println(s, err)

	// metrics counts after next returns, and the reply has gone by then:
	// the caller can see it first. Stopping the service waits for the
	// handlers that are still running.
	_ = orders.Stop(ctx)
	mu.Lock()
	defer mu.Unlock()
	var lines []string
	for k, n := range counts {
		lines = append(lines, fmt.Sprint(k, ": ", n))
	}
	sort.Strings(lines)
	fmt.Println(lines, latency > 0)
	// Output:
	// order.cancel: web has no role
	// o-2 cancelled <nil>
	// [order.cancel forbidden: 1 order.cancel ok: 1] true
}

func outcome(err error) string {
	if err == nil {
		return "ok"
	}
	return string(troupe.CodeOf(err))
}

// Tracing, written as one interceptor on each side: the caller's puts the
// trace id of its context (or a new one) into a header of every message
// it sends, the receiver's takes it from the header into the handler's
// context, so that a nested request carries it on. A real one would use
// OpenTelemetry's W3C propagator and start spans here.
func ExampleCallMiddleware() {
	app := &troupe.App{
		Name: "example",
		Services: []troupe.ServiceDecl{
			{Name: "web", Sends: []string{"cart.get"}},
			{Name: "cart", Sends: []string{"price.get"}, Receives: []string{"cart.get"}},
			{Name: "pricing", Receives: []string{"price.get"}},
		},
	}
	ctx := context.Background()
	b, sys := startExample(app)
	defer stopExample(b, sys)

	type traceKey struct{}
	inject := func(next service.Invoker) service.Invoker {
		return func(ctx context.Context, out *service.Outgoing) (*troupe.Envelope, error) {
			id, _ := ctx.Value(traceKey{}).(string)
			if id == "" {
				id = "trace-" + string(out.Env.ID)[:4] // a new trace
			}
			out.SetHeader("traceparent", id)
			return next(ctx, out)
		}
	}
	extract := func(next service.Handler) service.Handler {
		return func(ctx context.Context, m *bus.Msg) error {
			return next(context.WithValue(ctx, traceKey{}, m.Env.Headers["traceparent"]), m)
		}
	}
	var (
		mu   sync.Mutex
		seen = map[string]string{}
	)
	record := func(ctx context.Context, where string) {
		mu.Lock()
		seen[where], _ = ctx.Value(traceKey{}).(string)
		mu.Unlock()
	}
	traced := func(name string) service.Config {
		return service.Config{Name: name, Logger: quiet, Middleware: []service.Middleware{extract}, CallMiddleware: []service.CallMiddleware{inject}}
	}

	pricing := service.New(traced("pricing"))
	_ = service.Handle(pricing, "price.get", "price", func(ctx context.Context, _ struct{}) (int, error) {
		record(ctx, "pricing")
		return 250, nil
	})
	cart := service.New(traced("cart"))
	_ = service.Handle(cart, "cart.get", "cart", func(ctx context.Context, _ struct{}) (int, error) {
		record(ctx, "cart")
		return service.Request[int](ctx, cart, "price.get", nil) // the nested request carries the trace
	})
	web := service.New(traced("web"))
	for _, s := range []*service.Service{pricing, cart, web} {
		_ = s.Start(ctx, b, sys)
		defer s.Stop(ctx)
	}

	total, err := service.Request[int](ctx, web, "cart.get", nil)
	fmt.Println(total, err)
	mu.Lock()
	defer mu.Unlock()
	fmt.Println(seen["cart"] != "", seen["cart"] == seen["pricing"])
	// Output:
	// 250 <nil>
	// true true
}
