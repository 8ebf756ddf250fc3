package natsbus_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/natsbus"
)

// freePorts returns n loopback ports that were free a moment ago.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// TestClusterNothingLost runs three clustered servers on loopback with R3
// streams, kills the stream's leader while 5,000 durable envelopes are being
// sent and consumed, and checks that every accepted envelope is processed.
func TestClusterNothingLost(t *testing.T) {
	const n = 5000
	app := shop()
	ports := freePorts(t, 3)
	var routes []string
	for _, p := range ports {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", p))
	}
	var (
		srvs  = map[string]*natsbus.Server{}
		urls  []string
		creds map[string]natsbus.Credential
	)
	for i, p := range ports {
		name := fmt.Sprintf("n%d", i)
		srv, err := natsbus.RunServer(natsbus.ServerConfig{
			App: app, Credentials: creds, Name: name, DataDir: t.TempDir(),
			Cluster: natsbus.ClusterConfig{Name: "test", Port: p, Routes: routes},
		})
		if err != nil {
			t.Fatalf("RunServer %s: %v", name, err)
		}
		t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
		if creds == nil {
			creds = srv.Users()
		}
		srvs[name] = srv
		urls = append(urls, srv.ClientURL())
	}
	url := strings.Join(urls, ",")
	cfg := natsbus.Config{URL: url, Credentials: natsbus.CredentialsFrom(creds), App: app,
		AckWait: time.Second, Replicas: 3, Logger: quiet}
	// JetStream needs a meta leader before streams can be made.
	var tr *natsbus.Transport
	eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var err error
		tr, err = natsbus.New(ctx, cfg)
		return err == nil
	})
	t.Cleanup(func() { _ = tr.Close(context.Background()) })

	got := newProcessed()
	orders := join(t, tr, "orders", "o1", newInbox())
	if err := orders.Subscribe("order.place", bus.OneInstance, got); err != nil {
		t.Fatal(err)
	}
	web := join(t, tr, "web", "w1", newInbox())
	// Eight senders in parallel: a replicated store acknowledges each
	// publish only after a quorum has it.
	const senders = 8
	var loads []*loader
	for range senders {
		loads = append(loads, startLoader(web, "order.place", troupe.Member{Service: "web", Instance: "w1"}, n/senders))
	}
	count := func() int {
		c := 0
		for _, l := range loads {
			c += l.count()
		}
		return c
	}
	eventually(t, func() bool { return count() >= n/5 })

	leader := streamLeader(t, url, creds[natsbus.AdminUser])
	if err := srvs[leader].Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	killedAt := count()
	t.Logf("killed server %s, the stream's leader, after %d envelopes were accepted", leader, killedAt)
	if killedAt >= n {
		t.Fatal("every envelope was accepted before the kill: nothing was in flight")
	}
	var accepted []troupe.ID
	var errs []error
	for _, l := range loads {
		<-l.done
		accepted = append(accepted, l.accepted...)
		errs = append(errs, l.errs...)
	}
	if len(accepted) != n {
		t.Fatalf("accepted %d envelopes, want %d", len(accepted), n)
	}
	t.Logf("%d Route attempts failed during the fail-over and were retried", len(errs))
	eventually(t, func() bool { return got.missing(accepted) == 0 })
}

// streamLeader returns the name of the server leading the durable stream.
func streamLeader(t *testing.T, url string, admin natsbus.Credential) string {
	t.Helper()
	nc, err := nats.Connect(url, credOption(t, admin))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, "troupe-shop")
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Cluster == nil || info.Cluster.Leader == "" || len(info.Cluster.Replicas) != 2 {
		t.Fatalf("stream is not replicated three times: %+v", info.Cluster)
	}
	return info.Cluster.Leader
}
