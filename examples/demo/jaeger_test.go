package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// jaegerConfig runs Jaeger all in one with an in-memory store, its OTLP
// receiver (HTTP) and query API on loopback only.
const jaegerConfig = `service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: %s
    grpc:
      endpoint: %s
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 10000
receivers:
  otlp:
    protocols:
      http:
        endpoint: %s
processors:
  batch:
    timeout: 100ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startJaeger runs the jaeger program (installed from tools/ by .ci/run:
// cd tools && go install tool) until the test ends, and returns the URLs of
// its OTLP receiver and query API.
func startJaeger(t *testing.T) (otlp, query string) {
	t.Helper()
	bin, err := exec.LookPath("jaeger")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("no jaeger on PATH (cd tools && GOWORK=off go install tool); CI=true, so this test must run")
		}
		t.Skip("no jaeger on PATH (cd tools && GOWORK=off go install tool)")
	}
	q, grpc, rx := freeAddr(t), freeAddr(t), freeAddr(t)
	cfg := filepath.Join(t.TempDir(), "jaeger.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(jaegerConfig, q, grpc, rx)), 0o644); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	cmd := exec.Command(bin, "--config", "file:"+cfg)
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.Env = append(os.Environ(), "JAEGER_LISTEN_HOST=127.0.0.1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	query = "http://" + q
	for i := 0; ; i++ {
		resp, err := http.Get(query + "/api/services")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if i == 600 {
			t.Fatalf("jaeger's query API did not answer; its log:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return "http://" + rx, query
}

// jaegerTrace is the part of Jaeger's query API's answer the test reads.
type jaegerTrace struct {
	Data []struct {
		Spans []struct {
			SpanID        string `json:"spanID"`
			OperationName string `json:"operationName"`
			ProcessID     string `json:"processID"`
			References    []struct {
				SpanID string `json:"spanID"`
			} `json:"references"`
		} `json:"spans"`
		Processes map[string]struct {
			ServiceName string `json:"serviceName"`
		} `json:"processes"`
	} `json:"data"`
}

// TestJaeger sends the demo's traces to a real Jaeger over OTLP, as the
// OTEL_* variables say, and reads back one trace that spans the gateway,
// web and todo: a browser's page (web) that lists the todos (todo).
func TestJaeger(t *testing.T) {
	otlp, query := startJaeger(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", otlp)
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
	t.Chdir(t.TempDir())
	st := startRun(t, "-nats-port", "0", "-addr", "127.0.0.1:0", "-data", t.TempDir())

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	browser := signedIn(t, st.gateway, "ann") // the page of a user: web asks todo for the lists
	req, _ := http.NewRequest("GET", st.gateway+"/", nil)
	req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	resp, err := browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /: %d", resp.StatusCode)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var got []string
	for {
		got = nil
		var tr jaegerTrace
		if resp, err := http.Get(query + "/api/traces/" + traceID); err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&tr)
			resp.Body.Close()
		}
		for _, d := range tr.Data {
			for _, s := range d.Spans {
				svc := d.Processes[s.ProcessID].ServiceName
				if !slices.Contains(got, svc) {
					got = append(got, svc)
				}
			}
		}
		slices.Sort(got)
		if slices.Equal(got, []string{"gateway", "todo", "web"}) {
			// One tree: every span's parent is in the trace, or is the
			// span the request came with.
			ids := map[string]bool{"00f067aa0ba902b7": true}
			for _, s := range tr.Data[0].Spans {
				ids[s.SpanID] = true
			}
			for _, s := range tr.Data[0].Spans {
				for _, r := range s.References {
					if !ids[r.SpanID] {
						t.Errorf("span %s's parent %s is not in the trace", s.OperationName, r.SpanID)
					}
				}
			}
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("trace %s spans services %q, want gateway, todo and web", traceID, strings.Join(got, ", "))
		case <-time.After(200 * time.Millisecond):
		}
	}
}
