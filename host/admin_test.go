package host_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/troupe-go/troupe/host"
)

// TestAdminListener: metrics and the profiler are on the admin listener,
// on loopback by default, and not on the gateway's address.
func TestAdminListener(t *testing.T) {
	n := startNode(t, host.Config{App: greetApp(), Services: []host.Service{greeter}, InProc: true,
		HTTP: host.HTTPConfig{Addr: "127.0.0.1:0"}})
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if !strings.HasPrefix(n.AdminURL(), "http://127.0.0.1:") {
		t.Fatalf("AdminURL = %q, want loopback", n.AdminURL())
	}
	if code, body := get(n.AdminURL() + "metrics"); code != 200 || !strings.Contains(body, "go_goroutines") {
		t.Errorf("admin /metrics: %d, go_goroutines in it: %v", code, strings.Contains(body, "go_goroutines"))
	}
	if code, _ := get(n.AdminURL() + "debug/pprof/"); code != 200 {
		t.Errorf("admin /debug/pprof/: %d", code)
	}
	for _, path := range []string{"metrics", "debug/pprof/"} {
		if code, _ := get(n.URL() + path); code != 404 {
			t.Errorf("public /%s: %d, want 404", path, code)
		}
	}
}
