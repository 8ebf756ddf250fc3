// Package servicetest runs services in a test, as net/http/httptest runs a
// handler: the services of a manifest on an in-process bus, behind the real
// gateway on a loopback port, stopped when the test ends.
//
//	app := servicetest.Start(t, servicetest.Config{
//		Manifest: "../troupe.yaml",
//		Services: []host.Service{hello.Service},
//	})
//	reply, err := app.Request("Hello", hello.Hello{})   // as the operator
//	w, err := servicetest.Request[hello.World](app, "Hello", nil)
//	err = app.As("web").Send("todo.create", todo)       // as a declared service
//	status, body := app.Post(t, "/", `{"type":"Hello"}`) // through the gateway
//
// Requests are sent as the operator service (troupe.OperatorService), which
// may send every name some service receives, or, with As, as any service the
// manifest declares, whose permissions then apply. What the services publish
// is seen through Config.Observe and Published. A handler that panics comes
// back as a *troupe.Error with code internal and an incident id;
// App.CrashReport finds the crash report logged under that id.
package servicetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/host"
	"github.com/troupe-go/troupe/manifest"
)

// DefaultTimeout is the request budget in a test: longer than the
// production second, for slow and loaded test machines.
const DefaultTimeout = 10 * time.Second

// Observer is the name of the test's observing service, which Config.Observe
// declares.
const Observer = "servicetest-observer"

// Config configures Start. Exactly one of Manifest and App is required.
type Config struct {
	// Manifest is the path of the application's troupe.yaml.
	Manifest string
	// App is the application, when the test declares it in Go.
	App *troupe.App
	// Services are the constructors of the services to run, as main
	// registers them.
	Services []host.Service
	// Only, if set, runs only these services (and the gateway only if
	// listed); the others are not started and need no constructor.
	// Empty runs every service that has a constructor and the gateway.
	Only []string
	// Observe lists published names (events) the test wants to see:
	// an observing service that receives them is added to the manifest.
	// Do not list requests or sends: the observer would compete with
	// their receivers for them.
	Observe []string
	// Timeout is the request budget. Default DefaultTimeout.
	Timeout time.Duration
	// Logger receives the node's records. Nil sends them to t.Log.
	Logger *slog.Logger
}

// App is a running application in a test.
type App struct {
	// Node is the running node.
	Node *host.Node
	// Client sends as the operator; Request, Send and Publish use it.
	*Client

	tb       testing.TB
	logs     *capture
	observed map[string]chan *troupe.Envelope
}

// Start runs the services of cfg until the test ends. It fails the test if
// they cannot start (a registration that does not match the manifest, say).
func Start(tb testing.TB, cfg Config) *App {
	tb.Helper()
	app, err := load(cfg)
	if err != nil {
		tb.Fatalf("servicetest: %v", err)
	}
	a := &App{tb: tb, logs: &capture{tb: tb}, observed: map[string]chan *troupe.Envelope{}}
	if len(cfg.Observe) > 0 {
		if app.Service(Observer) != nil {
			tb.Fatalf("servicetest: the manifest declares %q, which servicetest reserves", Observer)
		}
		observed := *app
		observed.Services = append(slices.Clone(app.Services), troupe.ServiceDecl{Name: Observer, Receives: cfg.Observe})
		app = &observed
	}
	only := cfg.Only
	if len(only) == 0 {
		registered := map[string]bool{}
		for _, s := range cfg.Services {
			registered[s.Name] = true
		}
		for _, d := range app.Services {
			if registered[d.Name] {
				only = append(only, d.Name)
			}
		}
		only = append(only, troupe.GatewayService)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(a.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	} else {
		log = slog.New(slog.NewMultiHandler(log.Handler(), slog.NewTextHandler(a.logs, nil)))
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	ctx := context.Background()
	n, err := host.Start(ctx, host.Config{
		App:          app,
		ManifestFile: cfg.Manifest,
		Services:     cfg.Services,
		Only:         only,
		DataDir:      tb.TempDir(),
		Timeout:      timeout,
		InProc:       true,
		HTTP:         host.HTTPConfig{Addr: "127.0.0.1:0"},
		Logger:       log,
	})
	if err != nil {
		tb.Fatalf("servicetest: %v", err)
	}
	tb.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := n.Shutdown(sctx); err != nil {
			tb.Errorf("servicetest: shutdown: %v", err)
		}
		a.logs.stop()
	})
	a.Node = n
	a.Client = a.join(troupe.OperatorService)
	if len(cfg.Observe) > 0 {
		for _, name := range cfg.Observe {
			a.observed[name] = make(chan *troupe.Envelope, 1024)
		}
		obs, err := n.Bus().Join(ctx, Observer, troupe.NewInstanceID(Observer))
		if err != nil {
			tb.Fatalf("servicetest: observer: %v", err)
		}
		for _, name := range cfg.Observe {
			ch := a.observed[name]
			if err := obs.Handle(name, bus.HandlerFunc(func(_ context.Context, m *bus.Msg) {
				select {
				case ch <- m.Env:
				default:
					tb.Errorf("servicetest: more than %d %s messages not read by the test", cap(ch), name)
				}
				m.Done(nil)
			})); err != nil {
				tb.Fatalf("servicetest: observe %q: %v", name, err)
			}
		}
	}
	return a
}

