package tracing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/gateway"
	"github.com/troupe-go/troupe/service"
	"github.com/troupe-go/troupe/tracing"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// syncBuf is a bytes.Buffer for concurrent writers.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) lines() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// The application: the gateway asks front, which asks back, which also
// gets a durable note that fails once.
func app() *troupe.App {
	return &troupe.App{
		Name: "shop",
		Services: []troupe.ServiceDecl{
			{Name: "front", Receives: []string{"front.get"}, Sends: []string{"back.get", "back.note"}},
			{Name: "back", Receives: []string{"back.get", "back.note"}, Durable: []string{"back.note"}},
		},
		Routes: []troupe.Route{{Method: "GET", Path: "/x", Message: "front.get"}},
	}
}

type empty struct{}

func TestTraceAcrossHops(t *testing.T) {
	ctx := context.Background()
	exp := tracetest.NewInMemoryExporter()
	tr, err := tracing.New(ctx, tracing.Config{App: "shop", Exporter: exp})
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuf
	log := slog.New(tracing.LogHandler(slog.NewJSONHandler(&logs, nil)))
	sys := actor.NewSystem(actor.Config{Logger: log})
	b, err := bus.New(bus.Config{App: app(), Logger: log, Timeout: 10 * time.Second, Backoff: func(int) time.Duration { return time.Millisecond }})
	if err != nil {
		t.Fatal(err)
	}
	newService := func(name string) *service.Service {
		return service.New(service.Config{
			Name: name, Instance: name + "-1", Logger: log,
			Middleware:     []service.Middleware{tr.Middleware(name, name+"-1")},
			CallMiddleware: []service.CallMiddleware{tr.CallMiddleware(name, name+"-1")},
		})
	}
	front, back := newService("front"), newService("back")
	noted := make(chan trace.SpanContext, 2)
	var notes atomic.Int32
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(service.Handle(front, "front.get", "front", func(ctx context.Context, _ empty) (empty, error) {
		log.InfoContext(ctx, "front handling")
		if _, err := service.Request[empty](ctx, front, "back.get", nil); err != nil {
			return empty{}, err
		}
		// Straight through the bus: the trace goes on too.
		return empty{}, front.Client().Send(ctx, "back.note", nil)
	}))
	must(service.Handle(back, "back.get", "back", func(ctx context.Context, _ empty) (empty, error) {
		log.InfoContext(ctx, "back handling")
		return empty{}, nil
	}))
	must(service.On(back, "back.note", func(ctx context.Context, _ empty) error {
		noted <- trace.SpanContextFromContext(ctx)
		if notes.Add(1) == 1 {
			return errors.New("not yet") // redelivered
		}
		return nil
	}))
	must(front.Start(ctx, b, sys))
	must(back.Start(ctx, b, sys))
	gwc, err := b.Join(ctx, troupe.GatewayService, "gateway-1")
	must(err)
	gw, err := gateway.New(gateway.Config{App: app(), Bus: gwc, Logger: log, Timeout: 10 * time.Second})
	must(err)
	srv := httptest.NewServer(tr.HTTP(troupe.GatewayService, "gateway-1", gw))
	t.Cleanup(func() {
		srv.Close()
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = front.Stop(cctx)
		_ = back.Stop(cctx)
		_ = b.Close(cctx)
		_ = sys.Shutdown(cctx)
		_ = tr.Shutdown(cctx)
	})

	const incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	req, _ := http.NewRequest("GET", srv.URL+"/x", nil)
	req.Header.Set("traceparent", incoming)
	resp, err := http.DefaultClient.Do(req)
	must(err)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /x: %d", resp.StatusCode)
	}
	// Both attempts of the durable note belong to the trace.
	var attempts []trace.SpanContext
	for range 2 {
		select {
		case sc := <-noted:
			attempts = append(attempts, sc)
		case <-time.After(10 * time.Second):
			t.Fatal("the note was not redelivered")
		}
	}
	// A span ends when its handler returns, after the reply it sent:
	// wait for the last attempt's.
	var spans tracetest.SpanStubs
	for range 1000 {
		must(tr.Flush(ctx))
		spans = exp.GetSpans()
		n := 0
		for _, s := range spans {
			if s.Name == "back.note" && s.SpanKind == trace.SpanKindConsumer {
				n++
			}
		}
		if n == 2 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	byName := map[string][]tracetest.SpanStub{}
	for _, s := range spans {
		byName[s.Name] = append(byName[s.Name], s)
		if got := s.SpanContext.TraceID().String(); got != "4bf92f3577b34da6a3ce929d0e0e4736" {
			t.Errorf("span %s is in trace %s, want the incoming one", s.Name, got)
		}
	}
	one := func(name string, kind trace.SpanKind, service string) tracetest.SpanStub {
		t.Helper()
		for _, s := range byName[name] {
			if s.SpanKind == kind {
				if got := resourceAttr(s, "service.name"); got != service {
					t.Errorf("span %s %v: service.name %q, want %q", name, kind, got, service)
				}
				return s
			}
		}
		t.Fatalf("no %v span %s among %d spans", kind, name, len(spans))
		return tracetest.SpanStub{}
	}
	httpSpan := one("GET /x", trace.SpanKindServer, "gateway")
	frontSpan := one("front.get", trace.SpanKindServer, "front")
	callSpan := one("back.get", trace.SpanKindClient, "front")
	backSpan := one("back.get", trace.SpanKindServer, "back")
	if httpSpan.Parent.SpanID().String() != "00f067aa0ba902b7" {
		t.Errorf("the gateway's span's parent is %s, want the incoming span", httpSpan.Parent.SpanID())
	}
	for _, link := range []struct {
		child, parent tracetest.SpanStub
	}{{frontSpan, httpSpan}, {callSpan, frontSpan}, {backSpan, callSpan}} {
		if link.child.Parent.SpanID() != link.parent.SpanContext.SpanID() {
			t.Errorf("span %s %v's parent is %s, want %s %v", link.child.Name, link.child.SpanKind, link.child.Parent.SpanID(), link.parent.Name, link.parent.SpanKind)
		}
	}
	var consumers []tracetest.SpanStub
	for _, s := range byName["back.note"] {
		if s.SpanKind == trace.SpanKindConsumer {
			consumers = append(consumers, s)
			if s.Parent.SpanID() != frontSpan.SpanContext.SpanID() {
				t.Errorf("a back.note attempt's parent is %s, want front.get's span (sent straight through the bus)", s.Parent.SpanID())
			}
		}
	}
	if len(consumers) != 2 {
		t.Errorf("%d back.note spans, want one per attempt", len(consumers))
	}
	for _, sc := range attempts {
		if sc.TraceID() != httpSpan.SpanContext.TraceID() {
			t.Errorf("a back.note attempt's handler ran in trace %s", sc.TraceID())
		}
	}
	// Every record logged in a handler joins the trace.
	found := 0
	for _, l := range logs.lines() {
		if l["msg"] != "front handling" && l["msg"] != "back handling" {
			continue
		}
		found++
		if l["trace_id"] != "4bf92f3577b34da6a3ce929d0e0e4736" || l["span_id"] == nil || l["activity"] == nil || l["service"] == nil || l["instance"] == nil {
			t.Errorf("log record %v lacks trace_id, span_id, activity, service or instance", l)
		}
	}
	if found != 2 {
		t.Errorf("found %d handler log records, want 2", found)
	}
}

