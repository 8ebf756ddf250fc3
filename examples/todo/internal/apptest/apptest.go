// Package apptest runs the whole todo application in a test: the
// in-process bus, an actor system, an SQLite store in a temporary directory,
// the todo and web services, the gateway, and an httptest server for the
// pages and the REST API together.
package apptest

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	todoapp "github.com/troupe-go/troupe/examples/todo"
	"github.com/troupe-go/troupe/examples/todo/store"
	"github.com/troupe-go/troupe/examples/todo/store/sqlite"
	"github.com/troupe-go/troupe/examples/todo/todo"
	"github.com/troupe-go/troupe/examples/todo/web"
	"github.com/troupe-go/troupe/gateway"
	"github.com/troupe-go/troupe/service"
)

// App is a running todo application.
type App struct {
	Manifest *troupe.App
	Bus      *bus.Bus
	Store    store.Store
	Todo     *service.Service
	Web      *service.Service
	Pages    *web.Handler
	Gateway  *gateway.Gateway
	Server   *httptest.Server // web.Combine(Pages, Gateway)
	// Client is a member of the bus allowed to send what the web service
	// sends and to receive its events ("tester").
	Client *bus.Client
}

// Options tune the application.
type Options struct {
	// Store, if set, is the todo service's store (closed when the test
	// ends); nil means a SQLite store in a temporary directory.
	Store   store.Store
	Web     web.Options
	Timeout time.Duration // the bus's and the gateway's budget; default 2 s
	Logger  *slog.Logger  // default: discard
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
	if opt.Web.Logger == nil {
		opt.Web.Logger = opt.Logger
	}
	if opt.Web.Timeout == 0 {
		opt.Web.Timeout = opt.Timeout
	}
	m, err := todoapp.App()
	if err != nil {
		tb.Fatal(err)
	}
	// A test member that may send the web service's requests and follows
	// the events.
	m.Services = append(m.Services, troupe.ServiceDecl{Name: "tester", Sends: web.Sends, Receives: todo.Events})
	a := &App{Manifest: m}
	a.Store = opt.Store
	if a.Store == nil {
		a.Store, err = sqlite.Open(ctx, filepath.Join(tb.TempDir(), "todo.db"))
		if err != nil {
			tb.Fatal(err)
		}
	}
	a.Bus, err = bus.New(bus.Config{App: m, Logger: opt.Logger, Timeout: opt.Timeout})
	if err != nil {
		tb.Fatal(err)
	}
	sys := actor.NewSystem(actor.Config{Logger: opt.Logger})
	tb.Cleanup(func() {
		if a.Pages != nil {
			_ = a.Pages.Close(ctx) // first: live connections are hijacked, the server does not wait for them
		}
		if a.Server != nil {
			a.Server.Close()
		}
		if a.Web != nil {
			_ = a.Web.Stop(ctx)
		}
		if a.Todo != nil {
			_ = a.Todo.Stop(ctx)
		}
		_ = a.Bus.Close(ctx)
		_ = sys.Shutdown(ctx)
		_ = a.Store.Close()
	})
	a.Web, a.Pages, err = web.New(service.Config{Instance: "web-1"}, opt.Web)
	if err != nil {
		tb.Fatal(err)
	}
	todoSvc, err := todo.New(service.Config{Instance: "todo-1"}, todo.Options{Store: a.Store, Logger: opt.Logger})
	if err != nil {
		tb.Fatal(err)
	}
	if err := todoSvc.Start(ctx, a.Bus, sys); err != nil {
		tb.Fatal(err)
	}
	a.Todo = todoSvc
	if err := a.Web.Start(ctx, a.Bus, sys); err != nil {
		tb.Fatal(err)
	}
	gwc, err := a.Bus.Join(ctx, troupe.GatewayService, "gateway-1")
	if err != nil {
		tb.Fatal(err)
	}
	a.Gateway, err = gateway.New(gateway.Config{App: m, Bus: gwc, Timeout: opt.Timeout, Logger: opt.Logger})
	if err != nil {
		tb.Fatal(err)
	}
	a.Client, err = a.Bus.Join(ctx, "tester", "tester-1")
	if err != nil {
		tb.Fatal(err)
	}
	a.Server = httptest.NewServer(web.Combine(a.Pages, a.Gateway))
	return a
}
