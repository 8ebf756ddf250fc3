// Package apptest runs the whole todo application in a test: a node (host)
// on the in-process bus with the todo and web services, an SQLite store in a
// temporary directory (or the test's own), and the gateway and the pages on
// one loopback HTTP listener.
package apptest

import (
	"context"
	"io"
	"log/slog"
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
	// sends and to receive its events ("tester").
	Client *bus.Client
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
	m, err := todoapp.App()
	if err != nil {
		tb.Fatal(err)
	}
	// A test member that may send the web service's requests and follows
	// the events.
	m.Services = append(m.Services, troupe.ServiceDecl{Name: "tester", Sends: web.Sends, Receives: todo.Events})
	a := &App{Manifest: m, Store: opt.Store}
	if a.Store == nil {
		if a.Store, err = sqlite.Open(ctx, filepath.Join(tb.TempDir(), "todo.db")); err != nil {
			tb.Fatal(err)
		}
	}
	tb.Cleanup(func() { _ = a.Store.Close() }) // after the node's Shutdown: cleanups run last in, first out
	n, err := host.Start(ctx, host.Config{
		App:      m,
		Services: todoapp.ServicesWith(todoapp.Options{Store: a.Store, Web: opt.Web, Pages: func(p *web.Handler) { a.Pages = p }}),
		Only:     []string{"todo", "web", troupe.GatewayService},
		DataDir:  tb.TempDir(),
		Timeout:  opt.Timeout,
		InProc:   true,
		HTTP:     host.HTTPConfig{Addr: "127.0.0.1:0"},
		Logger:   opt.Logger,
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = n.Shutdown(sctx)
	})
	a.Node = n
	a.Server.URL = strings.TrimSuffix(n.URL(), "/")
	if a.Client, err = n.Bus().Join(ctx, "tester", troupe.NewInstanceID("tester")); err != nil {
		tb.Fatal(err)
	}
	return a
}
