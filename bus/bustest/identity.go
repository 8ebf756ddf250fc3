package bustest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
)

// identity checks who a receiver believes sent a message (docs/bus.md,
// "Identity"): the authenticated service, never the one an envelope claims;
// a principal only from an edge; a message that needs a principal refused
// without one, and every refused request answered at once.
func (s *suite) identity(t *testing.T) {
	ann := &troupe.Principal{ID: "u-1", Name: "ann", Roles: []string{"staff"}}
	bob := &troupe.Principal{ID: "u-2", Name: "bob"}
	// rawInbox joins a raw member whose replies arrive on the channel.
	rawInbox := func(f *fixture, service, instance string) (bus.Port, troupe.Member, chan *troupe.Envelope) {
		got := make(chan *troupe.Envelope, 16)
		p := f.raw(service, instance, bus.DelivererFunc(func(env *troupe.Envelope, _ bus.Acker) { got <- env }))
		return p, troupe.Member{Service: service, Instance: instance}, got
	}
	rawRequest := func(from troupe.Member, name string, principal *troupe.Principal) *troupe.Envelope {
		env := &troupe.Envelope{
			Kind: troupe.KindRequest, Name: name, ID: troupe.NewID(), Sender: from,
			SentAt: time.Now(), Deadline: time.Now().Add(Patience), Principal: principal,
		}
		env.ActivityID = env.ID
		return env
	}
	// refusedWith waits for the answer to a raw request: an Error reply
	// with code, well before the request's deadline.
	refusedWith := func(t *testing.T, got chan *troupe.Envelope, req *troupe.Envelope, code troupe.Code) {
		t.Helper()
		rep := receive(t, got, "the Error reply to a refused request")
		if rep.ResponseTo != req.ID {
			t.Fatalf("reply to %s, want to %s", rep.ResponseTo, req.ID)
		}
		if e := rep.Err(); e == nil || e.Code != code {
			t.Errorf("reply %s %s, want an Error with code %s", rep.Name, rep.Payload, code)
		}
	}

	t.Run("PrincipalFromAnEdge", func(t *testing.T) {
		f := s.setup(t, bus.Config{})
		id := f.join("ident", "i1")
		seen := make(chan *troupe.Principal, 2)
		f.handle(id, "whoami", func(ctx context.Context, m *bus.Msg) {
			seen <- troupe.PrincipalFrom(ctx)
			_ = m.Reply(ctx, "you", m.Env.Principal.ID)
		})
		front := f.join("front", "f1")
		rep, err := front.Request(troupe.WithPrincipal(context.Background(), ann), "whoami", nil)
		if err != nil {
			t.Fatalf("Request for ann: %v", err)
		}
		if got := payloadString(t, rep); got != ann.ID {
			t.Errorf("reply %q, want %q", got, ann.ID)
		}
		p := receive(t, seen, "the handler")
		if p == nil || p.ID != ann.ID || p.Name != ann.Name || !p.HasRole("staff") {
			t.Errorf("the handler's principal = %+v, want %+v", p, ann)
		}
	})
	t.Run("PrincipalRequired", func(t *testing.T) {
		f := s.setup(t, bus.Config{})
		id := f.join("ident", "i1")
		handled := make(chan *bus.Msg, 4)
		for _, name := range []string{"whoami", "staff.only"} {
			f.handle(id, name, func(ctx context.Context, m *bus.Msg) { handled <- m; _ = m.Reply(ctx, "ok", nil) })
		}
		front := f.join("front", "f1")
		ctx := context.Background()
		for _, tt := range []struct {
			name string
			p    *troupe.Principal
			ok   bool
		}{
			{"whoami", nil, false},
			{"whoami", bob, true},
			{"staff.only", nil, false},
			{"staff.only", bob, false},
			{"staff.only", ann, true},
		} {
			pctx := ctx
			if tt.p != nil {
				pctx = troupe.WithPrincipal(ctx, tt.p)
			}
			_, err := front.Request(pctx, tt.name, nil)
			if tt.ok && err != nil || !tt.ok && !errors.Is(err, troupe.ErrForbidden) {
				t.Errorf("Request %q for %v = %v, want forbidden: %v", tt.name, tt.p, err, !tt.ok)
			}
			if tt.ok {
				receive(t, handled, "the handler")
			}
		}
		// A process that skips its bus's check is refused by the
		// receiving bus, and told so at once.
		raw, me, got := rawInbox(f, "front", "raw1")
		for _, tt := range []struct {
			name string
			p    *troupe.Principal
		}{{"whoami", nil}, {"staff.only", bob}} {
			req := rawRequest(me, tt.name, tt.p)
			if err := raw.Route(ctx, req); err != nil {
				t.Fatalf("raw Route: %v", err)
			}
			refusedWith(t, got, req, troupe.CodeForbidden)
		}
		silent(t, handled, "a handler of a refused request")
	})
	t.Run("PrincipalFromAnotherService", func(t *testing.T) {
		f := s.setup(t, bus.Config{})
		id := f.join("ident", "i1")
		handled := make(chan *bus.Msg, 1)
		f.handle(id, "whoami", func(ctx context.Context, m *bus.Msg) { handled <- m })
		w := f.join("web", "w1")
		if _, err := w.Request(troupe.WithPrincipal(context.Background(), ann), "whoami", nil); !errors.Is(err, troupe.ErrForbidden) {
			t.Errorf("a principal from web (not an edge): %v, want forbidden", err)
		}
		raw, me, got := rawInbox(f, "web", "raw1")
		req := rawRequest(me, "whoami", ann)
		if err := raw.Route(context.Background(), req); err != nil {
			t.Fatalf("raw Route: %v", err)
		}
		refusedWith(t, got, req, troupe.CodeForbidden)
		silent(t, handled, "a request with a principal from a service that is not an edge")
	})
	t.Run("PrincipalNotPassedOn", func(t *testing.T) {
		// outer is no edge: what it sends while handling a request for
		// ann carries no principal.
		f := s.setup(t, bus.Config{})
		seen := make(chan *troupe.Principal, 1)
		in := f.join("inner", "n1")
		f.handle(in, "inner", func(ctx context.Context, m *bus.Msg) {
			seen <- m.Env.Principal
			_ = m.Reply(ctx, "ok", nil)
		})
		out := f.join("outer", "o1")
		f.handle(out, "outer", func(ctx context.Context, m *bus.Msg) {
			if troupe.PrincipalFrom(ctx) == nil {
				_ = m.ReplyError(ctx, errors.New("outer got no principal"))
				return
			}
			if _, err := out.Request(ctx, "inner", nil); err != nil {
				_ = m.ReplyError(ctx, err)
				return
			}
			_ = m.Reply(ctx, "ok", nil)
		})
		front := f.join("front", "f1")
		if _, err := front.Request(troupe.WithPrincipal(context.Background(), ann), "outer", nil); err != nil {
			t.Fatalf("Request: %v", err)
		}
		if p := receive(t, seen, "inner"); p != nil {
			t.Errorf("inner got principal %+v from outer, want none", p)
		}
	})
	t.Run("ForgedSender", func(t *testing.T) {
		// A member of web says it is greeter's: the transport refuses it
		// or the receiving bus does; nobody handles it, and nothing is
		// sent to greeter.
		f := s.setup(t, bus.Config{})
		v := f.join("vault", "v1")
		handled := make(chan *bus.Msg, 1)
		f.handle(v, "secret", func(ctx context.Context, m *bus.Msg) { handled <- m })
		g := f.join("greeter", "g1")
		before := f.b.Stats().Services["vault"].Refusals
		raw, _, got := rawInbox(f, "web", "forger")
		env := rawRequest(g.Member(), "secret", nil)
		env.Kind, env.Deadline = troupe.KindSend, time.Time{}
		if err := raw.Route(context.Background(), env); err != nil {
			t.Logf("the transport refused the forged sender: %v", err)
		} else {
			eventually(t, "a refusal at vault", func() bool { return f.b.Stats().Services["vault"].Refusals > before })
		}
		silent(t, handled, "delivery of a message with a forged sender")
		silent(t, got, "an answer to a send")
	})
	t.Run("ForgedReplier", func(t *testing.T) {
		// audit (which does not receive greet) answers a greet request,
		// once as audit and once in greeter's name: the requester takes
		// neither, and the real reply still arrives.
		f := s.setup(t, bus.Config{})
		g := f.join("greeter", "g1")
		reqs := make(chan *bus.Msg, 1)
		f.handle(g, "greet", func(ctx context.Context, m *bus.Msg) { reqs <- m })
		w := f.join("web", "w1")
		call, err := w.Call(context.Background(), "greet", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer call.Cancel()
		m := receive(t, reqs, "the request at greeter")
		raw, _, _ := rawInbox(f, "audit", "a1")
		for _, sender := range []troupe.Member{{Service: "audit", Instance: "a1"}, g.Member()} {
			forged := &troupe.Envelope{
				Kind: troupe.KindReply, Name: "greeting", ID: troupe.NewID(), ActivityID: m.Env.ActivityID,
				ResponseTo: m.Env.ID, Sender: sender, SentAt: time.Now(), Deadline: m.Env.Deadline,
				Payload: []byte(`"forged"`),
			}
			if err := raw.Reply(context.Background(), w.Member(), forged); err != nil {
				t.Logf("the transport refused a reply from %s: %v", sender, err)
			}
		}
		if err := m.Reply(m.Context(), "greeting", "real"); err != nil {
			t.Fatal(err)
		}
		rep, err := call.Next(context.Background())
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if got := payloadString(t, rep); got != "real" || rep.Sender != g.Member() {
			t.Errorf("reply %q from %s, want %q from %s", got, rep.Sender, "real", g.Member())
		}
	})
	t.Run("RefusalAnswered", func(t *testing.T) {
		// web does not declare that it sends secret: its request is
		// answered with forbidden at once, not left to time out.
		f := s.setup(t, bus.Config{})
		v := f.join("vault", "v1")
		f.handle(v, "secret", func(ctx context.Context, m *bus.Msg) {})
		raw, me, got := rawInbox(f, "web", "raw1")
		req := rawRequest(me, "secret", nil)
		if err := raw.Route(context.Background(), req); err != nil {
			t.Logf("the transport refused the request itself: %v", err)
			return
		}
		refusedWith(t, got, req, troupe.CodeForbidden)
	})
}
