package host_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/host"
	"github.com/troupe-go/troupe/natsbus"
	"github.com/troupe-go/troupe/service"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// greetOnly is what a node of greetApp runs: caller is the tests' client.
var greetOnly = []string{"greeter", troupe.GatewayService}

// startNode starts a node until the test ends.
func startNode(t *testing.T, cfg host.Config) *host.Node {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	if cfg.Only == nil {
		cfg.Only = greetOnly // caller is the tests' own client
	}
	n, err := host.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := n.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return n
}

// TestNode runs a node on each transport and speaks to it over HTTP and the
// bus; every instance has an id of its own, and the reply names it.
func TestNode(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  host.Config
	}{
		{"inproc", host.Config{InProc: true}},
		{"embedded nats", host.Config{NATS: host.NATSConfig{Port: -1}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			app := greetApp()
			app.Services[0].Instances = 3
			cfg := tt.cfg
			cfg.App, cfg.Services = app, []host.Service{greeter}
			cfg.HTTP.Addr = "127.0.0.1:0"
			n := startNode(t, cfg)

			status, got := post(t, n.URL(), `{"type":"Greet","name":"node"}`)
			if status != http.StatusOK || got["type"] != "Greeting" || got["text"] != "Hello, node!" {
				t.Fatalf("POST Greet = %d %v", status, got)
			}
			ids := map[string]bool{}
			var greeters []string
			for _, in := range n.Instances() {
				if err := troupe.ValidServiceName(in.ID); err != nil || !strings.HasPrefix(in.ID, in.Service+"-") {
					t.Errorf("instance id %q of %s: %v", in.ID, in.Service, err)
				}
				if ids[in.ID] {
					t.Errorf("instance id %q twice", in.ID)
				}
				ids[in.ID] = true
				if in.Service == "greeter" {
					greeters = append(greeters, in.ID)
				}
			}
			if len(greeters) != 3 {
				t.Fatalf("greeter instances %v, want 3", greeters)
			}
			if !slices.Contains(greeters, got["instance"].(string)) {
				t.Errorf("reply from instance %v, not one of %v", got["instance"], greeters)
			}
			if want := "app greet, running greeter (3 instances), gateway"; n.Summary() != want {
				t.Errorf("summary %q, want %q", n.Summary(), want)
			}

			caller, err := n.Bus().Join(context.Background(), "caller", troupe.NewInstanceID("caller"))
			if err != nil {
				t.Fatal(err)
			}
			env, err := caller.Request(context.Background(), "Greet", Greet{Name: "bus"})
			if err != nil || env.Name != "Greeting" {
				t.Fatalf("request: %v %v", env, err)
			}
			if err := n.Healthy(context.Background()); err != nil {
				t.Errorf("healthy: %v", err)
			}
		})
	}
}

