// Package gateway is the HTTP edge of a troupe application: it turns HTTP
// requests into bus requests and bus replies into HTTP responses, so that a
// service needs no HTTP code of its own.
//
// # Protocol routes
//
// A route with Types (troupe.Route) speaks seed 001's protocol. A client
// POSTs one JSON object whose "type" names the message:
//
//	POST /            {"type": "Hello", "name": "Ada"}
//
// The gateway sends request Hello on the bus with the rest of the object,
// {"name": "Ada"}, as payload. The reply envelope becomes the response body,
// its name the type and its payload's members the rest:
//
//	200               {"type": "World"}
//
// A reply whose payload is not an object is written {"type": T, "value": v}.
// Any failure, the gateway's or a service's, is an Error:
//
//	400               {"type": "Error", "msg": "unknown type \"Wrong\" at /", "code": "bad_request"}
//	500               {"type": "Error", "msg": "handler crashed (incident 01J...)", "code": "internal", "incident": "01J..."}
//
// # REST routes
//
// A route with a Method and a Message maps method and path to a request;
// path parameters, query parameters and the JSON object body are merged into
// one payload object (a field given twice is a bad request):
//
//	GET /api/todos/{id}   GET /api/todos/42?full=yes  →  todo.get {"id": "42", "full": "yes"}
//
// # Status codes
//
// Error codes map to HTTP statuses in one table, [StatusOf]: bad_request 400,
// not_found 404, forbidden 403, timeout 504, unavailable 503, conflict 409,
// internal 500. Faults the gateway finds in the HTTP request itself use the
// more precise 405, 413 and 415. The body is always the Error object.
//
// # Limits
//
// Every input a client controls is bounded ([Config]): the reply budget
// (Timeout, 1 s), body size, JSON nesting depth, header read time, header
// size, idle time. Bodies must be valid UTF-8 JSON objects without duplicate
// top-level keys ([DecodeRequest]).
//
// # Serving
//
// A [Gateway] is an http.Handler that also answers /healthz (liveness and
// Config.Health's entries, such as alarm states), /readyz (503 until
// Config.Ready succeeds and while draining), /metrics (Prometheus), and the
// application's API documents generated from its manifest (package apidoc):
// /openapi.json (OpenAPI 3.1, the routes) and /asyncapi.json (AsyncAPI 3.0,
// the bus). Routes follow one rule with the manifest
// (troupe.ValidRoutePath), which reserves these paths. [Listen] serves it over HTTP, HTTPS with HTTP/2 (certificate files or a
// self-signed development certificate), or both, with an optional redirect
// from HTTP to HTTPS; [Server.Shutdown] drains gracefully.
//
// docs/gateway.md has the details for operators.
package gateway
