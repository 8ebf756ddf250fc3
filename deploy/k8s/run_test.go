package k8s_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/troupe-go/troupe/internal/k8scheck"
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

// TestGatewayDeploymentRuns runs the image's binary with the gateway
// Deployment's exact arguments, pointed at a NATS server configured as the
// cluster's (so the shipped credentials and generated permissions must
// agree), and checks the probes' endpoints and seed 001's Hello through it.
func TestGatewayDeploymentRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/troupe and runs it with a nats-server: not in -short")
	}
	_, byName := bundle(t)
	ns := startNATS(t, byName)
	dir := t.TempDir()
	bin := buildLikeImage(t, dir, "v0.0.0-runtest")

	files := map[string]string{
		"/etc/troupe/troupe.yaml":                  byName["ConfigMap troupe-manifest"].(*corev1.ConfigMap).Data[k8scheck.ManifestKey],
		"/var/run/secrets/troupe/credentials.json": byName["Secret troupe"].(*corev1.Secret).StringData["credentials.json"],
	}
	local := map[string]string{}
	for path, data := range files {
		p := filepath.Join(dir, filepath.Base(path))
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		local[path] = p
	}
	ct := byName["Deployment gateway"].(*appsv1.Deployment).Spec.Template.Spec.Containers[0]
	var args []string
	for _, a := range ct.Args {
		name, value, _ := strings.Cut(a, "=")
		switch {
		case name == "--nats":
			a = "--nats=" + ns.ClientURL()
		case name == "--addr":
			a = "--addr=127.0.0.1:0"
		case name == "--data":
			a = "--data=" + filepath.Join(dir, "data")
		case local[value] != "":
			a = name + "=" + local[value]
		case local[a] != "":
			a = local[a]
		}
		args = append(args, a)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := false
	defer func() {
		if !exited {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()
	var url string
	sc := bufio.NewScanner(stdout)
	for url == "" && sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "gateway listening on "); ok {
			url = u
		}
	}
	if url == "" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		exited = true
		t.Fatalf("troupe %s printed no gateway URL; stderr:\n%s", strings.Join(args, " "), stderr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()

	get := func(path string) (int, string) {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// The pod becomes ready once the gateway has joined the bus: wait for
	// that as the kubelet would, probing until ready or the test's context
	// ends.
	for {
		code, _ := get("/readyz")
		if code == http.StatusOK {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("/readyz never answered 200 (last %d); stderr:\n%s", code, stderr.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	if code, body := get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d %s", code, body)
	}
	resp, err := http.Post(url+"/", "application/json", strings.NewReader(`{"type":"Hello"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"World"`) {
		t.Errorf("POST {\"type\":\"Hello\"}: %d %s, want 200 and World", resp.StatusCode, body)
	}

	// SIGTERM, as the kubelet stops a pod: a clean drain and exit status 0.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	exited = true
	var exit *exec.ExitError
	if errors.As(err, &exit) || err != nil {
		t.Errorf("troupe exited with %v after SIGTERM; stderr:\n%s", err, stderr.String())
	}
}
