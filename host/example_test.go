package host_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/host"
	"github.com/troupe-go/troupe/service"
)

// A user's main: the services it registers, and troupe's command line for
// them (run, send, lint, bench, new, version).
func ExampleMain() {
	greeter := host.Service{
		Name: "greeter",
		New: func(_ context.Context, in *host.Instance) (*service.Service, error) {
			s := service.New(in.Config())
			err := service.Handle(s, "Greet", "Greeting", func(_ context.Context, g Greet) (Greeting, error) {
				return Greeting{Text: "Hello, " + g.Name + "!"}, nil
			})
			return s, err
		},
	}
	host.Main(host.Program{Services: []host.Service{greeter}})
}

// A node in a program of its own: the greeter on the in-process bus, asked
// once as the manifest's caller, then stopped.
func ExampleStart() {
	app := &troupe.App{
		Name: "greet",
		Services: []troupe.ServiceDecl{
			{Name: "greeter", Receives: []string{"Greet"}},
			{Name: "caller", Sends: []string{"Greet"}},
		},
	}
	greeter := host.Service{
		Name: "greeter",
		New: func(_ context.Context, in *host.Instance) (*service.Service, error) {
			s := service.New(in.Config())
			err := service.Handle(s, "Greet", "Greeting", func(_ context.Context, g Greet) (Greeting, error) {
				return Greeting{Text: "Hello, " + g.Name + "!"}, nil
			})
			return s, err
		},
	}
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	n, err := host.Start(ctx, host.Config{
		App:      app,
		Services: []host.Service{greeter},
		Only:     []string{"greeter"}, // caller is this program, below
		InProc:   true,
		DataDir:  dir,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer n.Shutdown(ctx)
	fmt.Println(n.Summary())

	caller, _ := n.Bus().Join(ctx, "caller", troupe.NewInstanceID("caller"))
	reply, err := caller.Request(ctx, "Greet", Greet{Name: "node"})
	fmt.Println(reply.Name, string(reply.Payload), err)
	// Output:
	// app greet, running greeter
	// Greeting {"text":"Hello, node!","instance":"","pid":0} <nil>
}
