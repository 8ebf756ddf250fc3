package host

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/alarm"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/gateway"
	"github.com/troupe-go/troupe/natsbus"
	"github.com/troupe-go/troupe/service"
)

// Defaults for the zero fields of Config.
const (
	DefaultDataDir = ".troupe"
	DefaultDrain   = 10 * time.Second
	DefaultSurge   = 20000 // requests per second
)

// Config configures a node. The zero value of each field but App means the
// documented default.
type Config struct {
	// App is the application. Required. The node declares the operator
	// service (troupe.OperatorService) beside its services; App itself
	// must not.
	App *troupe.App
	// ManifestFile is the file App was read from, handed to command
	// services as TROUPE_MANIFEST. Empty means App is built into the
	// binary (children built on this package use their own copy).
	ManifestFile string
	// Services are the constructors of the services this binary can run
	// in process. Every service the node runs that has no command in the
	// manifest must have one; every one must be declared in App.
	Services []Service
	// Only, if not empty, names the services this node runs (the gateway
	// is troupe.GatewayService); the others run elsewhere. Empty runs all.
	Only []string
	// DataDir holds the node's state: the embedded NATS server's store and
	// credentials, each service's DataDir, the self-signed certificate.
	// Default DefaultDataDir.
	DataDir string
	// Timeout is the budget of a request from its arrival to its reply, at
	// the gateway and on the bus. Default 1 s.
	Timeout time.Duration
	// Drain bounds how long in-flight work may take to finish at shutdown
	// when Shutdown's context has no earlier deadline; it is also the
	// grace time of command services. Default DefaultDrain.
	Drain time.Duration
	// InProc keeps the node in one process on the in-process bus: no NATS,
	// no command services.
	InProc bool
	// NATS configures the NATS transport (when not InProc).
	NATS NATSConfig
	// HTTP configures the gateway's listeners.
	HTTP HTTPConfig
	// Alarms configures the node's alarms.
	Alarms AlarmConfig
	// DebugAddr, if set, serves Go's profiler (net/http/pprof) there too.
	DebugAddr string
	// Logger receives the node's records and every service's. Default
	// slog.Default().
	Logger *slog.Logger
	// Stdout receives the lines that say where the node listens ("nats
	// listening on ...", "gateway listening on ..."). Nil discards them.
	Stdout io.Writer
	// Output receives the output of command services, each line prefixed
	// with the instance's id. Nil means os.Stderr.
	Output io.Writer
	// Version is reported at /healthz. Empty means "devel".
	Version string

	// Set by serveChild for a command service's process.
	child       bool                          // no HTTP without an address, whatever Front asks
	instanceID  string                        // the parent's id for the instance
	credentials map[string]natsbus.Credential // the parent's credential for the service
}

// NATSConfig configures a node's NATS transport.
type NATSConfig struct {
	// URL names the server or cluster to join (comma-separated URLs).
	// Empty starts an embedded server on loopback.
	URL string
	// Port is the embedded server's client port. Zero means 4222;
	// negative picks a free one.
	Port int
	// Credentials is a JSON file of NATS credentials by user. Empty means
	// DATA/nats/credentials.json, which the embedded server writes.
	Credentials string
	// Replicas is the number of copies of the durable-message streams in
	// a cluster. Zero means 1. Command services get the same.
	Replicas int
}