// TestShutdownOrder checks that hooks run in the documented order: drain
// hooks before the listeners close, stop hooks after the service stopped.
func TestShutdownOrder(t *testing.T) {
	var events []string
	record := func(s string) func(context.Context) error {
		return func(context.Context) error { events = append(events, s); return nil }
	}
	svc := host.Service{Name: "greeter", New: func(ctx context.Context, in *host.Instance) (*service.Service, error) {
		in.OnDrain(record("drain 1"))
		in.OnDrain(record("drain 2"))
		in.OnStop(record("stop 1"))
		in.OnStop(record("stop 2"))
		in.Front(func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/front" {
					_, _ = io.WriteString(w, "front")
					return
				}
				next.ServeHTTP(w, r)
			})
		})
		return greeter.New(ctx, in)
	}}
	n, err := host.Start(context.Background(), host.Config{
		App: greetApp(), Services: []host.Service{svc}, InProc: true, Only: greetOnly,
		HTTP: host.HTTPConfig{Addr: "127.0.0.1:0"}, DataDir: t.TempDir(), Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(n.URL() + "front")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "front" {
		t.Errorf("GET /front = %q, want the front handler's", body)
	}
	if status, _ := post(t, n.URL(), `{"type":"Greet"}`); status != http.StatusOK {
		t.Errorf("POST / behind the front = %d", status)
	}
	if err := n.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{"drain 2", "drain 1", "stop 2", "stop 1"}
	if !slices.Equal(events, want) {
		t.Errorf("hooks ran %v, want %v", events, want)
	}
	if err := n.Shutdown(context.Background()); err != nil {
		t.Errorf("second shutdown: %v", err)
	}
}

// TestRegistrationMismatch: a registration that does not match the manifest
// fails Start with one error naming both sides, and leaves nothing running.
func TestRegistrationMismatch(t *testing.T) {
	stranger := host.Service{Name: "stranger", New: greeter.New}
	wrongHandler := host.Service{Name: "greeter", New: func(_ context.Context, in *host.Instance) (*service.Service, error) {
		s := service.New(in.Config())
		err := service.Handle(s, "Farewell", "Bye", func(context.Context, struct{}) (struct{}, error) { return struct{}{}, nil })
		return s, err
	}}
	failing := host.Service{Name: "greeter", New: func(context.Context, *host.Instance) (*service.Service, error) {
		return nil, errors.New("no database")
	}}
	withCommand := func(cmd ...string) *troupe.App {
		app := greetApp()
		app.Services[0].Command = cmd
		return app
	}
	withOperator := greetApp()
	withOperator.Services = append(withOperator.Services, troupe.ServiceDecl{Name: troupe.OperatorService})
	tests := []struct {
		name     string
		app      *troupe.App
		services []host.Service
		only     []string
		inproc   bool
		want     []string // all in the error
	}{
		{"declared, not registered", greetApp(), nil, greetOnly, true, []string{`declares service "greeter"`, "registers no constructor", "it registers none"}},
		{"registered, not declared", greetApp(), []host.Service{greeter, stranger}, nil, true, []string{`registers service "stranger"`, "declares no such service", "greeter, caller"}},
		{"registered twice", greetApp(), []host.Service{greeter, greeter}, nil, true, []string{`"greeter" is registered twice`}},
		{"handler not received", greetApp(), []host.Service{wrongHandler}, greetOnly, true, []string{`handler for "Farewell"`, "receives Greet"}},
		{"constructor fails", greetApp(), []host.Service{failing}, greetOnly, true, []string{"service greeter: no database"}},
		{"command missing", withCommand("/does/not/exist"), nil, greetOnly, false, []string{`service "greeter"`, `"/does/not/exist"`}},
		{"command in process", withCommand("true"), nil, greetOnly, true, []string{"needs NATS"}},
		{"unknown -only", greetApp(), []host.Service{greeter}, []string{"greter"}, true, []string{`-only "greter"`, "greeter, caller"}},
		{"operator declared", withOperator, []host.Service{greeter}, greetOnly, true, []string{troupe.OperatorService, "reserves"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := host.Config{App: tt.app, Services: tt.services, Only: tt.only, InProc: tt.inproc,
				NATS: host.NATSConfig{Port: -1}, HTTP: host.HTTPConfig{Addr: "127.0.0.1:0"}, DataDir: t.TempDir(), Logger: quiet}
			n, err := host.Start(context.Background(), cfg)
			if err == nil {
				_ = n.Shutdown(context.Background())
				t.Fatal("Start succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestSecondNodeKeepsFirstsFiles: a second node with the same data
// directory and NATS port fails at once, naming the port, and leaves the
// first one's URL file alone; the first node's files go when it stops.
func TestSecondNodeKeepsFirstsFiles(t *testing.T) {
	data := t.TempDir()
	first := startNode(t, host.Config{App: greetApp(), Services: []host.Service{greeter}, DataDir: data, NATS: host.NATSConfig{Port: -1}})
	url, err := os.ReadFile(host.URLFile(data))
	if err != nil || strings.TrimSpace(string(url)) != first.NATSURL() {
		t.Fatalf("url file %q (%v), want %s", url, err, first.NATSURL())
	}
	port := first.NATSURL()[strings.LastIndex(first.NATSURL(), ":")+1:]
	portNum, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = host.Start(context.Background(), host.Config{App: greetApp(), Services: []host.Service{greeter}, Only: greetOnly, DataDir: data, NATS: host.NATSConfig{Port: portNum}, Logger: quiet})
	if err == nil || !strings.Contains(err.Error(), "port "+port) || !strings.Contains(err.Error(), "not free") {
		t.Fatalf("second node: %v, want an error naming port %s", err, port)
	}
	if d := time.Since(start); d > 8*time.Second {
		t.Logf("the second node took %v to fail", d) // not a timing assertion: the old code waited 10 s
	}
	again, err := os.ReadFile(host.URLFile(data))
	if err != nil || string(again) != string(url) {
		t.Errorf("url file after the failed start %q (%v), want %q", again, err, url)
	}
	if err := first.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(host.URLFile(data)); !os.IsNotExist(err) {
		t.Errorf("url file still there after shutdown: %v", err)
	}
	if _, err := os.Stat(filepath.Join(data, "greeter")); err != nil {
		t.Errorf("the service's data directory: %v", err)
	}
}

// TestReadinessFollowsNATS: /readyz answers 503 while the node's NATS server
// is gone and 200 once it is back; a request meanwhile is a 503 to try again,
// never a 404; /healthz (liveness: the actor runtime) stays 200.
func TestReadinessFollowsNATS(t *testing.T) {
	app, err := greetApp().WithOperator()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	store := t.TempDir()
	srv, err := natsbus.RunServer(natsbus.ServerConfig{App: app, Port: port, DataDir: store})
	if err != nil {
		t.Fatal(err)
	}
	users := srv.Users()
	credFile := filepath.Join(t.TempDir(), "credentials.json")
	data, err := json.Marshal(users)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(credFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	n := startNode(t, host.Config{App: greetApp(), Services: []host.Service{greeter}, HTTP: host.HTTPConfig{Addr: "127.0.0.1:0"},
		NATS: host.NATSConfig{URL: srv.ClientURL(), Credentials: credFile}})
	status := func(path string) int {
		t.Helper()
		resp, err := http.Get(n.URL() + strings.TrimPrefix(path, "/"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status("/readyz"); got != http.StatusOK {
		t.Fatalf("/readyz with NATS up = %d", got)
	}

	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, func() bool { return status("/readyz") == http.StatusServiceUnavailable })
	if got := status("/healthz"); got != http.StatusOK {
		t.Errorf("/healthz with NATS down = %d, want 200 (the process itself is alive)", got)
	}
	code, got := post(t, n.URL(), `{"type":"Greet","name":"outage"}`)
	if code != http.StatusServiceUnavailable || got["code"] != "unavailable" {
		t.Errorf("Greet with NATS down = %d %v, want 503 unavailable", code, got)
	}

	srv, err = natsbus.RunServer(natsbus.ServerConfig{App: app, Port: port, DataDir: store, Credentials: users})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	eventually(t, 30*time.Second, func() bool { return status("/readyz") == http.StatusOK })
	eventually(t, 30*time.Second, func() bool {
		code, _ := post(t, n.URL(), `{"type":"Greet","name":"back"}`)
		return code == http.StatusOK
	})
}
