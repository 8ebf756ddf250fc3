// Package bustest is the conformance suite of bus transports: Run checks that
// a bus.Transport, under a bus.Bus, keeps the semantics every troupe
// application relies on — routing by name with competing consumers, the five
// interaction styles, permissions, deadlines, bulkheads, stats and the
// handling of bad input.
//
// A transport's tests call it once:
//
//	func TestConformance(t *testing.T) {
//		bustest.Run(t, func(t *testing.T) bus.Transport { return newTransport(t) })
//	}
//
// Each subtest gets a fresh transport from newTransport and closes it when it
// ends (Close must be idempotent if newTransport also registers a cleanup).
// The suite never asserts durations: where it waits for something not to
// happen it waits generously, and where it waits for something to happen it
// gives up only after a long timeout.
package bustest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
)

// Patience is how long the suite waits for something that must happen
// before it fails a test.
var Patience = 10 * time.Second

// Quiet is how long the suite waits for something that must not happen
// before it concludes that it does not.
var Quiet = 200 * time.Millisecond

// App returns the application declaration the suite runs on.
func App() *troupe.App {
	return &troupe.App{
		Name: "bustest",
		Services: []troupe.ServiceDecl{
			{Name: "web", Sends: []string{
				"greet", "stream", "slow", "job", "news", "poll", "outer",
				"lonely", "nobody", "durable.job", "failing.job", "echo", "whoami",
				"signup", "signup.note", "tick", "durable.signup", "account.create", "account.delete",
			}},
			{Name: "greeter", Receives: []string{"greet", "stream", "slow", "echo", "signup", "signup.note", "tick"}},
			{Name: "worker", Receives: []string{"job", "durable.job", "failing.job", "durable.signup"}, Durable: []string{"durable.job", "failing.job", "durable.signup"}},
			{Name: "audit", Receives: []string{"job", "news", "poll", "account.created"}},
			// A generic users service declared under the app's names
			// (ExoCom's message translation).
			{Name: "users", Receives: []string{"account.create"}, Sends: []string{"account.created"}, Translate: []troupe.Translation{
				{Local: "user.create", App: "account.create"},
				{Local: "user", App: "account"},
				{Local: "user.created", App: "account.created"},
				{Local: "user.delete", App: "account.delete"},
			}},
			{Name: "mail", Receives: []string{"news", "poll"}},
			// Every instance of screen gets each news (publish-subscribe).
			{Name: "screen", Receives: []string{"news"}, Broadcast: []string{"news"}},
			{Name: "outer", Receives: []string{"outer"}, Sends: []string{"inner"}},
			{Name: "inner", Receives: []string{"inner"}},
			{Name: "lonely", Receives: []string{"lonely"}},
			{Name: "vault", Receives: []string{"secret"}},
			// Identity: an edge that sends for users, a service that
			// answers only for them (identity.go).
			{Name: "front", Edge: true, Sends: []string{"whoami", "staff.only", "outer", "greet"}},
			{Name: "ident", Receives: []string{"whoami", "staff.only"}},
		},
		Schemas: []troupe.SchemaDecl{
			{Name: "Email", Schema: json.RawMessage(`{"type":"string","pattern":"@"}`)},
		},
		Messages: []troupe.MessageDecl{
			{Name: "signup", Description: "Signs a user up.", Replies: []string{"welcome"},
				Payload: json.RawMessage(`{"type":"object","required":["email"],"properties":{"email":{"$ref":"#/schemas/Email"},"name":{"type":"string"}}}`)},
			{Name: "welcome", Payload: json.RawMessage(`{"type":"object","required":["user"],"properties":{"user":{"type":"integer"}}}`)},
			{Name: "signup.note", Payload: json.RawMessage(`{"type":"string","maxLength":10}`)},
			{Name: "durable.signup", Payload: json.RawMessage(`{"type":"object","required":["email"]}`)},
			{Name: "tick", NoValidate: true, Payload: json.RawMessage(`{"type":"integer"}`)},
			{Name: "account.create", Replies: []string{"account"}, Payload: json.RawMessage(`{"type":"object","required":["email"]}`)},
			{Name: "account", Payload: json.RawMessage(`{"type":"object","required":["id"]}`)},
			{Name: "whoami", Principal: true},
			{Name: "staff.only", Roles: []string{"staff"}},
		},
	}
}

// Run runs the conformance suite against the transports newTransport makes.
func Run(t *testing.T, newTransport func(t *testing.T) bus.Transport) {
	s := &suite{newTransport: newTransport}
	t.Run("Routing", s.routing)
	t.Run("Styles", s.styles)
	t.Run("Permissions", s.permissions)
	t.Run("Deadlines", s.deadlines)
	t.Run("Bulkhead", s.bulkhead)
	t.Run("Stats", s.stats)
	t.Run("BadInput", s.badInput)
	t.Run("Durable", s.durable)
	t.Run("Schemas", s.schemas)
	t.Run("Translation", s.translation)
	t.Run("Identity", s.identity)
}

type suite struct {
	newTransport func(t *testing.T) bus.Transport
}

// fixture is one subtest's transport and bus.
type fixture struct {
	t  *testing.T
	tr bus.Transport
	b  *bus.Bus
}

