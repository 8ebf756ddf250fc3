package bus_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
)

// exampleApp declares a small shop: the web front sends, the others
// receive.
func exampleApp() *troupe.App {
	return &troupe.App{
		Name: "shop",
		Services: []troupe.ServiceDecl{
			{Name: "web", Sends: []string{"price.get", "order.track", "order.placed", "cart.clear", "quote.ask"}},
			{Name: "pricing", Receives: []string{"price.get", "quote.ask"}},
			{Name: "orders", Receives: []string{"order.track", "cart.clear"}},
			{Name: "billing", Receives: []string{"order.placed", "quote.ask"}},
			{Name: "mailer", Receives: []string{"order.placed"}},
		},
	}
}

func exampleBus() *bus.Bus {
	b, err := bus.New(bus.Config{App: exampleApp(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	return b
}

// Request/response: the requester waits for one reply.
func ExampleClient_Request() {
	ctx := context.Background()
	b := exampleBus()
	defer b.Close(ctx)

	pricing, _ := b.Join(ctx, "pricing", "p1")
	_ = pricing.Handle("price.get", bus.HandlerFunc(func(ctx context.Context, m *bus.Msg) {
		var item string
		_ = json.Unmarshal(m.Env.Payload, &item)
		_ = m.Reply(ctx, "price", map[string]any{"item": item, "cents": 250})
	}))

	web, _ := b.Join(ctx, "web", "w1")
	reply, err := web.Request(ctx, "price.get", "tea")
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println(reply.Name, string(reply.Payload))
	// Output: price {"cents":250,"item":"tea"}
}

// Asynchronous request/response: Call returns at once; the replies (here
// several) come from Next.
func ExampleClient_Call() {
	ctx := context.Background()
	b := exampleBus()
	defer b.Close(ctx)

	orders, _ := b.Join(ctx, "orders", "o1")
	_ = orders.Handle("order.track", bus.HandlerFunc(func(ctx context.Context, m *bus.Msg) {
		_ = m.ReplyMore(ctx, "order.status", "packed")
		_ = m.ReplyMore(ctx, "order.status", "shipped")
		_ = m.Reply(ctx, "order.status", "delivered")
	}))

	web, _ := b.Join(ctx, "web", "w1")
	call, err := web.Call(ctx, "order.track", 42)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	defer call.Cancel()
	for {
		reply, err := call.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		fmt.Println(string(reply.Payload), reply.More)
	}
	// Output:
	// "packed" true
	// "shipped" true
	// "delivered" false
}

// One-way notification: delivered to one instance of the receiving service;
// nobody replies.
func ExampleClient_Send() {
	ctx := context.Background()
	b := exampleBus()
	defer b.Close(ctx)

	done := make(chan string, 1)
	orders, _ := b.Join(ctx, "orders", "o1")
	_ = orders.Handle("cart.clear", bus.HandlerFunc(func(ctx context.Context, m *bus.Msg) {
		done <- string(m.Env.Payload)
	}))

	web, _ := b.Join(ctx, "web", "w1")
	if err := web.Send(ctx, "cart.clear", map[string]string{"user": "ann"}); err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println("cleared", <-done)
	// Output: cleared {"user":"ann"}
}

// Publish/subscribe: every receiving service gets one copy.
func ExampleClient_Publish() {
	ctx := context.Background()
	b := exampleBus()
	defer b.Close(ctx)

	var mu sync.Mutex
	var got []string
	var wg sync.WaitGroup
	wg.Add(2)
	for _, svc := range []string{"billing", "mailer"} {
		c, _ := b.Join(ctx, svc, "i1")
		_ = c.Handle("order.placed", bus.HandlerFunc(func(ctx context.Context, m *bus.Msg) {
			mu.Lock()
			got = append(got, svc)
			mu.Unlock()
			wg.Done()
		}))
	}

	web, _ := b.Join(ctx, "web", "w1")
	if err := web.Publish(ctx, "order.placed", map[string]int{"order": 7}); err != nil {
		fmt.Println("error:", err)
		return
	}
	wg.Wait()
	sort.Strings(got)
	fmt.Println(got)
	// Output: [billing mailer]
}

// Publish/async responses: a request to every receiving service, replies
// collected until the deadline or until every service answered.
func ExampleClient_Collect() {
	ctx := context.Background()
	b := exampleBus()
	defer b.Close(ctx)

	for svc, cents := range map[string]int{"pricing": 300, "billing": 280} {
		c, _ := b.Join(ctx, svc, "i1")
		_ = c.Handle("quote.ask", bus.HandlerFunc(func(ctx context.Context, m *bus.Msg) {
			_ = m.Reply(ctx, "quote", cents)
		}))
	}

	web, _ := b.Join(ctx, "web", "w1")
	best := 0
	n, err := web.Collect(ctx, "quote.ask", nil, func(reply *troupe.Envelope) bool {
		var cents int
		if json.Unmarshal(reply.Payload, &cents) == nil && (best == 0 || cents < best) {
			best = cents
		}
		return true
	})
	fmt.Println(n, best, err)
	// Output: 2 280 <nil>
}

// Permissions: a service may only send what it declares.
func ExampleClient_Request_forbidden() {
	ctx := context.Background()
	b := exampleBus()
	defer b.Close(ctx)

	pricing, _ := b.Join(ctx, "pricing", "p1")
	_, err := pricing.Request(ctx, "order.track", nil)
	fmt.Println(errors.Is(err, troupe.ErrForbidden))
	fmt.Println(err)
	fmt.Println(b.Stats().Services["pricing"].Refusals)
	// Output:
	// true
	// bus: request "order.track": service "pricing" does not declare that it sends it
	// 1
}

// Errors keep their code across the bus.
func ExampleMsg_ReplyError() {
	ctx := context.Background()
	b := exampleBus()
	defer b.Close(ctx)

	pricing, _ := b.Join(ctx, "pricing", "p1")
	_ = pricing.Handle("price.get", bus.HandlerFunc(func(ctx context.Context, m *bus.Msg) {
		_ = m.ReplyError(ctx, troupe.Errorf(troupe.CodeNotFound, "no such item"))
	}))

	web, _ := b.Join(ctx, "web", "w1")
	_, err := web.Request(ctx, "price.get", "caviar")
	fmt.Println(errors.Is(err, troupe.ErrNotFound), err)
	// Output: true no such item
}

// Stats counts per message name and per service.
func ExampleBus_Stats() {
	ctx := context.Background()
	b := exampleBus()
	defer b.Close(ctx)

	pricing, _ := b.Join(ctx, "pricing", "p1")
	_ = pricing.Handle("price.get", bus.HandlerFunc(func(ctx context.Context, m *bus.Msg) {
		_ = m.Reply(ctx, "price", 250)
	}))
	web, _ := b.Join(ctx, "web", "w1")
	for range 3 {
		_, _ = web.Request(ctx, "price.get", "tea")
	}
	_, _ = web.Request(ctx, "order.track", nil) // nobody joined "orders": refused

	s := b.Stats()
	price := s.Messages["price.get"]
	fmt.Println("price.get sent", price.Sent, "received", price.Received, "in flight", price.InFlight, "latency samples", price.Latency.Count)
	fmt.Println("web sent", s.Services["web"].Sent, "refusals", s.Services["web"].Refusals)
	// Output:
	// price.get sent 3 received 3 in flight 0 latency samples 3
	// web sent 3 refusals 1
}

// Durable names are delivered at least once: a failed handler gets the
// envelope again.
func ExampleMsg_Done() {
	ctx := context.Background()
	app := &troupe.App{Name: "jobs", Services: []troupe.ServiceDecl{
		{Name: "web", Sends: []string{"invoice.send"}},
		{Name: "billing", Receives: []string{"invoice.send"}, Durable: []string{"invoice.send"}},
	}}
	b, _ := bus.New(bus.Config{App: app, Logger: slog.New(slog.DiscardHandler), Backoff: func(int) time.Duration { return time.Millisecond }})
	defer b.Close(ctx)

	done := make(chan struct{})
	billing, _ := b.Join(ctx, "billing", "b1")
	_ = billing.Handle("invoice.send", bus.HandlerFunc(func(ctx context.Context, m *bus.Msg) {
		fmt.Println("attempt", m.Attempt())
		if m.Attempt() < 3 {
			m.Done(errors.New("mail server down"))
			return
		}
		m.Done(nil)
		close(done)
	}))
	web, _ := b.Join(ctx, "web", "w1")
	_ = web.Send(ctx, "invoice.send", map[string]int{"invoice": 1})
	<-done
	// Output:
	// attempt 1
	// attempt 2
	// attempt 3
}
