package host_test

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/host"
	"github.com/troupe-go/troupe/internal/cputime"
)

// BenchmarkDashboardCost measures what an open dashboard costs the services
// it watches: requests to the greeter per second from parallel callers,
// with no page open (dashboard=closed), with the dashboard's page open
// (dashboard=open: it asks the node for its snapshot once a second and the
// node records hops for the activity view), and with the live tap of every
// message open too (dashboard=tap). The goal (issue 14) is at most 2% fewer
// requests per second open than closed (and no more CPU per request, the
// dashboard's own work included: cpu-ns/op); compare them with benchstat:
//
//	go test -run '^$' -bench DashboardCost -benchtime 3s -count 10 ./host/ > dash.txt
//	go run golang.org/x/perf/cmd/benchstat@latest -col /dashboard dash.txt
func BenchmarkDashboardCost(b *testing.B) {
	for _, transport := range []string{"inproc", "nats"} {
		for _, mode := range []string{"closed", "open", "tap"} {
			b.Run("transport="+transport+"/dashboard="+mode, func(b *testing.B) {
				benchDashboard(b, transport == "inproc", mode)
			})
		}
	}
}

func benchDashboard(b *testing.B, inproc bool, mode string) {
	cfg := host.Config{
		App: greetApp(), Services: []host.Service{greeter}, Only: []string{"greeter"},
		InProc: inproc, NATS: host.NATSConfig{Port: -1}, DataDir: b.TempDir(), Logger: quiet,
		Timeout: 10 * time.Second,
	}
	n, err := host.Start(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = n.Shutdown(ctx)
	}()
	caller, err := n.Bus().Join(context.Background(), "caller", troupe.NewInstanceID("caller"))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if mode != "closed" {
		// A page open, reading every frame as a browser does; wait for
		// its first state, so that the node records from now on.
		ready := make(chan struct{})
		go readStream(ctx, b, n.AdminURL()+"api/stream", "event: state", ready)
		if mode == "tap" {
			go readStream(ctx, b, n.AdminURL()+"api/tap", "", nil)
		}
		select {
		case <-ready:
		case <-time.After(30 * time.Second):
			b.Fatal("the dashboard sent no state")
		}
	}
	payload := []byte(`{"name":"bench"}`)
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu := time.Now(), cputime.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := caller.Request(context.Background(), "Greet", payload); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
	cputime.Report(b, cpu) // the process's CPU time per request: the dashboard's own work included
}

// readStream reads a server-sent event stream until ctx ends, signalling
// ready when a line starts with first.
func readStream(ctx context.Context, b *testing.B, url, first string, ready chan<- struct{}) {
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			b.Error(err)
		}
		return
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		if ready != nil && strings.HasPrefix(sc.Text(), first) {
			close(ready)
			ready = nil
		}
	}
}
