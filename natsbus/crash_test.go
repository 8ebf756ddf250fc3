package natsbus_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/natsbus"
)

// TestCrashNothingLost kills (SIGKILL) the process of the receiving service
// while 5,000 durable envelopes are in flight, starts it again, and checks
// that every envelope was processed at least once.
func TestCrashNothingLost(t *testing.T) {
	const n = 5000
	app := shop()
	srv := runServer(t, natsbus.ServerConfig{App: app})
	tr := newTransport(t, natsbus.Config{URL: srv.ClientURL(), Credentials: srv.Credentials, App: app, AckWait: time.Second})
	cred, _ := srv.Credentials("orders")
	out := filepath.Join(t.TempDir(), "processed")
	// The service's stream exists before anything is routed to it.
	first := startChild(t, srv.ClientURL(), cred, out, "o1")
	first.kill()

	web := join(t, tr, "web", "w1", newInbox())
	from := troupe.Member{Service: "web", Instance: "w1"}
	ids := make([]troupe.ID, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for g := range 4 {
		wg.Go(func() {
			for i := g; i < n; i += 4 {
				env := envelope(troupe.KindSend, "order.place", from, i)
				env.Durable = true
				ids[i] = env.ID
				if err := web.Route(context.Background(), env); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Route: %v", err)
	}
	// Every envelope is stored before the service starts taking them, so
	// that it is killed with most of them still to come however fast it
	// and the senders are (when it ran while they sent, it could keep up
	// with them and be done before the kill).
	first = startChild(t, srv.ClientURL(), cred, out, "o1")
	eventually(t, func() bool { return len(readIDs(t, out)) >= n/5 })
	first.kill()
	atKill := len(readIDs(t, out))
	t.Logf("killed the service after it processed %d of %d envelopes", atKill, n)
	if atKill >= n {
		t.Fatalf("the service processed all %d envelopes before it was killed: nothing was in flight", n)
	}

	startChild(t, srv.ClientURL(), cred, out, "o2")
	eventually(t, func() bool {
		got := readIDs(t, out)
		for _, id := range ids {
			if got[id] == 0 {
				return false
			}
		}
		return true
	})
	got := readIDs(t, out)
	dups := 0
	for _, c := range got {
		dups += c - 1
	}
	t.Logf("all %d envelopes processed; %d processed more than once", n, dups)
}
