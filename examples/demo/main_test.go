package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	neturl "net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/troupe-go/troupe/host"
)

// run is the demo binary's command line.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return host.Run(ctx, program(), args, stdout, stderr)
}

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// net/http's keep-alive connections of the test's client.
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
	)
}

// syncBuffer is a bytes.Buffer safe for the writer goroutine of run and the
// reading test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// started is what troupe run printed before it was ready.
type started struct {
	gateway string // the gateway's URL, without the trailing slash
	nats    string // the embedded NATS server's URL
	admin   string // the admin listener's URL (the dashboard), with the trailing slash
	logs    *syncBuffer
}

// startRun runs `troupe run args...` until the test ends and returns once
// it has printed that it is ready.
func startRun(t *testing.T, args ...string) started {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	st := started{logs: &syncBuffer{}}
	done := make(chan error, 1)
	go func() {
		err := run(ctx, append([]string{"run"}, args...), pw, st.logs)
		pw.CloseWithError(errors.New("run returned"))
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("run did not stop")
		}
	})
	lines := bufio.NewScanner(pr)
	for lines.Scan() {
		line := lines.Text()
		if rest, ok := strings.CutPrefix(line, "gateway listening on "); ok {
			st.gateway = strings.TrimSuffix(rest, "/")
		}
		if rest, ok := strings.CutPrefix(line, "nats listening on "); ok {
			st.nats, _, _ = strings.Cut(rest, " ")
		}
		if rest, ok := strings.CutPrefix(line, "admin listening on "); ok {
			st.admin, _, _ = strings.Cut(rest, " ")
		}
		if strings.HasPrefix(line, "ready: ") {
			go func() { _, _ = io.Copy(io.Discard, pr) }()
			return st
		}
	}
	t.Fatalf("run did not become ready; logs:\n%s", st.logs.String())
	return st
}

func post(t *testing.T, url, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("POST %s %s: decoding the reply: %v", url, body, err)
	}
	return resp.StatusCode, out
}

func TestRunDemo(t *testing.T) {
	for _, transport := range [][]string{{"-inproc"}, {"-nats-port", "0"}} {
		t.Run(transport[0], func(t *testing.T) {
			t.Chdir(t.TempDir()) // no troupe.yaml here: the built-in demo runs
			st := startRun(t, append(transport, "-addr", "127.0.0.1:0", "-data", t.TempDir())...)
			checkDemo(t, st.gateway)
			checkTodo(t, st.gateway)
		})
	}
}

// TestRunOnly scales out: one troupe run serves the gateway and the embedded
// NATS server, a second runs only the hello service against that server.
func TestRunOnly(t *testing.T) {
	t.Chdir(t.TempDir())
	data := t.TempDir()
	front := startRun(t, "-only", "gateway", "-nats-port", "0", "-addr", "127.0.0.1:0", "-data", data)
	if front.nats == "" {
		t.Fatal("no NATS URL printed")
	}
	// Nobody serves Hello yet: the gateway says so at once, as a
	// transient failure (503, try again later), not a permanent 404.
	if status, got := post(t, front.gateway+"/", `{"type":"Hello"}`); status != http.StatusServiceUnavailable || got["type"] != "Error" || got["code"] != "unavailable" {
		t.Fatalf("Hello with no hello service: %d %v, want 503 unavailable", status, got)
	}
	// Two more processes' worth of hello instances compete for Hello.
	startRun(t, "-only", "hello", "-nats", front.nats, "-data", data)
	startRun(t, "-only", "hello", "-nats", front.nats, "-data", data)
	checkDemo(t, front.gateway)
}

