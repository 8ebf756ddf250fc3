package k8s_test

import (
	"bufio"
	"context"
	"io"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/troupe-go/troupe/deploy/internal/k8scheck"
	"github.com/troupe-go/troupe/examples/todo/store/postgres/pgtest"
)

// startNATS runs, on loopback, a nats-server configured by the shipped
// nats.conf and nats-auth.conf (the users, passwords and permissions of the
// cluster) but alone: no routes, no monitoring port, JetStream in a
// temporary directory.
func startNATS(t *testing.T, byName map[string]any) *server.Server {
	t.Helper()
	dir := t.TempDir()
	conf := byName["ConfigMap nats-config"].(*corev1.ConfigMap).Data["nats.conf"]
	auth := byName["ConfigMap nats-auth"].(*corev1.ConfigMap).Data["nats-auth.conf"]
	if err := os.WriteFile(filepath.Join(dir, "nats.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "nats-auth.conf"), []byte(auth), 0o644); err != nil {
		t.Fatal(err)
	}
	for k, v := range byName["Secret nats"].(*corev1.Secret).StringData {
		t.Setenv(k, v)
	}
	t.Setenv("POD_NAME", "nats-0")
	opts, err := server.ProcessConfigFile(filepath.Join(dir, "nats.conf"))
	if err != nil {
		t.Fatal(err)
	}
	opts.Host, opts.Port = "127.0.0.1", server.RANDOM_PORT
	opts.HTTPHost, opts.HTTPPort = "", 0
	opts.Cluster = server.ClusterOpts{}
	opts.Routes = nil
	opts.StoreDir = filepath.Join(dir, "jetstream")
	opts.PidFile = ""
	opts.NoSigs, opts.NoLog = true, true
	ns, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	if !ns.ReadyForConnections(30 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	return ns
}

// process is one troupe pod's process, started by startDeployment.
type process struct {
	url    string
	cmd    *exec.Cmd
	stderr *strings.Builder
	done   bool
}

// stop sends SIGTERM, as the kubelet stops a pod, and waits for the exit.
func (p *process) stop() error {
	if p.done {
		return nil
	}
	p.done = true
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	return p.cmd.Wait()
}

// mounted writes what the Secrets mounted by the pod spec ps hold into a
// directory of its own under dir, as the kubelet mounts them, and returns
// the local path of each mount path.
func mounted(t *testing.T, dir, name string, ps *corev1.PodSpec, byName map[string]any) map[string]string {
	t.Helper()
	local := map[string]string{}
	for _, v := range ps.Volumes {
		if v.Projected == nil {
			continue
		}
		vdir := filepath.Join(dir, name+"-"+v.Name)
		if err := os.MkdirAll(vdir, 0o700); err != nil {
			t.Fatal(err)
		}
		for _, src := range v.Projected.Sources {
			if src.Secret == nil {
				continue
			}
			sec := byName["Secret "+src.Secret.Name].(*corev1.Secret)
			for _, it := range src.Secret.Items {
				if err := os.WriteFile(filepath.Join(vdir, it.Path), []byte(sec.StringData[it.Key]), 0o600); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, m := range ps.Containers[0].VolumeMounts {
			if m.Name == v.Name {
				local[m.MountPath] = vdir
			}
		}
	}
	return local
}

// localArgs are a container's arguments with the cluster's addresses and
// files replaced by local ones.
func localArgs(ct corev1.Container, dir, name string, local map[string]string, natsURL string) []string {
	var args []string
	for _, a := range ct.Args {
		flag, value, _ := strings.Cut(a, "=")
		switch {
		case flag == "--nats":
			a = "--nats=" + natsURL
		case flag == "--nats-replicas":
			a = "--nats-replicas=1" // the test has one local server
		case flag == "--addr":
			a = "--addr=127.0.0.1:0"
		case flag == "--admin-addr":
			a = "--admin-addr=127.0.0.1:0" // every process on one machine
		case flag == "--data":
			a = "--data=" + filepath.Join(dir, name)
		case local[value] != "":
			a = flag + "=" + local[value]
		case local[a] != "":
			a = local[a]
		}
		args = append(args, a)
	}
	return args
}

// runJob runs bin with the container arguments of the named Job, its
// Secrets mounted as the kubelet would, until it exits.
func runJob(t *testing.T, ctx context.Context, bin, dir, name string, byName map[string]any, local map[string]string, natsURL string) {
	t.Helper()
	ps := &byName["Job "+name].(*batchv1.Job).Spec.Template.Spec
	for k, v := range mounted(t, dir, name, ps, byName) {
		local[k] = v
	}
	out, err := exec.CommandContext(ctx, bin, localArgs(ps.Containers[0], dir, name, local, natsURL)...).CombinedOutput()
	if err != nil {
		t.Fatalf("job %s: %v\n%s", name, err, out)
	}
}

// startDeployment runs bin with the container arguments of the named
// Deployment, with the cluster's addresses and files replaced by local ones
// (its own Secrets mounted as the kubelet would: no other's), and returns
// once it prints the URL it listens on.
func startDeployment(t *testing.T, ctx context.Context, bin, dir, name string, byName map[string]any, files map[string]string, natsURL string, env []string) *process {
	t.Helper()
	ps := &byName["Deployment "+name].(*appsv1.Deployment).Spec.Template.Spec
	ct := ps.Containers[0]
	local := mounted(t, dir, name, ps, byName)
	for k, v := range files {
		local[k] = v
	}
	args := localArgs(ct, dir, name, local, natsURL)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, stderr: &strings.Builder{}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !p.done {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	sc := bufio.NewScanner(stdout)
	for p.url == "" && sc.Scan() {
		line := sc.Text()
		for _, prefix := range []string{"gateway listening on ", "health endpoints listening on "} {
			if u, ok := strings.CutPrefix(line, prefix); ok {
				p.url = u
			}
		}
	}
	if p.url == "" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		p.done = true
		t.Fatalf("%s: troupe %s printed no URL; stderr:\n%s", name, strings.Join(args, " "), p.stderr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	return p
}

// TestDeploymentsRun runs the image's binary once per Deployment (todo, web,
// gateway), with each Deployment's exact arguments, against a nats-server
// configured as the cluster's (so the shipped credentials and the generated
// permissions must agree) and, for todo, a real PostgreSQL. Each must become
// ready; a todo created through the gateway's REST API must appear on the
// web service's page; each must drain and exit cleanly on SIGTERM.
func TestDeploymentsRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the demo and runs it with nats-server and PostgreSQL: not in -short")
	}
	_, byName := bundle(t)
	ns := startNATS(t, byName)
	dsn := pgtest.DSN(t)
	dir := t.TempDir()
	bin := buildLikeImage(t, dir, "v0.0.0-runtest")

	files := map[string]string{
		"/etc/troupe/troupe.yaml": byName["ConfigMap troupe-manifest"].(*corev1.ConfigMap).Data[k8scheck.ManifestKey],
	}
	local := map[string]string{}
	for path, data := range files {
		p := filepath.Join(dir, filepath.Base(path))
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		local[path] = p
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// The streams first, made by the job with the admin's credential: no
	// service may make them.
	runJob(t, ctx, bin, dir, "troupe-streams", byName, maps.Clone(local), ns.ClientURL())
	procs := map[string]*process{}
	for _, name := range []string{"todo", "web", "gateway"} {
		var env []string
		if name == "todo" {
			env = []string{"TROUPE_STORE_DSN=" + dsn} // the Secret's key, as the Deployment sets it
		}
		p := startDeployment(t, ctx, bin, dir, name, byName, local, ns.ClientURL(), env)
		procs[name] = p
		// Ready once the service has joined the bus: probe as the kubelet
		// would, until ready or the test's context ends.
		for {
			code, _ := get(p.url + "/readyz")
			if code == http.StatusOK {
				break
			}
			select {
			case <-ctx.Done():
				t.Fatalf("%s: /readyz never answered 200 (last %d); stderr:\n%s", name, code, p.stderr.String())
			case <-time.After(100 * time.Millisecond):
			}
		}
		if code, body := get(p.url + "/healthz"); code != http.StatusOK {
			t.Errorf("%s: /healthz: %d %s", name, code, body)
		}
	}

	gw := procs["gateway"].url
	resp, err := http.Post(gw+"/", "application/json", strings.NewReader(`{"type":"Hello"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"World"`) {
		t.Errorf("POST {\"type\":\"Hello\"}: %d %s, want 200 and World", resp.StatusCode, body)
	}
	// A user signs up on the web pods' pages (a session cookie) and makes
	// an API token there; the REST API at the gateway pods takes it.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	form := func(path string, v url.Values) string {
		t.Helper()
		resp, err := browser.PostForm(procs["web"].url+path, v)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode/100 != 2 {
			t.Fatalf("POST %s at web: %d %.300s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	form("/signup", url.Values{"name": {"ann"}, "password": {"correct horse battery"}})
	m := regexp.MustCompile(`<code class="secret">([^<]+)</code>`).FindStringSubmatch(form("/tokens", url.Values{"name": {"deploy test"}}))
	if m == nil {
		t.Fatal("the tokens page shows no token")
	}
	rest := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, gw+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+m[1])
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, lists := rest("GET", "/api/lists", "")
	list := regexp.MustCompile(`"id":"([^"]+)"`).FindStringSubmatch(lists)
	if code != http.StatusOK || list == nil {
		t.Fatalf("GET /api/lists: %d %s", code, lists)
	}
	const title = "shipped by the deploy/k8s test"
	code, created := rest("POST", "/api/lists/"+list[1]+"/todos", `{"title":"`+title+`"}`)
	if code/100 != 2 || !strings.Contains(created, title) {
		t.Errorf("POST /api/lists/%s/todos: %d %s, want success and the todo", list[1], code, created)
	}
	resp, err = browser.Get(procs["web"].url + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), title) {
		t.Errorf("web page: %d, has the new todo: %v", resp.StatusCode, strings.Contains(string(page), title))
	}

	for _, name := range []string{"gateway", "web", "todo"} {
		if err := procs[name].stop(); err != nil {
			t.Errorf("%s exited with %v after SIGTERM; stderr:\n%s", name, err, procs[name].stderr.String())
		}
	}
}
