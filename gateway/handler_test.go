package gateway

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestServeOtherHandler serves a handler that routes /pages to itself and
// everything else to the gateway, as an application with its own pages does.
func TestServeOtherHandler(t *testing.T) {
	g := newGateway(t, Config{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /pages", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "a page") })
	mux.Handle("/", g)
	s, err := Listen(g, ServerConfig{Addr: "127.0.0.1:0", Handler: mux})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	}()
	c := newClient(t)
	resp, err := c.Get(s.URL() + "pages")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "a page" {
		t.Errorf("GET /pages = %d %q, want 200 \"a page\"", resp.StatusCode, body)
	}
	resp, err = c.Post(s.URL(), "application/json", strings.NewReader(`{"type":"Hello"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"type":"World"`) {
		t.Errorf("POST / through the other handler = %d %s, want 200 World", resp.StatusCode, body)
	}
}