func load(cfg Config) (*troupe.App, error) {
	switch {
	case cfg.App != nil && cfg.Manifest != "":
		return nil, fmt.Errorf("config: give Manifest or App, not both")
	case cfg.App != nil:
		return cfg.App, nil
	case cfg.Manifest != "":
		return manifest.Load(cfg.Manifest)
	}
	return nil, fmt.Errorf("config: Manifest or App is required")
}

// URL returns the gateway's base URL ("http://127.0.0.1:PORT/"), or "" when
// the test does not run the gateway.
func (a *App) URL() string { return a.Node.URL() }

// Post sends body with Content-Type application/json to the gateway at path
// and returns the status and the body with surrounding space trimmed. It
// fails the test if the request cannot be made.
func (a *App) Post(tb testing.TB, path, body string) (int, string) {
	tb.Helper()
	return a.Do(tb, http.MethodPost, path, body)
}

// Do sends a request to the gateway (a JSON body unless empty) and returns
// the status and the trimmed body.
func (a *App) Do(tb testing.TB, method, path, body string) (int, string) {
	tb.Helper()
	if a.URL() == "" {
		tb.Fatalf("servicetest: %s %s: the gateway is not running", method, path)
	}
	req, err := http.NewRequest(method, strings.TrimSuffix(a.URL(), "/")+path, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp.StatusCode, string(bytes.TrimSpace(data))
}

// Published returns the next envelope named name that a service published
// (name must be in Config.Observe), waiting up to the request budget. It
// fails the test if none comes.
func (a *App) Published(tb testing.TB, name string) *troupe.Envelope {
	tb.Helper()
	ch := a.observed[name]
	if ch == nil {
		tb.Fatalf("servicetest: %q is not in Config.Observe", name)
	}
	select {
	case env := <-ch:
		return env
	case <-time.After(DefaultTimeout):
		tb.Fatalf("servicetest: nothing named %q was published within %v", name, DefaultTimeout)
		return nil
	}
}

// CrashReport returns the crash report logged under incident (the Incident
// of an internal *troupe.Error), or false if there is none.
func (a *App) CrashReport(incident string) (string, bool) {
	if incident == "" {
		return "", false
	}
	for _, rec := range a.logs.records() {
		if strings.Contains(rec, "incident="+incident) && strings.Contains(rec, "crashed") {
			return rec, true
		}
	}
	return "", false
}

// Logs returns the node's log records so far, one per line of text.
func (a *App) Logs() []string { return a.logs.records() }

// As returns a client that sends as service, a service the manifest
// declares: its sends decide what it may send. Each call joins a new
// instance.
func (a *App) As(service string) *Client {
	a.tb.Helper()
	return a.join(service)
}

func (a *App) join(service string) *Client {
	a.tb.Helper()
	c, err := a.Node.Bus().Join(context.Background(), service, troupe.NewInstanceID(service))
	if err != nil {
		a.tb.Fatalf("servicetest: join as %s: %v", service, err)
	}
	return &Client{c: c}
}

// Client sends messages as one service.
type Client struct{ c *bus.Client }

// Request sends a request and returns its reply envelope, or the error reply
// as a *troupe.Error.
func (c *Client) Request(name string, payload any) (*troupe.Envelope, error) {
	return c.c.Request(context.Background(), name, payload)
}

// Send sends a one-way notification.
func (c *Client) Send(name string, payload any) error {
	return c.c.Send(context.Background(), name, payload)
}

// Publish publishes an event.
func (c *Client) Publish(name string, payload any) error {
	return c.c.Publish(context.Background(), name, payload)
}

// Bus returns the client's bus client, for what the methods above do not
// cover (Collect, a context of the test's own).
func (c *Client) Bus() *bus.Client { return c.c }

// Request sends a request as the operator and decodes the reply's payload
// into a Rep.
func Request[Rep any](a *App, name string, req any) (Rep, error) {
	var rep Rep
	env, err := a.Request(name, req)
	if err != nil {
		return rep, err
	}
	if len(env.Payload) > 0 {
		if err := json.Unmarshal(env.Payload, &rep); err != nil {
			return rep, fmt.Errorf("servicetest: reply %s to %s: %w", env.Name, name, err)
		}
	}
	return rep, nil
}

// capture keeps the node's log records and copies them to the test's log
// until the test ends.
type capture struct {
	tb      testing.TB
	mu      sync.Mutex
	lines   []string
	partial []byte
	stopped bool
}

func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.partial = append(c.partial, p...)
	for {
		i := bytes.IndexByte(c.partial, '\n')
		if i < 0 {
			break
		}
		line := string(c.partial[:i])
		c.partial = c.partial[i+1:]
		c.lines = append(c.lines, line)
		if !c.stopped {
			c.tb.Log(line)
		}
	}
	return len(p), nil
}

func (c *capture) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
}

func (c *capture) records() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.lines)
}
