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