// HTTPConfig configures a node's HTTP listeners.
type HTTPConfig struct {
	// Addr is the plain-HTTP listen address (port 0 picks a free port).
	// Empty means gateway.DefaultAddr for a node that runs the gateway or
	// has a Front handler, and no listener for one that does not.
	Addr string
	// TLSAddr is the HTTPS listen address. Empty means no HTTPS.
	TLSAddr string
	// CertFile and KeyFile name a PEM certificate and key for HTTPS.
	CertFile, KeyFile string
	// SelfSigned makes a self-signed certificate (kept in DATA/tls) when
	// no CertFile is given.
	SelfSigned bool
	// RedirectHTTP makes the plain-HTTP listener redirect to HTTPS.
	RedirectHTTP bool
	// AllowedHosts are the host names the node's HTTP listeners answer
	// for, besides IP addresses and localhost (gateway.Config.AllowedHosts).
	AllowedHosts []string
	// TrustedOrigins are other origins whose browsers may send
	// state-changing requests (gateway.Config.TrustedOrigins).
	TrustedOrigins []string
	// Authenticator says who sends each request to the gateway's routes.
	// Nil means the manifest's: a gateway.BusAuthenticator that asks the
	// message of gateway authenticate (troupe.App.Authenticate), if any,
	// and, where the manifest names a revoked event (troupe.App.Revoked),
	// keeps each answer for gateway.DefaultAuthCacheFor and drops a
	// user's answers when the event names the user.
	Authenticator gateway.Authenticator
	// AdminAddr is the admin listener's address: the dashboard, the
	// metrics, Go's profiler, and what only operators should reach
	// (docs/observe.md, docs/operations.md). Empty means DefaultAdminAddr,
	// a free port on loopback (none for a command service); AdminOff
	// ("off") means none. Off loopback it serves /metrics to anyone who
	// reaches it and the rest only with the operator's credentials.
	AdminAddr string
}

// AlarmConfig configures a node's alarms.
type AlarmConfig struct {
	// Webhook, if set, receives every alarm notification as a POST.
	Webhook string
	// Surge is the request rate, per second, above which the surge alarm
	// is raised. Default DefaultSurge.
	Surge float64
	// Saturation is the fraction of one message's (or route's) requests
	// shed, late or long delayed within SaturationWindow above which the
	// saturation alarm is raised (it clears below a quarter of it).
	// Default alarm.DefaultSaturationHigh (0.02).
	Saturation float64
	// SaturationWindow is the span of the saturation alarm. Default
	// alarm.DefaultSaturationWindow (10 s).
	SaturationWindow time.Duration
}

// A Node is a running node. Its methods are safe for concurrent use.
type Node struct {
	cfg Config
	app *troupe.App // cfg.App with the operator
	log *slog.Logger

	registry   *prometheus.Registry
	monitor    *alarm.Monitor
	webhook    *alarm.Webhook
	crashLoop  *alarm.CrashLoop
	sys        *actor.System
	events     *actor.Subscription
	eventsDone chan struct{}
	heartbeat  actor.PID
	natsServer *natsbus.Server
	transport  *natsbus.Transport
	urlFile    string // the NATS URL file this node wrote
	bus        *bus.Bus
	instances  []*running
	commands   []*command
	gw         *gateway.Gateway
	server     *gateway.Server
	debug      *http.Server
	gatewayID  string

	forkMu     sync.Mutex
	forkClosed bool
	forks      chan forkRequest
	forkDone   chan struct{}

	obs observer // tracing, observe agent, admin listener (observe.go)

	stopOnce sync.Once
	stopErr  error
}

// running is one in-process instance.
type running struct {
	in  *Instance
	svc *service.Service
}

// Start starts a node and returns once every part of it in this process is
// serving; command services may still be starting (see WaitReady). On an
// error, whatever had started is stopped again.
func Start(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.App == nil {
		return nil, errors.New("host: config: App is required")
	}
	app, err := cfg.App.WithOperator()
	if err != nil {
		return nil, fmt.Errorf("host: %w", err)
	}
	cfg.DataDir = cmp.Or(cfg.DataDir, DefaultDataDir)
	if cfg.Timeout < 0 || cfg.Drain < 0 {
		return nil, errors.New("host: config: negative Timeout or Drain")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = bus.DefaultTimeout
	}
	if cfg.Drain == 0 {
		cfg.Drain = DefaultDrain
	}
	if cfg.Alarms.Surge == 0 {
		cfg.Alarms.Surge = DefaultSurge
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Logger = wrapLogger(cfg.Logger) // observe.go
	if cfg.Stdout == nil {
		cfg.Stdout = io.Discard
	}
	if cfg.Output == nil {
		cfg.Output = os.Stderr
	}
	n := &Node{cfg: cfg, app: app, log: cfg.Logger, gatewayID: troupe.NewInstanceID(troupe.GatewayService)}
	plan, err := n.plan()
	if err != nil {
		return nil, err
	}
	if err := n.start(ctx, plan); err != nil {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.Drain)
		defer cancel()
		return nil, errors.Join(err, n.Shutdown(stopCtx))
	}
	return n, nil
}

