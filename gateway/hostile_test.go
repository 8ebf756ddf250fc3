package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// hostile is one hostile request and the outcome it must have: an Error
// with wantStatus whose msg contains wantMsg, a plain HTTP status (for
// faults net/http refuses before the gateway sees the request), or a closed
// connection.
type hostile struct {
	name   string
	method string
	ctype  string
	header map[string]string
	body   func() io.Reader
	// rawBody sends the body without a Content-Length (chunked).
	chunked bool

	wantStatus int
	wantMsg    string // "" for a non-JSON refusal by net/http
	// orClosed accepts a closed connection instead of the response (a
	// client that is still sending when the server refuses may see
	// either).
	orClosed bool

	// raw replaces the HTTP request with a function given the server's
	// address.
	raw func(t *testing.T, addr string, s *Server)
}

func str(s string) func() io.Reader { return func() io.Reader { return strings.NewReader(s) } }

// manyMembers returns a Hello with n more members, the last repeating
// the first when dup.
func manyMembers(n int, dup bool) string {
	var b strings.Builder
	b.WriteString(`{"type":"Hello"`)
	for i := range n {
		fmt.Fprintf(&b, `,"k%d":0`, i)
	}
	if dup {
		b.WriteString(`,"k0":1`)
	}
	b.WriteString("}")
	return b.String()
}

func nested(n int) string {
	return `{"type":"Hello","x":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}`
}