func (s *suite) setup(t *testing.T, cfg bus.Config) *fixture {
	t.Helper()
	tr := s.newTransport(t)
	cfg.App = App()
	cfg.Transport = tr
	if cfg.Timeout == 0 {
		// Requests that must succeed get plenty of time on a loaded
		// machine; tests of the deadline set their own.
		cfg.Timeout = Patience
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	b, err := bus.New(cfg)
	if err != nil {
		t.Fatalf("bus.New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), Patience)
		defer cancel()
		if err := b.Close(ctx); err != nil {
			t.Errorf("bus.Close: %v", err)
		}
		if err := tr.Close(ctx); err != nil {
			t.Errorf("transport Close: %v", err)
		}
	})
	return &fixture{t: t, tr: tr, b: b}
}

func (f *fixture) join(service, instance string) *bus.Client {
	f.t.Helper()
	c, err := f.b.Join(context.Background(), service, instance)
	if err != nil {
		f.t.Fatalf("Join(%s, %s): %v", service, instance, err)
	}
	return c
}

func (f *fixture) handle(c *bus.Client, name string, h func(ctx context.Context, m *bus.Msg)) {
	f.t.Helper()
	if err := c.Handle(name, bus.HandlerFunc(h)); err != nil {
		f.t.Fatalf("%s: Handle(%q): %v", c.Member(), name, err)
	}
}

// raw joins a member directly on the transport, bypassing the bus, to play
// a process that does not follow the rules.
func (f *fixture) raw(service, instance string, inbox bus.Deliverer) bus.Port {
	f.t.Helper()
	if inbox == nil {
		inbox = bus.DelivererFunc(func(*troupe.Envelope, bus.Acker) {})
	}
	p, err := f.tr.Join(context.Background(), troupe.Member{Service: service, Instance: instance}, inbox)
	if err != nil {
		f.t.Fatalf("transport Join(%s/%s): %v", service, instance, err)
	}
	f.t.Cleanup(func() { _ = p.Close() })
	return p
}

// eventually polls cond until it holds or Patience runs out.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// receive waits for one value from ch.
func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(Patience):
		t.Fatalf("gave up waiting: %s", what)
		panic("unreachable")
	}
}

// silent checks that nothing arrives on ch for Quiet.
func silent[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case v := <-ch:
		t.Errorf("%s: got %v, want nothing", what, v)
	case <-time.After(Quiet):
	}
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func payloadString(t *testing.T, env *troupe.Envelope) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(env.Payload, &s); err != nil {
		t.Fatalf("payload %s: %v", env.Payload, err)
	}
	return s
}