// plan is what a node runs: its in-process services, its command services,
// and whether it serves the gateway. Start checks it before starting
// anything.
type plan struct {
	services []planned // in manifest order
	commands []troupe.ServiceDecl
	gateway  bool
}

type planned struct {
	decl troupe.ServiceDecl
	reg  Service
}

func (n *Node) start(ctx context.Context, p plan) error {
	cfg := n.cfg
	n.registry = prometheus.NewRegistry()
	n.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if cfg.DebugAddr != "" {
		if err := n.startDebug(cfg.DebugAddr); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("host: data directory: %w", err)
	}

	// Alarms first, so that everything after can feed them.
	al, err := n.startAlarms()
	if err != nil {
		return err
	}

	// The actor system: its crashes feed the crash-loop alarm, and a
	// heartbeat process answers the liveness check.
	n.sys = actor.NewSystem(actor.Config{Logger: n.log})
	n.heartbeat, err = n.sys.Spawn(actor.BehaviorFunc(func(c *actor.Context, msg any) { c.Reply(msg) }), actor.Options{Name: "heartbeat"})
	if err != nil {
		return fmt.Errorf("host: heartbeat: %w", err)
	}
	n.events = n.sys.Subscribe(1024)
	n.eventsDone = make(chan struct{})
	go n.watchEvents()

	// The transport and the bus.
	if err := n.startTransport(ctx, n.deadLettered(al.deadLetters)); err != nil {
		return err
	}
	bcfg := bus.Config{App: n.app, Timeout: cfg.Timeout, Logger: n.log}
	if n.transport != nil {
		bcfg.Transport = n.transport
	}
	if n.bus, err = bus.New(bcfg); err != nil {
		return fmt.Errorf("host: %w", err)
	}
	n.registry.MustRegister(n.bus.Collector())
	if n.transport != nil {
		n.registry.MustRegister(n.transport.Collector())
	}

	// The services, in manifest order.
	if err := n.startTracing(ctx); err != nil {
		return err
	}
	for _, ps := range p.services {
		if err := n.startService(ctx, ps); err != nil {
			return err
		}
	}
	if err := n.watchCalls(); err != nil {
		return err
	}
	for _, decl := range p.commands {
		if err := n.startCommand(decl); err != nil {
			return err
		}
	}

	// The gateway last: traffic arrives only when everything can serve it.
	if err := n.startHTTP(ctx, p.gateway, al); err != nil {
		return err
	}
	if err := n.watchSaturation(); err != nil { // saturation.go
		return err
	}
	return n.startObserve(ctx)
}

// startService builds and starts every instance of one service.
func (n *Node) startService(ctx context.Context, ps planned) error {
	dir := filepath.Join(n.cfg.DataDir, ps.decl.Name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("host: service %s: data directory: %w", ps.decl.Name, err)
	}
	for range max(ps.decl.Instances, 1) {
		id := troupe.NewInstanceID(ps.decl.Name)
		if n.cfg.instanceID != "" {
			id = n.cfg.instanceID
		}
		in := &Instance{
			Service: ps.decl.Name,
			ID:      id,
			Logger:  n.log.With("service", ps.decl.Name, "instance", id),
			DataDir: dir,
			Timeout: n.cfg.Timeout,
			tracing: n.obs.tracing,
		}
		r := &running{in: in}
		// Registered before New, so that hooks New added run even when
		// New or Start fails.
		n.instances = append(n.instances, r)
		s, err := ps.reg.New(ctx, in)
		if err != nil {
			return fmt.Errorf("host: service %s: %w", ps.decl.Name, err)
		}
		if s == nil {
			return fmt.Errorf("host: service %s: its constructor returned no service", ps.decl.Name)
		}
		if s.Name() != ps.decl.Name {
			return fmt.Errorf("host: service %s: its constructor built a service named %q; use Instance.Config()", ps.decl.Name, s.Name())
		}
		if err := checkHandlers(n.app, ps.decl, s); err != nil {
			return err
		}
		if err := s.Start(ctx, n.bus, n.sys); err != nil {
			return fmt.Errorf("host: %w", err)
		}
		r.svc = s
		for _, name := range unhandled(ps.decl, s) {
			in.Logger.Warn("the manifest says the service receives a name it has no handler for; its messages go to other instances or fail", "name", name)
		}
	}
	return nil
}

