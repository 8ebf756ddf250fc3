package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/internal/strictjson"
)

type buffer = bytes.Buffer

func utf8Valid(s string) bool { return utf8.ValidString(s) }

// StatusOf returns the HTTP status of an Error with code c. It is the one
// table that maps troupe's error codes to HTTP (docs/gateway.md explains the
// choice); an unknown code is a 500.
func StatusOf(c troupe.Code) int {
	switch c {
	case troupe.CodeBadRequest:
		return http.StatusBadRequest // 400
	case troupe.CodeNotFound:
		return http.StatusNotFound // 404
	case troupe.CodeForbidden:
		return http.StatusForbidden // 403
	case troupe.CodeTimeout:
		return http.StatusGatewayTimeout // 504
	case troupe.CodeUnavailable:
		return http.StatusServiceUnavailable // 503
	case troupe.CodeConflict:
		return http.StatusConflict // 409
	default:
		return http.StatusInternalServerError // 500, internal and unknown codes
	}
}

// edgeError is an error the gateway itself finds in an HTTP request. Its
// code is bad_request or not_found, and it refines the status of StatusOf
// where HTTP has a more precise one: 405 (wrong method, with Allow), 413
// (body too large), 415 (content type or encoding), 404 (no route).
type edgeError struct {
	err    *troupe.Error
	status int
	allow  string
}

func (e *edgeError) Error() string { return e.err.Error() }
func (e *edgeError) Unwrap() error { return e.err }

func methodNotAllowed(method, allow string) *edgeError {
	return &edgeError{
		err:    badRequest("method %s not allowed: want %s", truncate(method, 20), allow),
		status: http.StatusMethodNotAllowed,
		allow:  allow,
	}
}

// errorBody is the JSON of an Error reply: seed 001's {"type": "Error",
// "msg": reason}, plus the code and the incident id when known. Msg carries
// the incident id too, so a client that shows only msg still shows it.
type errorBody struct {
	Type     string      `json:"type"`
	Msg      string      `json:"msg"`
	Code     troupe.Code `json:"code,omitempty"`
	Incident string      `json:"incident,omitempty"`
}

// fail writes err as an Error reply and tells the Observer.
func (g *Gateway) fail(w http.ResponseWriter, r *http.Request, pattern string, start time.Time, err error) {
	status := 0
	var ee *edgeError
	if errors.As(err, &ee) {
		status = ee.status
		if ee.allow != "" {
			w.Header().Set("Allow", ee.allow)
		}
		if status == http.StatusRequestEntityTooLarge {
			// Do not read the rest of a body that is too large.
			w.Header().Set("Connection", "close")
		}
	}
	var te *troupe.Error
	if !errors.As(err, &te) {
		// A plain Go error from the bus: do not show its text to the
		// client, log it.
		te = &troupe.Error{Code: troupe.CodeInternal, Msg: "internal error", Err: err}
	}
	if status == 0 {
		status = StatusOf(te.Code)
	}
	if status == http.StatusUnauthorized {
		// RFC 9110: a 401 names the scheme that would be accepted.
		w.Header().Set("WWW-Authenticate", `Bearer realm="troupe"`)
	}
	if status == http.StatusServiceUnavailable {
		// Transient (no instance right now, reconnecting, a full
		// bulkhead): a client may try again.
		w.Header().Set("Retry-After", RetryAfter)
	}
	code := te.Code
	if !code.Known() {
		code = troupe.CodeInternal
	}
	body := errorBody{Type: troupe.ErrorName, Msg: te.Error(), Code: code, Incident: te.Incident}
	out, merr := json.Marshal(body)
	if merr != nil { // cannot happen: strings only
		out = []byte(`{"type":"Error","msg":"internal error","code":"internal"}`)
	}
	writeJSON(w, status, out)
	if status >= 500 {
		g.cfg.Logger.Warn("gateway: request failed", "route", pattern, "method", r.Method, "path", truncate(r.URL.Path, 100),
			"status", status, "code", code, "msg", te.Msg, "incident", te.Incident, "err", err)
	} else {
		g.cfg.Logger.Debug("gateway: request refused", "route", pattern, "method", r.Method, "path", truncate(r.URL.Path, 100),
			"status", status, "code", code, "msg", te.Msg)
	}
	g.observe(pattern, code, start, nil)
}

// RetryAfter is the Retry-After header, in seconds, of a 503 answer.
const RetryAfter = "1"

// Shared header values.
var (
	contentTypeJSON = []string{"application/json"}
	noStore         = []string{"no-store"}
	nosniff         = []string{"nosniff"}
)

// writeJSON writes a JSON response.
func writeJSON(w http.ResponseWriter, status int, body []byte) {
	// Canonical keys assigned directly: Set would canonicalize them on
	// every reply. The value slices are shared and never modified.
	h := w.Header()
	h["Content-Type"] = contentTypeJSON
	h["Cache-Control"] = noStore
	if len(body) > 2048 {
		// net/http sets Content-Length itself for short bodies.
		h["Content-Length"] = []string{strconv.Itoa(len(body))}
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// encodeReply turns a reply envelope into the response body:
// {"type": Name, ...payload members} for an object payload (a "type" member
// of the payload is dropped: the envelope's name is the type),
// {"type": Name} for no payload or null, {"type": Name, "value": payload}
// for any other JSON value.
func encodeReply(env *troupe.Envelope) ([]byte, error) {
	if err := troupe.ValidName(env.Name); err != nil {
		return nil, troupe.Errorf(troupe.CodeInternal, "reply has an invalid type: %v", err)
	}
	p := trimSpace(env.Payload)
	out := make([]byte, 0, len(`{"type":"`)+len(env.Name)+len(p)+12)
	// A valid name has nothing to escape.
	out = append(out, `{"type":"`...)
	out = append(out, env.Name...)
	out = append(out, '"')
	if len(p) == 0 || string(p) == "null" || string(p) == "{}" {
		return append(out, '}'), nil
	}
	if !strictjson.Valid(p) {
		return nil, troupe.Errorf(troupe.CodeInternal, "reply %s has a payload that is not valid JSON", env.Name)
	}
	if p[0] != '{' {
		out = append(out, `,"value":`...)
		out = append(out, p...)
		return append(out, '}'), nil
	}
	members, err := splitObject(p)
	if err != nil {
		return nil, troupe.Errorf(troupe.CodeInternal, "reply %s: %v", env.Name, err)
	}
	for _, m := range members {
		if m.key == "type" {
			continue
		}
		out = append(out, ',')
		out = append(out, m.raw...)
	}
	return append(out, '}'), nil
}
