package natsbus_test

import (
	"context"
	"fmt"
	"log"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/natsbus"
)

// Permissions shows what the orders service of a small shop may do on NATS.
func ExamplePermissions() {
	app := &troupe.App{
		Name: "shop",
		Services: []troupe.ServiceDecl{
			{Name: "web", Sends: []string{"order.place"}},
			{Name: "orders", Receives: []string{"order.place"}},
		},
	}
	perms, err := natsbus.Permissions(app)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("publish:", perms["orders"].Publish)
	fmt.Println("subscribe:", perms["orders"].Subscribe)
	// Output:
	// publish: [troupe.shop.reply.web.*.* troupe.shop.reply.web.*.*.orders troupe.shop.tap.*]
	// subscribe: [$SRV.INFO $SRV.INFO.orders $SRV.INFO.orders.* $SRV.PING $SRV.PING.orders $SRV.PING.orders.* $SRV.STATS $SRV.STATS.orders $SRV.STATS.orders.* troupe.shop.inbox.orders.> troupe.shop.msg.*.order.place troupe.shop.observe.* troupe.shop.reply.orders.>]
}

// New runs an embedded server for an application and a transport whose
// members connect to it in-process, each as its own service's NATS user.
// The transport is then handed to bus.New (Config.Transport).
func ExampleNew() {
	app := &troupe.App{
		Name: "shop",
		Services: []troupe.ServiceDecl{
			{Name: "web", Sends: []string{"order.place"}},
			{Name: "orders", Receives: []string{"order.place"}, Durable: []string{"order.place"}},
		},
	}
	srv, err := natsbus.RunServer(natsbus.ServerConfig{App: app, DataDir: "/var/lib/shop/nats"})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	tr, err := natsbus.New(context.Background(), natsbus.Config{
		App:    app,
		Server: srv,
		OnDeadLetter: func(env *troupe.Envelope, service, reason string) {
			log.Printf("dead letter: %s gave up on %s %s: %s", service, env.Name, env.ID, reason)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Close(context.Background())
	// Another process joins the same application over TCP with the
	// orders user's credential only:
	//
	//	natsbus.New(ctx, natsbus.Config{App: app, URL: srv.ClientURL(),
	//		Credentials: natsbus.CredentialsFrom(map[string]natsbus.Credential{"orders": cred})})
}
