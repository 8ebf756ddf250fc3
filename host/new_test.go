package host_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/troupe-go/troupe/host"
)

// offlineGo is the environment of the go commands a test runs in a new
// module: the module cache only (tests use no network beyond loopback); the
// cache's modules were verified when they were downloaded.
func offlineGo(dir string) []string {
	return append(os.Environ(), "GOPROXY=off", "GOSUMDB=off", "GOFLAGS=-mod=mod", "GOWORK=off", "PWD="+dir)
}

// repoRoot is the framework's checkout.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// readmeCommands returns the commands of the first code block of a README.
func readmeCommands(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile("(?s)```sh\n(.*?)```").FindSubmatch(data)
	if block == nil {
		t.Fatalf("%s has no sh code block", path)
	}
	var cmds []string
	for _, line := range strings.Split(strings.TrimSpace(string(block[1])), "\n") {
		cmd, _, _ := strings.Cut(line, "#")
		cmds = append(cmds, strings.TrimSpace(cmd))
	}
	return cmds
}

// TestNew scaffolds an application, checks that its module graph holds only
// what the framework needs, and runs the two commands its README starts
// with: the tests, and the application itself, which must answer Hello with
// World.
func TestNew(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a new module: not in -short")
	}
	dir := filepath.Join(t.TempDir(), "myapp")
	root := repoRoot(t)
	t.Setenv("GOPROXY", "off")
	t.Setenv("GOSUMDB", "off")
	t.Setenv("GOFLAGS", "-mod=mod")
	code, stdout, stderr := exitCode(t, host.Program{Name: "troupe"}, "new", "-replace", root, dir)
	if code != 0 {
		t.Fatalf("troupe new: %d\n%s\n%s", code, stdout, stderr)
	}
	for _, f := range []string{"main.go", "troupe.yaml", "hello/hello.go", "hello/hello_test.go", "README.md", "go.mod", "go.sum", ".gitignore"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("the new module lacks %s: %v", f, err)
		}
	}
	if code, _, stderr := exitCode(t, host.Program{Name: "troupe"}, "new", "-replace", root, dir); code != 1 || !strings.Contains(stderr, "is not empty") {
		t.Errorf("troupe new into a full directory: %d %s", code, stderr)
	}

	// The framework's dependencies are the framework's.
	graph := goCmd(t, dir, "mod", "graph")
	for _, forbidden := range []string{"k8s.io/", "github.com/chromedp/", "github.com/jackc/pgx", "modernc.org/sqlite", "github.com/coder/websocket"} {
		if strings.Contains(graph, forbidden) {
			t.Errorf("the new module's graph holds %s", forbidden)
		}
	}

	cmds := readmeCommands(t, filepath.Join(dir, "README.md"))
	if len(cmds) != 2 || cmds[0] != "go run . run" || cmds[1] != "go test ./..." {
		t.Fatalf("README's first code block: %q, want the run and test commands", cmds)
	}
	out := goCmd(t, dir, strings.Fields(cmds[1])[1:]...)
	if !strings.Contains(out, "ok") {
		t.Errorf("%s:\n%s", cmds[1], out)
	}

	// The run command, on free ports so as to run beside other tests.
	args := append(strings.Fields(cmds[0])[1:], "-addr", "127.0.0.1:0", "-nats-port", "0")
	run := exec.Command("go", args...)
	run.Dir, run.Env = dir, offlineGo(dir)
	run.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // go run and the app, stopped together
	pipe, err := run.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	run.Stderr = &logs
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = syscall.Kill(-run.Process.Pid, syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- run.Wait() }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = syscall.Kill(-run.Process.Pid, syscall.SIGKILL)
			<-done
			t.Error("the application did not stop on SIGTERM")
		}
	}()
	url := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		var gw string
		for sc.Scan() {
			line := sc.Text()
			if rest, ok := strings.CutPrefix(line, "gateway listening on "); ok {
				gw = rest
			}
			if strings.HasPrefix(line, "ready: ") {
				url <- gw
			}
		}
	}()
	select {
	case gw := <-url:
		status, got := post(t, gw, `{"type":"Hello"}`)
		if status != http.StatusOK || fmt.Sprint(got) != "map[type:World]" {
			t.Errorf("POST Hello to the new application: %d %v", status, got)
		}
	case <-time.After(5 * time.Minute):
		t.Fatalf("the new application did not start; logs:\n%s", logs.String())
	}
}

// goCmd runs the go command in dir, offline, and returns its output.
func goCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir, cmd.Env = dir, offlineGo(dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestNewOfflineWithoutModules: with no module proxy and an empty module
// cache the new module cannot build, and troupe new says so (go mod tidy's
// error), rather than leaving a module that looks ready.
func TestNewOfflineWithoutModules(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go mod tidy: not in -short")
	}
	dir := filepath.Join(t.TempDir(), "myapp")
	t.Setenv("GOPROXY", "off")
	t.Setenv("GOSUMDB", "off")
	t.Setenv("GOWORK", "off")
	t.Setenv("GOFLAGS", "-modcacherw")
	t.Setenv("GOMODCACHE", t.TempDir())
	code, stdout, stderr := exitCode(t, host.Program{Name: "troupe"}, "new", "-replace", repoRoot(t), dir)
	if code != 1 || !strings.Contains(stderr, "go mod tidy in") || strings.Contains(stderr, "note:") {
		t.Errorf("troupe new offline with an empty module cache: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
}
