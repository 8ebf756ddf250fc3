package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
)

// authApp has an accounts service that knows two tokens, a public route, a
// route for users and one for admins.
func authApp() *troupe.App {
	return &troupe.App{
		Name: "auth",
		Services: []troupe.ServiceDecl{
			{Name: "accounts", Receives: []string{"account.authenticate"}},
			{Name: "notes", Receives: []string{"note.public", "note.mine", "note.purge"}},
		},
		Messages: []troupe.MessageDecl{
			{Name: "note.mine", Principal: true},
			{Name: "note.purge", Roles: []string{"admin"}},
		},
		Authenticate: "account.authenticate",
		Routes: []troupe.Route{
			{Method: "GET", Path: "/public", Message: "note.public"},
			{Method: "GET", Path: "/mine", Message: "note.mine"},
			{Method: "DELETE", Path: "/all", Message: "note.purge"},
			{Path: "/rpc", Types: []string{"note.public", "note.mine"}},
		},
	}
}

// authGateway serves authApp with a BusAuthenticator; the notes handlers
// reply with the id of the principal they see ("" for none).
func authGateway(t *testing.T) *Gateway {
	t.Helper()
	app := authApp()
	app.Services = append(app.Services, troupe.ServiceDecl{Name: troupe.GatewayService,
		Sends: []string{"account.authenticate", "note.public", "note.mine", "note.purge"}})
	b, err := bus.New(bus.Config{App: app, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	ctx := context.Background()
	acc, _ := b.Join(ctx, "accounts", "a1")
	users := map[string]troupe.Principal{
		"ann-token":   {ID: "u1", Name: "ann", Roles: []string{"admin"}},
		"bob-token":   {ID: "u2", Name: "bob"},
		"bob-session": {ID: "u2", Name: "bob"},
	}
	_ = acc.Handle("account.authenticate", bus.HandlerFunc(func(ctx context.Context, m *bus.Msg) {
		var req struct{ Token, Kind string }
		_ = json.Unmarshal(m.Env.Payload, &req)
		p, ok := users[req.Token]
		if !ok || strings.HasSuffix(req.Token, "session") != (req.Kind == CredentialSession) {
			_ = m.ReplyError(ctx, troupe.Errorf(troupe.CodeNotFound, "no such token"))
			return
		}
		_ = m.Reply(ctx, "principal", p)
	}))
	notes, _ := b.Join(ctx, "notes", "n1")
	for _, name := range []string{"note.public", "note.mine", "note.purge"} {
		_ = notes.Handle(name, bus.HandlerFunc(func(ctx context.Context, m *bus.Msg) {
			who := ""
			if p := troupe.PrincipalFrom(ctx); p != nil {
				who = p.ID
			}
			_ = m.Reply(ctx, "note", map[string]string{"for": who})
		}))
	}
	gw, _ := b.Join(ctx, troupe.GatewayService, "g1")
	g, err := New(Config{App: app, Bus: gw, Logger: slog.New(slog.DiscardHandler), Timeout: time.Minute,
		Authenticator: &BusAuthenticator{Bus: gw, Message: app.Authenticate, Cookie: "session"}})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestAuthentication(t *testing.T) {
	g := authGateway(t)
	tests := []struct {
		name, method, path, auth, cookie, body string
		wantStatus                             int
		wantBody                               string
	}{
		{name: "public, anonymous", method: "GET", path: "/public", wantStatus: 200, wantBody: `{"type":"note","for":""}`},
		{name: "public, with a token", method: "GET", path: "/public", auth: "Bearer bob-token", wantStatus: 200, wantBody: `{"type":"note","for":"u2"}`},
		{name: "needs a user, anonymous", method: "GET", path: "/mine", wantStatus: 401, wantBody: `{"type":"Error","msg":"note.mine needs an authenticated user","code":"forbidden"}`},
		{name: "needs a user, with a token", method: "GET", path: "/mine", auth: "Bearer bob-token", wantStatus: 200, wantBody: `{"type":"note","for":"u2"}`},
		{name: "needs a user, with a session cookie", method: "GET", path: "/mine", cookie: "bob-session", wantStatus: 200, wantBody: `{"type":"note","for":"u2"}`},
		{name: "a session as a bearer token", method: "GET", path: "/mine", auth: "Bearer bob-session", wantStatus: 401, wantBody: `{"type":"Error","msg":"the credentials are not accepted","code":"forbidden"}`},
		{name: "unknown token", method: "GET", path: "/public", auth: "Bearer guess", wantStatus: 401, wantBody: `{"type":"Error","msg":"the credentials are not accepted","code":"forbidden"}`},
		{name: "basic credentials", method: "GET", path: "/mine", auth: "Basic Ym9iOnB3", wantStatus: 401, wantBody: `{"type":"Error","msg":"authorization: want \"Bearer TOKEN\"","code":"forbidden"}`},
		{name: "needs a role, without it", method: "DELETE", path: "/all", auth: "Bearer bob-token", wantStatus: 403, wantBody: `{"type":"Error","msg":"note.purge needs a user with the role admin","code":"forbidden"}`},
		{name: "needs a role, with it", method: "DELETE", path: "/all", auth: "Bearer ann-token", wantStatus: 200, wantBody: `{"type":"note","for":"u1"}`},
		{name: "protocol route, type that needs a user", method: "POST", path: "/rpc", body: `{"type":"note.mine"}`, wantStatus: 401, wantBody: `{"type":"Error","msg":"note.mine needs an authenticated user","code":"forbidden"}`},
		{name: "protocol route, public type", method: "POST", path: "/rpc", body: `{"type":"note.public"}`, wantStatus: 200, wantBody: `{"type":"note","for":""}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "http://localhost"+tt.path, strings.NewReader(tt.body))
			if tt.body != "" {
				r.Header.Set("Content-Type", "application/json")
			}
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			if tt.cookie != "" {
				r.AddCookie(&http.Cookie{Name: "session", Value: tt.cookie})
			}
			w := httptest.NewRecorder()
			g.ServeHTTP(w, r)
			if w.Code != tt.wantStatus || w.Body.String() != tt.wantBody {
				t.Errorf("%d %s, want %d %s", w.Code, w.Body, tt.wantStatus, tt.wantBody)
			}
			if got := w.Header().Get("WWW-Authenticate"); (w.Code == 401) != (got != "") {
				t.Errorf("status %d with WWW-Authenticate %q", w.Code, got)
			}
		})
	}
}

// TestAuthenticatorUnavailable: when the service that knows the users does
// not answer, the client gets 503, not 401.
func TestAuthenticatorUnavailable(t *testing.T) {
	g := newGateway(t, Config{Authenticator: AuthenticatorFunc(func(context.Context, *http.Request) (*troupe.Principal, error) {
		return nil, troupe.Errorf(troupe.CodeUnavailable, "accounts: no instance")
	})})
	w := httptest.NewRecorder()
	g.ServeHTTP(w, httptest.NewRequest("GET", "/api/todos/1", nil))
	if w.Code != 503 {
		t.Errorf("%d %s, want 503", w.Code, w.Body)
	}
}

func TestBusAuthenticatorCache(t *testing.T) {
	asked := 0
	req := requesterFunc(func(ctx context.Context, name string, payload any) (*troupe.Envelope, error) {
		asked++
		return &troupe.Envelope{Name: "principal", Payload: []byte(`{"id":"u1"}`)}, nil
	})
	a := &BusAuthenticator{Bus: req, Message: "who", CacheFor: time.Hour}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer t1")
	for range 3 {
		p, err := a.Authenticate(context.Background(), r)
		if err != nil || p == nil || p.ID != "u1" {
			t.Fatalf("Authenticate = %+v, %v", p, err)
		}
	}
	if asked != 1 {
		t.Errorf("asked %d times, want 1", asked)
	}
	a.Forget("t1")
	if _, err := a.Authenticate(context.Background(), r); err != nil || asked != 2 {
		t.Errorf("after Forget: %v, asked %d times, want 2", err, asked)
	}
	// A refusal is not kept: a token that did not exist a moment ago may
	// exist now, and each request asks again.
	refused := 0
	no := &BusAuthenticator{Bus: requesterFunc(func(context.Context, string, any) (*troupe.Envelope, error) {
		refused++
		return nil, troupe.Errorf(troupe.CodeNotFound, "no such token")
	}), Message: "who", CacheFor: time.Hour}
	for range 3 {
		if p, err := no.Authenticate(context.Background(), r); !errors.Is(err, troupe.ErrNotFound) || p != nil {
			t.Fatalf("a refused token: %+v, %v, want not_found", p, err)
		}
	}
	if refused != 3 {
		t.Errorf("a refused token asked %d times in 3 requests, want 3", refused)
	}
	bad := &BusAuthenticator{Bus: requesterFunc(func(context.Context, string, any) (*troupe.Envelope, error) {
		return &troupe.Envelope{Name: "principal", Payload: []byte(`{"name":"no id"}`)}, nil
	}), Message: "who"}
	if _, err := bad.Authenticate(context.Background(), r); !errors.Is(err, troupe.ErrInternal) {
		t.Errorf("a reply without an id: %v, want internal", err)
	}
}

// TestBusAuthenticatorRevoke: Revoke drops the named user's answers and
// only those, Revoked reads the user from the event's payload and drops
// every answer for a payload without one, and an answer asked for before a
// revocation and arriving after it is returned but not cached.
func TestBusAuthenticatorRevoke(t *testing.T) {
	var mu sync.Mutex
	asked := map[string]int{}
	var hold chan struct{} // non-nil: the next answer waits for it
	var holding chan struct{}
	req := requesterFunc(func(ctx context.Context, name string, payload any) (*troupe.Envelope, error) {
		tok := payload.(map[string]string)["token"]
		mu.Lock()
		asked[tok]++
		h, hd := hold, holding
		hold = nil
		mu.Unlock()
		if h != nil {
			close(hd)
			<-h
		}
		return &troupe.Envelope{Name: "principal", Payload: []byte(`{"id":"` + strings.TrimSuffix(tok, "-token") + `"}`)}, nil
	})
	a := &BusAuthenticator{Bus: req, Message: "who", CacheFor: time.Hour}
	auth := func(tok string) {
		t.Helper()
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		p, err := a.Authenticate(context.Background(), r)
		if want := strings.TrimSuffix(tok, "-token"); err != nil || p == nil || p.ID != want {
			t.Fatalf("Authenticate(%s) = %+v, %v, want %s", tok, p, err, want)
		}
	}
	want := func(when string, ann, bob int) {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		if asked["ann-token"] != ann || asked["bob-token"] != bob {
			t.Errorf("%s: asked about ann %d and bob %d times, want %d and %d", when, asked["ann-token"], asked["bob-token"], ann, bob)
		}
	}
	auth("ann-token")
	auth("bob-token")
	auth("ann-token")
	want("cached", 1, 1)

	a.Revoked(json.RawMessage(`{"user":"ann"}`))
	auth("ann-token")
	auth("bob-token")
	want("after ann's revocation", 2, 1)

	a.Revoked(json.RawMessage(`{"kind":"no user"}`))
	auth("ann-token")
	auth("bob-token")
	want("after a revocation without a user", 3, 2)
	a.Revoked(json.RawMessage(`not json`))
	auth("bob-token")
	want("after a revocation that is not JSON", 3, 3)

	a.Revoke("")
	mu.Lock()
	hold, holding = make(chan struct{}), make(chan struct{})
	h, hd := hold, holding
	mu.Unlock()
	done := make(chan struct{})
	var crossed error
	go func() {
		defer close(done)
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer ann-token")
		_, crossed = a.Authenticate(context.Background(), r)
	}()
	<-hd // the answer is on its way
	a.Revoke("ann")
	close(h)
	<-done
	if crossed != nil {
		t.Fatalf("the answer that crossed a revocation: %v, want ann", crossed)
	}
	auth("ann-token")
	want("after an answer that crossed a revocation", 5, 3)
}

type requesterFunc func(ctx context.Context, name string, payload any) (*troupe.Envelope, error)

func (f requesterFunc) Request(ctx context.Context, name string, payload any) (*troupe.Envelope, error) {
	return f(ctx, name, payload)
}

// TestProtectFront: a handler served beside the gateway (pages) is behind
// the same protection.
func TestProtectFront(t *testing.T) {
	g := newGateway(t, Config{AllowedHosts: []string{"todo.example"}, TrustedOrigins: []string{"https://admin.example"}})
	pages := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	s, err := Listen(g, ServerConfig{Addr: "127.0.0.1:0", Handler: pages})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	c := newClient(t)
	for _, tt := range []struct {
		name, method, host string
		header             map[string]string
		want               int
	}{
		{"by address", "POST", "", nil, 204},
		{"an allowed host", "POST", "todo.example", nil, 204},
		{"a rebound name", "GET", "evil.example", nil, 421},
		{"same origin", "POST", "todo.example", map[string]string{"Origin": "http://todo.example", "Sec-Fetch-Site": "same-origin"}, 204},
		{"another site", "POST", "todo.example", map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, 403},
		{"a trusted origin", "POST", "todo.example", map[string]string{"Origin": "https://admin.example", "Sec-Fetch-Site": "cross-site"}, 204},
		{"a WebSocket from another site", "GET", "todo.example", map[string]string{"Upgrade": "websocket", "Origin": "https://evil.example"}, 403},
		{"a WebSocket from the same origin", "GET", "todo.example", map[string]string{"Upgrade": "websocket", "Origin": "http://todo.example"}, 204},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := http.NewRequest(tt.method, s.URL()+"page", nil)
			if tt.host != "" {
				r.Host = tt.host
			}
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			resp, err := c.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
}

// TestStrictInput: members a message's schema does not declare, lone
// surrogates and invalid UTF-8 are refused with 400, whatever the route.
func TestStrictInput(t *testing.T) {
	app := testApp()
	app.Messages = []troupe.MessageDecl{
		{Name: "todo.put", Payload: json.RawMessage(`{"type":"object","properties":{"id":{},"title":{},"done":{}}}`)},
		{Name: "Hello", Payload: json.RawMessage(`{"type":"object","properties":{"name":{}}}`)},
	}
	g := newGateway(t, Config{App: app})
	tests := []struct {
		name, method, target, body string
		want                       int
		wantMsg                    string
	}{
		{"declared fields", "PUT", "/api/todos/7", `{"title":"milk","done":true}`, 200, ""},
		{"an unknown body field", "PUT", "/api/todos/7", `{"title":"milk","colour":"red"}`, 400, `unknown field "colour": todo.put takes done, id, title`},
		{"an unknown query field", "PUT", "/api/todos/7?colour=red", `{}`, 400, `unknown field "colour": todo.put takes done, id, title`},
		{"an unknown protocol field", "POST", "/", `{"type":"Hello","nmae":"Ada"}`, 400, `unknown field "nmae": Hello takes name`},
		{"a lone surrogate", "PUT", "/api/todos/7", `{"title":"\ud800"}`, 400, `body: a lone surrogate \uD800 (half of a UTF-16 pair) is not a character`},
		{"a lone low surrogate", "POST", "/", `{"type":"Hello","name":"a\udfffb"}`, 400, `body: a lone surrogate \uDFFF (half of a UTF-16 pair) is not a character`},
		{"a surrogate pair", "PUT", "/api/todos/7", `{"title":"\ud83d\ude00"}`, 200, ""},
		{"invalid UTF-8", "PUT", "/api/todos/7", "{\"title\":\"\xc3\x28\"}", 400, "body is not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			r.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			g.ServeHTTP(w, r)
			var got struct{ Msg string }
			_ = json.Unmarshal(w.Body.Bytes(), &got)
			if w.Code != tt.want || got.Msg != tt.wantMsg {
				t.Errorf("%d %q, want %d %q", w.Code, got.Msg, tt.want, tt.wantMsg)
			}
			if strings.Contains(w.Body.String(), "Go ") || strings.Contains(w.Body.String(), "struct") {
				t.Errorf("body %s names Go types", w.Body)
			}
		})
	}
}