func (s *suite) routing(t *testing.T) {
	t.Run("CompetingConsumers", func(t *testing.T) {
		f := s.setup(t, bus.Config{})
		const n = 300
		var mu sync.Mutex
		byInstance := map[string]int{}
		seen := map[string]map[troupe.ID]int{"worker": {}, "audit": {}}
		for _, inst := range []string{"w1", "w2", "w3"} {
			c := f.join("worker", inst)
			f.handle(c, "job", func(ctx context.Context, m *bus.Msg) {
				mu.Lock()
				defer mu.Unlock()
				byInstance[inst]++
				seen["worker"][m.Env.ID]++
			})
		}
		a := f.join("audit", "a1")
		f.handle(a, "job", func(ctx context.Context, m *bus.Msg) {
			mu.Lock()
			defer mu.Unlock()
			seen["audit"][m.Env.ID]++
		})
		w := f.join("web", "web1")
		for i := range n {
			if err := w.Send(context.Background(), "job", i); err != nil {
				t.Fatalf("Send %d: %v", i, err)
			}
		}
		eventually(t, "every job at worker and audit", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(seen["worker"]) == n && len(seen["audit"]) == n
		})
		time.Sleep(Quiet) // let duplicates, if any, arrive
		mu.Lock()
		defer mu.Unlock()
		for svc, ids := range seen {
			for id, k := range ids {
				if k != 1 {
					t.Errorf("%s handled %s %d times, want 1", svc, id, k)
				}
			}
		}
		for _, inst := range []string{"w1", "w2", "w3"} {
			if byInstance[inst] == 0 {
				t.Errorf("worker/%s handled no job; competing consumers should share them: %v", inst, byInstance)
			}
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		f := s.setup(t, bus.Config{Timeout: Patience})
		var mu sync.Mutex
		byInstance := map[string]int{}
		for _, inst := range []string{"g1", "g2", "g3"} {
			g := f.join("greeter", inst)
			f.handle(g, "echo", func(ctx context.Context, m *bus.Msg) {
				mu.Lock()
				byInstance[inst]++
				mu.Unlock()
				_ = m.Reply(ctx, "echoed", m.Env.Payload)
			})
		}
		const workers, each = 4, 50
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for i := range workers {
			w := f.join("web", fmt.Sprintf("web%d", i))
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range each {
					want := fmt.Sprintf(`"%d-%d"`, i, j)
					reply, err := w.Request(context.Background(), "echo", json.RawMessage(want))
					if err != nil {
						errs <- err
						continue
					}
					if got := string(reply.Payload); got != want {
						errs <- fmt.Errorf("reply %s, want %s", got, want)
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		st := f.b.Stats().Messages["echo"]
		if st.Sent != workers*each || st.Received != workers*each || st.InFlight != 0 || st.Errors != 0 {
			t.Errorf("echo stats sent %d, received %d, in flight %d, errors %d; want %d, %d, 0, 0",
				st.Sent, st.Received, st.InFlight, st.Errors, workers*each, workers*each)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, inst := range []string{"g1", "g2", "g3"} {
			if byInstance[inst] == 0 {
				t.Errorf("greeter/%s handled no request: %v", inst, byInstance)
			}
		}
	})
	t.Run("EveryInstance", func(t *testing.T) {
		f := s.setup(t, bus.Config{})
		const n = 50
		var mu sync.Mutex
		screens := map[string]map[troupe.ID]int{}
		audited := map[troupe.ID]int{}
		for _, inst := range []string{"s1", "s2", "s3"} {
			c := f.join("screen", inst)
			screens[inst] = map[troupe.ID]int{}
			f.handle(c, "news", func(ctx context.Context, m *bus.Msg) {
				mu.Lock()
				defer mu.Unlock()
				screens[inst][m.Env.ID]++
			})
		}
		// audit receives news too, but its two instances compete.
		for _, inst := range []string{"a1", "a2"} {
			f.handle(f.join("audit", inst), "news", func(ctx context.Context, m *bus.Msg) {
				mu.Lock()
				defer mu.Unlock()
				audited[m.Env.ID]++
			})
		}
		w := f.join("web", "web1")
		for i := range n {
			if err := w.Publish(context.Background(), "news", i); err != nil {
				t.Fatalf("Publish %d: %v", i, err)
			}
		}
		eventually(t, "every news at every screen and once at audit", func() bool {
			mu.Lock()
			defer mu.Unlock()
			for _, ids := range screens {
				if len(ids) != n {
					return false
				}
			}
			return len(audited) == n
		})
		time.Sleep(Quiet) // let duplicates, if any, arrive
		mu.Lock()
		defer mu.Unlock()
		for inst, ids := range screens {
			for id, k := range ids {
				if k != 1 {
					t.Errorf("screen/%s got %s %d times, want 1", inst, id, k)
				}
			}
		}
		for id, k := range audited {
			if k != 1 {
				t.Errorf("audit got %s %d times, want once over both instances", id, k)
			}
		}
	})
	t.Run("Leave", func(t *testing.T) {
		f := s.setup(t, bus.Config{})
		ctx := context.Background()
		held := make(chan *bus.Msg, 1)
		g1 := f.join("greeter", "g1")
		f.handle(g1, "echo", func(ctx context.Context, m *bus.Msg) { held <- m }) // answers later
		w := f.join("web", "web1")
		call, err := w.Call(ctx, "echo", json.RawMessage(`"held"`))
		if err != nil {
			t.Fatal(err)
		}
		m := receive(t, held, "the request at g1")
		var answered sync.Map
		g2 := f.join("greeter", "g2")
		f.handle(g2, "echo", func(ctx context.Context, m *bus.Msg) {
			answered.Store(m.Env.ID, true)
			_ = m.Reply(ctx, "echoed", m.Env.Payload)
		})
		if err := g1.Leave(ctxTimeout(t, Patience)); err != nil {
			t.Fatalf("Leave: %v", err)
		}
		// g1 gets nothing new; g2 answers everything.
		for i := range 20 {
			reply, err := w.Request(ctx, "echo", i)
			if err != nil {
				t.Fatalf("request %d after g1 left: %v", i, err)
			}
			if reply.Sender.Instance != "g2" {
				t.Errorf("request %d answered by %s, want g2", i, reply.Sender)
			}
		}
		silent(t, held, "a request at g1 after it left")
		// What g1 held before it left it still answers, before it closes.
		if err := m.Reply(ctx, "echoed", m.Env.Payload); err != nil {
			t.Fatalf("reply after Leave: %v", err)
		}
		reply, err := call.Next(ctxTimeout(t, Patience))
		if err != nil || payloadString(t, reply) != "held" {
			t.Fatalf("the held request's reply: %v, %v", reply, err)
		}
		if err := g1.Close(); err != nil {
			t.Errorf("Close after Leave: %v", err)
		}
	})
	t.Run("ByName", func(t *testing.T) {
		f := s.setup(t, bus.Config{})
		got := make(chan string, 10)
		g := f.join("greeter", "g1")
		for _, name := range []string{"greet", "echo"} {
			f.handle(g, name, func(ctx context.Context, m *bus.Msg) {
				got <- m.Env.Name
				_ = m.Reply(ctx, "ok", nil)
			})
		}
		w := f.join("web", "web1")
		for _, name := range []string{"greet", "echo", "greet"} {
			if _, err := w.Request(context.Background(), name, nil); err != nil {
				t.Fatalf("Request(%q): %v", name, err)
			}
			if g := receive(t, got, "delivery of "+name); g != name {
				t.Errorf("handler got %q, want %q", g, name)
			}
		}
	})
}

func (s *suite) styles(t *testing.T) {
	t.Run("RequestResponse", func(t *testing.T) {
		f := s.setup(t, bus.Config{})
		g := f.join("greeter", "g1")
		f.handle(g, "greet", func(ctx context.Context, m *bus.Msg) {
			var who string
			if err := json.Unmarshal(m.Env.Payload, &who); err != nil || who == "" {
				_ = m.ReplyError(ctx, troupe.Errorf(troupe.CodeBadRequest, "who?"))
				return
			}
			_ = m.Reply(ctx, "greeting", "hello "+who)
		})
		w := f.join("web", "web1")
		tests := []struct {
			payload any
			want    string
			code    troupe.Code
		}{
			{payload: "ann", want: "hello ann"},
			{payload: json.RawMessage(`"bob"`), want: "hello bob"},
			{payload: []byte(`"cy"`), want: "hello cy"},
			{payload: nil, code: troupe.CodeBadRequest},
			{payload: 7, code: troupe.CodeBadRequest},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprint(tt.payload), func(t *testing.T) {
				reply, err := w.Request(context.Background(), "greet", tt.payload)
				if tt.code != "" {
					var te *troupe.Error
					if !errors.As(err, &te) || te.Code != tt.code {
						t.Fatalf("Request = %v, %v; want a %s *troupe.Error", reply, err, tt.code)
					}
					if got, want := te.Msg, "who?"; got != want {
						t.Errorf("error message = %q, want %q", got, want)
					}
					return
				}
				if err != nil {
					t.Fatalf("Request: %v", err)
				}
				if got, want := reply.Name, "greeting"; got != want {
					t.Errorf("reply name = %q, want %q", got, want)
				}
				if got := payloadString(t, reply); got != tt.want {
					t.Errorf("reply = %q, want %q", got, tt.want)
				}
				if got, want := reply.Sender.Service, "greeter"; got != want {
					t.Errorf("reply sender = %q, want %q", got, want)
				}
			})
		}
	})
	t.Run("AsyncRequestResponse", func(t *testing.T) {
		f := s.setup(t, bus.Config{})
		g := f.join("greeter", "g1")
		held := make(chan *bus.Msg, 1)
		f.handle(g, "stream", func(ctx context.Context, m *bus.Msg) { held <- m })
		w := f.join("web", "web1")
		for _, n := range []int{1, 3} {
			t.Run(fmt.Sprintf("%dReplies", n), func(t *testing.T) {
				call, err := w.Call(context.Background(), "stream", n)
				if err != nil {
					t.Fatalf("Call: %v", err)
				}
				defer call.Cancel()
				// Call returned before any reply: the handler replies now.
				m := receive(t, held, "the request at the handler")
				if got, want := m.Env.ID, call.ID(); got != want {
					t.Errorf("handler got request %s, want %s", got, want)
				}
				for i := 1; i < n; i++ {
					if err := m.ReplyMore(context.Background(), "part", i); err != nil {
						t.Fatalf("ReplyMore: %v", err)
					}
				}
				if err := m.Reply(context.Background(), "part", n); err != nil {
					t.Fatalf("Reply: %v", err)
				}
				for i := 1; i <= n; i++ {
					env, err := call.Next(ctxTimeout(t, Patience))
					if err != nil {
						t.Fatalf("Next %d: %v", i, err)
					}
					var got int
					if err := json.Unmarshal(env.Payload, &got); err != nil || got != i {
						t.Errorf("reply %d = %s, want %d", i, env.Payload, i)
					}
					if got, want := env.More, i < n; got != want {
						t.Errorf("reply %d More = %v, want %v", i, got, want)
					}
				}
				if _, err := call.Next(ctxTimeout(t, Patience)); err != io.EOF {
					t.Errorf("Next after the final reply = %v, want io.EOF", err)
				}
				if err := m.ReplyMore(context.Background(), "part", 0); err == nil {
					t.Errorf("ReplyMore after the final reply succeeded, want an error")
				}
			})
		}
	})
	t.Run("OneWayNotification", func(t *testing.T) {
		f := s.setup(t, bus.Config{})
		got := make(chan *bus.Msg, 1)
		c := f.join("worker", "w1")
		f.handle(c, "job", func(ctx context.Context, m *bus.Msg) { got <- m })
		w := f.join("web", "web1")
		if err := w.Send(context.Background(), "job", map[string]int{"n": 1}); err != nil {
			t.Fatalf("Send: %v", err)
		}
		m := receive(t, got, "the notification")
		if got, want := string(m.Env.Payload), `{"n":1}`; got != want {
			t.Errorf("payload = %s, want %s", got, want)
		}
		if got, want := m.Env.Kind, troupe.KindSend; got != want {
			t.Errorf("kind = %q, want %q", got, want)
		}
		if got, want := m.Env.Sender, w.Member(); got != want {
			t.Errorf("sender = %v, want %v", got, want)
		}
		if err := m.Reply(context.Background(), "ack", nil); !errors.Is(err, troupe.ErrBadRequest) {
			t.Errorf("Reply to a send = %v, want bad_request", err)
		}
	})
	t.Run("PublishSubscribe", func(t *testing.T) {
		f := s.setup(t, bus.Config{})
		got := make(chan string, 10)
		for _, svc := range []string{"audit", "mail"} {
			for _, inst := range []string{"i1", "i2"} {
				c := f.join(svc, inst)
				f.handle(c, "news", func(ctx context.Context, m *bus.Msg) { got <- svc })
			}
		}
		w := f.join("web", "web1")
		if err := w.Publish(context.Background(), "news", "extra"); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		counts := map[string]int{}
		counts[receive(t, got, "first copy")]++
		counts[receive(t, got, "second copy")]++
		silent(t, got, "a third copy")
		if want := map[string]int{"audit": 1, "mail": 1}; fmt.Sprint(counts) != fmt.Sprint(want) {
			t.Errorf("copies per service = %v, want %v", counts, want)
		}
	})
	t.Run("PublishNobody", func(t *testing.T) {
		f := s.setup(t, bus.Config{})
		w := f.join("web", "web1")
		// "news" is received by audit and mail, neither of which joined.
		if err := w.Publish(context.Background(), "news", nil); err != nil {
			t.Errorf("Publish with no subscriber = %v, want nil", err)
		}
	})
	t.Run("PublishAsyncResponses", func(t *testing.T) {
		f := s.setup(t, bus.Config{})
		for _, svc := range []string{"audit", "mail"} {
			c := f.join(svc, "i1")
			f.handle(c, "poll", func(ctx context.Context, m *bus.Msg) {
				_ = m.ReplyMore(ctx, "vote", svc+"-early")
				_ = m.Reply(ctx, "vote", svc)
			})
		}
		w := f.join("web", "web1")
		var votes []string
		n, err := w.Collect(ctxTimeout(t, Patience), "poll", nil, func(env *troupe.Envelope) bool {
			votes = append(votes, payloadString(t, env))
			return true
		})
		if err != nil {
			t.Fatalf("Collect: %v", err)
		}
		if got, want := n, 4; got != want {
			t.Errorf("Collect = %d replies (%v), want %d", got, votes, want)
		}
		n, err = w.Collect(ctxTimeout(t, Patience), "poll", nil, func(env *troupe.Envelope) bool { return false })
		if err != nil || n != 1 {
			t.Errorf("Collect stopping at the first reply = %d, %v; want 1, nil", n, err)
		}
	})
	t.Run("PublishAsyncResponsesDeadline", func(t *testing.T) {
		f := s.setup(t, bus.Config{})
		a := f.join("audit", "i1")
		f.handle(a, "poll", func(ctx context.Context, m *bus.Msg) { _ = m.Reply(ctx, "vote", "audit") })
		m := f.join("mail", "i1")
		f.handle(m, "poll", func(ctx context.Context, m *bus.Msg) {}) // never answers
		w := f.join("web", "web1")
		n, err := w.Collect(ctxTimeout(t, 5*Quiet), "poll", nil, func(env *troupe.Envelope) bool { return true })
		if err != nil || n != 1 {
			t.Errorf("Collect until the deadline = %d, %v; want 1, nil", n, err)
		}
	})
}

func (s *suite) permissions(t *testing.T) {
	t.Run("UndeclaredSend", func(t *testing.T) {
		f := s.setup(t, bus.Config{})
		got := make(chan *bus.Msg, 1)
		v := f.join("vault", "v1")
		f.handle(v, "secret", func(ctx context.Context, m *bus.Msg) { got <- m })
		w := f.join("web", "web1")
		ctx := context.Background()
		tests := []struct {
			style string
			do    func() error
		}{
			{"request", func() error { _, err := w.Request(ctx, "secret", nil); return err }},
			{"send", func() error { return w.Send(ctx, "secret", nil) }},
			{"publish", func() error { return w.Publish(ctx, "secret", nil) }},
			{"call", func() error { _, err := w.Call(ctx, "secret", nil); return err }},
			{"collect", func() error {
				_, err := w.Collect(ctx, "secret", nil, func(*troupe.Envelope) bool { return true })
				return err
			}},
		}
		for _, tt := range tests {
			t.Run(tt.style, func(t *testing.T) {
				before := f.b.Stats().Services["web"].Refusals
				if err := tt.do(); !errors.Is(err, troupe.ErrForbidden) {
					t.Errorf("%s of an undeclared name = %v, want ErrForbidden", tt.style, err)
				}
				if got, want := f.b.Stats().Services["web"].Refusals, before+1; got != want {
					t.Errorf("web refusals = %d, want %d", got, want)
				}
			})
		}
		silent(t, got, "delivery of a refused message")
		if got, want := f.b.Stats().Messages["secret"].Refusals, uint64(len(tests)); got != want {
			t.Errorf("refusals of %q = %d, want %d", "secret", got, want)
		}
	})
	t.Run("UndeclaredReceive", func(t *testing.T) {
		f := s.setup(t, bus.Config{})
		g := f.join("greeter", "g1")
		err := g.Handle("job", bus.HandlerFunc(func(context.Context, *bus.Msg) {}))
		if !errors.Is(err, troupe.ErrForbidden) {
			t.Errorf("Handle of an undeclared name = %v, want ErrForbidden", err)
		}
		if got, want := f.b.Stats().Services["greeter"].Refusals, uint64(1); got != want {
			t.Errorf("greeter refusals = %d, want %d", got, want)
		}
	})
	t.Run("UndeclaredService", func(t *testing.T) {
		f := s.setup(t, bus.Config{})
		if c, err := f.b.Join(context.Background(), "intruder", "i1"); err == nil {
			_ = c.Close()
			t.Errorf("Join of an undeclared service succeeded")
		}
	})
	t.Run("NoReceiver", func(t *testing.T) {
		f := s.setup(t, bus.Config{})
		w := f.join("web", "web1")
		ctx := context.Background()
		for _, tt := range []struct {
			style string
			err   error
		}{
			{"request", func() error { _, err := w.Request(ctx, "nobody", nil); return err }()},
			{"send", w.Send(ctx, "nobody", nil)},
			{"call", func() error { _, err := w.Call(ctx, "nobody", nil); return err }()},
		} {
			if !errors.Is(tt.err, troupe.ErrNoReceiver) || !errors.Is(tt.err, troupe.ErrNotFound) {
				t.Errorf("%s to a name nobody receives = %v, want not_found with ErrNoReceiver", tt.style, tt.err)
			}
		}
		// "lonely" is declared received, but no instance joined: the bus
		// or the transport must say so before the deadline, as a
		// transient failure (an instance may be starting).
		lctx := ctxTimeout(t, Patience)
		if _, err := w.Request(lctx, "lonely", nil); !errors.Is(err, troupe.ErrNoReceiver) || !errors.Is(err, troupe.ErrUnavailable) {
			t.Errorf("request to a name no instance receives = %v, want unavailable with ErrNoReceiver", err)
		}
		if err := w.Publish(ctx, "nobody", nil); err != nil {
			t.Errorf("Publish to a name nobody receives = %v, want nil", err)
		}
		if got, want := f.b.Stats().Messages["nobody"].Refusals, uint64(3); got != want {
			t.Errorf("refusals of %q = %d, want %d", "nobody", got, want)
		}
	})
	t.Run("ForgedSender", func(t *testing.T) {
		// Another process sends what its service does not declare; the
		// receiving bus refuses it.
		f := s.setup(t, bus.Config{})
		got := make(chan *bus.Msg, 1)
		v := f.join("vault", "v1")
		f.handle(v, "secret", func(ctx context.Context, m *bus.Msg) { got <- m })
		forger := f.raw("web", "forger", nil)
		env := &troupe.Envelope{
			Kind: troupe.KindSend, Name: "secret", ID: troupe.NewID(),
			Sender: troupe.Member{Service: "web", Instance: "forger"}, SentAt: time.Now(),
		}
		env.ActivityID = env.ID
		if err := forger.Route(context.Background(), env); err != nil {
			t.Fatalf("raw Route: %v", err)
		}
		eventually(t, "a refusal at vault", func() bool { return f.b.Stats().Services["vault"].Refusals == 1 })
		silent(t, got, "delivery of a forged message")
	})
}

func (s *suite) deadlines(t *testing.T) {
	t.Run("Timeout", func(t *testing.T) {
		f := s.setup(t, bus.Config{Timeout: Quiet})
		g := f.join("greeter", "g1")
		f.handle(g, "slow", func(ctx context.Context, m *bus.Msg) {}) // never replies
		w := f.join("web", "web1")
		for _, tt := range []struct {
			name string
			ctx  func(t *testing.T) context.Context
		}{
			{"ConfigTimeout", func(*testing.T) context.Context { return context.Background() }},
			{"ContextDeadline", func(t *testing.T) context.Context { return ctxTimeout(t, Quiet/2) }},
		} {
			t.Run(tt.name, func(t *testing.T) {
				reply, err := w.Request(tt.ctx(t), "slow", nil)
				if !errors.Is(err, troupe.ErrTimeout) {
					t.Errorf("Request = %v, %v; want ErrTimeout", reply, err)
				}
			})
		}
		if got := f.b.Stats().Messages["slow"]; got.InFlight != 0 || got.Errors != 2 {
			t.Errorf("slow stats: in flight %d, errors %d; want 0, 2", got.InFlight, got.Errors)
		}
		call, err := w.Call(ctxTimeout(t, Quiet), "slow", nil)
		if err != nil {
			t.Fatalf("Call: %v", err)
		}
		if _, err := call.Next(context.Background()); !errors.Is(err, troupe.ErrTimeout) {
			t.Errorf("Call.Next at the deadline = %v, want ErrTimeout", err)
		}
	})
	t.Run("Nested", func(t *testing.T) {
		f := s.setup(t, bus.Config{})
		outerEnv := make(chan *troupe.Envelope, 1)
		innerEnv := make(chan *troupe.Envelope, 1)
		o := f.join("outer", "o1")
		f.handle(o, "outer", func(ctx context.Context, m *bus.Msg) {
			outerEnv <- m.Env
			go func() { // a handler hands work off and returns
				reply, err := o.Request(bus.ContextWith(ctx, m.Env), "inner", nil)
				if err != nil {
					_ = m.ReplyError(ctx, err)
					return
				}
				_ = m.Reply(ctx, "outer.done", reply.Payload)
			}()
		})
		i := f.join("inner", "i1")
		f.handle(i, "inner", func(ctx context.Context, m *bus.Msg) {
			innerEnv <- m.Env
			_ = m.Reply(ctx, "inner.done", "deep")
		})
		w := f.join("web", "web1")
		reply, err := w.Request(ctxTimeout(t, Patience), "outer", nil)
		if err != nil {
			t.Fatalf("Request: %v", err)
		}
		if got, want := payloadString(t, reply), "deep"; got != want {
			t.Errorf("reply = %q, want %q", got, want)
		}
		oe, ie := receive(t, outerEnv, "outer"), receive(t, innerEnv, "inner")
		if !ie.Deadline.Equal(oe.Deadline) {
			t.Errorf("inner deadline %v, want the outer's %v (the remaining budget)", ie.Deadline, oe.Deadline)
		}
		if got, want := ie.ActivityID, oe.ActivityID; got != want || got == "" {
			t.Errorf("inner activity %q, want the outer's %q", got, want)
		}
		if got, want := oe.ActivityID, oe.ID; got != want {
			t.Errorf("outer activity %q, want its own ID %q", got, want)
		}
	})
	t.Run("LateReply", func(t *testing.T) {
		f := s.setup(t, bus.Config{})
		held := make(chan *bus.Msg, 1)
		g := f.join("greeter", "g1")
		f.handle(g, "slow", func(ctx context.Context, m *bus.Msg) { held <- m })
		w := f.join("web", "web1")
		_, err := w.Request(ctxTimeout(t, Quiet), "slow", nil)
		if !errors.Is(err, troupe.ErrTimeout) {
			t.Fatalf("Request = %v, want ErrTimeout", err)
		}
		m := receive(t, held, "the request")
		// The replier's bus refuses to send a reply past the deadline.
		if err := m.Reply(context.Background(), "late", nil); !errors.Is(err, troupe.ErrTimeout) {
			t.Errorf("Reply after the deadline = %v, want ErrTimeout", err)
		}
		if got, want := f.b.Stats().Services["greeter"].LateReplies, uint64(1); got != want {
			t.Errorf("greeter late replies = %d, want %d", got, want)
		}
		// A reply that arrives late anyway (another process's clock) is
		// dropped and counted by the requester's bus.
		liar := f.raw("greeter", "liar", nil)
		late := &troupe.Envelope{
			Kind: troupe.KindReply, Name: "late", ID: troupe.NewID(), ActivityID: m.Env.ActivityID,
			ResponseTo: m.Env.ID, Sender: troupe.Member{Service: "greeter", Instance: "liar"},
			SentAt: time.Now(), Deadline: m.Env.Deadline,
		}
		if err := liar.Reply(context.Background(), w.Member(), late); err != nil {
			t.Fatalf("raw Reply: %v", err)
		}
		eventually(t, "a late reply counted at web", func() bool { return f.b.Stats().Services["web"].LateReplies == 1 })
		if got, want := f.b.Stats().Messages["slow"].InFlight, int64(0); got != want {
			t.Errorf("in flight = %d, want %d", got, want)
		}
	})
	t.Run("ExpiredOnDelivery", func(t *testing.T) {
		f := s.setup(t, bus.Config{})
		got := make(chan *bus.Msg, 1)
		g := f.join("greeter", "g1")
		f.handle(g, "greet", func(ctx context.Context, m *bus.Msg) { got <- m })
		p := f.raw("web", "raw1", nil)
		now := time.Now()
		env := &troupe.Envelope{
			Kind: troupe.KindRequest, Name: "greet", ID: troupe.NewID(),
			Sender: troupe.Member{Service: "web", Instance: "raw1"},
			SentAt: now.Add(-time.Minute), Deadline: now.Add(-time.Second),
		}
		env.ActivityID = env.ID
		if err := p.Route(context.Background(), env); err != nil {
			t.Fatalf("raw Route: %v", err)
		}
		eventually(t, "an expired drop at greeter", func() bool { return f.b.Stats().Messages["greet"].Expired == 1 })
		silent(t, got, "delivery of an expired request")
	})
}

func (s *suite) bulkhead(t *testing.T) {
	f := s.setup(t, bus.Config{MaxOutstanding: 2})
	held := make(chan *bus.Msg, 10)
	g := f.join("greeter", "g1")
	f.handle(g, "slow", func(ctx context.Context, m *bus.Msg) { held <- m })
	f.handle(g, "greet", func(ctx context.Context, m *bus.Msg) { held <- m })
	w := f.join("web", "web1")
	ctx := ctxTimeout(t, Patience)
	c1, err := w.Call(ctx, "slow", nil)
	if err != nil {
		t.Fatalf("Call 1: %v", err)
	}
	c2, err := w.Call(ctx, "slow", nil)
	if err != nil {
		t.Fatalf("Call 2: %v", err)
	}
	// The bulkhead is per (caller, target service): greet goes to the
	// same target, so it is full too.
	if _, err := w.Request(ctx, "greet", nil); !errors.Is(err, troupe.ErrUnavailable) {
		t.Errorf("third request = %v, want ErrUnavailable", err)
	}
	if got, want := f.b.Stats().Services["web"].InFlight, int64(2); got != want {
		t.Errorf("in flight = %d, want %d", got, want)
	}
	c1.Cancel()
	m1 := receive(t, held, "first request")
	m2 := receive(t, held, "second request")
	for _, m := range []*bus.Msg{m1, m2} {
		if m.Env.ID == c2.ID() {
			_ = m.Reply(ctx, "done", nil)
		}
	}
	if _, err := c2.Next(ctx); err != nil {
		t.Fatalf("Next: %v", err)
	}
	if _, err := c2.Next(ctx); err != io.EOF {
		t.Fatalf("Next after the final reply = %v, want io.EOF", err)
	}
	go func() {
		select {
		case m := <-held:
			_ = m.Reply(ctx, "greeting", nil)
		case <-ctx.Done():
		}
	}()
	if _, err := w.Request(ctx, "greet", nil); err != nil {
		t.Errorf("request after the bulkhead emptied = %v, want nil", err)
	}
}

func (s *suite) stats(t *testing.T) {
	f := s.setup(t, bus.Config{})
	g := f.join("greeter", "g1")
	f.handle(g, "greet", func(ctx context.Context, m *bus.Msg) {
		if string(m.Env.Payload) == `"fail"` {
			_ = m.ReplyError(ctx, errors.New("boom"))
			return
		}
		_ = m.Reply(ctx, "greeting", nil)
	})
	w := f.join("web", "web1")
	ctx := ctxTimeout(t, Patience)
	const n = 20
	for i := range n {
		p := "ok"
		if i%5 == 0 {
			p = "fail"
		}
		_, _ = w.Request(ctx, "greet", p)
	}
	st := f.b.Stats()
	greet := st.Messages["greet"]
	for _, c := range []struct {
		what      string
		got, want uint64
	}{
		{"greet sent", greet.Sent, n},
		{"greet received", greet.Received, n},
		{"greet errors", greet.Errors, n / 5},
		{"greet handler errors", greet.HandlerErrors, n / 5},
		{"greet latency count", greet.Latency.Count, n},
		{"web sent", st.Services["web"].Sent, n},
		{"web errors", st.Services["web"].Errors, n / 5},
		{"greeter received", st.Services["greeter"].Received, n},
		{"greeter handler errors", st.Services["greeter"].HandlerErrors, n / 5},
		{"greeter sent", st.Services["greeter"].Sent, 0},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.what, c.got, c.want)
		}
	}
	if greet.InFlight != 0 {
		t.Errorf("greet in flight = %d, want 0", greet.InFlight)
	}
	if l := greet.Latency; !(l.P50 > 0 && l.P50 <= l.P90 && l.P90 <= l.P99) {
		t.Errorf("greet latency quantiles %v, %v, %v; want 0 < p50 <= p90 <= p99", l.P50, l.P90, l.P99)
	}
	if _, ok := st.Messages["poll"]; !ok {
		t.Errorf("Stats lacks the declared name %q", "poll")
	}
}

func (s *suite) badInput(t *testing.T) {
	f := s.setup(t, bus.Config{MaxPayload: 1024})
	got := make(chan *bus.Msg, 10)
	g := f.join("greeter", "g1")
	f.handle(g, "greet", func(ctx context.Context, m *bus.Msg) { got <- m })
	w := f.join("web", "web1")
	ctx := ctxTimeout(t, Patience)
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	big := make([]byte, 2000)
	for i := range big {
		big[i] = 'x'
	}
	tests := []struct {
		name    string
		ctx     context.Context
		msg     string
		payload any
		want    *troupe.Error
	}{
		{"InvalidJSON", ctx, "greet", json.RawMessage(`{"a":`), troupe.ErrBadRequest},
		{"InvalidJSONBytes", ctx, "greet", []byte(`nope`), troupe.ErrBadRequest},
		{"Unmarshalable", ctx, "greet", make(chan int), troupe.ErrBadRequest},
		{"Oversized", ctx, "greet", string(big), troupe.ErrBadRequest},
		{"UnknownName", ctx, "no.such.name", nil, troupe.ErrForbidden},
		{"EmptyName", ctx, "", nil, troupe.ErrForbidden},
		{"ExpiredDeadline", expired, "greet", nil, troupe.ErrTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := w.Request(tt.ctx, tt.msg, tt.payload)
			if !errors.Is(err, tt.want) {
				t.Errorf("Request = %v, want %v", err, tt.want.Code)
			}
			if tt.name != "ExpiredDeadline" {
				if err := w.Send(tt.ctx, tt.msg, tt.payload); !errors.Is(err, tt.want) {
					t.Errorf("Send = %v, want %v", err, tt.want.Code)
				}
			}
		})
	}
	silent(t, got, "delivery of bad input")

	t.Run("BadReplies", func(t *testing.T) {
		go func() {
			var m *bus.Msg
			select {
			case m = <-got:
			case <-time.After(Patience):
				t.Error("gave up waiting for the request")
				return
			}
			for _, r := range []struct {
				name    string
				payload any
			}{{"", nil}, {"bad name!", nil}, {"ok", json.RawMessage(`{`)}, {"ok", string(big)}} {
				if err := m.Reply(ctx, r.name, r.payload); !errors.Is(err, troupe.ErrBadRequest) {
					t.Errorf("Reply(%q, %.10v) = %v, want ErrBadRequest", r.name, r.payload, err)
				}
			}
			if err := m.ReplyError(ctx, nil); err == nil {
				t.Errorf("ReplyError(nil) succeeded")
			}
			_ = m.Reply(ctx, "ok", "fine")
		}()
		reply, err := w.Request(ctx, "greet", nil)
		if err != nil || payloadString(t, reply) != "fine" {
			t.Errorf("Request after bad replies = %v, %v; want the good reply", reply, err)
		}
	})
	t.Run("ReplyToUnknownRequest", func(t *testing.T) {
		p := f.raw("greeter", "raw1", nil)
		env := &troupe.Envelope{
			Kind: troupe.KindReply, Name: "stray", ID: troupe.NewID(), ResponseTo: troupe.NewID(),
			Sender: troupe.Member{Service: "greeter", Instance: "raw1"}, SentAt: time.Now(),
			Deadline: time.Now().Add(time.Hour),
		}
		env.ActivityID = env.ID
		before := f.b.Stats().Services["web"].Dropped
		if err := p.Reply(ctx, w.Member(), env); err != nil {
			t.Fatalf("raw Reply: %v", err)
		}
		eventually(t, "a dropped stray reply", func() bool { return f.b.Stats().Services["web"].Dropped == before+1 })
	})
	t.Run("MalformedDeliveries", func(t *testing.T) {
		p := f.raw("web", "raw2", nil)
		sender := troupe.Member{Service: "web", Instance: "raw2"}
		envs := []*troupe.Envelope{
			// A request without a deadline.
			{Kind: troupe.KindRequest, Name: "greet", ID: troupe.NewID(), Sender: sender, SentAt: time.Now()},
			// An undeclared sender service.
			{Kind: troupe.KindSend, Name: "greet", ID: troupe.NewID(), Sender: troupe.Member{Service: "ghost", Instance: "x"}, SentAt: time.Now()},
			// A payload over the limit.
			{Kind: troupe.KindSend, Name: "greet", ID: troupe.NewID(), Sender: sender, SentAt: time.Now(), Payload: json.RawMessage(`"` + string(big) + `"`)},
		}
		before := f.b.Stats().Services["greeter"].Refusals
		routed := 0
		for i, env := range envs {
			env.ActivityID = env.ID
			// A transport may refuse a malformed envelope itself;
			// if it routes it, the receiving bus must refuse it.
			if err := p.Route(ctx, env); err == nil {
				routed++
			} else {
				t.Logf("envelope %d refused by the transport: %v", i, err)
			}
		}
		eventually(t, "refusals at greeter", func() bool {
			return f.b.Stats().Services["greeter"].Refusals == before+uint64(routed)
		})
		silent(t, got, "delivery of a malformed envelope")
	})
}

