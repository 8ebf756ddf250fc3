package service_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/service"
)

// trail records what interceptors and handlers saw, in order.
type trail struct {
	mu  sync.Mutex
	log []string
}

func (tr *trail) add(s string) {
	tr.mu.Lock()
	tr.log = append(tr.log, s)
	tr.mu.Unlock()
}

func (tr *trail) get() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.log...)
}

func serving(tr *trail, name string) service.Middleware {
	return func(next service.Handler) service.Handler {
		return func(ctx context.Context, m *bus.Msg) error {
			if bus.EnvelopeFrom(ctx) != m.Env {
				tr.add(name + ": the context does not carry the envelope")
			}
			if _, ok := ctx.Deadline(); !ok && m.Env.Kind == troupe.KindRequest {
				tr.add(name + ": the context has no deadline")
			}
			tr.add(name + ">" + m.Env.Name + " trace=" + m.Env.Headers["trace"])
			err := next(ctx, m)
			tr.add("<" + name + " replied=" + boolText(m.Replied()) + " err=" + errText(err))
			return err
		}
	}
}

func calling(tr *trail, name string) service.CallMiddleware {
	return func(next service.Invoker) service.Invoker {
		return func(ctx context.Context, out *service.Outgoing) (*troupe.Envelope, error) {
			out.SetHeader("trace", "t1")
			tr.add(name + ">" + string(out.Env.Kind) + " " + out.Env.Name + " target=" + out.Target)
			rep, err := next(ctx, out)
			reply := ""
			if rep != nil {
				reply = rep.Name
			}
			tr.add("<" + name + " reply=" + reply + " err=" + errText(err))
			return rep, err
		}
	}
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func errText(err error) string {
	if err == nil {
		return "nil"
	}
	return string(troupe.CodeOf(err))
}

// waitFor returns the trail once it has n entries (waiting at most 10 s,
// a bound for a hung test).
func (tr *trail) waitFor(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := tr.get()
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(time.Millisecond)
	}
}

// sides splits a trail into the calling interceptors' entries and the
// serving side's (interceptors and handler), each in its order.
func sides(log []string) (calling, serving []string) {
	for _, e := range log {
		if strings.HasPrefix(e, "c") || strings.HasPrefix(e, "<c") {
			calling = append(calling, e)
		} else {
			serving = append(serving, e)
		}
	}
	return calling, serving
}

// index maps each entry of a trail to its position.
func index(log []string) map[string]int {
	at := make(map[string]int, len(log))
	for i, e := range log {
		at[e] = i
	}
	return at
}