func TestHostileRequests(t *testing.T) {
	tb := newTestBus(t)
	// A short header timeout for the slowloris cases; a long budget so
	// that no case depends on how fast this machine is.
	g := newGateway(t, Config{Bus: tb, ReadHeaderTimeout: 200 * time.Millisecond, Timeout: time.Minute, AllowedHosts: []string{"x"}})
	s := serve(t, g)
	url := s.URL()
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/")
	const json = "application/json"
	tenMB := func() io.Reader {
		return io.MultiReader(strings.NewReader(`{"type":"Hello","x":"`), bytes.NewReader(bytes.Repeat([]byte("a"), 10<<20)), strings.NewReader(`"}`))
	}
	tests := []hostile{
		{name: "invalid JSON", ctype: json, body: str(`{"type":`), wantStatus: 400, wantMsg: "invalid JSON"},
		{name: "invalid JSON token", ctype: json, body: str(`{"type":"Hello",}`), wantStatus: 400, wantMsg: "invalid JSON"},
		{name: "missing type", ctype: json, body: str(`{"name":"Ada"}`), wantStatus: 400, wantMsg: `missing "type"`},
		{name: "unknown type", ctype: json, body: str(`{"type":"Wrong"}`), wantStatus: 400, wantMsg: `unknown type "Wrong"`},
		{name: "type not a name", ctype: json, body: str(`{"type":"../../etc/passwd"}`), wantStatus: 400, wantMsg: "must start with a letter"},
		{name: "type too long", ctype: json, body: str(`{"type":"` + strings.Repeat("H", 5000) + `"}`), wantStatus: 400, wantMsg: "bytes long"},
		{name: "number type", ctype: json, body: str(`{"type":42}`), wantStatus: 400, wantMsg: `"type" must be a string, got a number`},
		{name: "null type", ctype: json, body: str(`{"type":null}`), wantStatus: 400, wantMsg: `"type" must be a string, got null`},
		{name: "object type", ctype: json, body: str(`{"type":{"type":"Hello"}}`), wantStatus: 400, wantMsg: `"type" must be a string, got an object`},
		{name: "array body", ctype: json, body: str(`[{"type":"Hello"}]`), wantStatus: 400, wantMsg: "must be a JSON object, got an array"},
		{name: "string body", ctype: json, body: str(`"Hello"`), wantStatus: 400, wantMsg: "must be a JSON object, got a string"},
		{name: "number body", ctype: json, body: str(`12345`), wantStatus: 400, wantMsg: "must be a JSON object, got a number"},
		{name: "null body", ctype: json, body: str(`null`), wantStatus: 400, wantMsg: "must be a JSON object, got null"},
		{name: "empty body", ctype: json, body: str(``), wantStatus: 400, wantMsg: "empty body"},
		{name: "white space body", ctype: json, body: str(" \r\n\t "), wantStatus: 400, wantMsg: "empty body"},
		{name: "10 MB body", ctype: json, body: tenMB, wantStatus: 413, wantMsg: "body larger than 1048576 bytes", orClosed: true},
		{name: "10 MB chunked body", ctype: json, body: tenMB, chunked: true, wantStatus: 413, wantMsg: "body larger than 1048576 bytes", orClosed: true},
		{name: "10k levels of nesting", ctype: json, body: str(nested(10000)), wantStatus: 400, wantMsg: "nested deeper than 32 levels"},
		{name: "nesting in strings is text", ctype: json, body: str(`{"type":"Hello","x":"` + strings.Repeat("[", 10000) + `"}`), wantStatus: 200},
		{name: "80,000 members", ctype: json, body: str(manyMembers(80000, false)), wantStatus: 200},
		{name: "80,000 members and a duplicate", ctype: json, body: str(manyMembers(80000, true)), wantStatus: 400, wantMsg: `duplicate key "k0"`},
		{name: "invalid UTF-8", ctype: json, body: str("{\"type\":\"Hello\",\"x\":\"\xff\xfe\"}"), wantStatus: 400, wantMsg: "not valid UTF-8"},
		{name: "UTF-16 body", ctype: json, body: str("\xff\xfe{\x00}\x00"), wantStatus: 400, wantMsg: "not valid UTF-8"},
		{name: "GET", method: "GET", body: str(``), wantStatus: 405, wantMsg: "method GET not allowed: want POST"},
		{name: "PUT", method: "PUT", ctype: json, body: str(`{"type":"Hello"}`), wantStatus: 405, wantMsg: "method PUT not allowed"},
		{name: "DELETE", method: "DELETE", body: str(``), wantStatus: 405, wantMsg: "method DELETE not allowed"},
		{name: "text/plain", ctype: "text/plain", body: str(`{"type":"Hello"}`), wantStatus: 415, wantMsg: `Content-Type "text/plain": want application/json`},
		{name: "form", ctype: "application/x-www-form-urlencoded", body: str(`type=Hello`), wantStatus: 415, wantMsg: "want application/json"},
		{name: "malformed content type", ctype: "application/json; ;;", body: str(`{"type":"Hello"}`), wantStatus: 415, wantMsg: "want application/json"},
		{name: "gzip encoding", ctype: json, header: map[string]string{"Content-Encoding": "gzip"}, body: str(`{"type":"Hello"}`), wantStatus: 415, wantMsg: "Content-Encoding"},
		{name: "duplicate type keys", ctype: json, body: str(`{"type":"Hello","type":"Wrong"}`), wantStatus: 400, wantMsg: `duplicate key "type"`},
		{name: "escaped duplicate type key", ctype: json, body: str(`{"type":"Hello","typ\u0065":"Wrong"}`), wantStatus: 400, wantMsg: `duplicate key "type"`},
		{name: "trailing garbage", ctype: json, body: str(`{"type":"Hello"} garbage`), wantStatus: 400, wantMsg: "invalid JSON"},
		{name: "two objects", ctype: json, body: str(`{"type":"Hello"}{"type":"Hello"}`), wantStatus: 400, wantMsg: "invalid JSON"},
		{name: "unknown path", ctype: json, body: str(`{"type":"Hello"}`), header: map[string]string{"X-Path": "/admin"}, wantStatus: 404, wantMsg: "no route for POST /admin"},
		// Another site's page, a rebound DNS name, a WebSocket from
		// elsewhere: each is refused before anything is sent.
		{name: "rebinding Host header", ctype: json, header: map[string]string{"Host": "evil.example:8080"}, body: str(`{"type":"Hello"}`),
			wantStatus: 421, wantMsg: `host "evil.example:8080" is not served here`},
		{name: "cross-site POST", ctype: json, header: map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
			body: str(`{"type":"Hello"}`), wantStatus: 403, wantMsg: "cross-origin POST refused"},
		{name: "cross-origin POST from an old browser", ctype: json, header: map[string]string{"Origin": "https://evil.example"},
			body: str(`{"type":"Hello"}`), wantStatus: 403, wantMsg: "cross-origin POST refused"},
		{name: "no-cors fetch of a typeless blob", header: map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"},
			body: str(`{"type":"Hello"}`), wantStatus: 403, wantMsg: "cross-origin POST refused"},
		{name: "body without a Content-Type", body: str(`{"type":"Hello"}`), wantStatus: 415, wantMsg: "no Content-Type: want application/json"},
		{name: "WebSocket from another origin", method: "GET", header: map[string]string{"Upgrade": "websocket", "Connection": "Upgrade", "Origin": "https://evil.example"},
			body: str(``), wantStatus: 403, wantMsg: `WebSocket from origin "https://evil.example" refused`},
		{name: "huge header", ctype: json, header: map[string]string{"X-Big": strings.Repeat("x", 64<<10)}, body: str(`{"type":"Hello"}`), wantStatus: 431, orClosed: true},
		{name: "slowloris", raw: slowloris},
		{name: "disconnect mid-body", raw: disconnectMidBody},
		{name: "disconnect while waiting for the reply", raw: func(t *testing.T, addr string, s *Server) { disconnectWaiting(t, addr, tb) }},
		{name: "garbage instead of HTTP", raw: garbageRequest},
		{name: "2000 idle connections", raw: idleFlood},
	}
	c := newClient(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.raw != nil {
				tt.raw(t, addr, s)
			} else {
				sendHostile(t, url, tt)
			}
			hello(t, c, url)
		})
	}
	if len(tests) < 20 {
		t.Errorf("%d hostile requests, want at least 20", len(tests))
	}
}

