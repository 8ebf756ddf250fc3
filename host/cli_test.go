package host_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/troupe-go/troupe/host"
)

// greetProgram runs the greeter in process, with greetApp's manifest built
// in.
func greetProgram() host.Program {
	return host.Program{Name: "greet", Manifest: []byte(greetYAML("")), Services: []host.Service{greeter}}
}

// exitCode runs a command line of p and returns Main's exit status and the
// output.
func exitCode(t *testing.T, p host.Program, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := host.Run(context.Background(), p, args, &out, &errOut)
	code = host.ExitCode(err, &errOut, p.Name)
	return code, out.String(), errOut.String()
}

// TestCommandLine holds the command line to a Go tool's manners: -h prints
// the usage and flags to stdout with status 0, misuse prints them to stderr
// with status 2, and a failure is one line on stderr with status 1.
func TestCommandLine(t *testing.T) {
	t.Chdir(t.TempDir()) // no troupe.yaml here: the built-in manifest
	p := greetProgram()
	for _, cmd := range []string{"run", "send", "lint", "api", "new", "serve", "version"} {
		t.Run(cmd+" -h", func(t *testing.T) {
			code, stdout, stderr := exitCode(t, p, cmd, "-h")
			if code != 0 || !strings.Contains(stdout, "usage: greet "+cmd) || stderr != "" {
				t.Errorf("status %d, stdout %q, stderr %q; want 0 and the usage on stdout", code, stdout, stderr)
			}
			if cmd != "version" && cmd != "serve" && !strings.Contains(stdout, "Flags:") {
				t.Errorf("-h printed no flags:\n%s", stdout)
			}
		})
		t.Run(cmd+" -no-such-flag", func(t *testing.T) {
			code, _, stderr := exitCode(t, p, cmd, "-no-such-flag")
			if code != 2 || !strings.Contains(stderr, "flag provided but not defined: -no-such-flag") || !strings.Contains(stderr, "usage: greet "+cmd) {
				t.Errorf("status %d, stderr %q; want 2 with the usage", code, stderr)
			}
		})
	}
	for _, tt := range []struct {
		args       []string
		code       int
		wantStdout string
		wantStderr string
	}{
		{nil, 2, "usage: greet <command>", ""},
		{[]string{"help"}, 0, "usage: greet <command>", ""},
		{[]string{"-h"}, 0, "Commands:", ""},
		{[]string{"nonsense"}, 2, "", `unknown command "nonsense"`},
		{[]string{"version"}, 0, "greet ", ""},
		{[]string{"version", "extra"}, 2, "", "usage: greet version"},
		{[]string{"bench", "-h"}, 0, "usage: greet bench hello", ""},
		{[]string{"bench", "hello", "-h"}, 0, "-url", ""},
		{[]string{"bench"}, 2, "", "usage: greet bench hello"},
		{[]string{"run", "a.yaml", "b.yaml"}, 2, "", "usage: greet run"},
		{[]string{"run", "-log-format", "xml"}, 1, "", `-log-format "xml": want text or json`},
		{[]string{"run", "-inproc", "-nats", "nats://x", "-addr", "127.0.0.1:0"}, 1, "", "-inproc and -nats exclude each other"},
		{[]string{"run", "-addr", "127.0.0.1:0", "does-not-exist.yaml"}, 1, "", "does-not-exist.yaml"},
		{[]string{"send"}, 2, "", "usage: greet send"},
		{[]string{"send", "-kind", "shout", "Greet"}, 2, "", `-kind "shout"`},
		{[]string{"send", "Gret"}, 1, "", `no service of app "greet" receives "Gret"; did you mean "Greet"?`},
		{[]string{"send", "Greet", "{not json"}, 1, "", "not valid JSON"},
		{[]string{"send", "-data", "nowhere", "Greet"}, 1, "", "no application is running with data directory nowhere"},
		{[]string{"serve"}, 1, "", "TROUPE_SERVICE is not set"},
		{[]string{"new"}, 2, "", "usage: greet new"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, stdout, stderr := exitCode(t, p, tt.args...)
			if code != tt.code {
				t.Errorf("status %d, want %d (stdout %q, stderr %q)", code, tt.code, stdout, stderr)
			}
			if tt.wantStdout != "" && !strings.Contains(stdout, tt.wantStdout) {
				t.Errorf("stdout %q lacks %q", stdout, tt.wantStdout)
			}
			if tt.wantStderr != "" && !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr %q lacks %q", stderr, tt.wantStderr)
			}
			if tt.args != nil && tt.args[0] == "bench" && strings.Contains(stdout, "-hello-panic-rate") {
				t.Errorf("bench shows a flag no registered service adds")
			}
		})
	}
}

