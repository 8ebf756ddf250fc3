package host_test

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestGettingStarted runs every command of docs/getting-started.md in
// order, as a reader would, and writes every file it shows:
//
//   - a ```sh block is run line by line; "cd DIR" changes the directory; a
//     line that ends in "&" keeps running (the test waits for its ready
//     line); a comment line "# Ctrl-C" stops those; any other comment line
//     right after a command is text its output must contain;
//   - a ```LANG PATH block is the new content of the file PATH.
//
// HOME is a temporary directory; go works offline, from the module cache.
func TestGettingStarted(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a new application: not in -short")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatalf("the guide uses curl: %v", err)
	}
	doc, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "getting-started.md"))
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	g := &guide{t: t, dir: repoRoot(t), home: home, env: guideEnv(t, home)}
	defer g.stopAll()
	fence := regexp.MustCompile("(?ms)^```([^\n]*)\n(.*?)^```")
	blocks := fence.FindAllSubmatch(doc, -1)
	if len(blocks) < 8 {
		t.Fatalf("the guide has %d code blocks", len(blocks))
	}
	var commands int
	for _, b := range blocks {
		info := strings.Fields(string(b[1]))
		switch {
		case len(info) == 1 && info[0] == "sh":
			commands += g.run(string(b[2]))
		case len(info) == 2:
			path := filepath.Join(g.dir, filepath.FromSlash(info[1]))
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, b[2], 0o644); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("code block %q: want sh, or a language and a path", b[1])
		}
	}
	if commands < 15 {
		t.Errorf("ran %d commands; the guide has more", commands)
	}
}

// guideEnv is the environment of the guide's commands: a HOME of the test's,
// and go offline with the real caches.
func guideEnv(t *testing.T, home string) []string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE", "GOPATH").Output()
	if err != nil {
		t.Fatal(err)
	}
	vals := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(vals) != 3 {
		t.Fatalf("go env: %q", out)
	}
	return append(os.Environ(), "HOME="+home, "GOCACHE="+vals[0], "GOMODCACHE="+vals[1], "GOPATH="+vals[2],
		"GOPROXY=off", "GOSUMDB=off", "GOFLAGS=-mod=mod", "GOWORK=off")
}

// guide runs a guide's commands.
type guide struct {
	t          *testing.T
	dir, home  string
	env        []string
	background []*exec.Cmd
}

// run runs one sh block and returns how many commands it ran.
func (g *guide) run(block string) int {
	t := g.t
	var last string // the output of the last command
	n := 0
	for _, line := range strings.Split(block, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
		case line == "# Ctrl-C":
			g.stopAll()
		case strings.HasPrefix(line, "# "):
			if want := strings.TrimPrefix(line, "# "); !strings.Contains(last, want) {
				t.Fatalf("the output lacks %q:\n%s", want, last)
			}
		case strings.HasPrefix(line, "cd "):
			dir := strings.TrimSpace(strings.TrimPrefix(line, "cd "))
			dir = strings.Replace(dir, "~", g.home, 1)
			if !filepath.IsAbs(dir) {
				dir = filepath.Join(g.dir, dir)
			}
			g.dir = dir
			n++
		case strings.HasSuffix(line, "&"):
			g.start(strings.TrimSpace(strings.TrimSuffix(line, "&")))
			n++
		default:
			last = g.exec(line)
			n++
		}
	}
	return n
}

func (g *guide) command(ctx context.Context, line string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "bash", "-c", line)
	cmd.Dir, cmd.Env = g.dir, g.env
	return cmd
}

// exec runs a command to its end and returns its output.
func (g *guide) exec(line string) string {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := g.command(ctx, line).CombinedOutput()
	if err != nil {
		g.t.Fatalf("%s (in %s): %v\n%s", line, g.dir, err, out)
	}
	return string(out)
}

// start starts a long-running command and waits for its ready line.
func (g *guide) start(line string) {
	g.t.Helper()
	cmd := g.command(context.Background(), line)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // go run and the program, stopped together
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		g.t.Fatal(err)
	}
	var logs syncBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		g.t.Fatal(err)
	}
	g.background = append(g.background, cmd)
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "ready: ") {
				close(ready)
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case <-ready:
	case <-time.After(5 * time.Minute):
		g.t.Fatalf("%s did not get ready; its log:\n%s", line, logs.String())
	}
}

// stopAll stops the long-running commands, as Ctrl-C does, newest first.
func (g *guide) stopAll() {
	for i := len(g.background) - 1; i >= 0; i-- {
		cmd := g.background[i]
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
			g.t.Errorf("a command of the guide did not stop on Ctrl-C")
		}
	}
	g.background = nil
}
