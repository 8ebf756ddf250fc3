package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/troupe-go/troupe"
)

// FuzzDecodeRequest checks that DecodeRequest never panics, refuses with a
// bad request only, and when it accepts a body returns a valid name and a
// payload that is a JSON object holding every member but "type".
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"type":"Hello"}`,
		`{"type": "hello", "name": "Ada", "n": [1, {"a": null}]}`,
		`{"type":"Hello","type":"Hello"}`,
		`{"\u0074ype":"Hello","x":"\"}"}`,
		`[{"type":"Hello"}]`,
		`{"type":42}`,
		`{"type":"Hello"} x`,
		"{\"type\":\"Hello\",\"x\":\"\xff\"}",
		`{"a":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
		``,
		`null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		typ, payload, err := DecodeRequest(body, 0)
		if err != nil {
			if !errors.Is(err, troupe.ErrBadRequest) {
				t.Fatalf("error %v is not a bad request", err)
			}
			return
		}
		if err := troupe.ValidName(typ); err != nil {
			t.Fatalf("accepted type %q: %v", typ, err)
		}
		if !utf8.Valid(payload) {
			t.Fatalf("payload %q is not UTF-8", payload)
		}
		var orig, got map[string]json.RawMessage
		if err := json.Unmarshal(body, &orig); err != nil {
			t.Fatalf("accepted %q that encoding/json refuses: %v", body, err)
		}
		if err := json.Unmarshal(payload, &got); err != nil {
			t.Fatalf("payload %q is not a JSON object: %v", payload, err)
		}
		if _, ok := got["type"]; ok {
			t.Fatalf("payload %q still has a type", payload)
		}
		if len(got) != len(orig)-1 {
			t.Fatalf("payload %q has %d members, want %d", payload, len(got), len(orig)-1)
		}
	})
}

// FuzzServeHTTP sends arbitrary methods, targets and bodies through the
// gateway (on the real in-process bus) and checks that every answer is a
// JSON object with a type, and every Error has a known code and the status
// the code maps to (or one of the edge statuses).
func FuzzServeHTTP(f *testing.F) {
	seeds := []struct{ method, target, body string }{
		{"POST", "/", `{"type":"Hello"}`},
		{"POST", "/", `{"type":"Echo","a":[1,{"b":null}]}`},
		{"GET", "/api/todos/42?full=yes", ``},
		{"PUT", "/api/todos/%2F?x=1", `{"title":"milk"}`},
		{"PUT", "/api/todos/1", `{"id":"2"}`},
		{"DELETE", "/api/todos/1", ``},
		{"GET", "/nowhere/..%2F", ``},
		{"POST", "/", `[`},
	}
	for _, s := range seeds {
		f.Add(s.method, s.target, []byte(s.body))
	}
	// A short budget: the fuzzer may find {"type":"Slow"}, which is never
	// answered.
	g := newGateway(f, Config{Timeout: 100 * time.Millisecond, AllowedHosts: []string{"gateway.test"}})
	f.Fuzz(func(t *testing.T, method, target string, body []byte) {
		req, err := http.NewRequest(method, "http://gateway.test"+target, bytes.NewReader(body))
		if err != nil || req.URL.Path == "" || !strings.HasPrefix(req.URL.Path, "/") {
			return // not a request a server would hand to a handler
		}
		if req.URL.Path == MetricsPath || req.URL.Path == HealthPath || req.URL.Path == ReadyPath {
			return
		}
		req.RequestURI = target
		w := httptest.NewRecorder()
		g.ServeHTTP(w, req)
		if w.Code == http.StatusMovedPermanently || w.Code == http.StatusTemporaryRedirect || w.Code == http.StatusPermanentRedirect {
			return // ServeMux cleaning the path
		}
		var got struct {
			Type string      `json:"type"`
			Code troupe.Code `json:"code"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || got.Type == "" {
			t.Fatalf("%s %q: status %d, body %q is not a typed JSON object (%v)", method, target, w.Code, w.Body, err)
		}
		if w.Code == http.StatusOK {
			return
		}
		if got.Type != troupe.ErrorName || !got.Code.Known() {
			t.Fatalf("%s %q: status %d with body %q", method, target, w.Code, w.Body)
		}
		switch w.Code {
		case StatusOf(got.Code), http.StatusMethodNotAllowed, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType,
			http.StatusUnauthorized, http.StatusMisdirectedRequest:
		default:
			t.Fatalf("%s %q: status %d for code %s", method, target, w.Code, got.Code)
		}
	})
}