// startHTTP starts the gateway and the node's HTTP listeners. A node without
// the gateway (Only) still answers /healthz, /readyz and /metrics, and serves
// its Front handlers, when it has a listen address or a Front.
func (n *Node) startHTTP(ctx context.Context, withGateway bool, al alarms) error {
	cfg := n.cfg
	var fronts []func(http.Handler) http.Handler
	for _, r := range n.instances {
		fronts = append(fronts, r.in.front...)
	}
	noAddr := cfg.HTTP.Addr == "" && cfg.HTTP.TLSAddr == ""
	if !withGateway && noAddr && (len(fronts) == 0 || cfg.child) {
		return nil
	}
	gcfg := gateway.Config{
		App:            n.app,
		Timeout:        cfg.Timeout,
		Logger:         n.log,
		Registerer:     n.registry, // served on the admin listener, not here
		AllowedHosts:   cfg.HTTP.AllowedHosts,
		TrustedOrigins: cfg.HTTP.TrustedOrigins,
		Health: func(context.Context) map[string]any {
			return map[string]any{"app": n.app.Name, "version": cmp.Or(cfg.Version, "devel"), "alarms": n.monitor.Snapshot(), "breakers": n.Targets()}
		},
		// Liveness is the actor runtime's heartbeat (as the systemd
		// watchdog's); readiness follows the transport's connections.
		Live:  n.Healthy,
		Ready: n.Ready,
		Observer: func(_ string, code troupe.Code, _ time.Duration) {
			al.surge.Observe()
			al.errorRate.Observe(code != "" && code != troupe.CodeBadRequest && code != troupe.CodeNotFound)
		},
	}
	if withGateway {
		client, err := n.bus.Join(ctx, troupe.GatewayService, n.gatewayID)
		if err != nil {
			return fmt.Errorf("host: gateway: %w", err)
		}
		gcfg.Bus = client
		gcfg.Authenticator = cfg.HTTP.Authenticator
		if gcfg.Authenticator == nil && n.app.Authenticate != "" {
			auth := &gateway.BusAuthenticator{Bus: client, Message: n.app.Authenticate}
			if n.app.Revoked != "" {
				// Every gateway instance receives the revoked event (a
				// broadcast): answers may be kept, and are dropped on it.
				auth.CacheFor = gateway.DefaultAuthCacheFor
				err := client.Handle(n.app.Revoked, bus.HandlerFunc(func(_ context.Context, m *bus.Msg) {
					auth.Revoked(m.Env.Payload)
					m.Done(nil)
				}))
				if err != nil {
					return fmt.Errorf("host: gateway: revoked: %w", err)
				}
			}
			gcfg.Authenticator = auth
		}
	} else {
		noRoutes := *n.app
		noRoutes.Routes = nil
		gcfg.App = &noRoutes // health endpoints only: no bus needed
	}
	var err error
	if n.gw, err = gateway.New(gcfg); err != nil {
		return fmt.Errorf("host: gateway: %w", err)
	}
	scfg := gateway.ServerConfig{
		Addr:         cfg.HTTP.Addr,
		TLSAddr:      cfg.HTTP.TLSAddr,
		CertFile:     cfg.HTTP.CertFile,
		KeyFile:      cfg.HTTP.KeyFile,
		SelfSigned:   cfg.HTTP.SelfSigned,
		DataDir:      filepath.Join(cfg.DataDir, "tls"),
		RedirectHTTP: cfg.HTTP.RedirectHTTP,
	}
	var h http.Handler = n.gw
	for i := len(fronts) - 1; i >= 0; i-- {
		h = fronts[i](h)
	}
	scfg.Handler = n.traceHTTP(h)
	if n.server, err = gateway.Listen(n.gw, scfg); err != nil {
		return fmt.Errorf("host: %w", err)
	}
	what := "gateway"
	if !withGateway {
		what = "health endpoints"
	}
	for _, u := range []string{n.server.HTTPURL(), n.server.HTTPSURL()} {
		if u != "" {
			fmt.Fprintf(cfg.Stdout, "%s listening on %s\n", what, u)
		}
	}
	return nil
}

