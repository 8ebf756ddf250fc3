package observe_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"

	"github.com/nats-io/nats.go"

	"github.com/troupe-go/troupe/observe"
)

// A tool asks every node of a running application, over NATS, logged in
// as the operator: its instances and their traffic, then a tap of the
// todo messages until interrupted.
func ExampleNewClient() {
	nc, err := nats.Connect("nats://127.0.0.1:4222", nats.UserInfo("troupe-cli", os.Getenv("OPERATOR_PASSWORD")),
		nats.CustomInboxPrefix("troupe.demo.inbox.troupe-cli"))
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	c := observe.NewClient(nc, "demo")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	nodes, err := c.Nodes(ctx, observe.NodeOptions{})
	if err != nil {
		log.Fatal(err)
	}
	for _, n := range nodes {
		for _, in := range n.Instances {
			fmt.Println(n.Host, n.PID, in.Service, in.ID)
		}
	}
	_ = c.Tap(ctx, observe.Filter{Names: []string{"todo.*"}}, func(node string, hops []observe.Hop, dropped uint64) {
		for _, h := range hops {
			fmt.Println(h.At.Format("15:04:05.000"), h.Event, h.Kind, h.Name, h.From)
		}
	})
}

func ExampleEndpointName() {
	fmt.Println(observe.EndpointName("todo.list"), observe.MicroVersion("v1.4.0"), observe.MicroVersion("devel"))
	// Output: todo_list 1.4.0 0.0.0-devel
}
