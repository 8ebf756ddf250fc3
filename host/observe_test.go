package host_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/host"
)

// TestMetricsLint scrapes a live node's whole /metrics, after traffic and a
// crash, and holds it to Prometheus's conventions with promlint: troupe's
// series have the troupe_ prefix and one unit each, and the gateway's,
// the bus's, the actors' and the alarms' are all there.
func TestMetricsLint(t *testing.T) {
	n := startNode(t, host.Config{App: greetApp(), Services: []host.Service{greeter}, NATS: host.NATSConfig{Port: -1}, HTTP: host.HTTPConfig{Addr: "127.0.0.1:0"}})
	for _, body := range []string{`{"type":"Greet","name":"a"}`, `{"type":"Greet","name":"b"}`, `{"type":"Greet","crash":true}`, `{"type":"Nope"}`} {
		resp, err := http.Post(n.URL(), "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	resp, err := http.Get(n.AdminURL() + "metrics") // the admin listener, not the public address
	if err != nil {
		t.Fatal(err)
	}
	text, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
	}
	problems, err := promlint.New(bytes.NewReader(text)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	if problems, err := testutil.GatherAndLint(n.Metrics()); err != nil || len(problems) > 0 {
		t.Errorf("GatherAndLint: %v %v", problems, err)
	}
	families := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^# TYPE (\S+) `).FindAllSubmatch(text, -1) {
		name := string(m[1])
		families[name] = true
		if !strings.HasPrefix(name, "troupe_") && !strings.HasPrefix(name, "go_") && !strings.HasPrefix(name, "process_") {
			t.Errorf("series %s lacks the troupe_ prefix", name)
		}
	}
	for _, want := range []string{
		"troupe_gateway_requests_total", "troupe_gateway_request_duration_seconds",
		"troupe_bus_sent_total", "troupe_bus_request_duration_seconds",
		"troupe_actor_processes", "troupe_actor_crashes_total", "troupe_actor_restarts_total", "troupe_actor_mailbox_messages",
		"troupe_alarm_active", "troupe_alarm_level_ratio",
		"troupe_nats_dropped_total",
	} {
		if !families[want] {
			t.Errorf("/metrics has no %s", want)
		}
	}
	if !bytes.Contains(text, []byte(`troupe_gateway_requests_total{code="internal",route="POST /"} 1`)) {
		t.Errorf("the gateway did not count the crashed request:\n%s", grep(text, "troupe_gateway_requests_total"))
	}
	if !regexp.MustCompile(`troupe_actor_crashes_total\{instance="greeter-[a-z0-9]+",service="greeter"\} 1`).Match(text) {
		t.Errorf("the greeter's crash is not counted:\n%s", grep(text, "troupe_actor_crashes_total"))
	}
}

func grep(text []byte, prefix string) string {
	var out []string
	for _, l := range strings.Split(string(text), "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestTapAndTop watches a running application from the command line, as
// the operator: tap prints the messages of Greet as they flow, top the
// table of the traffic.
func TestTapAndTop(t *testing.T) {
	t.Chdir(t.TempDir())
	data := t.TempDir()
	st := startRun(t, greetProgram(), "-nats-port", "0", "-addr", "127.0.0.1:0", "-data", data, "-only", "greeter,gateway")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // traffic until the test is done (bounded)
		defer wg.Done()
		for i := 0; i < 3000 && ctx.Err() == nil; i++ {
			if resp, err := http.Post(st.gateway+"/", "application/json", strings.NewReader(`{"type":"Greet","name":"tap"}`)); err == nil {
				resp.Body.Close()
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	defer func() {
		cancel()
		wg.Wait()
	}()
	code, stdout, stderr := exitCode(t, greetProgram(), "tap", "-data", data, "-n", "3", "Greet")
	if code != 0 {
		t.Fatalf("tap: %d\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 3 {
		t.Fatalf("tap -n 3 printed %d lines:\n%s", len(lines), stdout)
	}
	var events []string
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) < 4 || (f[3] != "Greet" && f[3] != "Greeting") || !strings.Contains(l, "activity=") {
			t.Errorf("tap line %q: want time, event, kind, Greet or Greeting, activity", l)
			continue
		}
		events = append(events, f[1])
	}
	if !strings.Contains(strings.Join(events, " "), "sent") && !strings.Contains(strings.Join(events, " "), "delivered") {
		t.Errorf("tap events %v: want a sent or delivered request", events)
	}
	code, stdout, stderr = exitCode(t, greetProgram(), "top", "-data", data, "-n", "1", "-interval", "200ms")
	if code != 0 || !regexp.MustCompile(`(?m)^\s*Greet\s+\d`).MatchString(stdout) || !strings.Contains(stdout, "1 nodes") {
		t.Errorf("top: %d\n%s\n%s", code, stdout, stderr)
	}
	// Watching needs a running application.
	if code, _, stderr := exitCode(t, greetProgram(), "tap", "-data", t.TempDir()); code != 1 || !strings.Contains(stderr, "no application is running") {
		t.Errorf("tap without an application: %d %s", code, stderr)
	}
}

// TestAdminListener serves the dashboard on loopback, refuses other host
// names, and writes crash reports as blocks in the text log.
func TestAdminListener(t *testing.T) {
	t.Chdir(t.TempDir())
	st := startRun(t, greetProgram(), "-inproc", "-addr", "127.0.0.1:0", "-data", t.TempDir(), "-only", "greeter,gateway")
	m := regexp.MustCompile(`admin listening on (http://127\.0\.0\.1:\d+/) \(dashboard, metrics, pprof\)`).FindStringSubmatch(st.stdout.String())
	if m == nil {
		t.Fatalf("no admin URL among:\n%s", st.stdout.String())
	}
	resp, err := http.Get(m[1])
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(page, []byte("troupe dashboard")) || resp.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("GET %s: %d %q", m[1], resp.StatusCode, page[:min(len(page), 80)])
	}
	req, _ := http.NewRequest("GET", m[1]+"api/state", nil)
	req.Host = "evil.example:80"
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("api/state for another host name: %v, want 421", err)
	} else {
		resp.Body.Close()
	}

	// A crash, and its report in the text log.
	resp, err = http.Post(st.gateway+"/", "application/json", strings.NewReader(`{"type":"Greet","crash":true}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var logs string
	for range 500 {
		if logs = st.logs.String(); strings.Contains(logs, "    stack:") {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	head := regexp.MustCompile(`(?m)^time=\S+ level=ERROR msg="process crashed" service=greeter instance=greeter-\S+ name=Greet activity=\S+ process=request incident=(\S+) message_type="request Greet"`).FindStringSubmatch(logs)
	if head == nil {
		t.Fatalf("no crash headline with service, instance, name, process and incident in:\n%s", logs)
	}
	block := logs[strings.Index(logs, head[0]):]
	for _, want := range []string{"\n    panic: greeter: asked to crash\n", "\n    message: request Greet from gateway/", "\n    stack:\n      goroutine ", "host_test.init", "frames of troupe and the Go runtime folded"} {
		if !strings.Contains(block, want) {
			t.Errorf("crash block lacks %q:\n%s", want, block)
		}
	}
	if strings.Contains(block, "*service.job") {
		t.Errorf("the crash report shows an internal type:\n%s", block)
	}
	_ = troupe.OperatorService
}
