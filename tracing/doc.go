// Package tracing follows one user action across services with
// OpenTelemetry: W3C trace context (traceparent, tracestate) from the HTTP
// request at the gateway through every hop of the bus into each handler's
// context, spans recorded per service instance, and exported over OTLP when
// the standard OTEL_* variables say so.
//
// A tour:
//
//   - New reads the environment (OTEL_EXPORTER_OTLP_ENDPOINT, say) and
//     returns the node's Tracing; without an exporter it records nothing
//     and the trace context still crosses every hop (the gateway and the
//     bus carry traceparent by themselves).
//   - Middleware and CallMiddleware are the service SDK's interceptors
//     that make a span of every message an instance handles and sends;
//     HTTP makes one of every HTTP request at the gateway. The host
//     installs them on every instance (host.Instance.Config) and on the
//     gateway.
//   - LogHandler adds trace_id, span_id, activity, service and instance to
//     every record logged with a handler's context, so that the log lines
//     of one user action join across services, with or without spans.
//
// Each service instance has its own OpenTelemetry resource (service.name,
// service.instance.id, service.namespace the application), so that a
// trace viewer such as Jaeger shows which service did what, even when
// several run in one process.
package tracing
