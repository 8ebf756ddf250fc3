package bustest

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
)

// wantBadRequest fails t unless err is a bad_request *troupe.Error whose
// message holds every part.
func wantBadRequest(t *testing.T, what string, err error, parts ...string) {
	t.Helper()
	var te *troupe.Error
	if !errors.As(err, &te) || te.Code != troupe.CodeBadRequest {
		t.Errorf("%s = %v, want a bad_request *troupe.Error", what, err)
		return
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("%s = %v, want it to name %q", what, err, p)
		}
	}
}

// schemas checks payload validation against the App's schemas, on the
// sending and the receiving side, for requests, sends and replies.
func (s *suite) schemas(t *testing.T) {
	f := s.setup(t, bus.Config{})
	got := make(chan *bus.Msg, 10)
	g := f.join("greeter", "g1")
	for _, n := range []string{"signup", "signup.note", "tick"} {
		f.handle(g, n, func(ctx context.Context, m *bus.Msg) { got <- m })
	}
	w := f.join("web", "web1")
	ctx := ctxTimeout(t, Patience)

	t.Run("Valid", func(t *testing.T) {
		go func() {
			m := receive(t, got, "the signup")
			_ = m.Reply(ctx, "welcome", map[string]int{"user": 7})
		}()
		reply, err := w.Request(ctx, "signup", map[string]string{"email": "a@b", "name": "A"})
		if err != nil || reply.Name != "welcome" {
			t.Fatalf("Request = %v, %v; want the welcome", reply, err)
		}
	})
	t.Run("SenderSide", func(t *testing.T) {
		before := f.b.Stats().Messages["signup"].Refusals
		for _, tt := range []struct {
			payload any
			parts   []string
		}{
			{map[string]any{"email": 5}, []string{`request "signup"`, "at /email: got number, want string"}},
			{map[string]any{"name": "A"}, []string{"missing property 'email'"}},
			{map[string]any{"email": "nobody"}, []string{"at /email", "does not match pattern"}},
			{nil, []string{"got null, want object"}},
		} {
			_, err := w.Request(ctx, "signup", tt.payload)
			wantBadRequest(t, "Request", err, tt.parts...)
			var te *troupe.Error
			if errors.As(err, &te) && !errors.Is(err, troupe.ErrBadRequest) {
				t.Errorf("errors.Is(%v, ErrBadRequest) = false", err)
			}
		}
		wantBadRequest(t, "Send", w.Send(ctx, "signup.note", "far too long a note"), `send "signup.note"`, "maxLength")
		_, err := w.Call(ctx, "signup", 5)
		wantBadRequest(t, "Call", err)
		silent(t, got, "delivery of an invalid payload")
		if got, want := f.b.Stats().Messages["signup"].Refusals, before+5; got != want {
			t.Errorf("signup refusals = %d, want %d", got, want)
		}
	})
	t.Run("ValidationOff", func(t *testing.T) {
		if err := w.Send(ctx, "tick", "not an integer"); err != nil {
			t.Fatalf("Send of an unchecked name: %v", err)
		}
		receive(t, got, "the tick")
	})
	t.Run("Replies", func(t *testing.T) {
		replyErrs := make(chan []error, 1)
		go func() {
			m := receive(t, got, "the signup")
			errs := []error{
				m.Reply(ctx, "welcome", map[string]string{"user": "seven"}),
				m.Reply(ctx, "hello", map[string]int{"user": 7}),
			}
			_ = m.Reply(ctx, "welcome", map[string]int{"user": 7})
			replyErrs <- errs
		}()
		reply, err := w.Request(ctx, "signup", map[string]string{"email": "a@b"})
		if err != nil || reply.Name != "welcome" {
			t.Fatalf("Request = %v, %v; want the valid reply", reply, err)
		}
		errs := receive(t, replyErrs, "the replier's errors")
		wantBadRequest(t, "Reply with a bad payload", errs[0], `reply "welcome" to "signup"`, "at /user: got string, want integer")
		wantBadRequest(t, "Reply with an undeclared name", errs[1], `reply "hello"`, "declares the replies [welcome]")
	})
	t.Run("ReceivingSide", func(t *testing.T) {
		// A process that skips its own bus's check: the receiving bus
		// refuses the envelope, answers the request with bad_request,
		// and the handler never sees it.
		replies := make(chan *troupe.Envelope, 1)
		p := f.raw("web", "raw1", bus.DelivererFunc(func(env *troupe.Envelope, _ bus.Acker) { replies <- env }))
		before := f.b.Stats().Services["greeter"].Refusals
		req := &troupe.Envelope{
			Kind: troupe.KindRequest, Name: "signup", ID: troupe.NewID(),
			Sender: troupe.Member{Service: "web", Instance: "raw1"}, SentAt: time.Now(), Deadline: time.Now().Add(Patience),
			Payload: json.RawMessage(`{"email":["a@b"]}`),
		}
		req.ActivityID = req.ID
		if err := p.Route(ctx, req); err != nil {
			t.Fatalf("raw Route: %v", err)
		}
		reply := receive(t, replies, "the Error reply")
		wantBadRequest(t, "the reply", reply.Err(), "at /email: got array, want string")
		silent(t, got, "delivery of an invalid payload")
		if got := f.b.Stats().Services["greeter"].Refusals; got != before+1 {
			t.Errorf("greeter refusals = %d, want %d", got, before+1)
		}
	})
	t.Run("RepliesReceived", func(t *testing.T) {
		// A replier that skips its own bus's check: the requester's bus
		// turns its reply into a bad_request Error.
		p := f.raw("greeter", "raw2", nil)
		ch := make(chan *troupe.Envelope, 1)
		if err := p.Subscribe("signup", bus.OneInstance, bus.DelivererFunc(func(env *troupe.Envelope, _ bus.Acker) { ch <- env })); err != nil {
			t.Fatalf("raw Subscribe: %v", err)
		}
		// g1 competes with raw2 for signup: close it so that raw2 gets it.
		if err := g.Close(); err != nil {
			t.Fatal(err)
		}
		go func() {
			req := receive(t, ch, "the signup at the raw replier")
			reply := &troupe.Envelope{
				Kind: troupe.KindReply, Name: "welcome", ID: troupe.NewID(), ActivityID: req.ActivityID, ResponseTo: req.ID,
				Sender: troupe.Member{Service: "greeter", Instance: "raw2"}, SentAt: time.Now(), Deadline: req.Deadline,
				Payload: json.RawMessage(`{"user":"seven"}`),
			}
			if err := p.Reply(ctx, req.Sender, reply); err != nil {
				t.Errorf("raw Reply: %v", err)
			}
		}()
		_, err := w.Request(ctx, "signup", map[string]string{"email": "a@b"})
		wantBadRequest(t, "Request answered with an invalid reply", err, `reply "welcome" to "signup"`, "at /user: got string, want integer")
	})
	t.Run("Durable", func(t *testing.T) {
		wk := f.join("worker", "w1")
		done := make(chan *bus.Msg, 1)
		f.handle(wk, "durable.signup", func(ctx context.Context, m *bus.Msg) { m.Done(nil); done <- m })
		wantBadRequest(t, "Send durable", w.Send(ctx, "durable.signup", map[string]string{}), "missing property 'email'")
		if err := w.Send(ctx, "durable.signup", map[string]string{"email": "a@b"}); err != nil {
			t.Fatalf("Send durable: %v", err)
		}
		receive(t, done, "the durable signup")
	})
}