// Shutdown stops the node in the reverse order of Start: the gateway drains
// (/readyz turns 503, Front hooks' OnDrain run, the listeners close once
// in-flight requests are answered), then command services and services stop
// (each instance's OnStop hooks after it), then the bus, the transport, the
// embedded NATS server, the actor system and the alarms. It waits until all
// are done or ctx ends; a ctx without a deadline gets Config.Drain. Calling
// it again returns the first call's result.
func (n *Node) Shutdown(ctx context.Context) error {
	n.stopOnce.Do(func() {
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, n.cfg.Drain)
			defer cancel()
		}
		n.stopErr = n.stop(ctx)
	})
	return n.stopErr
}

func (n *Node) stop(ctx context.Context) error {
	errs := []error{n.stopObserve(ctx)}
	if n.gw != nil {
		n.gw.SetDraining(true)
	}
	for i := len(n.instances) - 1; i >= 0; i-- {
		for _, f := range slices.Backward(n.instances[i].in.onDrain) {
			errs = append(errs, f(ctx))
		}
	}
	if n.server != nil {
		errs = append(errs, n.server.Shutdown(ctx))
	}
	for i := len(n.commands) - 1; i >= 0; i-- {
		errs = append(errs, n.commands[i].stop(ctx))
	}
	n.stopForker()
	for i := len(n.instances) - 1; i >= 0; i-- {
		r := n.instances[i]
		if r.svc != nil {
			errs = append(errs, r.svc.Stop(ctx))
		}
		for _, f := range slices.Backward(r.in.onStop) {
			errs = append(errs, f(ctx))
		}
	}
	if n.bus != nil {
		errs = append(errs, n.bus.Close(ctx))
	}
	if n.transport != nil {
		errs = append(errs, n.transport.Close(ctx))
	}
	if n.natsServer != nil {
		n.forgetURL()
		errs = append(errs, n.natsServer.Shutdown(ctx))
	}
	if n.sys != nil {
		errs = append(errs, n.sys.Shutdown(ctx))
		n.events.Close()
		<-n.eventsDone
	}
	if n.monitor != nil {
		errs = append(errs, n.monitor.Close(ctx))
	}
	if n.debug != nil {
		errs = append(errs, n.debug.Shutdown(ctx))
	}
	if n.webhook != nil {
		errs = append(errs, n.webhook.Close(ctx))
	}
	errs = append(errs, n.stopTracing(ctx))
	return errors.Join(errs...)
}

// App returns the application the node runs, with the operator service
// declared.
func (n *Node) App() *troupe.App { return n.app }

// Bus returns the node's bus. Join it to send as a declared service (a
// test's client, say).
func (n *Node) Bus() *bus.Bus { return n.bus }

// Actors returns the node's actor system.
func (n *Node) Actors() *actor.System { return n.sys }

// Metrics returns the registry the node serves at /metrics; register a
// service's own collectors here.
func (n *Node) Metrics() *prometheus.Registry { return n.registry }

// URL returns the base URL of the node's HTTP listener ("http://127.0.0.1:8080/"),
// preferring HTTPS, or "" when it serves no HTTP.
func (n *Node) URL() string {
	if n.server == nil {
		return ""
	}
	return n.server.URL()
}

// NATSURL returns the client URL of the node's embedded NATS server, the
// URL it joined (Config.NATS.URL), or "" on the in-process bus.
func (n *Node) NATSURL() string {
	if n.natsServer != nil {
		return n.natsServer.ClientURL()
	}
	return n.cfg.NATS.URL
}

// ServesGateway reports whether this node serves the gateway's routes.
func (n *Node) ServesGateway() bool { return n.gw != nil && n.server != nil && n.gatewayServed() }

func (n *Node) gatewayServed() bool {
	return len(n.cfg.Only) == 0 || slices.Contains(n.cfg.Only, troupe.GatewayService)
}

