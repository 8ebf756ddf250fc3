package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/troupe-go/troupe"
	troupemanifest "github.com/troupe-go/troupe/manifest"
	"github.com/troupe-go/troupe/natsbus"
)

// The scale-out tests run real processes: separate nats-server processes
// clustered on loopback, and many processes of the demo binary, each running
// some of its services (-only), as Kubernetes runs the Deployments.

var (
	buildOnce sync.Once
	buildErr  error
	binDir    string
)

// binaries builds the demo and nats-server once per test binary and returns
// their paths.
func binaries(t testing.TB) (demo, natsServer string) {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "troupe-scale-bin")
		if buildErr != nil {
			return
		}
		for _, b := range []struct{ out, pkg string }{
			{"troupe", "."},
			{"nats-server", "github.com/nats-io/nats-server/v2"},
		} {
			out, err := exec.Command("go", "build", "-o", filepath.Join(binDir, b.out), b.pkg).CombinedOutput()
			if err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", b.pkg, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, "troupe"), filepath.Join(binDir, "nats-server")
}

// freePorts returns n loopback ports that were free a moment ago.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// natsCluster is three nats-server processes clustered on loopback, with
// JetStream and the demo's users and permissions (natsbus.Permissions), as
// deploy/k8s configures the cluster.
type natsCluster struct {
	t       testing.TB
	bin     string
	servers []*natsServer
	creds   string // the credentials file of every user
	users   map[string]natsbus.Credential
}

type natsServer struct {
	name                   string
	port, route, monitor   int
	conf, store            string
	cmd                    *exec.Cmd
	done                   chan struct{}
	mu                     sync.Mutex
	killed                 bool
	startedAt, lastStopped time.Time
}

func (s *natsServer) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.port) }

