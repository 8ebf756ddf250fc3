// Package todoapp declares the todo application of seeds 002 and 004: its
// manifest (troupe.yaml beside this file: the web and todo services and the
// gateway's REST routes) and the registrations of its services for a node
// (Services), for tests, benchmarks and the demo binary.
//
// The services are in the subpackages: todo (the todo service, owner of the
// store), web (HTML pages, assets, live updates) and store (storage).
package todoapp

import (
	"cmp"
	"context"
	_ "embed"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/examples/todo/store"
	"github.com/troupe-go/troupe/examples/todo/store/postgres"
	"github.com/troupe-go/troupe/examples/todo/store/sqlite"
	"github.com/troupe-go/troupe/examples/todo/todo"
	"github.com/troupe-go/troupe/examples/todo/web"
	"github.com/troupe-go/troupe/host"
	"github.com/troupe-go/troupe/manifest"
	"github.com/troupe-go/troupe/service"
)

// Manifest is the application's troupe.yaml.
//
//go:embed troupe.yaml
var Manifest []byte

// App parses Manifest.
func App() (*troupe.App, error) {
	return manifest.Parse("examples/todo/troupe.yaml", Manifest)
}

// Options configure the services' registrations.
type Options struct {
	// StoreDSN, if set, is a PostgreSQL DSN for the todo service's store
	// (the -store-dsn flag sets it too); empty means an SQLite file in the
	// service's data directory (DATA/todo/todo.db).
	StoreDSN string
	// Store, if set, is the todo service's store, shared by its instances
	// and not closed by them (a test's, say); it wins over StoreDSN.
	Store store.Store
	// Web configures the web service; its Logger and Timeout default to
	// the node's.
	Web web.Options
	// Pages, if set, is called with the pages handler of each web
	// instance (tests and benchmarks count its live connections).
	Pages func(*web.Handler)
}

// Services returns the registrations of the todo and web services, with the
// -store-dsn flag (default $TROUPE_STORE_DSN).
func Services() []host.Service { return ServicesWith(Options{}) }

// ServicesWith returns the registrations of the todo and web services with
// opt; the -store-dsn flag still overrides opt.StoreDSN when given.
func ServicesWith(opt Options) []host.Service {
	dsn := opt.StoreDSN
	return []host.Service{
		{
			Name: "todo",
			Flags: func(fs *flag.FlagSet) {
				fs.StringVar(&dsn, "store-dsn", cmp.Or(opt.StoreDSN, os.Getenv("TROUPE_STORE_DSN")), "PostgreSQL DSN for the todo service's store (default $TROUPE_STORE_DSN; empty: SQLite in DATA/todo)")
			},
			New: func(ctx context.Context, in *host.Instance) (*service.Service, error) {
				st := opt.Store
				if st == nil {
					var err error
					if st, err = openStore(ctx, dsn, in.DataDir); err != nil {
						return nil, err
					}
					in.OnStop(func(context.Context) error { return st.Close() })
				}
				return todo.New(in.Config(), todo.Options{Store: st, Logger: in.Logger})
			},
		},
		{
			Name: "web",
			New: func(_ context.Context, in *host.Instance) (*service.Service, error) {
				wo := opt.Web
				if wo.Logger == nil {
					wo.Logger = in.Logger
				}
				if wo.Timeout == 0 {
					wo.Timeout = in.Timeout
				}
				s, pages, err := web.New(in.Config(), wo)
				if err != nil {
					return nil, err
				}
				if opt.Pages != nil {
					opt.Pages(pages)
				}
				in.Front(func(next http.Handler) http.Handler { return web.Combine(pages, next) })
				// Live connections are hijacked: net/http's Shutdown
				// would not wait for them.
				in.OnDrain(pages.Close)
				return s, nil
			},
		},
	}
}

// openStore opens PostgreSQL at dsn, or SQLite in dir.
func openStore(ctx context.Context, dsn, dir string) (store.Store, error) {
	if dsn != "" {
		st, err := postgres.Open(ctx, dsn)
		if err != nil {
			return nil, fmt.Errorf("todo store: %w", err)
		}
		return st, nil
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, "todo.db"))
	if err != nil {
		return nil, fmt.Errorf("todo store: %w", err)
	}
	return st, nil
}