// InstanceInfo describes one instance a node runs.
type InstanceInfo struct {
	Service string
	ID      string
	Command bool // an operating-system process the node supervises
	PID     int  // its process id, while it runs (commands only)
	Ready   bool // started and serving (a command that has said so)
}

// Instances lists the instances the node runs, in start order: in-process
// instances, then command services, then the gateway.
func (n *Node) Instances() []InstanceInfo {
	var out []InstanceInfo
	for _, r := range n.instances {
		out = append(out, InstanceInfo{Service: r.in.Service, ID: r.in.ID, Ready: r.svc != nil})
	}
	for _, c := range n.commands {
		out = append(out, c.info()...)
	}
	if n.ServesGateway() {
		out = append(out, InstanceInfo{Service: troupe.GatewayService, ID: n.gatewayID, Ready: true})
	}
	return out
}

// WaitReady waits until every command service's instance has said it is
// ready (sd_notify READY=1 on the socket the node gives it, which a child
// built on this package sends once it serves), or ctx ends.
func (n *Node) WaitReady(ctx context.Context) error {
	for _, c := range n.commands {
		if err := c.waitReady(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Healthy reports whether the node's actor runtime still answers: an Ask
// to a process of its own within a second. The systemd watchdog and /healthz
// use it.
func (n *Node) Healthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if n.heartbeat.IsZero() {
		return errors.New("host: no heartbeat process")
	}
	_, err := actor.Ask(ctx, n.heartbeat, struct{}{})
	return err
}

// Ready reports whether the node can take traffic: its transport's
// connections are up (a node on NATS that lost its server is not ready
// until it has reconnected). /readyz answers 503 while it fails.
func (n *Node) Ready(context.Context) error {
	if n.transport != nil {
		return n.transport.Ready()
	}
	return nil
}

// services returns the node's started in-process services.
func (n *Node) services() []*service.Service {
	var out []*service.Service
	for _, r := range n.instances {
		if r.svc != nil {
			out = append(out, r.svc)
		}
	}
	return out
}

// watchCalls exports the circuit breakers, retries and fallbacks of the
// node's services to /metrics, and raises the circuit-breaker alarm while
// one of them is open.
func (n *Node) watchCalls() error {
	svcs := n.services()
	if len(svcs) == 0 {
		return nil
	}
	n.registry.MustRegister(service.Collector(svcs...))
	if err := n.monitor.Add("circuit-breakers", service.BreakerDetector(svcs...), alarm.Threshold{High: 0.5, Low: 0.5}); err != nil {
		return fmt.Errorf("host: circuit-breaker alarm: %w", err)
	}
	return nil
}

// Targets returns the status of every service that the node's services
// call: their circuit breakers, retries and fallbacks (/healthz shows it).
func (n *Node) Targets() []service.TargetStatus {
	var out []service.TargetStatus
	for _, s := range n.services() {
		out = append(out, s.Targets()...)
	}
	return out
}

// Summary says what the node runs, for a start-up line: "app demo, running
// hello, todo, web, gateway".
func (n *Node) Summary() string {
	var names []string
	count := map[string]int{}
	for _, in := range n.Instances() {
		if count[in.Service] == 0 {
			names = append(names, in.Service)
		}
		count[in.Service]++
	}
	for i, name := range names {
		if c := count[name]; c > 1 {
			names[i] = fmt.Sprintf("%s (%d instances)", name, c)
		}
	}
	if len(names) == 0 {
		return fmt.Sprintf("app %s, running nothing", n.app.Name)
	}
	return fmt.Sprintf("app %s, running %s", n.app.Name, strings.Join(names, ", "))
}

// pprofRoutes registers Go's profiler (net/http/pprof) under /debug/pprof/.
func pprofRoutes(mux *http.ServeMux) {
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
}

// startDebug serves net/http/pprof on addr.
func (n *Node) startDebug(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("host: debug address: %w", err)
	}
	mux := http.NewServeMux()
	pprofRoutes(mux)
	n.debug = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = n.debug.Serve(ln) }()
	fmt.Fprintf(n.cfg.Stdout, "profiler listening on http://%s/debug/pprof/\n", ln.Addr())
	return nil
}
