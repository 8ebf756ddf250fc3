package host_test

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/troupe-go/troupe/host"
)

// getURL fetches url and returns its status and body.
func getURL(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestAdminListenerServesMetrics: metrics and the profiler are on the admin
// listener, on loopback by default, and not on the gateway's address.
func TestAdminListenerServesMetrics(t *testing.T) {
	n := startNode(t, host.Config{App: greetApp(), Services: []host.Service{greeter}, InProc: true,
		HTTP: host.HTTPConfig{Addr: "127.0.0.1:0"}})
	if !strings.HasPrefix(n.AdminURL(), "http://127.0.0.1:") {
		t.Fatalf("AdminURL = %q, want loopback", n.AdminURL())
	}
	if code, body := getURL(t, n.AdminURL()+"metrics"); code != 200 || !strings.Contains(body, "go_goroutines") {
		t.Errorf("admin /metrics: %d, go_goroutines in it: %v", code, strings.Contains(body, "go_goroutines"))
	}
	if code, _ := getURL(t, n.AdminURL()+"debug/pprof/"); code != 200 {
		t.Errorf("admin /debug/pprof/: %d", code)
	}
	for _, path := range []string{"metrics", "debug/pprof/"} {
		if code, _ := getURL(t, n.URL()+path); code != 404 {
			t.Errorf("public /%s: %d, want 404", path, code)
		}
	}
}

// TestAdminOffLoopbackWithoutCredentials: a node without the operator's
// credentials (the in-process bus has none; a pod holds only its own
// service's key) serves its metrics off loopback, for Prometheus, and
// refuses the dashboard, its state and the profiler.
func TestAdminOffLoopbackWithoutCredentials(t *testing.T) {
	n := startNode(t, host.Config{App: greetApp(), Services: []host.Service{greeter}, InProc: true,
		HTTP: host.HTTPConfig{Addr: "127.0.0.1:0", AdminAddr: "0.0.0.0:0"}})
	_, port, err := net.SplitHostPort(strings.TrimPrefix(strings.TrimSuffix(n.AdminURL(), "/"), "http://"))
	if err != nil {
		t.Fatalf("AdminURL %q: %v", n.AdminURL(), err)
	}
	base := "http://127.0.0.1:" + port + "/"
	if code, body := getURL(t, base+"metrics"); code != 200 || !strings.Contains(body, "go_goroutines") {
		t.Errorf("/metrics off loopback: %d", code)
	}
	for _, path := range []string{"", "api/state", "debug/pprof/"} {
		if code, _ := getURL(t, base+path); code != http.StatusUnauthorized {
			t.Errorf("/%s off loopback without credentials: %d, want 401", path, code)
		}
	}
}