func (s *suite) durable(t *testing.T) {
	t.Run("Redelivery", func(t *testing.T) {
		f := s.setup(t, bus.Config{Backoff: func(int) time.Duration { return time.Millisecond }})
		attempts := make(chan int, 10)
		c := f.join("worker", "w1")
		f.handle(c, "durable.job", func(ctx context.Context, m *bus.Msg) {
			attempts <- m.Attempt()
			if !m.Env.Durable {
				t.Errorf("durable.job delivered without Durable set")
			}
			if m.Attempt() == 1 {
				m.Done(errors.New("first attempt fails"))
				return
			}
			m.Done(nil)
		})
		w := f.join("web", "web1")
		if err := w.Send(ctxTimeout(t, Patience), "durable.job", "x"); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if got, want := receive(t, attempts, "attempt 1"), 1; got != want {
			t.Errorf("first delivery attempt = %d, want %d", got, want)
		}
		if got, want := receive(t, attempts, "attempt 2"), 2; got != want {
			t.Errorf("second delivery attempt = %d, want %d", got, want)
		}
		silent(t, attempts, "a delivery after the ack")
		if got, want := f.b.Stats().Messages["durable.job"].HandlerErrors, uint64(1); got != want {
			t.Errorf("handler errors = %d, want %d", got, want)
		}
	})
	t.Run("DeadLetter", func(t *testing.T) {
		f := s.setup(t, bus.Config{MaxAttempts: 3, Backoff: func(int) time.Duration { return time.Millisecond }})
		attempts := make(chan int, 10)
		c := f.join("worker", "w1")
		f.handle(c, "failing.job", func(ctx context.Context, m *bus.Msg) {
			attempts <- m.Attempt()
			m.Done(errors.New("always fails"))
		})
		w := f.join("web", "web1")
		if err := w.Send(ctxTimeout(t, Patience), "failing.job", nil); err != nil {
			t.Fatalf("Send: %v", err)
		}
		for i := 1; i <= 3; i++ {
			if got := receive(t, attempts, fmt.Sprint("attempt ", i)); got != i {
				t.Errorf("attempt = %d, want %d", got, i)
			}
		}
		eventually(t, "a dead letter", func() bool { return f.b.Stats().Messages["failing.job"].DeadLetters == 1 })
		silent(t, attempts, "a delivery after the dead letter")
	})
}
