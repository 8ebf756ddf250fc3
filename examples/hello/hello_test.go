package hello_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/examples/hello"
	"github.com/troupe-go/troupe/manifest"
	"github.com/troupe-go/troupe/service"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var app = &troupe.App{
	Name: "hello-test",
	Services: []troupe.ServiceDecl{
		{Name: "hello", Receives: []string{"Hello", "hello"}},
		{Name: "client", Sends: []string{"Hello", "hello"}},
	},
}

func run(t *testing.T, opt hello.Options) *bus.Client {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	b, err := bus.New(bus.Config{App: app, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	sys := actor.NewSystem(actor.Config{Logger: quiet})
	s, err := hello.New(service.Config{}, opt)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Start(ctx, b, sys); err != nil {
		t.Fatal(err)
	}
	c, err := b.Join(ctx, "client", "client-1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.Stop(ctx)
		_ = b.Close(ctx)
		_ = sys.Shutdown(ctx)
	})
	return c
}

func TestHelloWorld(t *testing.T) {
	c := run(t, hello.Options{})
	for _, tt := range []struct{ send, want string }{
		{"Hello", "World"}, // seed 001's spec
		{"hello", "world"}, // seed 001's livebook experiment
	} {
		env, err := c.Request(context.Background(), tt.send, nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.send, err)
		}
		if env.Name != tt.want {
			t.Errorf("%s: reply %q, want %q", tt.send, env.Name, tt.want)
		}
	}
}

func TestPanicRateIsExact(t *testing.T) {
	c := run(t, hello.Options{PanicRate: 0.1})
	var worlds, crashes int
	for i := 0; i < 100; i++ {
		env, err := c.Request(context.Background(), "Hello", nil)
		var te *troupe.Error
		switch {
		case err == nil && env.Name == "World":
			worlds++
		case errors.As(err, &te) && te.Code == troupe.CodeInternal && te.Incident != "":
			crashes++
		default:
			t.Fatalf("request %d: %v %v", i, env, err)
		}
	}
	if worlds != 90 || crashes != 10 {
		t.Errorf("worlds %d, crashes %d; want 90 and 10", worlds, crashes)
	}
}

func TestBadPanicRate(t *testing.T) {
	for _, rate := range []float64{-0.1, 1.5} {
		if _, err := hello.New(service.Config{}, hello.Options{PanicRate: rate}); err == nil {
			t.Errorf("rate %v accepted", rate)
		}
	}
}

// TestGoTypesMatchTheManifest checks the service's typed endpoints against
// the repository's troupe.yaml (the demo, which runs it), and against a
// manifest that gives Hello and World schemas: the check service.Start runs.
func TestGoTypesMatchTheManifest(t *testing.T) {
	demo, err := manifest.Load(filepath.Join("..", "..", "troupe.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := hello.New(service.Config{}, hello.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(demo); err != nil {
		t.Error(err)
	}
	withSchemas, err := manifest.Parse("hello.yaml", []byte(`
app: hello
messages:
  Hello: {payload: {type: object, properties: {}}, replies: [World]}
  hello: {payload: {type: object}, replies: [world]}
  World: {payload: {type: object, properties: {}}}
  world: {payload: {type: object}}
services:
  hello:
    receives: [Hello, hello]
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(withSchemas); err != nil {
		t.Error(err)
	}
	// A manifest that wants a field Hello does not have is refused.
	wrong := *withSchemas
	wrong.Messages = append([]troupe.MessageDecl(nil), withSchemas.Messages...)
	wrong.Messages[0].Payload = []byte(`{"type":"object","required":["name"],"properties":{"name":{"type":"string"}}}`)
	if err := s.Check(&wrong); err == nil || !strings.Contains(err.Error(), `the schema has property "name"`) {
		t.Errorf("Check against a Hello with a name = %v", err)
	}
}
