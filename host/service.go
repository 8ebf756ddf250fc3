package host

import (
	"context"
	"flag"
	"log/slog"
	"net/http"
	"time"

	"github.com/troupe-go/troupe/service"
	"github.com/troupe-go/troupe/tracing"
)

// A Service registers one service of the manifest with a node: its name
// there and how to build an instance of it.
type Service struct {
	// Name is the service's name in the manifest. Required.
	Name string
	// New builds one instance: a *service.Service with its handlers
	// registered, not started (the node starts it). The node calls New
	// once per instance it runs, in manifest order, after the transport
	// is up and before any traffic arrives. An error stops the node's
	// start. Required.
	New func(ctx context.Context, in *Instance) (*service.Service, error)
	// Flags, if set, adds the service's own flags to the command line of
	// run and bench (fault injection, a store's address). New reads the
	// values it bound. Flag names must not clash with the node's own.
	Flags func(fs *flag.FlagSet)
}

// Instance is what the node tells a constructor about the instance it
// builds, and where the instance hooks into the node's lifecycle. It is valid
// only during and after the call to Service.New it is passed to.
type Instance struct {
	// Service is the service's name in the manifest.
	Service string
	// ID is the instance's id, unique across processes and machines
	// (troupe.NewInstanceID), or the one the parent gave a command
	// service. Replies, logs and metrics carry it.
	ID string
	// Logger is the node's logger with the service and instance attached.
	Logger *slog.Logger
	// DataDir is a directory of the service's own under the node's data
	// directory (DATA/<service>), created before New is called; instances
	// of a service in one node share it.
	DataDir string
	// Timeout is the node's request budget: a request's deadline from
	// its arrival at the gateway to its reply.
	Timeout time.Duration

	tracing *tracing.Tracing // the node's (observe.go)
	front   []func(http.Handler) http.Handler
	onDrain []func(context.Context) error
	onStop  []func(context.Context) error
}

// Config returns the service.Config of this instance: its name, id and
// logger.
func (in *Instance) Config() service.Config {
	cfg := service.Config{Name: in.Service, Instance: in.ID, Logger: in.Logger}
	// Tracing first, so that a service's own interceptors run in its
	// spans (observe.go).
	if mw := in.tracing.Middleware(in.Service, in.ID); mw != nil {
		cfg.Middleware = []service.Middleware{mw}
		cfg.CallMiddleware = []service.CallMiddleware{in.tracing.CallMiddleware(in.Service, in.ID)}
	}
	return cfg
}

// Front puts an HTTP handler in front of the node's: mw gets the handler
// that serves the gateway's routes and the health endpoints, and returns the
// one the node serves on its HTTP listeners (a service that serves pages
// routes its own paths and passes the rest on). A node serves HTTP when it
// runs the gateway, when -addr is given, or when an instance calls Front.
// When several instances call Front, the first registered is outermost.
func (in *Instance) Front(mw func(next http.Handler) http.Handler) {
	in.front = append(in.front, mw)
}

// OnDrain registers f to run when the node starts to stop, after /readyz
// turns unavailable and before its HTTP listeners close: close what
// net/http's Shutdown does not wait for (hijacked connections such as
// WebSockets) here.
func (in *Instance) OnDrain(f func(ctx context.Context) error) {
	in.onDrain = append(in.onDrain, f)
}

// OnStop registers f to run after the instance's service has stopped (no
// handler runs any more): close the instance's store here. Hooks run in the
// reverse order of registration.
func (in *Instance) OnStop(f func(ctx context.Context) error) {
	in.onStop = append(in.onStop, f)
}
