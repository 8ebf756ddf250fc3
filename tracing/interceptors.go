package tracing

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/service"
)

// Middleware returns the serving-side interceptor that traces every message
// delivered to one instance of a service: a span named after the message
// (kind server for a request, consumer for a send or publish), child of the
// span its envelope's traceparent names. The handler's context carries the
// span, so that its log records and the messages it sends belong to it; its
// replies carry the span's trace context. An Error outcome marks the span
// failed, with its code. Put it first in service.Config.Middleware, so that
// the others run inside its span. Nil when t is off.
func (t *Tracing) Middleware(svc, instance string) service.Middleware {
	if !t.Enabled() {
		return nil
	}
	tr := t.Tracer(svc, instance)
	return func(next service.Handler) service.Handler {
		return func(ctx context.Context, m *bus.Msg) error {
			env := m.Env
			ctx = t.prop.Extract(ctx, propagation.MapCarrier(env.Headers))
			kind := trace.SpanKindConsumer
			if env.Kind == troupe.KindRequest {
				kind = trace.SpanKindServer
			}
			ctx, span := tr.Start(ctx, env.Name, trace.WithSpanKind(kind), trace.WithAttributes(msgAttrs(env, "process")...))
			defer span.End()
			if n := m.Attempt(); n > 1 {
				span.SetAttributes(attribute.Int("troupe.attempt", n))
			}
			carrier := propagation.MapCarrier{}
			t.prop.Inject(ctx, carrier)
			for k, v := range carrier {
				m.SetReplyHeader(k, v)
			}
			// Messages sent with the handler's context straight through
			// the bus (not the service's calling side) carry the span too.
			ctx = bus.ContextWith(ctx, withHeaders(env, carrier))
			err := next(ctx, m)
			fail(span, err)
			return err
		}
	}
}

// CallMiddleware returns the calling-side interceptor that traces every
// message one instance of a service sends: a span named after the message
// (kind client for a request, producer for a send or publish), child of the
// span in the context or, without one, of the trace context of the
// envelope being handled; the envelope carries the span's trace context to
// its receivers. Nil when t is off.
func (t *Tracing) CallMiddleware(svc, instance string) service.CallMiddleware {
	if !t.Enabled() {
		return nil
	}
	tr := t.Tracer(svc, instance)
	return func(next service.Invoker) service.Invoker {
		return func(ctx context.Context, out *service.Outgoing) (*troupe.Envelope, error) {
			env := out.Env
			if !trace.SpanContextFromContext(ctx).IsValid() {
				ctx = t.prop.Extract(ctx, propagation.MapCarrier(env.Headers))
			}
			kind := trace.SpanKindProducer
			if env.Kind == troupe.KindRequest {
				kind = trace.SpanKindClient
			}
			ctx, span := tr.Start(ctx, env.Name, trace.WithSpanKind(kind), trace.WithAttributes(msgAttrs(env, "send")...))
			defer span.End()
			if out.Target != "" {
				span.SetAttributes(attribute.String("troupe.target", out.Target))
			}
			carrier := propagation.MapCarrier{}
			t.prop.Inject(ctx, carrier)
			for k, v := range carrier {
				out.SetHeader(k, v)
			}
			rep, err := next(ctx, out)
			fail(span, err)
			return rep, err
		}
	}
}

// HTTP returns h traced: a server span for every request (named after the
// method, then after the route pattern once one matched), child of the
// request's traceparent. The request h gets carries the span in its
// context and its trace context as its traceparent header, so that the
// gateway, which passes a request's traceparent on to the bus, makes its
// bus requests children of the span. A status of 500 or more marks it
// failed. svc and instance name the spans' service (the gateway's). When t
// is off, h itself.
func (t *Tracing) HTTP(svc, instance string, h http.Handler) http.Handler {
	if !t.Enabled() {
		return h
	}
	tr := t.Tracer(svc, instance)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := t.prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := tr.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
			attribute.String("http.request.method", r.Method),
			attribute.String("url.path", r.URL.Path),
		))
		defer span.End()
		r = r.WithContext(ctx)
		r.Header = r.Header.Clone()
		r.Header.Del(bus.HeaderTraceState)
		t.prop.Inject(ctx, propagation.HeaderCarrier(r.Header))
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		if r.Pattern != "" {
			span.SetName(r.Pattern)
			span.SetAttributes(attribute.String("http.route", r.Pattern))
		}
		span.SetAttributes(attribute.Int("http.response.status_code", sw.status))
		if sw.status >= 500 {
			span.SetStatus(codes.Error, strconv.Itoa(sw.status))
		}
	})
}

// msgAttrs are the attributes of a message's span.
func msgAttrs(env *troupe.Envelope, op string) []attribute.KeyValue {
	return []attribute.KeyValue{
		attribute.String("messaging.system", "troupe"),
		attribute.String("messaging.operation.type", op),
		attribute.String("messaging.destination.name", env.Name),
		attribute.String("messaging.message.id", env.ID),
		attribute.String("troupe.kind", string(env.Kind)),
		attribute.String("troupe.activity", env.ActivityID),
		attribute.String("troupe.sender", env.Sender.String()),
	}
}

// fail marks span failed with err's code.
func fail(span trace.Span, err error) {
	if err == nil {
		return
	}
	code := troupe.CodeOf(err)
	span.SetAttributes(attribute.String("troupe.error.code", string(code)))
	var te *troupe.Error
	msg := err.Error()
	if errors.As(err, &te) {
		msg = te.Msg
	}
	span.SetStatus(codes.Error, msg)
}

// withHeaders returns a copy of env whose headers hold the carrier's.
func withHeaders(env *troupe.Envelope, carrier propagation.MapCarrier) *troupe.Envelope {
	out := *env
	out.Headers = make(map[string]string, len(env.Headers)+len(carrier))
	for k, v := range env.Headers {
		out.Headers[k] = v
	}
	for k, v := range carrier {
		out.Headers[k] = v
	}
	return &out
}

// statusWriter records the status of a response. It keeps the
// ResponseWriter's optional interfaces (Flusher, Hijacker, and Unwrap for
// http.ResponseController), so that WebSockets and streams still work.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h, ok := w.ResponseWriter.(http.Hijacker); ok {
		w.wrote, w.status = true, http.StatusSwitchingProtocols
		return h.Hijack()
	}
	return nil, nil, http.ErrNotSupported
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