func checkDemo(t *testing.T, url string) {
	t.Helper()
	for _, tt := range []struct{ send, want string }{{"Hello", "World"}, {"hello", "world"}} {
		status, got := post(t, url+"/", `{"type":"`+tt.send+`"}`)
		if status != http.StatusOK || got["type"] != tt.want {
			t.Errorf("POST %s: %d %v, want 200 type %s", tt.send, status, got, tt.want)
		}
	}
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var health map[string]any
	err = json.NewDecoder(resp.Body).Decode(&health)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %d %v", resp.StatusCode, err)
	}
	alarms, _ := health["alarms"].([]any)
	names := map[string]bool{}
	for _, a := range alarms {
		if m, ok := a.(map[string]any); ok {
			names[fmt.Sprint(m["name"])] = true
		}
	}
	for _, want := range []string{"request-surge", "error-rate", "crash-loop", "dead-letters"} {
		if !names[want] {
			t.Errorf("healthz alarms = %v, want %s among them", health["alarms"], want)
		}
	}
	// Where services run, their calls' circuit breakers are there too.
	if _, withServices := names["circuit-breakers"]; withServices {
		if breakers, ok := health["breakers"].([]any); !ok || len(breakers) == 0 {
			t.Errorf("healthz breakers = %v, want the web service's breaker in front of todo", health["breakers"])
		}
	}
}