// TestLint: lint refuses what run would refuse, the operator's reserved name
// among it.
func TestLint(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	reserved := filepath.Join(dir, "reserved.yaml")
	if err := os.WriteFile(good, []byte(greetYAML("")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(reserved, []byte(greetYAML("  troupe-cli:\n    sends: [Greet]")), 0o600); err != nil {
		t.Fatal(err)
	}
	p := greetProgram()
	if code, stdout, stderr := exitCode(t, p, "lint", good); code != 0 {
		t.Errorf("lint good: %d %s %s", code, stdout, stderr)
	}
	if code, stdout, _ := exitCode(t, p, "lint", reserved); code != 1 || !strings.Contains(stdout, "troupe-cli") {
		t.Errorf("lint of a manifest declaring troupe-cli: %d %q, want 1 and the reason", code, stdout)
	}
}

// TestLintAgainst reports the breaking changes between two versions of a
// manifest and passes additive ones.
func TestLintAgainst(t *testing.T) {
	dir := t.TempDir()
	write := func(name, yaml string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	old := write("old.yaml", greetYAML(""))
	removed := write("removed.yaml", strings.Replace(greetYAML(""), "    receives: [Greet, Note]\n    durable: [Note]", "    receives: [Greet]", 1))
	added := write("added.yaml", strings.NewReplacer("    receives: [Greet, Note]", "    receives: [Greet, Note, Wave]",
		"gateway:\n", "  waver:\n    sends: [Wave]\ngateway:\n").Replace(greetYAML("")))
	p := greetProgram()
	if code, stdout, stderr := exitCode(t, p, "lint", "-against", old, removed); code != 1 || !strings.Contains(stdout, "Note") || !strings.Contains(stdout, "breaking change") {
		t.Errorf("lint -against with Note removed: %d\n%s%s", code, stdout, stderr)
	}
	if code, stdout, stderr := exitCode(t, p, "lint", "-against", old, added); code != 0 || strings.Contains(stdout, "breaking") {
		t.Errorf("lint -against with Wave added: %d\n%s%s", code, stdout, stderr)
	}
}

// TestAPI writes the generated documents.
func TestAPI(t *testing.T) {
	t.Chdir(t.TempDir())
	p := greetProgram()
	code, stdout, stderr := exitCode(t, p, "api", "-print", "openapi")
	if code != 0 || !strings.Contains(stdout, `"openapi": "3.1`) {
		t.Errorf("api -print openapi: %d %.200s %s", code, stdout, stderr)
	}
	out := t.TempDir()
	if code, stdout, stderr := exitCode(t, p, "api", "-out", out); code != 0 {
		t.Fatalf("api -out: %d %s %s", code, stdout, stderr)
	}
	for _, f := range []string{"asyncapi.json", "openapi.json"} {
		data, err := os.ReadFile(filepath.Join(out, f))
		if err != nil || !strings.Contains(string(data), "Greet") {
			t.Errorf("%s: %v %.100s", f, err, data)
		}
	}
	if code, _, _ := exitCode(t, p, "api", "-print", "yaml"); code != 2 {
		t.Errorf("api -print yaml: status %d, want 2", code)
	}
}

// TestSend runs a node and sends to it as the operator: the reply names the
// instance that answered.
func TestSend(t *testing.T) {
	t.Chdir(t.TempDir())
	data := t.TempDir()
	st := startRun(t, greetProgram(), "-nats-port", "0", "-addr", "127.0.0.1:0", "-data", data, "-only", "greeter,gateway")
	if !strings.Contains(st.stdout.String(), "nats listening on") {
		t.Fatalf("no NATS line:\n%s", st.stdout.String())
	}
	code, stdout, stderr := exitCode(t, greetProgram(), "send", "-data", data, "Greet", `{"name":"operator"}`)
	if code != 0 || !strings.Contains(stdout, `"name": "Greeting"`) || !strings.Contains(stdout, `"instance": "greeter-`) {
		t.Errorf("send: %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, _ = exitCode(t, greetProgram(), "send", "-data", data, "-kind", "send", "Note", `{"text":"x"}`)
	if code != 0 || !strings.Contains(stdout, "send Note sent") {
		t.Errorf("send -kind send: %d %s", code, stdout)
	}
}

// TestRunUnderSystemd runs a node with a notify socket as systemd gives one:
// it must report READY, ping the watchdog, and report STOPPING.
func TestRunUnderSystemd(t *testing.T) {
	t.Chdir(t.TempDir())
	sock := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "200000") // pings every 100 ms
	got := make(chan string, 100)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(got)
				return
			}
			got <- string(buf[:n])
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- host.Run(ctx, greetProgram(), []string{"run", "-inproc", "-only", "greeter,gateway", "-addr", "127.0.0.1:0", "-data", t.TempDir()}, io.Discard, io.Discard)
	}()
	want := []string{"READY=1", "WATCHDOG=1"}
	for len(want) > 0 {
		select {
		case m := <-got:
			if strings.Contains(m, want[0]) {
				want = want[1:]
			}
		case err := <-done:
			t.Fatalf("run returned early: %v", err)
		case <-time.After(30 * time.Second):
			t.Fatalf("no %s from run", want[0])
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	for {
		select {
		case m := <-got:
			if strings.Contains(m, "STOPPING=1") {
				return
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no STOPPING=1 from run")
		}
	}
}
