package tracing

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Config configures Tracing. The zero value reads the standard
// OpenTelemetry environment variables (see New).
type Config struct {
	// App is the application's name, every span's service.namespace.
	App string
	// Exporter, if set, receives the spans, whatever the environment
	// says (a test's tracetest.InMemoryExporter, say).
	Exporter sdktrace.SpanExporter
	// Getenv reads the environment. Nil means os.Getenv.
	Getenv func(string) string
}

// Tracing records the spans of a node's services and exports them, or,
// when off, only carries the trace context through (which the bus and the
// gateway do by themselves). Its methods are safe for concurrent use; a nil
// *Tracing is off.
type Tracing struct {
	app  string
	proc sdktrace.SpanProcessor // shared by the providers; nil when off
	prop propagation.TextMapPropagator
	res  *resource.Resource // from the environment

	mu        sync.Mutex
	providers map[[2]string]*sdktrace.TracerProvider
	closed    bool
}

// New returns the node's Tracing. Spans are recorded and exported over
// OTLP (HTTP and protobuf; the endpoint, headers, timeout and TLS from the
// exporter's own OTEL_EXPORTER_OTLP_* variables) when
// OTEL_TRACES_EXPORTER is "otlp", or when it is unset and
// OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set.
// OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none turn it off; any other
// exporter, and the OTLP protocol grpc, are errors. The sampler comes from
// OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG (default: every trace
// whose parent is sampled, and every new one), the resource attributes
// from OTEL_RESOURCE_ATTRIBUTES; each service's spans have its own
// service.name and service.instance.id.
func New(ctx context.Context, cfg Config) (*Tracing, error) {
	getenv := cfg.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	t := &Tracing{app: cfg.App, prop: propagation.TraceContext{}, providers: map[[2]string]*sdktrace.TracerProvider{}}
	exp := cfg.Exporter
	if exp == nil {
		var err error
		if exp, err = exporterFromEnv(ctx, getenv); err != nil {
			return nil, err
		}
	}
	if exp == nil {
		return t, nil
	}
	res, err := resource.New(ctx, resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil && res == nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	t.res = res
	t.proc = sdktrace.NewBatchSpanProcessor(exp)
	return t, nil
}

// exporterFromEnv returns the exporter the environment asks for, or nil.
func exporterFromEnv(ctx context.Context, getenv func(string) string) (sdktrace.SpanExporter, error) {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") {
		return nil, nil
	}
	switch kind := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); kind {
	case "none":
		return nil, nil
	case "":
		if getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
			return nil, nil
		}
	case "otlp":
	default:
		return nil, fmt.Errorf("tracing: OTEL_TRACES_EXPORTER=%q: troupe exports over otlp only (or none)", kind)
	}
	proto := getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if proto == "" {
		proto = getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	if proto != "" && proto != "http/protobuf" {
		return nil, fmt.Errorf("tracing: OTLP protocol %q: troupe exports over http/protobuf", proto)
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("tracing: otlp exporter: %w", err)
	}
	return exp, nil
}

// Enabled reports whether spans are recorded.
func (t *Tracing) Enabled() bool { return t != nil && t.proc != nil }

// Propagator returns the W3C Trace Context propagator (traceparent,
// tracestate) that carries spans across hops.
func (t *Tracing) Propagator() propagation.TextMapPropagator { return propagation.TraceContext{} }

// Tracer returns the tracer of one instance of a service: its spans carry
// service.name service and service.instance.id instance. When off it is a
// tracer that records nothing.
func (t *Tracing) Tracer(service, instance string) trace.Tracer {
	if !t.Enabled() {
		return noop.NewTracerProvider().Tracer(scope)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	key := [2]string{service, instance}
	tp := t.providers[key]
	if tp == nil {
		attrs := []attribute.KeyValue{attribute.String("service.name", service), attribute.String("service.instance.id", instance)}
		if t.app != "" {
			attrs = append(attrs, attribute.String("service.namespace", t.app))
		}
		res, err := resource.Merge(t.res, resource.NewSchemaless(attrs...))
		if err != nil {
			res = resource.NewSchemaless(attrs...)
		}
		tp = sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithSpanProcessor(shared{t.proc}))
		if !t.closed {
			t.providers[key] = tp
		}
	}
	return tp.Tracer(scope)
}

// scope is the instrumentation scope of troupe's spans.
const scope = "github.com/troupe-go/troupe/tracing"

// shared is the span processor of every provider: Shutdown is Tracing's.
type shared struct{ sdktrace.SpanProcessor }

func (shared) Shutdown(context.Context) error { return nil }

// Shutdown exports the spans not yet exported and stops. It waits until
// they are sent or ctx ends.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if !t.Enabled() {
		return nil
	}
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	err := t.proc.Shutdown(ctx)
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("tracing: shutdown: %w", err)
	}
	return nil
}

// Flush exports the spans ended so far, waiting until they are sent or ctx
// ends.
func (t *Tracing) Flush(ctx context.Context) error {
	if !t.Enabled() {
		return nil
	}
	if err := t.proc.ForceFlush(ctx); err != nil {
		return fmt.Errorf("tracing: flush: %w", err)
	}
	return nil
}