// startCluster starts a three-server cluster for app (with the operator).
func startCluster(t testing.TB, bin string, app *troupe.App) *natsCluster {
	t.Helper()
	perms, err := natsbus.Permissions(app)
	if err != nil {
		t.Fatal(err)
	}
	c := &natsCluster{t: t, bin: bin, users: map[string]natsbus.Credential{}}
	// One nkey per user, as in production (natsbus.Server, deploy/k8s).
	type userConf struct {
		Nkey        string `json:"nkey"`
		Permissions any    `json:"permissions,omitempty"`
	}
	var users []userConf
	for _, name := range append(slices.Sorted(maps.Keys(perms)), natsbus.AdminUser) {
		seed, err := natsbus.NewSeed()
		if err != nil {
			t.Fatal(err)
		}
		pub, err := natsbus.PublicKey(seed)
		if err != nil {
			t.Fatal(err)
		}
		c.users[name] = natsbus.Credential{User: name, Seed: seed}
		u := userConf{Nkey: pub}
		if p, ok := perms[name]; ok {
			pm := map[string]any{"publish": map[string]any{"allow": p.Publish}, "subscribe": map[string]any{"allow": p.Subscribe}}
			if p.AllowResponses {
				pm["allow_responses"] = map[string]any{"max": 1, "expires": natsbus.ResponseExpiry.String()}
			}
			u.Permissions = pm
		}
		users = append(users, u)
	}
	dir := t.TempDir()
	c.creds = filepath.Join(dir, "credentials.json")
	data, _ := json.Marshal(c.users)
	if err := os.WriteFile(c.creds, data, 0o600); err != nil {
		t.Fatal(err)
	}
	ports := freePorts(t, 9)
	var routes []string
	for i := range 3 {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", ports[3+i]))
	}
	for i := range 3 {
		s := &natsServer{name: fmt.Sprintf("n%d", i+1), port: ports[i], route: ports[3+i], monitor: ports[6+i],
			store: filepath.Join(dir, fmt.Sprintf("n%d", i+1))}
		conf := map[string]any{
			"server_name": s.name,
			"listen":      fmt.Sprintf("127.0.0.1:%d", s.port),
			"http":        fmt.Sprintf("127.0.0.1:%d", s.monitor),
			"jetstream":   map[string]any{"store_dir": s.store},
			"cluster": map[string]any{
				"name": "scale", "listen": fmt.Sprintf("127.0.0.1:%d", s.route), "routes": routes,
			},
			"authorization": map[string]any{"users": users},
		}
		// nats-server's parser reads JSON but not \u escapes: keep
		// the subjects' '>' as it is.
		var data strings.Builder
		enc := json.NewEncoder(&data)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(conf); err != nil {
			t.Fatal(err)
		}
		s.conf = filepath.Join(dir, s.name+".conf")
		if err := os.WriteFile(s.conf, []byte(data.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		c.servers = append(c.servers, s)
		c.start(s)
	}
	t.Cleanup(func() {
		for _, s := range c.servers {
			c.kill(s)
		}
	})
	for _, s := range c.servers {
		c.waitHealthy(s)
	}
	return c
}

// start starts (or restarts) server s.
func (c *natsCluster) start(s *natsServer) {
	c.t.Helper()
	cmd := exec.Command(c.bin, "-c", s.conf)
	logf, err := os.OpenFile(s.conf+".log", os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		c.t.Fatal(err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	s.mu.Lock()
	s.cmd, s.done, s.killed, s.startedAt = cmd, make(chan struct{}), false, time.Now()
	done := s.done
	s.mu.Unlock()
	go func() { _ = cmd.Wait(); close(done) }()
}

// kill SIGKILLs server s and waits for it.
func (c *natsCluster) kill(s *natsServer) {
	s.mu.Lock()
	cmd, done, killed := s.cmd, s.done, s.killed
	s.killed = true
	s.lastStopped = time.Now()
	s.mu.Unlock()
	if cmd == nil || killed {
		return
	}
	_ = cmd.Process.Kill()
	<-done
}

// waitHealthy waits until s answers its monitoring /healthz with JetStream.
func (c *natsCluster) waitHealthy(s *natsServer) {
	c.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", s.monitor))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	log, _ := os.ReadFile(s.conf + ".log")
	if len(log) > 4000 {
		log = log[len(log)-4000:]
	}
	c.t.Fatalf("nats-server %s did not become healthy; its log ends:\n%s", s.name, log)
}

// urls is the cluster's client URLs, comma-separated.
func (c *natsCluster) urls() string {
	var out []string
	for _, s := range c.servers {
		out = append(out, s.url())
	}
	return strings.Join(out, ",")
}

// varz returns a server's counts of messages in and out (its monitoring
// endpoint); ok is false if the server does not answer.
func (s *natsServer) varz() (in, out int64, ok bool) {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/varz", s.monitor))
	if err != nil {
		return 0, 0, false
	}
	defer resp.Body.Close()
	var v struct {
		InMsgs  int64 `json:"in_msgs"`
		OutMsgs int64 `json:"out_msgs"`
	}
	if json.NewDecoder(resp.Body).Decode(&v) != nil {
		return 0, 0, false
	}
	return v.InMsgs, v.OutMsgs, true
}

// streamLeader returns the server that leads the demo's durable stream.
func (c *natsCluster) streamLeader(app string) *natsServer {
	c.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		for _, s := range c.servers {
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/jsz?streams=true", s.monitor))
			if err != nil {
				continue
			}
			var jsz struct {
				AccountDetails []struct {
					StreamDetail []struct {
						Name    string `json:"name"`
						Cluster struct {
							Leader string `json:"leader"`
						} `json:"cluster"`
					} `json:"stream_detail"`
				} `json:"account_details"`
			}
			err = json.NewDecoder(resp.Body).Decode(&jsz)
			resp.Body.Close()
			if err != nil {
				continue
			}
			for _, a := range jsz.AccountDetails {
				for _, st := range a.StreamDetail {
					if st.Name == "troupe-"+app && st.Cluster.Leader != "" {
						for _, l := range c.servers {
							if l.name == st.Cluster.Leader {
								return l
							}
						}
					}
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.t.Fatal("no leader for the durable stream")
	return nil
}

// demoApp is the demo's manifest with the operator, as every node sees it.
func demoApp(t testing.TB) *troupe.App {
	t.Helper()
	app, err := troupemanifest.Parse("troupe.yaml", manifest)
	if err != nil {
		t.Fatal(err)
	}
	withOp, err := app.WithOperator()
	if err != nil {
		t.Fatal(err)
	}
	return withOp
}

// proc is one process of the demo binary.
type proc struct {
	name   string
	args   []string
	bin    string
	dir    string
	env    []string
	cmd    *exec.Cmd
	done   chan struct{}
	url    string // its HTTP listener, without the trailing slash
	admin  string // its admin listener (metrics), with the trailing slash
	logs   *lockedBuffer
	exited error
}

// lockedBuffer is a buffer safe for concurrent writers and readers.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startProc starts a demo process with args after "run" and waits for its
// ready line.
func startProc(t testing.TB, bin, name string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, bin: bin, args: args, dir: t.TempDir(), env: env}
	p.url = p.start(t)
	t.Cleanup(func() { p.kill() })
	return p
}

// start starts the process and returns its URL once it is ready; p.url is
// set by the caller (startProc, or a restart that guards it).
func (p *proc) start(t testing.TB) string {
	t.Helper()
	cmd := exec.Command(p.bin, append([]string{"run"}, p.args...)...)
	cmd.Dir = p.dir // no troupe.yaml there: the built-in manifest
	cmd.Env = append(os.Environ(), p.env...)
	p.logs = &lockedBuffer{}
	cmd.Stderr = p.logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.cmd, p.done, p.exited = cmd, make(chan struct{}), nil
	var url string
	done := p.done
	ready := make(chan [2]string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		url, admin := "", ""
		for sc.Scan() {
			line := sc.Text()
			for _, prefix := range []string{"gateway listening on ", "health endpoints listening on "} {
				if u, ok := strings.CutPrefix(line, prefix); ok {
					url = strings.TrimSuffix(u, "/")
				}
			}
			if u, ok := strings.CutPrefix(line, "admin listening on "); ok {
				admin, _, _ = strings.Cut(u, " ")
			}
			if strings.HasPrefix(line, "ready: ") {
				ready <- [2]string{url, admin}
			}
		}
	}()
	go func() { p.exited = cmd.Wait(); close(done) }()
	select {
	case u := <-ready:
		url, p.admin = u[0], u[1]
	case <-done:
		t.Fatalf("%s exited before it was ready: %v\n%s", p.name, p.exited, p.logs.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("%s did not get ready\n%s", p.name, p.logs.String())
	}
	return url
}

// kill SIGKILLs the process, if it runs.
func (p *proc) kill() {
	if p.cmd == nil {
		return
	}
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// stop sends SIGTERM and waits for the process to exit.
func (p *proc) stop(t testing.TB) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		p.kill()
		t.Errorf("%s did not stop on SIGTERM\n%s", p.name, p.logs.String())
	}
}

// metric returns the sum of the samples of the Prometheus series whose name
// and labels match, from the process's /metrics (on its admin listener).
func (p *proc) metric(t testing.TB, name string, labels map[string]string) float64 {
	t.Helper()
	resp, err := http.Get(p.admin + "metrics")
	if err != nil {
		t.Fatalf("%s /metrics: %v", p.name, err)
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for k, v := range labels {
			if !strings.Contains(line, k+`="`+v+`"`) {
				ok = false
			}
		}
		if !ok {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v); err == nil {
			sum += v
		}
	}
	return sum
}

// postJSON sends a JSON body, with an API token unless it is "", and
// returns the status and body; err is a failure to get any answer (a
// connection refused or reset).
func postJSON(ctx context.Context, client *http.Client, url, token, body string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}
