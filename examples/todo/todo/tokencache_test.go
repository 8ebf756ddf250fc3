package todo_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
	todoapp "github.com/troupe-go/troupe/examples/todo"
	"github.com/troupe-go/troupe/examples/todo/internal/apptest"
	"github.com/troupe-go/troupe/examples/todo/store"
	"github.com/troupe-go/troupe/examples/todo/store/sqlite"
	"github.com/troupe-go/troupe/examples/todo/todo"
	"github.com/troupe-go/troupe/examples/todo/web"
	"github.com/troupe-go/troupe/host"
	"github.com/troupe-go/troupe/service"
)

// TestTokenCache: an instance asks the store once who an API token belongs
// to, asks every time about an unknown one, and refuses a token at once
// after deleting it.
func TestTokenCache(t *testing.T) {
	c, ins := startTodo(t, 1)
	in := ins[0]
	ann := apptest.SignUp(t, c, "ann")
	for i := range 2 {
		if p, err := authenticate(t, c, ann.Token); err != nil || p.ID != ann.ID {
			t.Fatalf("authentication %d = %+v %v, want ann", i+1, p, err)
		}
	}
	if users, _ := in.answers(); users != 1 {
		t.Errorf("two authentications of one token asked the store %d times, want 1", users)
	}
	for range 2 {
		if _, err := authenticate(t, c, "guess"); !errors.Is(err, troupe.ErrNotFound) {
			t.Fatalf("a guessed token: %v, want not_found", err)
		}
	}
	if _, notFound := in.answers(); notFound != 2 {
		t.Errorf("two authentications of an unknown token asked the store %d times, want 2: not found is not cached", notFound)
	}

	// Refused at once by the instance that deleted it, before the
	// token.revoked event reaches it.
	release := in.holdRevoked(t)
	deleteToken(t, c, ann)
	if _, err := authenticate(t, c, ann.Token); !errors.Is(err, troupe.ErrNotFound) {
		t.Errorf("the token just deleted: %v, want not_found", err)
	}
	release()
	in.waitRevoked(t, 0)
}

// TestTokenRevokedOnEveryInstance: a token that both instances cached,
// deleted through one of them, is refused by both once each has handled
// the token.revoked event: on the in-process bus and on NATS, whose
// permissions the manifest makes.
func TestTokenRevokedOnEveryInstance(t *testing.T) {
	for _, tr := range []transport{inProc, overNATS} {
		t.Run(tr.String(), func(t *testing.T) { testTokenRevokedOnEveryInstance(t, tr) })
	}
}

func testTokenRevokedOnEveryInstance(t *testing.T, tr transport) {
	c, ins := startTodoOn(t, tr, 2)
	ann := apptest.SignUp(t, c, "ann")
	askUntil(t, "each instance asked the store about the token", func() bool {
		if p, err := authenticate(t, c, ann.Token); err != nil || p.ID != ann.ID {
			t.Fatalf("authenticate = %+v %v, want ann", p, err)
		}
		return everyInstance(ins, func(users, _ int) bool { return users > 0 })
	})

	deleteToken(t, c, ann)
	for i, in := range ins {
		in.waitRevoked(t, i)
	}
	askUntil(t, "each instance asked the store about the deleted token", func() bool {
		if _, err := authenticate(t, c, ann.Token); !errors.Is(err, troupe.ErrNotFound) {
			t.Fatalf("the deleted token, after every instance handled token.revoked: %v, want not_found", err)
		}
		return everyInstance(ins, func(_, notFound int) bool { return notFound > 0 })
	})
}

// TestTokenRevokedDuringQuery: the store's answer to a query that began
// before the token was deleted is not cached, even though it comes back
// after the instance handled the revocation.
func TestTokenRevokedDuringQuery(t *testing.T) {
	c, ins := startTodo(t, 2)
	ann := apptest.SignUp(t, c, "ann")
	// The first TokenUser query, on either instance, holds the store's
	// answer (ann) until released.
	queried := make(chan *instance, 1)
	released := make(chan struct{})
	release := sync.OnceFunc(func() { close(released) })
	t.Cleanup(release) // before the instances stop
	var held atomic.Bool
	for _, in := range ins {
		in.setQueried(func() {
			if held.CompareAndSwap(false, true) {
				queried <- in
				<-released
			}
		})
	}
	answer := make(chan error, 1)
	go func() {
		_, err := c.Request(context.Background(), todo.MsgAuthenticate, todo.TokenOf{Token: ann.Token, Kind: "bearer"})
		answer <- err
	}()
	var in *instance
	select {
	case in = <-queried:
	case <-time.After(10 * time.Second):
		t.Fatal("no instance asked the store about the token within 10 s")
	}

	deleteToken(t, c, ann)
	in.waitRevoked(t, slices.Index(ins, in))
	release()
	if err := <-answer; err != nil {
		t.Fatalf("the authentication begun before the deletion: %v, want ann, as the store answered then", err)
	}
	askUntil(t, "the instance that was asking asked the store again", func() bool {
		if _, err := authenticate(t, c, ann.Token); !errors.Is(err, troupe.ErrNotFound) {
			t.Fatalf("the deleted token: %v, want not_found: an answer from before its revocation was cached", err)
		}
		_, notFound := in.answers()
		return notFound > 0
	})
}

// instance is one todo service instance of startTodo: the store as it sees
// it, which counts the answers of TokenUser, and the token.revoked events
// it handled.
type instance struct {
	store.Store
	revoked chan struct{} // a value for each token.revoked handled

	mu       sync.Mutex
	users    int           // TokenUser answers that were a user
	notFound int           // and those that were not_found
	queried  func()        // if set, called between TokenUser's query and its answer
	gate     chan struct{} // if set, token.revoked is handled once it is closed
}

