package host_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-go/troupe/host"
	"github.com/troupe-go/troupe/manifest"
	"github.com/troupe-go/troupe/natsbus"
)

// TestProvision creates the streams and the durable consumers of an
// application with the admin's credential alone, as a Kubernetes job does
// before the services, which have no right to.
func TestProvision(t *testing.T) {
	dir := t.TempDir()
	man := filepath.Join(dir, "troupe.yaml")
	if err := os.WriteFile(man, []byte(greetYAML("")), 0o644); err != nil {
		t.Fatal(err)
	}
	app, err := manifest.Load(man)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := natsbus.RunServer(natsbus.ServerConfig{App: app, DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	admin, _ := srv.Credentials(natsbus.AdminUser)
	keys := filepath.Join(dir, "keys")
	if err := os.MkdirAll(keys, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(keys, natsbus.AdminUser+".nk"), []byte(admin.Seed+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if err := host.Run(context.Background(), host.Program{Name: "troupe"}, []string{"provision", "-nats", srv.ClientURL(), "-nats-credentials", keys, man}, &stdout, &stderr); err != nil {
		t.Fatalf("provision: %v (stderr %s)", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "streams and consumers of app greet ready") {
		t.Errorf("stdout %q", stdout.String())
	}
	opt, _ := admin.Option()
	nc, err := nats.Connect(srv.ClientURL(), opt)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	if _, err := js.Consumer(context.Background(), "troupe-greet", "greeter_Note"); err != nil {
		t.Errorf("the consumer of the durable Note: %v", err)
	}
	// Without the admin's credential it refuses at once.
	other := t.TempDir()
	err = host.Run(context.Background(), host.Program{Name: "troupe"}, []string{"provision", "-nats", srv.ClientURL(), "-nats-credentials", other, man}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "no credential of _troupe_admin") {
		t.Errorf("provision without the admin: %v", err)
	}
}
