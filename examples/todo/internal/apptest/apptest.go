// Package apptest runs the whole todo application in a test: a node (host)
// on the in-process bus with the todo and web services, an SQLite store in a
// temporary directory (or the test's own), and the gateway and the pages on
// one loopback HTTP listener.
package apptest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
	todoapp "github.com/troupe-go/troupe/examples/todo"
	"github.com/troupe-go/troupe/examples/todo/store"
	"github.com/troupe-go/troupe/examples/todo/store/sqlite"
	"github.com/troupe-go/troupe/examples/todo/todo"
	"github.com/troupe-go/troupe/examples/todo/web"
	"github.com/troupe-go/troupe/host"
)

// App is a running todo application.
type App struct {
	Manifest *troupe.App
	Node     *host.Node
	Store    store.Store
	Pages    *web.Handler
	// Server is the node's HTTP listener: the pages and the REST API.
	Server Server
	// Client is a member of the bus allowed to send what the web service
	// sends and to receive its events ("tester"), an edge: it sends on
	// behalf of the user of its context (User.Ctx).
	Client *bus.Client

	opt     Options
	dataDir string // the node's: its NATS credentials, for Gateway
}

// A User is an account a test signed up, logged in, with an API token.
type User struct {
	troupe.Principal
	Session string // the session cookie's value (web.SessionCookie)
	Token   string // an API token for the REST API (Authorization: Bearer)
	List    string // the id of the user's first list
}

// Ctx returns ctx carrying u: what the test's Client sends with it goes out
// on behalf of u.
func (u *User) Ctx(ctx context.Context) context.Context {
	p := u.Principal
	return troupe.WithPrincipal(ctx, &p)
}

// Cookie is u's session cookie, for the pages.
func (u *User) Cookie() *http.Cookie { return &http.Cookie{Name: web.SessionCookie, Value: u.Session} }

// Password is the password SignUp gives every user.
const Password = "correct horse battery staple"

// SignUp makes the user name over the bus as the web service does (with
// Password), logs them in, makes them an API token, and returns them.
func (a *App) SignUp(tb testing.TB, name string) *User {
	tb.Helper()
	return SignUp(tb, a.Client, name)
}

// SignUp is App.SignUp through c, a member that may send what the web
// service sends, as an edge.
func SignUp(tb testing.TB, c *bus.Client, name string) *User {
	tb.Helper()
	ctx := context.Background()
	req := func(ctx context.Context, msg string, payload, rep any) {
		tb.Helper()
		env, err := c.Request(ctx, msg, payload)
		if err != nil {
			tb.Fatalf("%s for %s: %v", msg, name, err)
		}
		if err := json.Unmarshal(env.Payload, rep); err != nil {
			tb.Fatalf("%s for %s: %v", msg, name, err)
		}
	}
	creds := todo.Credentials{Name: name, Password: Password}
	var acc store.User
	req(ctx, todo.MsgSignUp, creds, &acc)
	var s todo.Session
	req(ctx, todo.MsgLogin, creds, &s)
	u := &User{Principal: troupe.Principal{ID: acc.ID, Name: acc.Name, Roles: []string{todo.RoleUser}}, Session: s.Token}
	var tk todo.NewToken
	req(u.Ctx(ctx), todo.MsgTokenCreate, todo.CreateToken{Name: "test"}, &tk)
	u.Token = tk.Secret
	var lists todo.Lists
	req(u.Ctx(ctx), todo.MsgListAll, struct{}{}, &lists)
	if len(lists.Lists) == 0 {
		tb.Fatalf("%s has no list", name)
	}
	u.List = lists.Lists[0].ID
	return u
}