// records collects log records, safe for concurrent use.
type records struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	r.recs = append(r.recs, rec.Clone())
	r.mu.Unlock()
	return nil
}
func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *records) WithGroup(string) slog.Handler      { return r }

// find returns the attributes of the first record whose message holds msg.
func (r *records) find(msg string) map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range r.recs {
		if strings.Contains(rec.Message, msg) {
			attrs := map[string]string{}
			rec.Attrs(func(a slog.Attr) bool { attrs[a.Key] = a.Value.String(); return true })
			return attrs
		}
	}
	return nil
}

// translation checks ExoCom's message translation: a service whose code
// uses its own names, declared under the application's.
func (s *suite) translation(t *testing.T) {
	logs := &records{}
	f := s.setup(t, bus.Config{Logger: slog.New(logs)})
	u := f.join("users", "u1")
	seen := make(chan *troupe.Envelope, 1)
	// The generic code: its own names only.
	f.handle(u, "user.create", func(ctx context.Context, m *bus.Msg) {
		seen <- m.Env
		if err := u.Publish(ctx, "user.created", map[string]string{"email": "a@b"}); err != nil {
			t.Errorf("Publish(user.created): %v", err)
		}
		_ = m.Reply(ctx, "user", map[string]int{"id": 1})
	})
	a := f.join("audit", "a1")
	created := make(chan *troupe.Envelope, 1)
	f.handle(a, "account.created", func(ctx context.Context, m *bus.Msg) { created <- m.Env })
	w := f.join("web", "web1")
	ctx := ctxTimeout(t, Patience)

	reply, err := w.Request(ctx, "account.create", map[string]string{"email": "a@b"})
	if err != nil {
		t.Fatalf("Request(account.create): %v", err)
	}
	if reply.Name != "account" {
		t.Errorf("the app sees the reply %q, want account", reply.Name)
	}
	if env := receive(t, seen, "the request at users"); env.Name != "user.create" {
		t.Errorf("the users code sees %q, want user.create", env.Name)
	}
	if env := receive(t, created, "the event at audit"); env.Name != "account.created" {
		t.Errorf("audit sees %q, want account.created", env.Name)
	}

	st := f.b.Stats()
	if n := st.Messages["account.create"].Received; n != 1 {
		t.Errorf("account.create received = %d, want 1", n)
	}
	if _, ok := st.Messages["user.create"]; ok {
		t.Error("stats count under the code's name user.create")
	}
	if got := st.Translated["account.create"]; !slices.Equal(got, []string{"users/user.create"}) {
		t.Errorf("Stats.Translated[account.create] = %v, want [users/user.create]", got)
	}

	// The schema is the application's name's, checked where the code's
	// name is used.
	_, err = w.Request(ctx, "account.create", map[string]string{"name": "A"})
	wantBadRequest(t, "Request(account.create) with a bad payload", err)

	// A refusal names both.
	err = u.Handle("user.delete", bus.HandlerFunc(func(context.Context, *bus.Msg) {}))
	if !errors.Is(err, troupe.ErrForbidden) || !strings.Contains(err.Error(), `"user.delete" (account.delete)`) {
		t.Errorf("Handle(user.delete) = %v, want forbidden naming both names", err)
	}
	attrs := logs.find("handle an undeclared name")
	if attrs["name"] != "account.delete" || attrs["local"] != "user.delete" {
		t.Errorf("refusal log attributes %v, want name=account.delete local=user.delete", attrs)
	}
}
