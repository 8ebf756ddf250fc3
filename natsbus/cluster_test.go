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
	srvs, urls, creds := startCluster(t, app)
	url := strings.Join(urls, ",")
	tr := clusterTransport(t, natsbus.Config{URL: url, Credentials: natsbus.CredentialsFrom(creds), App: app,
		AckWait: time.Second, Replicas: 3, Logger: quiet})

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

// startCluster runs three clustered servers for app on loopback, shut down
// at the end of the test, and returns them by name, their client URLs and
// the users' credentials.
func startCluster(t *testing.T, app *troupe.App) (map[string]*natsbus.Server, []string, map[string]natsbus.Credential) {
	t.Helper()
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
	return srvs, urls, creds
}

// clusterTransport makes a Transport for cfg once the cluster can make
// streams (JetStream needs a meta leader first); it is closed at the end of
// the test.
func clusterTransport(t *testing.T, cfg natsbus.Config) *natsbus.Transport {
	t.Helper()
	var tr *natsbus.Transport
	eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var err error
		tr, err = natsbus.New(ctx, cfg)
		return err == nil
	})
	t.Cleanup(func() { _ = tr.Close(context.Background()) })
	return tr
}

// TestClusterLeaveLosesNothing restarts the members of a durable receiver
// one after another, as a rolling upgrade does, while envelopes flow: each
// member is on its own server of a three-server cluster and the sender on
// another, so deliveries cross routes from the consumer's leader. A member
// that leaves must take nothing with it: with AckWait at a minute, an
// envelope sent to a member's inbox as it went would be redelivered only
// after that minute; every accepted envelope must be processed well before.
func TestClusterLeaveLosesNothing(t *testing.T) {
	app := shop()
	_, urls, creds := startCluster(t, app)
	cfg := func(url string) natsbus.Config {
		return natsbus.Config{URL: url, Credentials: natsbus.CredentialsFrom(creds), App: app,
			AckWait: time.Minute, Replicas: 3, PullExpiry: 500 * time.Millisecond, Logger: quiet}
	}
	var trs []*natsbus.Transport
	for _, u := range urls {
		trs = append(trs, clusterTransport(t, cfg(u)))
	}
	got := newProcessed()
	member := func(i, gen int) bus.Port {
		p := join(t, trs[i%2], "orders", fmt.Sprintf("o%d-%d", i%2, gen), newInbox())
		if err := p.Subscribe("order.place", bus.OneInstance, got); err != nil {
			t.Fatal(err)
		}
		return p
	}
	members := []bus.Port{member(0, 0), member(1, 0)}
	web := join(t, trs[2], "web", "w1", newInbox())
	var loads []*loader
	for range 4 {
		loads = append(loads, startLoader(web, "order.place", troupe.Member{Service: "web", Instance: "w1"}, 0))
	}
	count := func() int {
		c := 0
		for _, l := range loads {
			c += l.count()
		}
		return c
	}
	eventually(t, func() bool { return count() >= 200 })
	const restarts = 6
	for gen := 1; gen <= restarts; gen++ {
		i := gen % 2
		before := count()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := members[i].Leave(ctx); err != nil {
			t.Fatalf("Leave: %v", err)
		}
		cancel()
		if err := members[i].Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		members[i] = member(i, gen)
		eventually(t, func() bool { return count() >= before+200 }) // the load went on through it
	}
	var accepted []troupe.ID
	for _, l := range loads {
		close(l.stop)
		<-l.done
		accepted = append(accepted, l.accepted...)
	}
	deadline := time.Now().Add(20 * time.Second)
	for got.missing(accepted) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d of the %d accepted envelopes were not processed within 20 s of the last one (AckWait is a minute): lost on the way to a member that left",
				got.missing(accepted), len(accepted))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("%d envelopes through %d restarts of the receiver's members, none waiting for a redelivery", len(accepted), restarts)
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
