package servicetest_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/host"
	"github.com/troupe-go/troupe/service"
	"github.com/troupe-go/troupe/servicetest"
)

type Hello struct{}
type World struct{}

// hello is seed 001's service, as a user registers it in main.
var hello = host.Service{
	Name: "hello",
	New: func(_ context.Context, in *host.Instance) (*service.Service, error) {
		s := service.New(in.Config())
		err := service.Handle(s, "Hello", "World", func(context.Context, Hello) (World, error) { return World{}, nil })
		return s, err
	},
}

// A test of the hello service: a request over the bus and the same one
// through the gateway, with seed 001's protocol.
func Example() {
	t := &testing.T{} // in a test: the test's *testing.T
	app := servicetest.Start(t, servicetest.Config{
		App: &troupe.App{
			Name:     "hello",
			Services: []troupe.ServiceDecl{{Name: "hello", Receives: []string{"Hello"}}},
			Routes:   []troupe.Route{{Path: "/", Types: []string{"Hello"}}},
		},
		Services: []host.Service{hello},
	})
	reply, err := app.Request("Hello", Hello{})
	fmt.Println(reply.Name, err)
	status, body := app.Post(t, "/", `{"type":"Hello"}`)
	fmt.Println(status, body)
}
