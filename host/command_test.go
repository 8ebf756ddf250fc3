package host_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/host"
	"github.com/troupe-go/troupe/natsbus"
)

// commandManifest writes a manifest in which the greeter is a command
// service: this test binary, which then serves it (TestMain).
func commandManifest(t *testing.T, env map[string]string, extra string) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	lines := fmt.Sprintf("    command: [%q]\n    env:\n      HOST_TEST_PROGRAM: \"1\"\n", exe)
	for k, v := range env {
		lines += fmt.Sprintf("      %s: %q\n", k, v)
	}
	path := filepath.Join(t.TempDir(), "troupe.yaml")
	if err := os.WriteFile(path, []byte(greetYAML(lines+extra)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// parent is a program that registers nothing: every service it runs is a
// command.
var parent = host.Program{Name: "parent"}

// TestCommandService runs the greeter as a command service: its first run
// exits, its supervisor restarts it, and the ready line waits for it; the
// gateway's request is served by the child process.
func TestCommandService(t *testing.T) {
	path := commandManifest(t, map[string]string{"MARKER": filepath.Join(t.TempDir(), "marker")}, "")
	st := startRun(t, parent, "-nats-port", "0", "-addr", "127.0.0.1:0", "-data", t.TempDir(), "-only", "greeter,gateway", path)
	if !strings.Contains(st.ready, "greeter") || strings.Contains(st.ready, "not ready") {
		t.Errorf("ready line %q, want it to name the ready greeter", st.ready)
	}
	status, got := post(t, st.gateway+"/", `{"type":"Greet","name":"child"}`)
	if status != http.StatusOK || got["text"] != "Hello, child!" {
		t.Fatalf("Greet = %d %v", status, got)
	}
	if pid, _ := got["pid"].(float64); int(pid) == os.Getpid() || pid == 0 {
		t.Errorf("reply pid = %v, want another process's", got["pid"])
	}
	instance, _ := got["instance"].(string)
	if !strings.HasPrefix(instance, "greeter-") {
		t.Fatalf("instance %q", instance)
	}
	logs := st.logs.String()
	for _, want := range []string{
		instance + " | first run: crashing on purpose", // the output, prefixed with the instance id
		"service process exited; restarting",           // the supervisor's restart
		"err=\"exit status 3\"",
		instance + " | ready: app greet, running greeter", // the child's own ready line
		"service process ready",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}

// TestCommandServiceDiesWithParent SIGKILLs a node that runs a command
// service: the child must stop too, not go on consuming. The NATS server is
// this test's, so that the child's connection outlives its parent.
func TestCommandServiceDiesWithParent(t *testing.T) {
	path := commandManifest(t, nil, "")
	app, err := greetApp().WithOperator()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := natsbus.RunServer(natsbus.ServerConfig{App: app, DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	credFile := filepath.Join(t.TempDir(), "credentials.json")
	credJSON, err := json.Marshal(srv.Users())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(credFile, credJSON, 0o600); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "HOST_TEST_PROGRAM=1",
		"HOST_TEST_ARGS=run -nats "+srv.ClientURL()+" -nats-credentials "+credFile+" -addr 127.0.0.1:0 -only greeter,gateway -data "+t.TempDir()+" "+path)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	readyPID := regexp.MustCompile(`service process ready.* pid=(\d+)`)
	found := make(chan int, 1)
	go func() {
		lines := bufio.NewScanner(stderr)
		for lines.Scan() {
			if m := readyPID.FindStringSubmatch(lines.Text()); m != nil {
				pid, _ := strconv.Atoi(m[1])
				found <- pid
			}
		}
	}()
	var child int
	select {
	case child = <-found:
	case <-time.After(60 * time.Second):
		t.Fatal("the parent never said its command service was ready")
	}
	if !alive(child) {
		t.Fatalf("child %d is not running", child)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	deadline := time.Now().Add(30 * time.Second)
	for alive(child) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(child, syscall.SIGKILL)
			t.Fatalf("child %d still runs 30 s after its parent was killed", child)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// alive reports whether pid is a running process (not gone, not a zombie).
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return !os.IsNotExist(err)
	}
	// pid (comm) S ...: the state follows the last ')'.
	s := string(data)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z' && s[i+2] != 'X'
	}
	return true
}

// TestCommandServiceReplicas runs a node against a three-server cluster with
// -nats-replicas 3: the command service it starts gets the replica count too
// and consumes its durable messages instead of crash-looping on a consumer
// whose replicas do not match the stream's.
func TestCommandServiceReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("a three-server cluster: not in -short")
	}
	notes := filepath.Join(t.TempDir(), "notes")
	path := commandManifest(t, map[string]string{"NOTE_FILE": notes}, "")
	app, err := greetApp().WithOperator()
	if err != nil {
		t.Fatal(err)
	}
	ports := make([]int, 3)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	var routes, urls []string
	for _, p := range ports {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", p))
	}
	var creds map[string]natsbus.Credential
	for i, p := range ports {
		srv, err := natsbus.RunServer(natsbus.ServerConfig{
			App: app, Credentials: creds, Name: fmt.Sprintf("n%d", i), DataDir: t.TempDir(),
			Cluster: natsbus.ClusterConfig{Name: "hosttest", Port: p, Routes: routes},
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
		if creds == nil {
			creds = srv.Users()
		}
		urls = append(urls, srv.ClientURL())
	}
	credFile := filepath.Join(t.TempDir(), "credentials.json")
	credJSON, err := json.Marshal(creds)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(credFile, credJSON, 0o600); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	// The cluster elects a JetStream meta leader first: retry the start.
	var st started
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, err = tryRun(t, parent, "-nats", strings.Join(urls, ","), "-nats-credentials", credFile, "-nats-replicas", "3",
			"-addr", "127.0.0.1:0", "-only", "greeter,gateway", "-data", data, path)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the node never started against the cluster: %v; logs:\n%s", err, st.logs.String())
		}
		time.Sleep(500 * time.Millisecond)
	}
	if strings.Contains(st.ready, "not ready") {
		t.Fatalf("ready line %q; logs:\n%s", st.ready, st.logs.String())
	}
	tr, err := natsbus.New(context.Background(), natsbus.Config{App: app, URL: strings.Join(urls, ","), Credentials: natsbus.CredentialsFrom(creds), Replicas: 3, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	b, err := bus.New(bus.Config{App: app, Transport: tr, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = b.Close(context.Background())
		_ = tr.Close(context.Background())
	})
	caller, err := b.Join(context.Background(), "caller", troupe.NewInstanceID("caller"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := caller.Send(context.Background(), "Note", Note{Text: fmt.Sprintf("note-%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 60*time.Second, func() bool {
		data, _ := os.ReadFile(notes)
		return strings.Count(string(data), "note-") == 5
	})
	if logs := st.logs.String(); strings.Contains(logs, "10134") || strings.Contains(logs, "replicas must match") {
		t.Errorf("the command service failed on the consumer's replicas:\n%s", logs)
	}
	if n := strings.Count(st.logs.String(), "service process exited"); n != 0 {
		t.Errorf("the command service exited %d times:\n%s", n, st.logs.String())
	}
}

// eventually waits for cond, failing the test after d.
func eventually(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
