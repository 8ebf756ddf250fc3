package gateway

import (
	"context"
	"encoding/json"
	"github.com/troupe-go/troupe/internal/cputime"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/troupe-go/troupe/internal/load"
)

// bareHello is the baseline: seed 001's protocol on a plain net/http
// handler, nothing between the socket and the reply (as
// bench/http/bare does it).
func bareHello(w http.ResponseWriter, r *http.Request) {
	var m struct {
		Type string `json:"type"`
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&m); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"type":"Error","msg":"bad json"}`))
		return
	}
	switch m.Type {
	case "Hello":
		_, _ = w.Write([]byte(`{"type":"World"}`))
	case "hello":
		_, _ = w.Write([]byte(`{"type":"world"}`))
	default:
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"type":"Error","msg":"unknown type"}`))
	}
}

// benchGateway returns the gateway over the in-process bus with the hello
// service.
func benchGateway(b *testing.B) *Gateway {
	tb := newTestBus(b)
	// Its own metrics on, as a node's gateway has them.
	g, err := New(Config{App: testApp(), Bus: tb, Logger: slog.New(slog.DiscardHandler), Metrics: prometheus.NewRegistry(), Registerer: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	return g
}

// BenchmarkHandler measures one Hello through the handler alone, without
// sockets: the gateway (decode, bus round trip, encode) against the bare
// handler.
func BenchmarkHandler(b *testing.B) {
	for _, bc := range []struct {
		name string
		h    func(b *testing.B) http.Handler
	}{
		{"bare", func(*testing.B) http.Handler { return http.HandlerFunc(bareHello) }},
		{"gateway", func(b *testing.B) http.Handler { return benchGateway(b) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := bc.h(b)
			b.ReportAllocs()
			cpu0 := cputime.Now()
			defer func() {
				if cpu0 > 0 && b.N > 0 {
					b.ReportMetric(float64(cputime.Now()-cpu0)/float64(b.N), "cpu-ns/op")
				}
			}()
			for b.Loop() {
				w := httptest.NewRecorder()
				// An allowed host (protect.go) and the body's type, as a
				// client sends them.
				req := httptest.NewRequest("POST", "http://localhost/", strings.NewReader(`{"type":"Hello"}`))
				req.Header.Set("Content-Type", "application/json")
				h.ServeHTTP(w, req)
				if w.Code != 200 {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
}

// BenchmarkBurst is seed 001's experiment over loopback: 10,000 concurrent
// Hello requests through a 50-connection pool, against the bare handler and
// the gateway. Each iteration runs one burst against each, alternating, so
// that both see the same machine (a shared machine's load changes from
// second to second); it reports the mean elapsed time of each, their ratio,
// and the p99 latencies.
func BenchmarkBurst(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(bareHello), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()
	s, err := Listen(benchGateway(b), ServerConfig{Addr: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Shutdown(context.Background())

	targets := []struct {
		name, url    string
		elapsed, p99 time.Duration
		cpu          time.Duration
	}{
		{name: "bare", url: "http://" + ln.Addr().String() + "/"},
		{name: "gateway", url: s.URL()},
	}
	n := 0
	for b.Loop() {
		for i := range targets {
			tg := &targets[i]
			cpu0 := cputime.Now()
			r, err := load.Burst(context.Background(), load.Config{URL: tg.url, N: 10000, Duration: 30 * time.Second})
			if err != nil {
				b.Fatal(err)
			}
			tg.cpu += cputime.Now() - cpu0
			if r.Good != r.N {
				b.Fatalf("%s: %v: %s", tg.name, r, r.FirstError)
			}
			tg.elapsed += r.Elapsed
			tg.p99 += r.P99
		}
		n++
	}
	for _, tg := range targets {
		b.ReportMetric(float64(tg.elapsed.Milliseconds())/float64(n), tg.name+"-ms/burst")
		b.ReportMetric(float64(tg.p99.Microseconds())/float64(n)/1000, tg.name+"-p99-ms")
		if tg.cpu > 0 {
			// Client and server together: the cost per request, which a
			// busy machine distorts less than the elapsed time.
			b.ReportMetric(float64(tg.cpu.Microseconds())/float64(n*10000), tg.name+"-cpu-µs/req")
		}
	}
	b.ReportMetric(float64(targets[1].elapsed)/float64(targets[0].elapsed), "gateway/bare")
}
