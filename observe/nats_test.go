package observe_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/natsbus"
	"github.com/troupe-go/troupe/observe"
)

// natsRig is a rig on an embedded NATS server with the manifest's users and
// permissions, whose instances answer the observe and micro protocols, and
// an operator's connection.
type natsRig struct {
	*rig
	srv      *natsbus.Server
	operator *nats.Conn
}

func newNATSRig(t *testing.T) *natsRig {
	t.Helper()
	srv, err := natsbus.RunServer(natsbus.ServerConfig{App: shop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	tr, err := natsbus.New(context.Background(), natsbus.Config{App: shop(), Server: srv, URL: srv.ClientURL(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close(context.Background()) })
	r := newRig(t, tr)
	for _, m := range []troupe.Member{{Service: "greeter", Instance: "greeter-1"}, {Service: "web", Instance: "web-1"}} {
		nc := tr.Conn(m)
		if nc == nil {
			t.Fatalf("no connection for %s", m)
		}
		if err := r.agent.ServeMicro(nc, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.agent.ServeNATS(tr.Conn(troupe.Member{Service: "greeter", Instance: "greeter-1"})); err != nil {
		t.Fatal(err)
	}
	op, err := tr.Connect(troupe.OperatorService, "operator")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(op.Close)
	return &natsRig{rig: r, srv: srv, operator: op}
}

func TestNATS(t *testing.T) {
	r := newNATSRig(t)
	checkClient(t, r.rig, observe.NewClient(r.operator, "shop"))
}

// TestMicro asks the discovery protocol as nats.go's micro package answers
// it, with the operator's credentials.
func TestMicro(t *testing.T) {
	r := newNATSRig(t)
	ctx := ctxT(t)
	if _, err := r.web.Request(ctx, "greet", greeting{Name: "ann"}); err != nil {
		t.Fatal(err)
	}
	ask := func(subject string, v any) {
		t.Helper()
		msg, err := r.operator.RequestWithContext(ctx, subject, nil)
		if err != nil {
			t.Fatalf("%s: %v", subject, err)
		}
		if err := json.Unmarshal(msg.Data, v); err != nil {
			t.Fatalf("%s: %v", subject, err)
		}
	}
	var info micro.Info
	ask("$SRV.INFO.greeter", &info)
	if info.Type != micro.InfoResponseType || info.Name != "greeter" || info.ID != "greeter-1" || info.Version != "1.2.3" || info.Metadata["troupe.app"] != "shop" {
		t.Errorf("info = %+v", info)
	}
	var eps []string
	for _, e := range info.Endpoints {
		eps = append(eps, e.Name+" "+e.Subject+" "+e.QueueGroup+" "+e.Metadata["troupe.name"])
	}
	if want := []string{"greet troupe.shop.msg.*.greet greeter greet", "order_placed troupe.shop.msg.*.order.placed greeter order.placed"}; !slices.Equal(eps, want) {
		t.Errorf("endpoints = %q, want %q", eps, want)
	}
	var stats micro.Stats
	ask("$SRV.STATS.greeter.greeter-1", &stats)
	if stats.Type != micro.StatsResponseType || len(stats.Endpoints) != 2 || stats.Endpoints[0].NumRequests != 1 || stats.Endpoints[0].AverageProcessingTime <= 0 {
		t.Errorf("stats = %+v", stats)
	}
	var ping micro.Ping
	ask("$SRV.PING.web.web-1", &ping)
	if ping.Type != micro.PingResponseType || ping.Name != "web" || ping.ID != "web-1" {
		t.Errorf("ping = %+v", ping)
	}
}

// TestNATSCLI lists the troupe services with the NATS command line tool,
// logged in as the operator, as an operator would.
func TestNATSCLI(t *testing.T) {
	cli, err := exec.LookPath(cmp.Or(os.Getenv("TROUPE_NATS_CLI"), "nats"))
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("no nats command on PATH (go install github.com/nats-io/natscli/nats@v0.5.0); CI=true, so this test must run")
		}
		t.Skip("no nats command on PATH (go install github.com/nats-io/natscli/nats@v0.5.0)")
	}
	r := newNATSRig(t)
	ctx := ctxT(t)
	if _, err := r.web.Request(ctx, "greet", greeting{Name: "ann"}); err != nil {
		t.Fatal(err)
	}
	op, _ := r.srv.Credentials(troupe.OperatorService)
	// The operator's nkey seed, in a file as the CLI reads it (--nkey).
	seedFile := filepath.Join(t.TempDir(), troupe.OperatorService+".nk")
	if err := os.WriteFile(seedFile, []byte(op.Seed+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	nats := func(args ...string) []byte {
		t.Helper()
		cmd := exec.CommandContext(ctx, cli, append([]string{"-s", r.srv.ClientURL(), "--nkey", seedFile, "--timeout", "2s"}, args...)...)
		cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir(), "HOME="+t.TempDir())
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("nats %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
		}
		return out
	}
	// ls lists both services (the CLI sorts them by name).
	var list []micro.Info
	if err := json.Unmarshal(nats("micro", "ls", "--json"), &list); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range list {
		names = append(names, s.Name+"/"+s.ID)
	}
	slices.Sort(names)
	if want := []string{"greeter/greeter-1", "web/web-1"}; !slices.Equal(names, want) {
		t.Errorf("nats micro ls: %q, want %q", names, want)
	}
	// info shows one instance's info and stats.
	var info struct {
		Info  micro.Info  `json:"info"`
		Stats micro.Stats `json:"stats"`
	}
	if err := json.Unmarshal(nats("micro", "info", "greeter", "--json"), &info); err != nil {
		t.Fatal(err)
	}
	if info.Info.ID != "greeter-1" || len(info.Info.Endpoints) != 2 || info.Info.Endpoints[0].Name != "greet" || len(info.Stats.Endpoints) != 2 || info.Stats.Endpoints[0].NumRequests != 1 {
		t.Errorf("nats micro info greeter: %+v", info)
	}
	stats := nats("micro", "stats", "greeter", "--json")
	if !bytes.Contains(stats, []byte(`"num_requests": 1`)) && !bytes.Contains(stats, []byte(`"num_requests":1`)) {
		t.Errorf("nats micro stats greeter: %s, want 1 request to greet", stats)
	}
	if ping := nats("micro", "ping", "web"); !bytes.Contains(ping, []byte("web-1")) {
		t.Errorf("nats micro ping web: %s, want web-1", ping)
	}
}