// TestMiddlewareOrder checks that interceptors run outermost first on both
// sides, see the context and envelope, and that headers set by a calling
// interceptor reach the serving ones.
func TestMiddlewareOrder(t *testing.T) {
	r := newRig(t, "inproc", shopApp())
	var tr trail
	r.start(service.Config{Name: "stock", Middleware: []service.Middleware{serving(&tr, "s1"), serving(&tr, "s2")}}, func(s *service.Service) {
		if err := service.Handle(s, "stock.get", "stock", func(ctx context.Context, it Item) (Item, error) {
			tr.add("handler")
			if it.SKU == "" {
				return Item{}, troupe.Errorf(troupe.CodeBadRequest, "sku is required")
			}
			return it, nil
		}); err != nil {
			t.Fatal(err)
		}
	})
	web := r.start(service.Config{Name: "web", CallMiddleware: []service.CallMiddleware{calling(&tr, "c1"), calling(&tr, "c2")}}, nil)
	if _, err := service.Request[Item](context.Background(), web, "stock.get", Item{SKU: "a"}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"c1>request stock.get target=stock",
		"c2>request stock.get target=stock",
		"s1>stock.get trace=t1",
		"s2>stock.get trace=t1",
		"handler",
		"<s2 replied=true err=nil",
		"<s1 replied=true err=nil",
		"<c2 reply=stock err=nil",
		"<c1 reply=stock err=nil",
	}
	// The handler's reply leaves from inside the serving interceptors, so
	// the caller's side may finish before they have: wait for all of them,
	// then check each side's order, and that the request was served after
	// it was sent and answered after the handler ran.
	got := tr.waitFor(t, len(want))
	wantCaller, wantServer := sides(want)
	gotCaller, gotServer := sides(got)
	if diff := cmp.Diff(wantCaller, gotCaller); diff != "" {
		t.Errorf("the calling side's trail (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantServer, gotServer); diff != "" {
		t.Errorf("the serving side's trail (-want +got):\n%s", diff)
	}
	if at := index(got); !(at["c2>request stock.get target=stock"] < at["s1>stock.get trace=t1"] && at["handler"] < at["<c2 reply=stock err=nil"]) {
		t.Errorf("trail out of causal order: %q", got)
	}

	// An error the handler returns passes back through the interceptors
	// unanswered; the service answers it after the outermost.
	tr = trail{}
	_, err := service.Request[Item](context.Background(), web, "stock.get", Item{})
	if !errors.Is(err, troupe.ErrBadRequest) {
		t.Fatalf("err = %v, want bad_request", err)
	}
	want = []string{
		"c1>request stock.get target=stock",
		"c2>request stock.get target=stock",
		"s1>stock.get trace=t1",
		"s2>stock.get trace=t1",
		"handler",
		"<s2 replied=false err=bad_request",
		"<s1 replied=false err=bad_request",
		"<c2 reply= err=bad_request",
		"<c1 reply= err=bad_request",
	}
	if diff := cmp.Diff(want, tr.get()); diff != "" {
		t.Errorf("trail of an error (-want +got):\n%s", diff)
	}
}

// TestMiddlewareRefuses checks that a serving interceptor can refuse a
// message without calling the handler, and that one returning nil without
// a reply does not leave the requester waiting.
func TestMiddlewareRefuses(t *testing.T) {
	r := newRig(t, "inproc", shopApp())
	called := false
	deny := func(next service.Handler) service.Handler {
		return func(ctx context.Context, m *bus.Msg) error {
			switch m.Env.Headers["user"] {
			case "":
				return troupe.Errorf(troupe.CodeForbidden, "%s: who are you?", m.Env.Name)
			case "ghost":
				return nil // forgets to call next
			}
			return next(ctx, m)
		}
	}
	r.start(service.Config{Name: "stock", Middleware: []service.Middleware{deny}}, func(s *service.Service) {
		_ = service.Handle(s, "stock.get", "stock", func(ctx context.Context, it Item) (Item, error) {
			called = true
			return it, nil
		})
	})
	user := func(name string) service.CallMiddleware {
		return func(next service.Invoker) service.Invoker {
			return func(ctx context.Context, out *service.Outgoing) (*troupe.Envelope, error) {
				if name != "" {
					out.SetHeader("user", name)
				}
				return next(ctx, out)
			}
		}
	}
	for _, tt := range []struct {
		user string
		want error
	}{{"", troupe.ErrForbidden}, {"ghost", troupe.ErrInternal}, {"ann", nil}} {
		web := r.start(service.Config{Name: "web", CallMiddleware: []service.CallMiddleware{user(tt.user)}}, nil)
		_, err := service.Request[Item](context.Background(), web, "stock.get", Item{SKU: "a"})
		if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("user %q: err = %v, want %v", tt.user, err, tt.want)
		}
	}
	if !called {
		t.Error("the handler was never called")
	}
}

// TestCallMiddlewareSeesEveryKind checks that sends, publishes and
// collects pass through the calling interceptors too, and that an
// interceptor outside the fallback sees its reply.
func TestCallMiddlewareSeesEveryKind(t *testing.T) {
	r := newRig(t, "inproc", shopApp())
	var tr trail
	got := make(chan string, 10)
	r.start(service.Config{Name: "pricing"}, func(s *service.Service) {
		_ = service.On(s, "stock.changed", func(ctx context.Context, it Item) error {
			got <- "changed " + bus.EnvelopeFrom(ctx).Headers["trace"]
			return nil
		})
		_ = service.Handle(s, "quote", "quote", func(ctx context.Context, it Item) (Item, error) { return it, nil })
	})
	web := r.start(service.Config{Name: "web", CallMiddleware: []service.CallMiddleware{calling(&tr, "c")}}, nil)
	ctx := context.Background()
	if err := web.Publish(ctx, "stock.changed", Item{SKU: "a"}); err != nil {
		t.Fatal(err)
	}
	if err := web.Send(ctx, "stock.note", Item{SKU: "a"}); !errors.Is(err, troupe.ErrNoReceiver) {
		t.Fatalf("send to nobody: err = %v, want no receiver", err)
	}
	quotes, err := service.Collect[Item](ctx, web, "quote", Item{SKU: "q"})
	if err != nil || len(quotes) != 1 {
		t.Fatalf("collect: %v, %v; want one quote (pricing answers, stock is not running)", quotes, err)
	}
	if _, err := service.Request[Item](ctx, web, "stock.get", Item{}, service.Fallback(Item{SKU: "fb"})); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s != "changed t1" {
			t.Errorf("subscriber got %q, want the header set by the interceptor", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the event never arrived")
	}
	want := []string{
		"c>publish stock.changed target=pricing",
		"<c reply= err=nil",
		"c>send stock.note target=stock",
		"<c reply= err=unavailable",
		"c>request quote target=",
		"<c reply= err=nil",
		"c>request stock.get target=stock",
		"<c reply=Fallback err=nil",
	}
	if diff := cmp.Diff(want, tr.get()); diff != "" {
		t.Errorf("trail (-want +got):\n%s", diff)
	}
}
