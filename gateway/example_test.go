package gateway_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/gateway"
)

// Seed 001's hello service behind the gateway: the service answers Hello
// with World on the bus, and the gateway speaks the HTTP protocol for it.
func Example() {
	ctx := context.Background()
	app := &troupe.App{
		Name:     "hello",
		Services: []troupe.ServiceDecl{{Name: "hello", Receives: []string{"Hello"}}},
		Routes:   []troupe.Route{{Path: "/", Types: []string{"Hello"}}},
	}
	b, err := bus.New(bus.Config{App: app, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close(ctx)
	svc, _ := b.Join(ctx, "hello", "h1")
	_ = svc.Handle("Hello", bus.HandlerFunc(func(ctx context.Context, m *bus.Msg) {
		_ = m.Reply(ctx, "World", nil)
	}))
	client, _ := b.Join(ctx, troupe.GatewayService, "g1")

	g, err := gateway.New(gateway.Config{App: app, Bus: client, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, body := range []string{`{"type": "Hello"}`, `{"type": "Wrong"}`, `{"type": "Hello"`} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("POST", "http://localhost/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		g.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Body.String())
	}
	// Output:
	// 200 {"type":"World"}
	// 400 {"type":"Error","msg":"unknown type \"Wrong\" at /","code":"bad_request"}
	// 400 {"type":"Error","msg":"invalid JSON: unexpected end of JSON input","code":"bad_request"}
}

// A REST route maps a method and a path to a message; path parameters,
// query parameters and the body's members make the payload.
func Example_rest() {
	ctx := context.Background()
	app := &troupe.App{
		Name:     "todo",
		Services: []troupe.ServiceDecl{{Name: "todo", Receives: []string{"todo.get"}}},
		Routes:   []troupe.Route{{Method: "GET", Path: "/api/todos/{id}", Message: "todo.get"}},
	}
	b, _ := bus.New(bus.Config{App: app, Logger: slog.New(slog.DiscardHandler)})
	defer b.Close(ctx)
	svc, _ := b.Join(ctx, "todo", "t1")
	_ = svc.Handle("todo.get", bus.HandlerFunc(func(ctx context.Context, m *bus.Msg) {
		fmt.Println("todo.get", string(m.Env.Payload))
		_ = m.Reply(ctx, "todo", map[string]any{"id": 42, "title": "milk"})
	}))
	client, _ := b.Join(ctx, troupe.GatewayService, "g1")
	g, _ := gateway.New(gateway.Config{App: app, Bus: client, Logger: slog.New(slog.DiscardHandler)})

	w := httptest.NewRecorder()
	g.ServeHTTP(w, httptest.NewRequest("GET", "http://localhost/api/todos/42?full=yes", nil))
	fmt.Println(w.Code, w.Body.String())
	// Output:
	// todo.get {"id":"42","full":"yes"}
	// 200 {"type":"todo","id":42,"title":"milk"}
}

// DecodeRequest splits a protocol request into its type and the payload the
// bus carries, and refuses what it cannot read unambiguously.
func ExampleDecodeRequest() {
	typ, payload, err := gateway.DecodeRequest([]byte(`{"type": "Hello", "name": "Ada"}`), 0)
	fmt.Println(typ, string(payload), err)
	_, _, err = gateway.DecodeRequest([]byte(`{"type": "Hello", "type": "Wrong"}`), 0)
	fmt.Println(err)
	// Output:
	// Hello {"name": "Ada"} <nil>
	// duplicate key "type"
}

// StatusOf is the one table from error codes to HTTP statuses.
func ExampleStatusOf() {
	for _, c := range []troupe.Code{troupe.CodeBadRequest, troupe.CodeTimeout, troupe.CodeInternal} {
		fmt.Println(c, gateway.StatusOf(c))
	}
	// Output:
	// bad_request 400
	// timeout 504
	// internal 500
}
