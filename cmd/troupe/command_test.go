package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/manifest"
	"github.com/troupe-go/troupe/natsbus"
	"github.com/troupe-go/troupe/service"
)

// echoService is what the test binary does when troupe run starts it as a
// command service (TROUPE_TEST_HELPER=echo): it joins the bus from the
// environment troupe run gives it, as a service in another language would,
// and answers Echo with its payload and its pid. Its first run crashes, to
// show the restart.
func echoService() int {
	marker := os.Getenv("MARKER")
	if _, err := os.Stat(marker); err != nil {
		_ = os.WriteFile(marker, []byte("crashed once\n"), 0o600)
		fmt.Println("first run: crashing on purpose")
		return 1
	}
	fail := func(err error) int { fmt.Println("echo:", err); return 1 }
	app, err := manifest.Load(os.Getenv(envManifest))
	if err != nil {
		return fail(err)
	}
	if app, err = withOperator(app); err != nil {
		return fail(err)
	}
	name, instance := os.Getenv(envService), os.Getenv(envInstance)
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	t, err := natsbus.New(ctx, natsbus.Config{
		App: app, URL: os.Getenv(envNATSURL), Logger: quiet,
		Credentials: natsbus.CredentialsFrom(map[string]natsbus.Credential{
			name: {User: os.Getenv(envNATSUser), Password: os.Getenv(envNATSPassword)},
		}),
	})
	if err != nil {
		return fail(err)
	}
	b, err := bus.New(bus.Config{App: app, Transport: t, Logger: quiet})
	if err != nil {
		return fail(err)
	}
	sys := actor.NewSystem(actor.Config{Logger: quiet})
	s := service.New(service.Config{Name: name, Instance: instance})
	if err := service.Handle(s, "Echo", "Echoed", func(_ context.Context, in map[string]any) (map[string]any, error) {
		in["pid"] = os.Getpid()
		return in, nil
	}); err != nil {
		return fail(err)
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	if err := s.Start(ctx, b, sys); err != nil {
		return fail(err)
	}
	fmt.Println("echo service ready")
	<-term
	_ = s.Stop(ctx)
	_ = b.Close(ctx)
	_ = t.Close(ctx)
	_ = sys.Shutdown(ctx)
	fmt.Println("echo service stopped")
	return 0
}

func TestRunCommandService(t *testing.T) {
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "troupe.yaml")
	yaml := fmt.Sprintf(`app: proctest
services:
  echo:
    command: [%q, "-test.run=^$"]
    env: {TROUPE_TEST_HELPER: echo, MARKER: %q}
    receives: [Echo]
gateway:
  routes:
    - path: /
      types: [Echo]
`, exe, filepath.Join(dir, "marker"))
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	st := startRun(t, "-nats-port", "0", "-addr", "127.0.0.1:0", "-data", t.TempDir(), path)
	deadline := time.Now().Add(60 * time.Second)
	for {
		status, got := post(t, st.gateway+"/", `{"type":"Echo","word":"ping"}`)
		if status == http.StatusOK {
			if got["type"] != "Echoed" || got["word"] != "ping" {
				t.Fatalf("reply = %v, want Echoed with word ping", got)
			}
			if pid, _ := got["pid"].(float64); int(pid) == os.Getpid() || pid == 0 {
				t.Errorf("reply pid = %v, want another process's", got["pid"])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the command service never answered; last reply %d %v; logs:\n%s", status, got, st.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	logs := st.logs.String()
	for _, want := range []string{"echo-1 | first run: crashing on purpose", "service process exited; restarting", "echo-1 | echo service ready"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}