func resourceAttr(s tracetest.SpanStub, key string) string {
	for _, kv := range s.Resource.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.AsString()
		}
	}
	return ""
}

// TestPassThrough: with tracing off, a traceparent from HTTP still reaches
// the handler and its log records, unchanged.
func TestPassThrough(t *testing.T) {
	ctx := context.Background()
	tr, err := tracing.New(ctx, tracing.Config{Getenv: func(string) string { return "" }})
	if err != nil || tr.Enabled() {
		t.Fatalf("New without an exporter: %v, enabled %v", err, tr.Enabled())
	}
	var logs syncBuf
	log := slog.New(tracing.LogHandler(slog.NewJSONHandler(&logs, nil)))
	sys := actor.NewSystem(actor.Config{Logger: log})
	b, err := bus.New(bus.Config{App: app(), Logger: log, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	front := service.New(service.Config{Name: "front", Instance: "front-1", Logger: log})
	got := make(chan string, 1)
	if err := service.Handle(front, "front.get", "front", func(ctx context.Context, _ empty) (empty, error) {
		log.InfoContext(ctx, "front handling")
		got <- bus.EnvelopeFrom(ctx).Headers["traceparent"]
		return empty{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := front.Start(ctx, b, sys); err != nil {
		t.Fatal(err)
	}
	gwc, _ := b.Join(ctx, troupe.GatewayService, "gateway-1")
	gw, _ := gateway.New(gateway.Config{App: app(), Bus: gwc, Logger: log})
	srv := httptest.NewServer(tr.HTTP("gateway", "gateway-1", gw))
	defer func() {
		srv.Close()
		_ = front.Stop(ctx)
		_ = b.Close(ctx)
		_ = sys.Shutdown(ctx)
	}()
	const incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for _, tp := range []string{incoming, "00-zzzz", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"} {
		req, _ := http.NewRequest("GET", srv.URL+"/x", nil)
		req.Header.Set("traceparent", tp)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := ""
		if tp == incoming {
			want = incoming
		}
		if h := <-got; h != want {
			t.Errorf("traceparent %q reached the handler as %q, want %q", tp, h, want)
		}
	}
	lines := logs.lines()
	for _, l := range lines {
		if l["msg"] == "front handling" {
			if l["trace_id"] != "4bf92f3577b34da6a3ce929d0e0e4736" || l["span_id"] != "00f067aa0ba902b7" {
				t.Errorf("record %v: want the incoming trace and span", l)
			}
			return
		}
	}
	t.Errorf("no handler record in %v", lines)
}

func TestNewFromEnv(t *testing.T) {
	for _, tt := range []struct {
		env     map[string]string
		enabled bool
		err     bool
	}{
		{nil, false, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}, true, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:1/v1/traces"}, true, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_SDK_DISABLED": "true"}, false, false},
		{map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}, false, false},
		{map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, false, true},
		{map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, false, true},
	} {
		tr, err := tracing.New(context.Background(), tracing.Config{Getenv: func(k string) string { return tt.env[k] }})
		if (err != nil) != tt.err || err == nil && tr.Enabled() != tt.enabled {
			t.Errorf("env %v: enabled %v, err %v; want enabled %v, error %v", tt.env, err == nil && tr.Enabled(), err, tt.enabled, tt.err)
		}
		if err == nil {
			_ = tr.Shutdown(context.Background())
		}
	}
}
