package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/service"
)

type SignUp struct {
	Email string `json:"email"`
	Name  string `json:"name,omitempty"`
}

type Account struct {
	ID    int    `json:"id"`
	Email string `json:"email"`
}

// The declarations both sides share.
var (
	create  = service.Endpoint[SignUp, Account]{Name: "account.create", Reply: "account"}
	created = service.Event[Account]{Name: "account.created"}
)

// accounts is a manifest with schemas for the endpoints above.
func accounts() *troupe.App {
	return &troupe.App{
		Name: "accounts",
		Services: []troupe.ServiceDecl{
			{Name: "users", Receives: []string{"account.create"}, Sends: []string{"account.created"}},
			{Name: "web", Sends: []string{"account.create"}, Receives: []string{"account.created"}},
		},
		Schemas: []troupe.SchemaDecl{
			{Name: "Account", Schema: json.RawMessage(`{"type":"object","required":["id","email"],"properties":{"id":{"type":"integer"},"email":{"type":"string"}}}`)},
		},
		Messages: []troupe.MessageDecl{
			{Name: "account.create", Replies: []string{"account"}, Payload: json.RawMessage(`{"type":"object","required":["email"],"properties":{"email":{"type":"string"},"name":{"type":"string"}}}`)},
			{Name: "account", Payload: json.RawMessage(`{"$ref":"#/schemas/Account"}`)},
			{Name: "account.created", Payload: json.RawMessage(`{"$ref":"#/schemas/Account"}`)},
		},
	}
}

