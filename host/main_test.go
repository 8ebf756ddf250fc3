package host_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/host"
	"github.com/troupe-go/troupe/service"
)

// The test binary is also the programs the tests start: with
// HOST_TEST_PROGRAM set it runs host.Main for the greeter program (a command
// service child when TROUPE_SERVICE is set, or a parent node for the orphan
// test) instead of the tests.
func TestMain(m *testing.M) {
	if os.Getenv("HOST_TEST_PROGRAM") != "" {
		os.Args = os.Args[:1]
		if os.Getenv(host.EnvService) == "" { // a parent node, not a command service
			os.Args = append(os.Args, strings.Fields(os.Getenv("HOST_TEST_ARGS"))...)
		}
		host.Main(program())
	}
	goleak.VerifyTestMain(m,
		// net/http's keep-alive connections of the test's client.
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
	)
}

// Greet is the greeter's request; Greeting its reply.
type Greet struct {
	Name  string `json:"name"`
	Crash bool   `json:"crash,omitempty"`
}

type Greeting struct {
	Text     string `json:"text"`
	Instance string `json:"instance"`
	PID      int    `json:"pid"`
}

// greeter is the service the tests register: Greet is answered with a
// greeting that names the instance and process that made it.
var greeter = host.Service{
	Name: "greeter",
	New: func(_ context.Context, in *host.Instance) (*service.Service, error) {
		s := service.New(in.Config())
		err := service.Handle(s, "Greet", "Greeting", func(_ context.Context, g Greet) (Greeting, error) {
			if g.Crash {
				panic("greeter: asked to crash")
			}
			return Greeting{Text: "Hello, " + g.Name + "!", Instance: in.ID, PID: os.Getpid()}, nil
		})
		if err != nil {
			return nil, err
		}
		// Note is durable: each is appended to $NOTE_FILE.
		err = service.On(s, "Note", func(_ context.Context, n Note) error {
			path := os.Getenv("NOTE_FILE")
			if path == "" {
				return nil
			}
			f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(f, "%s %d\n", n.Text, os.Getpid())
			return errors.Join(err, f.Close())
		})
		return s, err
	},
}

// Note is a durable one-way message to the greeter.
type Note struct {
	Text string `json:"text"`
}

// crashOnce is a greeter whose process exits with status 3 at its first
// start (when MARKER names no file yet), to show the restart.
var crashOnce = host.Service{
	Name: "greeter",
	New: func(ctx context.Context, in *host.Instance) (*service.Service, error) {
		if marker := os.Getenv("MARKER"); marker != "" {
			if _, err := os.Stat(marker); err != nil {
				_ = os.WriteFile(marker, []byte("crashed once\n"), 0o600)
				fmt.Println("first run: crashing on purpose")
				os.Exit(3)
			}
		}
		return greeter.New(ctx, in)
	},
}

func program() host.Program {
	return host.Program{Name: "greet", Services: []host.Service{crashOnce}}
}

// greetApp declares the greeter, a caller that may send Greet, and the
// gateway's route for Greet.
func greetApp() *troupe.App {
	return &troupe.App{
		Name: "greet",
		Services: []troupe.ServiceDecl{
			{Name: "greeter", Receives: []string{"Greet", "Note"}, Durable: []string{"Note"}},
			{Name: "caller", Sends: []string{"Greet", "Note"}},
		},
		Routes: []troupe.Route{{Path: "/", Types: []string{"Greet"}}},
	}
}

// greetYAML is greetApp's manifest, with extra lines for the greeter's
// entry (a command, say).
func greetYAML(greeterExtra string) string {
	return `app: greet
services:
  greeter:
    receives: [Greet, Note]
    durable: [Note]
` + greeterExtra + `
  caller:
    sends: [Greet, Note]
gateway:
  routes:
    - path: /
      types: [Greet]
`
}

// syncBuffer is a bytes.Buffer safe for concurrent writers and a reader.
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

// started is what run printed before it was ready.
type started struct {
	gateway string // the gateway's URL, without the trailing slash
	nats    string // the embedded NATS server's URL
	ready   string // the ready line
	stdout  *syncBuffer
	logs    *syncBuffer
}

// startRun runs `run args...` of p until the test ends and returns once it
// has printed its ready line.
func startRun(t *testing.T, p host.Program, args ...string) started {
	t.Helper()
	st, err := tryRun(t, p, args...)
	if err != nil {
		t.Fatalf("run did not become ready: %v; logs:\n%s", err, st.logs.String())
	}
	return st
}

// tryRun is startRun that returns run's error when it ends before it is
// ready.
func tryRun(t *testing.T, p host.Program, args ...string) (started, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	st := started{stdout: &syncBuffer{}, logs: &syncBuffer{}}
	done := make(chan error, 1)
	go func() {
		err := host.Run(ctx, p, append([]string{"run"}, args...), pw, st.logs)
		pw.CloseWithError(errors.New("run returned"))
		done <- err
	}()
	stop := func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(60 * time.Second):
			return errors.New("run did not stop")
		}
	}
	lines := bufio.NewScanner(pr)
	for lines.Scan() {
		line := lines.Text()
		_, _ = st.stdout.Write([]byte(line + "\n"))
		if rest, ok := strings.CutPrefix(line, "gateway listening on "); ok {
			st.gateway = strings.TrimSuffix(rest, "/")
		}
		if rest, ok := strings.CutPrefix(line, "nats listening on "); ok {
			st.nats, _, _ = strings.Cut(rest, " ")
		}
		if rest, ok := strings.CutPrefix(line, "ready: "); ok {
			st.ready = rest
			go func() { _, _ = io.Copy(io.Discard, pr) }()
			t.Cleanup(func() {
				if err := stop(); err != nil {
					t.Errorf("run: %v", err)
				}
			})
			return st, nil
		}
	}
	err := stop()
	if err == nil {
		err = errors.New("run ended without an error")
	}
	return st, err
}

// post sends a JSON body and decodes the JSON reply.
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
