package proc

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

// The test binary doubles as the supervised command: PROC_TEST_MODE picks
// what it does.
func TestMain(m *testing.M) {
	switch os.Getenv("PROC_TEST_MODE") {
	case "crash":
		fmt.Println("crashing")
		os.Exit(3)
	case "serve":
		term := make(chan os.Signal, 1)
		signal.Notify(term, syscall.SIGTERM)
		fmt.Print("up\npartial ")
		fmt.Println("line")
		<-term
		fmt.Println("bye")
		os.Exit(0)
	case "stubborn":
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ignoring SIGTERM")
		time.Sleep(time.Hour)
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func self(t *testing.T) []string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return []string{exe, "-test.run=^$"}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRestartsWithBackoff(t *testing.T) {
	var (
		mu       sync.Mutex
		backoffs []time.Duration
		errs     []string
	)
	out := &syncBuf{}
	p, err := Start(Config{
		Name:       "crasher",
		Command:    self(t),
		Env:        []string{"PROC_TEST_MODE=crash"},
		Output:     out,
		MinBackoff: time.Millisecond,
		MaxBackoff: 8 * time.Millisecond,
		OnExit: func(err error, restartIn time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			backoffs = append(backoffs, restartIn)
			errs = append(errs, fmt.Sprint(err))
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "six exits", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(backoffs) >= 6
	})
	if err := p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []time.Duration{1, 2, 4, 8, 8, 8}
	for i := range want {
		want[i] *= time.Millisecond
	}
	if diff := cmp.Diff(want, backoffs[:6]); diff != "" {
		t.Errorf("backoffs (-want +got):\n%s", diff)
	}
	if errs[0] != "exit status 3" {
		t.Errorf("exit error = %q, want exit status 3", errs[0])
	}
	if got := strings.Count(out.String(), "crasher | crashing\n"); got < 6 {
		t.Errorf("output has %d prefixed lines, want at least 6:\n%s", got, out.String())
	}
	if p.Starts() < 6 {
		t.Errorf("starts = %d, want at least 6", p.Starts())
	}
}

func TestGracefulStop(t *testing.T) {
	out := &syncBuf{}
	exits := 0
	p, err := Start(Config{
		Name: "server", Command: self(t), Env: []string{"PROC_TEST_MODE=serve"}, Output: out,
		OnExit: func(error, time.Duration) { exits++ },
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the server is up", func() bool { return strings.Contains(out.String(), "server | up\n") })
	if err := p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := "server | up\nserver | partial line\nserver | bye\n"
	if got := out.String(); got != want {
		t.Errorf("output = %q, want %q", got, want)
	}
	if exits != 0 {
		t.Errorf("OnExit called %d times for a stop that was asked for", exits)
	}
}

func TestStopKillsAStubbornProcess(t *testing.T) {
	out := &syncBuf{}
	p, err := Start(Config{
		Name: "stubborn", Command: self(t), Env: []string{"PROC_TEST_MODE=stubborn"}, Output: out,
		StopTimeout: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the process ignores SIGTERM", func() bool { return strings.Contains(out.String(), "ignoring SIGTERM") })
	pid := p.PID()
	if err := p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("process %d still exists after Stop", pid)
	}
}

func TestStartErrors(t *testing.T) {
	if _, err := Start(Config{Name: "none"}); err == nil {
		t.Error("empty command accepted")
	}
	if _, err := Start(Config{Name: "missing", Command: []string{"/nonexistent/program"}}); err == nil {
		t.Error("missing program accepted")
	}
}

func TestLineWriter(t *testing.T) {
	var out bytes.Buffer
	l := &lineWriter{prefix: "p | ", w: &out}
	for _, chunk := range []string{"a", "b\nc\n", "\n", "d"} {
		if _, err := l.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	l.flush()
	if got, want := out.String(), "p | ab\np | c\np | \np | d\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	out.Reset()
	long := strings.Repeat("x", maxLine+10)
	_, _ = l.Write([]byte(long + "\n"))
	if n := strings.Count(out.String(), "p | "); n != 2 {
		t.Errorf("an over-long line became %d lines, want 2 (cut at the limit)", n)
	}
}