func sendHostile(t *testing.T, url string, tt hostile) {
	t.Helper()
	method := tt.method
	if method == "" {
		method = "POST"
	}
	if p := tt.header["X-Path"]; p != "" {
		url = strings.TrimSuffix(url, "/") + p
	}
	body := tt.body()
	if tt.chunked {
		body = io.MultiReader(body) // hides the length from NewRequest
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if tt.ctype != "" {
		req.Header.Set("Content-Type", tt.ctype)
	}
	for k, v := range tt.header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	// A fresh connection per hostile request, closed afterwards.
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		if tt.orClosed {
			t.Logf("closed: %v", err)
			return
		}
		t.Fatalf("%s: %v", tt.name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil && !tt.orClosed {
		t.Fatal(err)
	}
	if resp.StatusCode != tt.wantStatus {
		t.Errorf("status %d, want %d (body %.200q)", resp.StatusCode, tt.wantStatus, b)
	}
	if tt.wantStatus == 200 || tt.wantMsg == "" {
		return
	}
	var e errorBody
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("body %.200q is not an Error: %v", b, err)
	}
	if e.Type != "Error" || !strings.Contains(e.Msg, tt.wantMsg) || e.Code == "" {
		t.Errorf("got %+v, want an Error whose msg contains %q", e, tt.wantMsg)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
}

// waitClosed reads from conn until the server closes it. It fails the test
// if the server keeps it open for a minute (a guard, not a timing).
func waitClosed(t *testing.T, conn net.Conn) []byte {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(time.Minute))
	b, err := io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server kept the connection open")
	}
	return b
}

// slowloris sends the headers one byte at a time, slower than the
// configured ReadHeaderTimeout allows: the server must close the
// connection without a response reaching the handler.
func slowloris(t *testing.T, addr string, _ *Server) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Slow: " + strings.Repeat("a", 1000)
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		for i := 0; i < len(req); i++ {
			if _, err := conn.Write([]byte{req[i]}); err != nil {
				return // the server closed the connection
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	got := waitClosed(t, conn)
	conn.Close()
	<-closed
	if len(got) > 0 && !bytes.HasPrefix(got, []byte("HTTP/1.1 4")) {
		t.Errorf("slow headers got %q, want the connection closed", got)
	}
}

// disconnectMidBody promises 100 bytes of body, sends 10 and hangs up.
func disconnectMidBody(t *testing.T, addr string, _ *Server) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"type\":\"")
	conn.Close()
}

// disconnectWaiting hangs up while the service is working on the request.
func disconnectWaiting(t *testing.T, addr string, tb *testBus) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"type":"Slow"}`
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	<-tb.slow
	conn.Close()
}

// garbageRequest sends bytes that are not HTTP: net/http answers 400 and
// closes.
func garbageRequest(t *testing.T, addr string, _ *Server) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	got := waitClosed(t, conn)
	if len(got) > 0 && !bytes.HasPrefix(got, []byte("HTTP/1.")) {
		t.Errorf("garbage got %q, want an HTTP error or a closed connection", got)
	}
}

// idleFlood opens 2,000 connections that send nothing, checks that a
// normal request succeeds while they are open, and closes them.
func idleFlood(t *testing.T, addr string, s *Server) {
	const n = 2000
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("after %d connections: %v", len(conns), err)
		}
		conns = append(conns, c)
	}
	// Half of them started a request and stopped.
	for _, c := range conns[:n/2] {
		if _, err := c.Write([]byte("POST / HTTP/1.1\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	c := newClient(t)
	hello(t, c, s.URL())
	// The server cuts the half-sent requests off at ReadHeaderTimeout.
	got := waitClosed(t, conns[0])
	if len(got) > 0 && !bytes.HasPrefix(got, []byte("HTTP/1.1 4")) {
		t.Errorf("half-sent request got %q, want the connection closed", got)
	}
}