// checkTodo checks the todo application of the demo: the home page, and a
// todo created through the REST API that the listing then shows.
func checkTodo(t *testing.T, url string) {
	t.Helper()
	resp, err := http.Get(url + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / = %d %s, want the HTML home page", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if !strings.Contains(string(page), "<form") {
		t.Errorf("the home page has no form:\n%.500s", page)
	}
	if status, _ := post(t, url+"/api/lists", `{"name":"x"}`); status != http.StatusUnauthorized {
		t.Errorf("the REST API without a token: %d, want 401", status)
	}
	token, list := signUp(t, url, "ann")
	status, got := call(t, token, "POST", url+"/api/lists/"+list+"/todos", `{"title":"buy <b>milk</b>"}`)
	if status != http.StatusCreated || got["type"] != "todo" || got["title"] != "buy <b>milk</b>" {
		t.Fatalf("create todo = %d %v", status, got)
	}
	req, _ := http.NewRequest("GET", url+"/api/lists/"+list+"/todos", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var listing struct {
		Type  string `json:"type"`
		Todos []struct {
			ID    string `json:"id"`
			Title string `json:"title"`
		} `json:"todos"`
	}
	err = json.NewDecoder(resp.Body).Decode(&listing)
	resp.Body.Close()
	if err != nil || listing.Type != "todo.listing" || len(listing.Todos) != 1 || listing.Todos[0].ID != got["id"] {
		t.Errorf("listing = %+v (%v), want the created todo", listing, err)
	}
}

// signedIn signs name up on the pages, as a browser does, and returns a
// client that holds the session cookie.
func signedIn(t testing.TB, url, name string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := c.PostForm(url+"/signup", neturl.Values{"name": {name}, "password": {"correct horse battery"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("POST /signup: %d %.300s", resp.StatusCode, b)
	}
	return c
}

// signUp signs name up on the pages, as a browser does, makes an API token
// on the tokens page, and returns it with the id of the user's first list.
func signUp(t testing.TB, url, name string) (token, list string) {
	t.Helper()
	return signUpAt(t, url, url, name)
}

// signUpAt is signUp with the pages at one address and the REST API at
// another (separate web and gateway processes).
func signUpAt(t testing.TB, pages, api, name string) (token, list string) {
	t.Helper()
	c := signedIn(t, pages, name)
	form := func(path string, v neturl.Values) string {
		t.Helper()
		resp, err := c.PostForm(pages+path, v)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode/100 != 2 {
			t.Fatalf("POST %s: %d %.300s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	page := form("/tokens", neturl.Values{"name": {"test"}})
	m := regexp.MustCompile(`<code class="secret">([^<]+)</code>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the tokens page shows no new token:\n%.500s", page)
	}
	token = m[1]
	_, lists := call(t, token, "GET", api+"/api/lists", "")
	ls, _ := lists["lists"].([]any)
	if len(ls) == 0 {
		t.Fatalf("%s has no list: %v", name, lists)
	}
	return token, ls[0].(map[string]any)["id"].(string)
}

// call sends a REST request with an API token and decodes the reply.
func call(t testing.TB, token, method, url, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: decoding the reply: %v", method, url, err)
	}
	return resp.StatusCode, out
}

func TestRunCrashGivesIncident(t *testing.T) {
	t.Chdir(t.TempDir())
	st := startRun(t, "-inproc", "-addr", "127.0.0.1:0", "-data", t.TempDir(), "-hello-panic-rate", "1", "-log-format", "json")
	logs := st.logs
	status, got := post(t, st.gateway+"/", `{"type":"Hello"}`)
	incident, _ := got["incident"].(string)
	if status != http.StatusInternalServerError || got["type"] != "Error" || incident == "" {
		t.Fatalf("crashing Hello: %d %v, want 500 Error with an incident", status, got)
	}
	if msg, _ := got["msg"].(string); !strings.Contains(msg, incident) {
		t.Errorf("Error msg %q does not carry the incident %s", msg, incident)
	}
	// Exactly one crash report, with the same incident.
	var reports int
	for _, line := range strings.Split(logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil || rec["msg"] != "process crashed" {
			continue
		}
		reports++
		if rec["incident"] != incident {
			t.Errorf("crash report incident %v, want %s", rec["incident"], incident)
		}
	}
	if reports != 1 {
		t.Errorf("%d crash reports, want 1", reports)
	}
}

func TestDemoManifestIsTheRepositorys(t *testing.T) {
	repo, err := os.ReadFile("../../troupe.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(repo, manifest) {
		t.Error("examples/demo/troupe.yaml and the repository's troupe.yaml differ; keep them equal")
	}
}

// repoManifest is the repository's troupe.yaml, as an absolute path (tests
// change directory).
var repoManifest = func() string {
	p, err := filepath.Abs("../../troupe.yaml")
	if err != nil {
		panic(err)
	}
	return p
}()

func TestCommands(t *testing.T) {
	tests := []struct {
		args       []string
		wantErr    bool
		wantStdout string
	}{
		{[]string{"version"}, false, "troupe "},
		{[]string{"help"}, false, "usage: troupe"},
		{[]string{"lint", repoManifest}, false, ""},
		{[]string{"nonsense"}, true, ""},
		{[]string{"run", "-log-format", "xml"}, true, ""},
		{[]string{"run", "a.yaml", "b.yaml"}, true, ""},
		{[]string{"run", "-hello-panic-rate", "2", "-addr", "127.0.0.1:0", repoManifest}, true, ""},
		{[]string{"run", "-addr", "127.0.0.1:0", "does-not-exist.yaml"}, true, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Chdir(t.TempDir()) // whatever a command writes stays out of the repository
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, &stdout, &stderr)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v (stderr: %s)", err, tt.wantErr, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.wantStdout) {
				t.Errorf("stdout = %q, want it to contain %q", stdout.String(), tt.wantStdout)
			}
		})
	}
}

func TestSend(t *testing.T) {
	t.Chdir(t.TempDir())
	data := t.TempDir()
	startRun(t, "-nats-port", "0", "-addr", "127.0.0.1:0", "-data", data)
	tests := []struct {
		args       []string
		wantErr    string
		wantStdout string
	}{
		{[]string{"Hello"}, "", `"name": "World"`},
		{[]string{"hello", `{"extra": 1}`}, "", `"name": "world"`},
		{[]string{"-kind", "send", "Hello"}, "", "send Hello sent"},
		{[]string{"Nobody"}, `no service of app "demo" receives "Nobody"`, ""}, // the operator sends only what some service receives
		{[]string{"Helo"}, `did you mean "Hello" or "hello"?`, ""},
		{[]string{"Hello", "{not json"}, "not valid JSON", ""},
		{[]string{"-kind", "shout", "Hello"}, "exit status 2", ""}, // a usage error: the usage goes to stderr
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), append([]string{"send", "-data", data}, tt.args...), &stdout, &stderr)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("err = %v (stderr %s)", err, stderr.String())
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			if !strings.Contains(stdout.String(), tt.wantStdout) {
				t.Errorf("stdout = %q, want it to contain %q", stdout.String(), tt.wantStdout)
			}
		})
	}
}

func TestBenchHello(t *testing.T) {
	t.Chdir(t.TempDir())
	var stdout, stderr bytes.Buffer
	// A small burst with a generous duration: this checks that the tool works
	// and every reply is World, not how fast it is.
	err := run(context.Background(), []string{"bench", "hello", "-inproc", "-n", "200", "-duration", "30s"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("bench: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "200/200 good") || !strings.Contains(stdout.String(), "can handle 200 requests") {
		t.Errorf("bench output:\n%s", stdout.String())
	}
}