func (in *instance) TokenUser(ctx context.Context, secret []byte) (store.User, error) {
	u, err := in.Store.TokenUser(ctx, secret)
	in.mu.Lock()
	switch {
	case err == nil:
		in.users++
	case errors.Is(err, troupe.ErrNotFound):
		in.notFound++
	}
	queried := in.queried
	in.mu.Unlock()
	if queried != nil {
		queried()
	}
	return u, err
}

func (in *instance) answers() (users, notFound int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.users, in.notFound
}

func (in *instance) setQueried(f func()) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.queried = f
}

// holdRevoked makes the instance wait until release is called before it
// handles token.revoked.
func (in *instance) holdRevoked(t *testing.T) (release func()) {
	gate := make(chan struct{})
	release = sync.OnceFunc(func() { close(gate) })
	t.Cleanup(release) // before the instances stop
	in.mu.Lock()
	defer in.mu.Unlock()
	in.gate = gate
	return release
}

// handled is the instance's middleware: it holds token.revoked while the
// gate is shut, and tells revoked of every one the instance handled.
func (in *instance) handled(next service.Handler) service.Handler {
	return func(ctx context.Context, m *bus.Msg) error {
		if m.Env.Name != todo.EventTokenRevoked {
			return next(ctx, m)
		}
		in.mu.Lock()
		gate := in.gate
		in.mu.Unlock()
		if gate != nil {
			<-gate
		}
		err := next(ctx, m)
		if err == nil {
			select {
			case in.revoked <- struct{}{}:
			default:
			}
		}
		return err
	}
}

// waitRevoked waits until instance i has handled a token.revoked event.
func (in *instance) waitRevoked(t *testing.T, i int) {
	t.Helper()
	select {
	case <-in.revoked:
	case <-time.After(10 * time.Second):
		t.Fatalf("todo instance %d did not handle token.revoked within 10 s", i)
	}
}

// A transport is the bus startTodoOn runs the instances on.
type transport int

const (
	inProc   transport = iota
	overNATS           // an embedded NATS server
)

func (tr transport) String() string { return [...]string{"inproc", "nats"}[tr] }

// startTodo runs n instances of the todo service, over one SQLite store, on
// a node's in-process bus until the test ends. It returns a member that
// sends what the web service sends, as an edge, and the instances.
func startTodo(t *testing.T, n int) (*bus.Client, []*instance) {
	t.Helper()
	return startTodoOn(t, inProc, n)
}

// startTodoOn is startTodo on the transport tr.
func startTodoOn(t *testing.T, tr transport, n int) (*bus.Client, []*instance) {
	t.Helper()
	ctx := context.Background()
	m, err := todoapp.App()
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Services {
		if m.Services[i].Name == todo.Name {
			m.Services[i].Instances = n
		}
	}
	m.Services = append(m.Services, troupe.ServiceDecl{Name: "tester", Edge: true, Sends: web.Sends})
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "todo.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() }) // after the node's Shutdown
	var ins []*instance
	newTodo := func(_ context.Context, hi *host.Instance) (*service.Service, error) {
		in := &instance{Store: st, revoked: make(chan struct{}, 8)}
		ins = append(ins, in)
		cfg := hi.Config()
		cfg.Middleware = append(cfg.Middleware, in.handled)
		return todo.New(cfg, todo.Options{Store: in, Logger: hi.Logger})
	}
	node, err := host.Start(ctx, host.Config{
		App:      m,
		Services: []host.Service{{Name: todo.Name, New: newTodo}},
		Only:     []string{todo.Name},
		DataDir:  t.TempDir(),
		Timeout:  10 * time.Second, // a held query (TestTokenRevokedDuringQuery) must not time out
		InProc:   tr == inProc,
		NATS:     host.NATSConfig{Port: -1},
		HTTP:     host.HTTPConfig{AdminAddr: host.AdminOff},
		Logger:   slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = node.Shutdown(sctx)
	})
	if len(ins) != n {
		t.Fatalf("the node built %d todo instances, want %d", len(ins), n)
	}
	c, err := node.Bus().Join(ctx, "tester", troupe.NewInstanceID("tester"))
	if err != nil {
		t.Fatal(err)
	}
	return c, ins
}

// authenticate asks account.authenticate who the API token belongs to.
func authenticate(t *testing.T, c *bus.Client, token string) (troupe.Principal, error) {
	t.Helper()
	return request[troupe.Principal](t, c, todo.MsgAuthenticate, todo.TokenOf{Token: token, Kind: "bearer"})
}

// deleteToken deletes u's API token (apptest.SignUp made one).
func deleteToken(t *testing.T, c *bus.Client, u *apptest.User) {
	t.Helper()
	tks, err := request[todo.Tokens](t, asUser{c, u}, todo.MsgTokens, struct{}{})
	if err != nil || len(tks.Tokens) != 1 {
		t.Fatalf("token.list = %+v %v, want one token", tks, err)
	}
	if _, err := request[todo.TokenRef](t, asUser{c, u}, todo.MsgTokenDelete, todo.TokenRef{ID: tks.Tokens[0].ID}); err != nil {
		t.Fatal(err)
	}
}

// askUntil calls ask until it reports true, at most 100 times: each call
// sends a request, and the bus hands each to one of the instances (in
// turn in process, at random on NATS).
func askUntil(t *testing.T, what string, ask func() bool) {
	t.Helper()
	for range 100 {
		if ask() {
			return
		}
	}
	t.Fatalf("not after 100 requests: %s", what)
}

// everyInstance reports whether ok holds for the TokenUser answers of every
// instance.
func everyInstance(ins []*instance, ok func(users, notFound int) bool) bool {
	for _, in := range ins {
		if !ok(in.answers()) {
			return false
		}
	}
	return true
}