// Gateway starts a second node, on the NATS server of a (Options.NATS),
// that runs only the gateway, with the gateway's credentials, until the
// test ends: another gateway instance beside the one of a's node. It
// returns the node and its HTTP listener, which serves the REST API
// (/api/) and no pages.
func (a *App) Gateway(tb testing.TB) (*host.Node, Server) {
	tb.Helper()
	if !a.opt.NATS {
		tb.Fatal("apptest: Gateway needs Options.NATS")
	}
	n := startNode(tb, host.Config{
		App:     a.Manifest,
		Only:    []string{troupe.GatewayService},
		DataDir: tb.TempDir(),
		Timeout: a.opt.Timeout,
		NATS:    host.NATSConfig{URL: a.Node.NATSURL(), Credentials: host.CredentialsFile(a.dataDir)},
		HTTP:    host.HTTPConfig{Addr: "127.0.0.1:0"},
		Logger:  a.opt.Logger,
	})
	return n, Server{URL: strings.TrimSuffix(n.URL(), "/")}
}

// startNode starts a node for cfg, shut down when the test ends.
func startNode(tb testing.TB, cfg host.Config) *host.Node {
	tb.Helper()
	n, err := host.Start(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = n.Shutdown(sctx)
	})
	return n
}

// Do sends an HTTP request to the application for u (nil: anonymous): the
// pages with u's session cookie, the REST API (/api/) with u's token. A
// JSON body gets its Content-Type.
func (a *App) Do(tb testing.TB, u *User, method, path, body string) *http.Response {
	tb.Helper()
	req, err := http.NewRequest(method, a.Server.URL+path, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	if body != "" {
		if strings.HasPrefix(path, "/api/") || strings.HasPrefix(body, "{") {
			req.Header.Set("Content-Type", "application/json")
		} else {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	if u != nil {
		if strings.HasPrefix(path, "/api/") {
			req.Header.Set("Authorization", "Bearer "+u.Token)
		} else {
			req.AddCookie(u.Cookie())
		}
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	return resp
}

// noRedirects is an HTTP client that shows redirects instead of following
// them.
var noRedirects = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// Server names the node's HTTP listener.
type Server struct {
	URL string // "http://127.0.0.1:PORT", without a trailing slash
}

// Options tune the application.
type Options struct {
	// Store, if set, is the todo service's store (closed when the test
	// ends); nil means a SQLite store in a temporary directory.
	Store   store.Store
	Web     web.Options
	Timeout time.Duration // the bus's and the gateway's budget; default 2 s
	// NATS runs the node on an embedded NATS server with each service's
	// own credentials, as troupe run does, instead of the in-process bus.
	NATS   bool
	Logger *slog.Logger // default: discard
}

// Start runs the application until the test ends.
func Start(tb testing.TB, opt Options) *App {
	tb.Helper()
	ctx := context.Background()
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opt.Timeout == 0 {
		opt.Timeout = 2 * time.Second
	}
	m, err := todoapp.App()
	if err != nil {
		tb.Fatal(err)
	}
	// A test member that may send the web service's requests, as an edge
	// (on behalf of users: App.SignUp), and follows the events.
	m.Services = append(m.Services, troupe.ServiceDecl{Name: "tester", Edge: true, Sends: web.Sends, Receives: todo.Events})
	a := &App{Manifest: m, Store: opt.Store, opt: opt, dataDir: tb.TempDir()}
	if a.Store == nil {
		if a.Store, err = sqlite.Open(ctx, filepath.Join(tb.TempDir(), "todo.db")); err != nil {
			tb.Fatal(err)
		}
	}
	tb.Cleanup(func() { _ = a.Store.Close() }) // after the node's Shutdown: cleanups run last in, first out
	n := startNode(tb, host.Config{
		App:      m,
		Services: todoapp.ServicesWith(todoapp.Options{Store: a.Store, Web: opt.Web, Pages: func(p *web.Handler) { a.Pages = p }}),
		Only:     []string{"todo", "web", troupe.GatewayService},
		DataDir:  a.dataDir,
		Timeout:  opt.Timeout,
		InProc:   !opt.NATS,
		HTTP:     host.HTTPConfig{Addr: "127.0.0.1:0"},
		Logger:   opt.Logger,
	})
	a.Node = n
	a.Server.URL = strings.TrimSuffix(n.URL(), "/")
	if a.Client, err = n.Bus().Join(ctx, "tester", troupe.NewInstanceID("tester")); err != nil {
		tb.Fatal(err)
	}
	return a
}
