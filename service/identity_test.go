package service_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/service"
)

// accountsApp: an edge (front) logs users in at accounts, whose login
// message holds a password that no crash report may show.
var accountsApp = &troupe.App{
	Name: "accounts",
	Services: []troupe.ServiceDecl{
		{Name: "front", Edge: true, Sends: []string{"login", "whoami"}},
		{Name: "accounts", Receives: []string{"login", "whoami"}},
	},
	Messages: []troupe.MessageDecl{{Name: "login", Sensitive: []string{"password"}}},
}

type login struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

func startAccounts(t *testing.T) (*bus.Client, *records) {
	t.Helper()
	logs := &records{}
	b, err := bus.New(bus.Config{App: accountsApp, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	sys := actor.NewSystem(actor.Config{Logger: slog.New(logs)})
	s := service.New(service.Config{Name: "accounts", Instance: "accounts-1"})
	if err := service.Handle(s, "login", "welcome", func(ctx context.Context, l login) (struct{}, error) {
		panic("the password database is gone")
	}); err != nil {
		t.Fatal(err)
	}
	if err := service.Handle(s, "whoami", "you", func(ctx context.Context, _ struct{}) (string, error) {
		p, err := service.Principal(ctx)
		if err != nil {
			return "", err
		}
		return p.ID, nil
	}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Start(ctx, b, sys); err != nil {
		t.Fatal(err)
	}
	front, err := b.Join(ctx, "front", "front-1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Stop(ctx)
		_ = b.Close(ctx)
		_ = sys.Shutdown(ctx)
	})
	return front, logs
}

// TestCrashReportRedacts: the crash report of a handler that panicked on a
// login names the message and its user but not the password.
func TestCrashReportRedacts(t *testing.T) {
	front, logs := startAccounts(t)
	ctx := troupe.WithPrincipal(context.Background(), &troupe.Principal{ID: "u-7"})
	_, err := front.Request(ctx, "login", login{Name: "ann", Password: "hunter2"})
	if !errors.Is(err, troupe.ErrInternal) {
		t.Fatalf("login = %v, want internal", err)
	}
	reports := logs.crashes()
	if len(reports) != 1 {
		t.Fatalf("%d crash reports, want 1", len(reports))
	}
	msg := reports[0]["message"]
	if strings.Contains(msg, "hunter2") || !strings.Contains(msg, `"password":"[redacted]"`) || !strings.Contains(msg, `"name":"ann"`) {
		t.Errorf("crash report message %q: want the password redacted and the rest shown", msg)
	}
	if !strings.Contains(msg, "for user u-7") {
		t.Errorf("crash report message %q does not name the user", msg)
	}
}

func TestPrincipal(t *testing.T) {
	front, _ := startAccounts(t)
	ctx := context.Background()
	if _, err := front.Request(ctx, "whoami", nil); !errors.Is(err, troupe.ErrForbidden) {
		t.Errorf("whoami without a principal = %v, want forbidden", err)
	}
	rep, err := front.Request(troupe.WithPrincipal(ctx, &troupe.Principal{ID: "u-8"}), "whoami", nil)
	if err != nil || string(rep.Payload) != `"u-8"` {
		t.Errorf("whoami for u-8 = %v %v, want \"u-8\"", rep, err)
	}
}

// TestStrictDecoding: a payload whose field has the wrong type, or that
// holds a lone surrogate, is refused with a message that names the field
// and no Go type.
func TestStrictDecoding(t *testing.T) {
	f := start(t, greet)
	for _, tt := range []struct {
		payload any
		want    string
	}{
		{map[string]any{"name": 42}, "Hello: payload: name: got a number, want a string"},
		{[]byte(`{"name":"\ud800"}`), `Hello: payload: a lone surrogate \uD800 (half of a UTF-16 pair) is not a character`},
		{[]int{1}, "Hello: payload: got an array, want an object"},
	} {
		_, err := f.caller.Request(context.Background(), "Hello", tt.payload)
		var te *troupe.Error
		if !errors.As(err, &te) || te.Code != troupe.CodeBadRequest || te.Msg != tt.want {
			t.Errorf("Request(%v) = %v, want bad_request %q", tt.payload, err, tt.want)
		}
	}
}
