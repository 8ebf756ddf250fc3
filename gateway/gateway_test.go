package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/troupe-go/troupe"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testApp is the application the tests serve: seed 001's hello service on
// "/" (both the spec's and the livebook's spelling), a few messages that
// exercise the reply paths, and REST routes for todos.
func testApp() *troupe.App {
	return &troupe.App{
		Name: "test",
		Services: []troupe.ServiceDecl{
			{Name: troupe.GatewayService, Sends: []string{"Hello", "hello", "Echo", "Value", "Null", "Fail", "Boom", "Slow", "todo.get", "todo.put"}},
			{Name: "hello", Receives: []string{"Hello", "hello", "Echo", "Value", "Null", "Fail", "Boom", "Slow", "todo.get", "todo.put"}},
		},
		Routes: []troupe.Route{
			{Path: "/", Types: []string{"Hello", "hello", "Echo", "Value", "Null", "Fail", "Boom", "Slow"}},
			{Method: "GET", Path: "/api/todos/{id}", Message: "todo.get"},
			{Method: "PUT", Path: "/api/todos/{id}", Message: "todo.put"},
		},
	}
}

// newGateway returns a gateway for testApp on the test bus, with cfg's
// other fields.
func newGateway(t testing.TB, cfg Config) *Gateway {
	t.Helper()
	if cfg.App == nil {
		cfg.App = testApp()
	}
	if cfg.Bus == nil {
		cfg.Bus = newTestBus(t)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Timeout == 0 {
		// Tests assert behaviour, not speed: a loaded machine must not
		// turn a reply into a timeout.
		cfg.Timeout = time.Minute
	}
	if cfg.Metrics == nil {
		cfg.Metrics = prometheus.NewRegistry()
	}
	if cfg.AllowedHosts == nil {
		cfg.AllowedHosts = []string{"example.com"} // httptest.NewRequest's
	}
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// serve serves g on a real loopback listener until the test ends.
func serve(t *testing.T, g *Gateway) *Server {
	t.Helper()
	s, err := Listen(g, ServerConfig{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return s
}

// newClient returns an HTTP client whose connections close when the test
// ends.
func newClient(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// reply is a decoded response.
type reply struct {
	Status int
	Body   map[string]any
}

func do(t *testing.T, c *http.Client, method, url, ctype, body string) reply {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := reply{Status: resp.StatusCode}
	if err := json.Unmarshal(b, &r.Body); err != nil {
		t.Fatalf("%s %s: body %q is not a JSON object: %v", method, url, b, err)
	}
	return r
}

// hello checks that a normal Hello request succeeds.
func hello(t *testing.T, c *http.Client, url string) {
	t.Helper()
	got := do(t, c, "POST", url, "application/json", `{"type":"Hello"}`)
	want := reply{Status: 200, Body: map[string]any{"type": "World"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Hello after the test (-want +got):\n%s", diff)
	}
}

func TestProtocol(t *testing.T) {
	g := newGateway(t, Config{})
	s := serve(t, g)
	c := newClient(t)
	tests := []struct {
		name string
		body string
		want reply
	}{
		{"hello", `{"type":"Hello"}`, reply{200, map[string]any{"type": "World"}}},
		{"livebook hello", `{"type": "hello"}`, reply{200, map[string]any{"type": "world"}}},
		{"payload passed on", `{"type":"Echo","n":1,"s":"x","o":{"a":[1,2]}}`,
			reply{200, map[string]any{"type": "Echoed", "n": 1.0, "s": "x", "o": map[string]any{"a": []any{1.0, 2.0}}}}},
		{"type member of a reply payload dropped", `{"type":"Echo","t":1}`, reply{200, map[string]any{"type": "Echoed", "t": 1.0}}},
		{"non-object reply", `{"type":"Value"}`, reply{200, map[string]any{"type": "Number", "value": 42.0}}},
		{"null reply", `{"type":"Null"}`, reply{200, map[string]any{"type": "Nothing"}}},
		{"error reply", `{"type":"Fail"}`, reply{409, map[string]any{"type": "Error", "msg": "already there (incident INC1)", "code": "conflict", "incident": "INC1"}}},
		{"plain error", `{"type":"Boom"}`, reply{500, map[string]any{"type": "Error", "msg": "boom", "code": "internal"}}},
		{"unknown type", `{"type":"Wrong"}`, reply{400, map[string]any{"type": "Error", "msg": `unknown type "Wrong" at /`, "code": "bad_request"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := do(t, c, "POST", s.URL(), "application/json", tt.body)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("POST %s (-want +got):\n%s", tt.body, diff)
			}
		})
	}
}

func TestStatusOf(t *testing.T) {
	tests := []struct {
		code troupe.Code
		want int
	}{
		{troupe.CodeBadRequest, 400},
		{troupe.CodeNotFound, 404},
		{troupe.CodeForbidden, 403},
		{troupe.CodeTimeout, 504},
		{troupe.CodeUnavailable, 503},
		{troupe.CodeConflict, 409},
		{troupe.CodeInternal, 500},
		{"bogus", 500},
	}
	for _, tt := range tests {
		t.Run(string(tt.code), func(t *testing.T) {
			if got := StatusOf(tt.code); got != tt.want {
				t.Errorf("StatusOf(%q) = %d, want %d", tt.code, got, tt.want)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	g := newGateway(t, Config{Timeout: 100 * time.Millisecond})
	s := serve(t, g)
	c := newClient(t)
	got := do(t, c, "POST", s.URL(), "application/json", `{"type":"Slow"}`)
	want := reply{504, map[string]any{"type": "Error", "msg": "no reply to Slow within 100ms", "code": "timeout"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// lateRequester ignores its context and answers after the deadline: a
// misbehaving Requester whose late reply the gateway must drop.
type lateRequester struct{}

func (lateRequester) Request(ctx context.Context, name string, payload any) (*troupe.Envelope, error) {
	d, _ := ctx.Deadline()
	time.Sleep(time.Until(d) + 10*time.Millisecond)
	return &troupe.Envelope{Name: "World"}, nil
}

func TestLateReplyDropped(t *testing.T) {
	g := newGateway(t, Config{Bus: lateRequester{}, Timeout: 50 * time.Millisecond})
	s := serve(t, g)
	got := do(t, newClient(t), "POST", s.URL(), "application/json", `{"type":"Hello"}`)
	want := reply{504, map[string]any{"type": "Error", "msg": "no reply to Hello within 50ms", "code": "timeout"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// brokenRequester fails with a plain Go error, as a broken transport might.
type brokenRequester struct{}

func (brokenRequester) Request(context.Context, string, any) (*troupe.Envelope, error) {
	return nil, errors.New("nats: connection closed, password=hunter2")
}

func TestPlainErrorHidden(t *testing.T) {
	g := newGateway(t, Config{Bus: brokenRequester{}})
	s := serve(t, g)
	got := do(t, newClient(t), "POST", s.URL(), "application/json", `{"type":"Hello"}`)
	want := reply{500, map[string]any{"type": "Error", "msg": "internal error", "code": "internal"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestREST(t *testing.T) {
	g := newGateway(t, Config{})
	s := serve(t, g)
	c := newClient(t)
	base := strings.TrimSuffix(s.URL(), "/")
	tests := []struct {
		name, method, path, body string
		ctype                    string // "" is application/json for a body; "-" none
		want                     reply
		wantAllow                string
	}{
		{name: "path parameter", method: "GET", path: "/api/todos/42",
			want: reply{200, map[string]any{"type": "Todo", "id": "42"}}},
		{name: "path and query", method: "GET", path: "/api/todos/42?full=yes&x=%C3%A9",
			want: reply{200, map[string]any{"type": "Todo", "id": "42", "full": "yes", "x": "é"}}},
		{name: "escaped path parameter", method: "GET", path: "/api/todos/a%20b",
			want: reply{200, map[string]any{"type": "Todo", "id": "a b"}}},
		{name: "body merged", method: "PUT", path: "/api/todos/7", body: `{"title":"milk","done":false}`,
			want: reply{200, map[string]any{"type": "Saved", "id": "7", "title": "milk", "done": false}}},
		{name: "empty body", method: "PUT", path: "/api/todos/7", body: ` `,
			want: reply{200, map[string]any{"type": "Saved", "id": "7"}}},
		{name: "body repeats a path parameter", method: "PUT", path: "/api/todos/7", body: `{"id":"8"}`,
			want: reply{400, map[string]any{"type": "Error", "msg": `field "id" given twice (path and body)`, "code": "bad_request"}}},
		{name: "query repeats a path parameter", method: "GET", path: "/api/todos/7?id=8",
			want: reply{400, map[string]any{"type": "Error", "msg": `field "id" given twice (path and query)`, "code": "bad_request"}}},
		{name: "repeated query parameter", method: "GET", path: "/api/todos/7?a=1&a=2",
			want: reply{400, map[string]any{"type": "Error", "msg": `query parameter "a" given 2 times`, "code": "bad_request"}}},
		{name: "bad query", method: "GET", path: "/api/todos/7?a=%zz",
			want: reply{400, map[string]any{"type": "Error", "msg": `invalid query: invalid URL escape "%zz"`, "code": "bad_request"}}},
		{name: "invalid UTF-8 parameter", method: "GET", path: "/api/todos/%ff",
			want: reply{400, map[string]any{"type": "Error", "msg": `path parameter "id" is not valid UTF-8`, "code": "bad_request"}}},
		{name: "body not an object", method: "PUT", path: "/api/todos/7", body: `[1]`,
			want: reply{400, map[string]any{"type": "Error", "msg": "body must be a JSON object, got an array", "code": "bad_request"}}},
		// A form or a "no-cors" fetch from another site cannot say its
		// body is JSON.
		{name: "body without a Content-Type", method: "PUT", path: "/api/todos/7", body: `{"title":"milk"}`, ctype: "-",
			want: reply{415, map[string]any{"type": "Error", "msg": "no Content-Type: want application/json", "code": "bad_request"}}},
		{name: "body as text/plain", method: "PUT", path: "/api/todos/7", body: `{"title":"milk"}`, ctype: "text/plain",
			want: reply{415, map[string]any{"type": "Error", "msg": `Content-Type "text/plain": want application/json`, "code": "bad_request"}}},
		{name: "body as a form", method: "PUT", path: "/api/todos/7", body: `title=milk`, ctype: "application/x-www-form-urlencoded",
			want: reply{415, map[string]any{"type": "Error", "msg": `Content-Type "application/x-www-form-urlencoded": want application/json`, "code": "bad_request"}}},
		{name: "wrong method", method: "DELETE", path: "/api/todos/7",
			want:      reply{405, map[string]any{"type": "Error", "msg": "method DELETE not allowed: want GET, PUT", "code": "bad_request"}},
			wantAllow: "GET, PUT"},
		{name: "no route", method: "GET", path: "/api/nothing",
			want: reply{404, map[string]any{"type": "Error", "msg": "no route for GET /api/nothing", "code": "not_found"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, base+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.ctype != "" && tt.ctype != "-":
				req.Header.Set("Content-Type", tt.ctype)
			case tt.ctype == "" && tt.body != "":
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got := reply{Status: resp.StatusCode}
			if err := json.NewDecoder(resp.Body).Decode(&got.Body); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if got := resp.Header.Get("Allow"); got != tt.wantAllow {
				t.Errorf("Allow = %q, want %q", got, tt.wantAllow)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	bus := newTestBus(t)
	tests := []struct {
		name   string
		routes []troupe.Route
		want   string
	}{
		{"no types or message", []troupe.Route{{Path: "/"}}, "a route needs types"},
		{"both", []troupe.Route{{Path: "/", Types: []string{"Hello"}, Message: "Hello"}}, "not both"},
		{"relative path", []troupe.Route{{Path: "x", Types: []string{"Hello"}}}, "must start with '/'"},
		{"bad type", []troupe.Route{{Path: "/", Types: []string{"1x"}}}, "must start with a letter"},
		{"protocol GET", []troupe.Route{{Method: "GET", Path: "/", Types: []string{"Hello"}}}, "only POST"},
		{"bad method", []troupe.Route{{Method: "TRACE", Path: "/a", Message: "a"}}, `method "TRACE"`},
		{"own path", []troupe.Route{{Method: "GET", Path: "/healthz", Message: "a"}}, "gateway's own"},
		{"duplicate", []troupe.Route{{Path: "/", Types: []string{"A"}}, {Path: "/", Types: []string{"B"}}}, "conflicts"},
		{"bad parameter", []troupe.Route{{Method: "GET", Path: "/a/x{id}", Message: "a"}}, "whole segment"},
		{"repeated parameter", []troupe.Route{{Method: "GET", Path: "/a/{id}/{id}", Message: "a"}}, "twice"},
		{"white space", []troupe.Route{{Method: "GET", Path: "/a b", Message: "a"}}, `has " "`},
		// The manifest's rule, which the gateway shares (troupe.ValidRoutePath).
		{"at sign", []troupe.Route{{Path: "/a@b", Types: []string{"Hello"}}}, `has "@"`},
		{"colon", []troupe.Route{{Method: "GET", Path: "/api/x:y", Message: "a"}}, `has ":"`},
		{"dotted parameter", []troupe.Route{{Method: "GET", Path: "/api/{a.b}", Message: "a"}}, "malformed parameter"},
		{"own document", []troupe.Route{{Method: "GET", Path: "/openapi.json", Message: "a"}}, "gateway's own"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Config{App: &troupe.App{Routes: tt.routes}, Bus: bus})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if _, err := New(Config{Bus: bus}); err == nil {
		t.Error("New without App: no error")
	}
	if _, err := New(Config{App: testApp()}); err == nil || !strings.Contains(err.Error(), "Bus is required") {
		t.Errorf("New with routes and without Bus: %v, want Bus is required", err)
	}
}

// A gateway without routes needs no bus: it serves the health endpoints of a
// process that runs services but not the gateway.
func TestHealthOnlyWithoutBus(t *testing.T) {
	g, err := New(Config{App: &troupe.App{Name: "health"}, Metrics: prometheus.NewRegistry(), AllowedHosts: []string{"example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200, "/": 404} {
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != want {
			t.Errorf("GET %s = %d, want %d", path, rec.Code, want)
		}
	}
}

func TestObserver(t *testing.T) {
	type obs struct {
		Route string
		Code  troupe.Code
	}
	var mu sync.Mutex
	var got []obs
	g := newGateway(t, Config{Observer: func(route string, code troupe.Code, d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, obs{route, code})
	}})
	s := serve(t, g)
	c := newClient(t)
	base := strings.TrimSuffix(s.URL(), "/")
	do(t, c, "POST", base+"/", "application/json", `{"type":"Hello"}`)
	do(t, c, "POST", base+"/", "application/json", `{"type":"Fail"}`)
	do(t, c, "POST", base+"/", "application/json", `{`)
	do(t, c, "GET", base+"/api/todos/1", "", ``)
	do(t, c, "GET", base+"/nope", "", ``)
	want := []obs{
		{"POST /", ""},
		{"POST /", troupe.CodeConflict},
		{"POST /", troupe.CodeBadRequest},
		{"GET /api/todos/{id}", ""},
		{"", troupe.CodeNotFound},
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("observations (-want +got):\n%s", diff)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	g := newGateway(t, Config{Metrics: reg, Registerer: reg})
	s := serve(t, g)
	c := newClient(t)
	base := strings.TrimSuffix(s.URL(), "/")
	do(t, c, "POST", base+"/", "application/json", `{"type":"Hello"}`)
	do(t, c, "POST", base+"/", "application/json", `{"type":"Hello"}`)
	do(t, c, "POST", base+"/", "application/json", `{"type":"Fail"}`)
	do(t, c, "GET", base+"/api/todos/1", "", ``)
	do(t, c, "GET", base+"/nope", "", ``)
	want := `
# HELP troupe_gateway_requests_total HTTP requests answered by the gateway, by route pattern and Error code (ok on success).
# TYPE troupe_gateway_requests_total counter
troupe_gateway_requests_total{code="conflict",route="POST /"} 1
troupe_gateway_requests_total{code="not_found",route="unmatched"} 1
troupe_gateway_requests_total{code="ok",route="GET /api/todos/{id}"} 1
troupe_gateway_requests_total{code="ok",route="POST /"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "troupe_gateway_requests_total"); err != nil {
		t.Error(err)
	}
	if got := testutil.CollectAndCount(g.stats.latency); got != 3 {
		t.Errorf("%d latency histograms, want 3 (one per route seen)", got)
	}
	resp, err := c.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), `troupe_gateway_request_duration_seconds_count{route="POST /"} 3`) {
		t.Errorf("/metrics does not show the latency of POST /:\n%s", b)
	}
	// A second gateway on the same registry is refused, not a panic.
	if _, err := New(Config{App: testApp(), Bus: newTestBus(t), Registerer: reg}); err == nil || !strings.Contains(err.Error(), "gateway: metrics:") {
		t.Errorf("New with metrics already registered: %v, want a metrics error", err)
	}
}

func TestHealth(t *testing.T) {
	ready := errors.New("bus not joined")
	var mu sync.Mutex
	g := newGateway(t, Config{
		Health: func(context.Context) map[string]any {
			return map[string]any{"alarms": map[string]string{"surge": "raised"}, "status": "ignored"}
		},
		Ready: func(context.Context) error { mu.Lock(); defer mu.Unlock(); return ready },
	})
	s, err := Listen(g, ServerConfig{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t)
	base := strings.TrimSuffix(s.URL(), "/")

	got := do(t, c, "GET", base+"/healthz", "", "")
	want := reply{200, map[string]any{"status": "ok", "draining": false, "alarms": map[string]any{"surge": "raised"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("/healthz (-want +got):\n%s", diff)
	}
	got = do(t, c, "GET", base+"/readyz", "", "")
	want = reply{503, map[string]any{"status": "not ready", "reason": "bus not joined"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("/readyz before ready (-want +got):\n%s", diff)
	}
	mu.Lock()
	ready = nil
	mu.Unlock()
	got = do(t, c, "GET", base+"/readyz", "", "")
	want = reply{200, map[string]any{"status": "ready"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("/readyz when ready (-want +got):\n%s", diff)
	}

	resp, err := c.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/metrics: status %d, want 200", resp.StatusCode)
	}

	// While draining, /readyz fails and requests in progress are answered.
	g.SetDraining(true)
	got = do(t, c, "GET", base+"/readyz", "", "")
	want = reply{503, map[string]any{"status": "not ready", "reason": "draining"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("/readyz while draining (-want +got):\n%s", diff)
	}
	c.Transport.(*http.Transport).CloseIdleConnections()
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(base + "/healthz"); err == nil {
		t.Error("GET after Shutdown succeeded")
	}
}

// TestDrainDelay checks that during the drain delay /readyz fails while
// requests are still served, and that a done context cuts the delay short.
func TestDrainDelay(t *testing.T) {
	g := newGateway(t, Config{})
	s, err := Listen(g, ServerConfig{Addr: "127.0.0.1:0", DrainDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t)
	base := strings.TrimSuffix(s.URL(), "/")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Shutdown(ctx) }()
	for !g.draining.Load() {
		time.Sleep(time.Millisecond)
	}
	got := do(t, c, "GET", base+"/readyz", "", "")
	want := reply{503, map[string]any{"status": "not ready", "reason": "draining"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("/readyz during the drain delay (-want +got):\n%s", diff)
	}
	hello(t, c, s.URL())
	c.Transport.(*http.Transport).CloseIdleConnections()
	cancel() // cuts the hour short: Shutdown returns
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("Shutdown with a cancelled context: %v", err)
	}
	if _, err := c.Get(base + "/healthz"); err == nil {
		t.Error("GET after Shutdown succeeded")
	}
}

// TestShutdownDrains checks that a request in progress when Shutdown starts
// is answered.
func TestShutdownDrains(t *testing.T) {
	tb := newTestBus(t)
	g := newGateway(t, Config{Bus: tb, Timeout: 300 * time.Millisecond})
	s, err := Listen(g, ServerConfig{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t)
	done := make(chan reply)
	go func() {
		resp, err := c.Post(s.URL(), "application/json", strings.NewReader(`{"type":"Slow"}`))
		if err != nil {
			done <- reply{Status: -1}
			return
		}
		defer resp.Body.Close()
		r := reply{Status: resp.StatusCode}
		_ = json.NewDecoder(resp.Body).Decode(&r.Body)
		done <- r
	}()
	<-tb.slow
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := <-done
	if got.Status != 504 || got.Body["code"] != "timeout" {
		t.Errorf("request in progress during Shutdown: %+v, want its timeout Error", got)
	}
}

func TestDecodeRequest(t *testing.T) {
	tests := []struct {
		body        string
		wantType    string
		wantPayload string
		wantErr     string
	}{
		{`{"type":"Hello"}`, "Hello", `{}`, ""},
		{` {"type" : "Hello" , "a" : 1 } `, "Hello", `{"a" : 1}`, ""},
		{`{"a":{"type":"x"},"type":"Hello","b":[1,"]"]}`, "Hello", `{"a":{"type":"x"},"b":[1,"]"]}`, ""},
		{`{"\u0074ype":"Hello"}`, "Hello", `{}`, ""},
		{`{"type":"He\u006clo"}`, "Hello", `{}`, ""},
		{`{"type":"Hello","type":"Hello"}`, "", "", `duplicate key "type"`},
		{`{"type":"Hello","\u0074ype":"X"}`, "", "", `duplicate key "type"`},
		{`{"a":1,"a":2,"type":"Hello"}`, "", "", `duplicate key "a"`},
		{`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"type":"Hello","c":0}`, "", "", `duplicate key "c"`},
		{`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"type":"Hello"}`, "Hello", `{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9}`, ""},
		{`{"type":""}`, "", "", `"type": name is empty`},
		{`{"type":true}`, "", "", `"type" must be a string, got a boolean`},
		{`{}`, "", "", `missing "type"`},
		{"\f{\"type\":\"Hello\"}", "", "", "invalid JSON"},
		{"{\"type\":\"Hello\"}\u00a0", "", "", "invalid JSON"},
		{`{"type":"Hello"}}`, "", "", "invalid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			typ, payload, err := DecodeRequest([]byte(tt.body), 0)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, troupe.ErrBadRequest) {
					t.Fatalf("DecodeRequest: %v, want a bad request containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if typ != tt.wantType || string(payload) != tt.wantPayload {
				t.Errorf("DecodeRequest = %q, %s; want %q, %s", typ, payload, tt.wantType, tt.wantPayload)
			}
		})
	}
}

func TestEncodeReply(t *testing.T) {
	tests := []struct {
		name    string
		env     troupe.Envelope
		want    string
		wantErr bool
	}{
		{"no payload", troupe.Envelope{Name: "World"}, `{"type":"World"}`, false},
		{"empty object", troupe.Envelope{Name: "World", Payload: json.RawMessage(`{}`)}, `{"type":"World"}`, false},
		{"object", troupe.Envelope{Name: "World", Payload: json.RawMessage(`{"a":1,"type":"x","b":"c"}`)}, `{"type":"World","a":1,"b":"c"}`, false},
		{"string", troupe.Envelope{Name: "World", Payload: json.RawMessage(`"hi"`)}, `{"type":"World","value":"hi"}`, false},
		{"array", troupe.Envelope{Name: "List", Payload: json.RawMessage(`[1, 2]`)}, `{"type":"List","value":[1, 2]}`, false},
		{"invalid payload", troupe.Envelope{Name: "World", Payload: json.RawMessage(`{`)}, "", true},
		{"invalid name", troupe.Envelope{Name: `a"b`}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := encodeReply(&tt.env)
			if (err != nil) != tt.wantErr {
				t.Fatalf("encodeReply: %v, want error %v", err, tt.wantErr)
			}
			if string(got) != tt.want {
				t.Errorf("encodeReply = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestOverlappingRoutes serves routes that ServeMux serves side by side
// (and the manifest accepts): a literal segment beside a parameter, and a
// protocol route and a REST route at one path. Methods without a route get
// a JSON 405.
func TestOverlappingRoutes(t *testing.T) {
	app := &troupe.App{Routes: []troupe.Route{
		{Method: "GET", Path: "/api/todos/{id}", Message: "todo.get"},
		{Method: "GET", Path: "/api/todos/new", Message: "Echo"},
		{Path: "/both", Types: []string{"Hello"}},
		{Method: "GET", Path: "/both", Message: "Echo"},
	}}
	g, err := New(Config{App: app, Bus: newTestBus(t), AllowedHosts: []string{"example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		method, path, body string
		want               int
	}{
		{"GET", "/api/todos/7", "", 200},
		{"GET", "/api/todos/new", "", 200},
		{"PUT", "/api/todos/new", "", 405},
		{"DELETE", "/api/todos/7", "", 405},
		{"POST", "/both", `{"type":"Hello"}`, 200},
		{"GET", "/both", "", 200},
	} {
		req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
		if tt.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, req)
		if rec.Code != tt.want || !strings.Contains(rec.Header().Get("Content-Type"), "json") {
			t.Errorf("%s %s: %d %s %q, want %d with JSON", tt.method, tt.path, rec.Code, rec.Header().Get("Content-Type"), rec.Body.String(), tt.want)
		}
	}
}

// TestDocuments checks that the gateway serves the application's generated
// OpenAPI and AsyncAPI documents.
func TestDocuments(t *testing.T) {
	g, err := New(Config{App: testApp(), Bus: newTestBus(t), AllowedHosts: []string{"example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{OpenAPIPath: `"openapi": "3.1.0"`, AsyncAPIPath: `"asyncapi": "3.0.0"`} {
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("GET %s: %d %q, body without %s", path, rec.Code, rec.Header().Get("Content-Type"), want)
		}
		rec = httptest.NewRecorder()
		g.ServeHTTP(rec, httptest.NewRequest("POST", path, nil))
		if rec.Code != 405 {
			t.Errorf("POST %s: %d, want 405", path, rec.Code)
		}
	}
}