func TestEndpoint(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	b, err := bus.New(bus.Config{App: accounts(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	sys := actor.NewSystem(actor.Config{Logger: quiet})
	ctx := context.Background()
	defer sys.Shutdown(ctx)
	defer b.Close(ctx)

	users := service.New(service.Config{Name: "users"})
	users.Sends(created)
	if err := create.Handle(users, func(ctx context.Context, req SignUp) (Account, error) {
		a := Account{ID: 1, Email: req.Email}
		return a, created.Publish(ctx, users, a)
	}); err != nil {
		t.Fatal(err)
	}
	web := service.New(service.Config{Name: "web"})
	web.Sends(create)
	events := make(chan Account, 1)
	if err := created.On(web, func(_ context.Context, a Account) error { events <- a; return nil }); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*service.Service{users, web} {
		if err := s.Start(ctx, b, sys); err != nil {
			t.Fatal(err)
		}
		defer s.Stop(ctx)
	}
	got, err := create.Call(ctx, web, SignUp{Email: "a@b"})
	if err != nil || got != (Account{ID: 1, Email: "a@b"}) {
		t.Fatalf("Call = %+v, %v", got, err)
	}
	if a := <-events; a.ID != 1 {
		t.Errorf("event %+v", a)
	}
	all, err := create.Collect(ctx, web, SignUp{Email: "c@d"})
	if err != nil || len(all) != 1 {
		t.Errorf("Collect = %v, %v", all, err)
	}
	<-events
	// The bus checks the payload against the manifest's schema.
	if _, err := (service.Endpoint[map[string]int, Account]{Name: "account.create", Reply: "account"}).Call(ctx, web, map[string]int{"email": 1}); !errors.Is(err, troupe.ErrBadRequest) {
		t.Errorf("Call with a payload the schema refuses = %v, want bad_request", err)
	}
	// A caller that expects another reply name gets an internal error.
	wrong := service.Endpoint[SignUp, Account]{Name: "account.create", Reply: "user"}
	if _, err := wrong.Call(ctx, web, SignUp{Email: "e@f"}); troupe.CodeOf(err) != troupe.CodeInternal {
		t.Errorf("Call expecting another reply = %v, want internal", err)
	}
	<-events
}

type BadSignUp struct {
	Email int    `json:"email"`
	Extra string `json:"extra"`
}

type BadAccount struct {
	ID    string `json:"id,omitempty"`
	Email string `json:"email"`
}

// TestStartChecksTheManifest checks that a service whose Go types or names
// disagree with the manifest does not start, and says why.
func TestStartChecksTheManifest(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	b, err := bus.New(bus.Config{App: accounts(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	sys := actor.NewSystem(actor.Config{Logger: quiet})
	ctx := context.Background()
	defer sys.Shutdown(ctx)
	defer b.Close(ctx)

	users := service.New(service.Config{Name: "users"})
	bad := service.Endpoint[BadSignUp, BadAccount]{Name: "account.create", Reply: "profile"}
	if err := bad.Handle(users, func(context.Context, BadSignUp) (BadAccount, error) { return BadAccount{}, nil }); err != nil {
		t.Fatal(err)
	}
	users.Sends(service.Event[SignUp]{Name: "account.deleted"})
	err = users.Start(ctx, b, sys)
	if err == nil {
		_ = users.Stop(ctx)
		t.Fatal("Start succeeded")
	}
	for _, want := range []string{
		`endpoint "account.create": request type service_test.BadSignUp and the payload schema disagree at /email: the schema says string, Go type int is integer`,
		`Go field BadSignUp.Extra ("extra") is not a property of the schema`,
		`the schema has property "name", Go type service_test.BadSignUp has no field for it`,
		`reply "profile" is not one of the replies the manifest declares, [account]`,
		`event "account.deleted": the manifest does not list it in the service's sends`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Start error lacks %q:\n%v", want, err)
		}
	}
	if users.Client() != nil {
		t.Error("a service that failed its check joined the bus")
	}
	// The reply type is checked too, under a declared reply name.
	s2 := service.New(service.Config{Name: "users"})
	_ = service.Endpoint[SignUp, BadAccount]{Name: "account.create", Reply: "account"}.Handle(s2, func(context.Context, SignUp) (BadAccount, error) { return BadAccount{}, nil })
	err = s2.Check(accounts())
	for _, want := range []string{
		`reply type service_test.BadAccount and the schema of "account" disagree at /id: the schema says integer, Go type string is string`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check = %v, want %q", err, want)
		}
	}
}

// Typed endpoints: one declaration for both sides, checked against the
// manifest when the services start.
func ExampleEndpoint() {
	type Hello struct {
		Name string `json:"name"`
	}
	type World struct {
		Greeting string `json:"greeting"`
	}
	greet := service.Endpoint[Hello, World]{Name: "Hello", Reply: "World"}

	app := &troupe.App{
		Name: "example",
		Services: []troupe.ServiceDecl{
			{Name: "hello", Receives: []string{"Hello"}},
			{Name: "client", Sends: []string{"Hello"}},
		},
		Messages: []troupe.MessageDecl{
			{Name: "Hello", Replies: []string{"World"}, Payload: json.RawMessage(`{"type":"object","properties":{"name":{"type":"string"}}}`)},
			{Name: "World", Payload: json.RawMessage(`{"type":"object","properties":{"greeting":{"type":"string"}}}`)},
		},
	}
	ctx := context.Background()
	b, _ := bus.New(bus.Config{App: app})
	sys := actor.NewSystem(actor.Config{})

	hello := service.New(service.Config{Name: "hello"})
	_ = greet.Handle(hello, func(ctx context.Context, h Hello) (World, error) {
		return World{Greeting: "Hello, " + h.Name + "!"}, nil
	})
	client := service.New(service.Config{Name: "client"})
	client.Sends(greet)
	for _, s := range []*service.Service{hello, client} {
		if err := s.Start(ctx, b, sys); err != nil {
			fmt.Println(err)
			return
		}
	}
	w, err := greet.Call(ctx, client, Hello{Name: "troupe"})
	fmt.Println(w.Greeting, err)

	_ = client.Stop(ctx)
	_ = hello.Stop(ctx)
	_ = b.Close(ctx)
	_ = sys.Shutdown(ctx)
	// Output: Hello, troupe! <nil>
}

// TestCheckTranslates checks a generic service's endpoints under the
// application's names its manifest translates them to.
func TestCheckTranslates(t *testing.T) {
	app := accounts()
	app.Services = append(app.Services, troupe.ServiceDecl{
		Name: "generic", Receives: []string{"account.create"},
		Translate: []troupe.Translation{{Local: "user.create", App: "account.create"}, {Local: "user", App: "account"}},
	})
	s := service.New(service.Config{Name: "generic"})
	ep := service.Endpoint[SignUp, Account]{Name: "user.create", Reply: "user"}
	if err := ep.Handle(s, func(context.Context, SignUp) (Account, error) { return Account{}, nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(app); err != nil {
		t.Errorf("Check under translation: %v", err)
	}
	s2 := service.New(service.Config{Name: "generic"})
	_ = service.Endpoint[SignUp, Account]{Name: "user.remove", Reply: "user"}.Handle(s2, func(context.Context, SignUp) (Account, error) { return Account{}, nil })
	if err := s2.Check(app); err == nil || !strings.Contains(err.Error(), `endpoint "user.remove": the manifest does not list it in the service's receives`) {
		t.Errorf("Check of an untranslated name = %v", err)
	}
}
