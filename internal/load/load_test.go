package load

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// helloServer is the seed's hello protocol on a plain handler; it tracks
// the most connections open at once.
type helloServer struct {
	*httptest.Server
	mu        sync.Mutex
	open, max int
}

func newHelloServer(t *testing.T, h http.HandlerFunc) *helloServer {
	s := &helloServer{}
	if h == nil {
		h = func(w http.ResponseWriter, r *http.Request) {
			var m struct{ Type string }
			if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
				w.WriteHeader(400)
				fmt.Fprint(w, `{"type":"Error","msg":"bad json"}`)
				return
			}
			switch m.Type {
			case "hello":
				fmt.Fprint(w, `{"type": "world"}`)
			case "Hello":
				fmt.Fprint(w, `{"type":"World"}`)
			default:
				w.WriteHeader(400)
				fmt.Fprint(w, `{"type":"Error","msg":"unknown type"}`)
			}
		}
	}
	s.Server = httptest.NewUnstartedServer(h)
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		s.mu.Lock()
		defer s.mu.Unlock()
		switch st {
		case http.StateNew:
			s.open++
			s.max = max(s.max, s.open)
		case http.StateClosed, http.StateHijacked:
			s.open--
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func TestBurst(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want Result // counts only
	}{
		{"livebook defaults", Config{N: 300, Concurrency: 10, Duration: time.Minute},
			Result{N: 300, Good: 300, AllGood: true}},
		{"spec spelling", Config{N: 50, Concurrency: 5, Body: []byte(`{"type":"Hello"}`), Expect: ExpectType("World"), Duration: time.Minute},
			Result{N: 50, Good: 50, AllGood: true}},
		{"wrong reply", Config{N: 40, Concurrency: 5, Expect: ExpectType("World"), Duration: time.Minute},
			Result{N: 40, Bad: 40}},
		{"error status", Config{N: 20, Concurrency: 5, Body: []byte(`{"type":"Wrong"}`), Expect: func([]byte) bool { return true }, Duration: time.Minute},
			Result{N: 20, Bad: 20}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newHelloServer(t, nil)
			tt.cfg.URL = s.URL + "/"
			got, err := Burst(context.Background(), tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got.N != tt.want.N || got.Good != tt.want.Good || got.Bad != tt.want.Bad || got.Errors != tt.want.Errors || got.AllGood != tt.want.AllGood {
				t.Errorf("Burst = %v (all good %v), want %d/%d good, %d bad, %d errors (all good %v)",
					got, got.AllGood, tt.want.Good, tt.want.N, tt.want.Bad, tt.want.Errors, tt.want.AllGood)
			}
			if got.Good+got.Bad > 0 && (got.P50 <= 0 || got.P50 > got.P99 || got.P99 > got.Max) {
				t.Errorf("latencies p50 %v, p99 %v, max %v: want 0 < p50 <= p99 <= max", got.P50, got.P99, got.Max)
			}
			s.mu.Lock()
			conns := s.max
			s.mu.Unlock()
			if conns > tt.cfg.Concurrency {
				t.Errorf("%d connections open at once, want at most the pool of %d", conns, tt.cfg.Concurrency)
			}
			if (got.FirstError == "") != (got.Good == got.N) {
				t.Errorf("FirstError %q with %d/%d good", got.FirstError, got.Good, got.N)
			}
		})
	}
}

// TestBurstPastDuration checks that requests not answered within the
// duration are cancelled and counted, and the verdict is negative.
func TestBurstPastDuration(t *testing.T) {
	release := make(chan struct{})
	s := newHelloServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	got, err := Burst(context.Background(), Config{URL: s.URL, N: 20, Concurrency: 4, Duration: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if got.Errors != 20 || got.AllGood {
		t.Errorf("Burst = %v (all good %v), want 20 errors and not all good", got, got.AllGood)
	}
	if want := "The server cannot handle 20 per 50ms."; got.Verdict() != want {
		t.Errorf("Verdict() = %q, want %q", got.Verdict(), want)
	}
}

func TestBurstNoServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nobody listens there now
	got, err := Burst(context.Background(), Config{URL: "http://" + addr + "/", N: 10, Concurrency: 2, Duration: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if got.Errors != 10 || got.AllGood || !strings.Contains(got.FirstError, "refused") {
		t.Errorf("Burst = %v (%q), want 10 connection refused errors", got, got.FirstError)
	}
}

func TestBurstConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no URL", Config{}, "URL is required"},
		{"not HTTP", Config{URL: "ftp://x/"}, "not an http or https URL"},
		{"no host", Config{URL: "http:///"}, "not an http or https URL"},
		{"negative N", Config{URL: "http://127.0.0.1:1/", N: -1}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Burst(context.Background(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Burst: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestExpectType(t *testing.T) {
	tests := []struct {
		body string
		want bool
	}{
		{`{"type":"world"}`, true},
		{`{ "type" : "world" , "x": 1}`, true},
		{"{\n\t\"type\": \"world\"\n}", true},
		{`{"type":"World"}`, false},
		{`{"type":"worlds"}`, false},
		{`{"type":"Error","msg":"world"}`, false},
		{``, false},
	}
	expect := ExpectType("world")
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			if got := expect([]byte(tt.body)); got != tt.want {
				t.Errorf("ExpectType(world)(%s) = %v, want %v", tt.body, got, tt.want)
			}
		})
	}
}

func ExampleResult_Verdict() {
	r := Result{N: 10000, Good: 10000, AllGood: true, Duration: time.Second}
	fmt.Println(r.Verdict())
	r.Good, r.AllGood = 9999, false
	fmt.Println(r.Verdict())
	// Output:
	// The server can handle 10000 requests per 1s.
	// The server cannot handle 10000 per 1s.
}
