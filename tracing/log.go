package tracing

import (
	"context"
	"log/slog"
	"slices"

	"go.opentelemetry.io/otel/trace"

	"github.com/troupe-go/troupe/bus"
)

// LogHandler returns a slog.Handler that adds to every record made with a
// handler's context (logger.InfoContext(ctx, ...)) what ties it to the rest
// of the user action: trace_id and span_id (of the span in the context, or,
// when tracing is off, of the trace context the message arrived with),
// activity, and the service and instance handling the message; then passes
// it to h. An attribute the logger already has (a service's logger carries
// service and instance) is not added twice. A record without such a
// context passes unchanged.
func LogHandler(h slog.Handler) slog.Handler {
	if lh, ok := h.(*logHandler); ok {
		return lh
	}
	return &logHandler{next: h}
}

type logHandler struct {
	next slog.Handler
	has  []string // keys the logger's own attributes hold
	grp  bool     // in a group: added attributes would land in it
}

func (h *logHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	out := &logHandler{next: h.next.WithAttrs(attrs), has: slices.Clone(h.has), grp: h.grp}
	if !h.grp {
		for _, a := range attrs {
			out.has = append(out.has, a.Key)
		}
	}
	return out
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	return &logHandler{next: h.next.WithGroup(name), has: h.has, grp: true}
}

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	if ctx == nil || h.grp {
		return h.next.Handle(ctx, r)
	}
	env := bus.EnvelopeFrom(ctx)
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		h.add(&r, "trace_id", sc.TraceID().String())
		h.add(&r, "span_id", sc.SpanID().String())
	} else if env != nil {
		if tp := env.Headers[bus.HeaderTraceParent]; len(tp) == 55 && tp[2] == '-' && tp[35] == '-' {
			h.add(&r, "trace_id", tp[3:35])
			h.add(&r, "span_id", tp[36:52])
		}
	}
	if env != nil {
		h.add(&r, "activity", env.ActivityID)
	}
	if m, ok := bus.MemberFrom(ctx); ok {
		h.add(&r, "service", m.Service)
		h.add(&r, "instance", m.Instance)
	}
	return h.next.Handle(ctx, r)
}

// add adds key unless the logger or the record has it already.
func (h *logHandler) add(r *slog.Record, key, value string) {
	if value == "" || slices.Contains(h.has, key) {
		return
	}
	dup := false
	r.Attrs(func(a slog.Attr) bool {
		dup = a.Key == key
		return !dup
	})
	if !dup {
		r.AddAttrs(slog.String(key, value))
	}
}
