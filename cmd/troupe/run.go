package main

import (
	"cmp"
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
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
	"github.com/troupe-go/troupe/examples/hello"
	"github.com/troupe-go/troupe/examples/todo/store"
	"github.com/troupe-go/troupe/examples/todo/store/postgres"
	"github.com/troupe-go/troupe/examples/todo/store/sqlite"
	"github.com/troupe-go/troupe/examples/todo/todo"
	"github.com/troupe-go/troupe/examples/todo/web"
	"github.com/troupe-go/troupe/gateway"
	"github.com/troupe-go/troupe/internal/proc"
	"github.com/troupe-go/troupe/internal/sdnotify"
	"github.com/troupe-go/troupe/manifest"
	"github.com/troupe-go/troupe/natsbus"
	"github.com/troupe-go/troupe/service"
)

// demoManifest is the demo application, used when no troupe.yaml is given
// and none is in the working directory. It is a copy of the repository's
// troupe.yaml (a test keeps them equal).
//
//go:embed demo.yaml
var demoManifest []byte

// runOptions are the flags of troupe run.
type runOptions struct {
	manifest     string
	addr         string
	tlsAddr      string
	certFile     string
	keyFile      string
	selfSigned   bool
	redirectHTTP bool
	dataDir      string
	timeout      time.Duration
	logFormat    string
	logLevel     string
	panicRate    float64
	webhook      string
	surge        float64
	drain        time.Duration
	inproc       bool
	natsURL      string
	natsPort     int
	natsCreds    string
	natsReplicas int
	only         string
	storeDSN     string
	debugAddr    string
	addrSet      bool // -addr was given
}

func parseRunFlags(args []string, stderr io.Writer) (runOptions, error) {
	var o runOptions
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: troupe run [flags] [troupe.yaml]")
		fmt.Fprintln(stderr, "\nStarts the application the manifest declares: the bus, every service linked")
		fmt.Fprintln(stderr, "into this binary, and the HTTP gateway. Without a manifest it runs ./troupe.yaml,")
		fmt.Fprintln(stderr, "or the built-in demo application if there is none.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "gateway HTTP listen address (port 0 picks a free port)")
	fs.StringVar(&o.tlsAddr, "https-addr", "", "gateway HTTPS listen address (empty: no HTTPS)")
	fs.StringVar(&o.certFile, "tls-cert", "", "PEM certificate for HTTPS")
	fs.StringVar(&o.keyFile, "tls-key", "", "PEM key for HTTPS")
	fs.BoolVar(&o.selfSigned, "tls-self-signed", false, "generate a self-signed certificate for HTTPS (development)")
	fs.BoolVar(&o.redirectHTTP, "redirect-http", false, "make the HTTP listener redirect to HTTPS")
	fs.StringVar(&o.dataDir, "data", ".troupe", "data directory (certificates, stores)")
	fs.DurationVar(&o.timeout, "timeout", time.Second, "budget from a request's arrival to its reply")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.Float64Var(&o.panicRate, "hello-panic-rate", 0, "fraction of hello requests that panic on purpose (fault injection)")
	fs.StringVar(&o.webhook, "alarm-webhook", "", "URL that alarm notifications are POSTed to")
	fs.Float64Var(&o.surge, "surge-threshold", 20000, "requests per second above which the surge alarm is raised")
	fs.DurationVar(&o.drain, "drain", 10*time.Second, "how long to drain in-flight requests on shutdown")
	fs.BoolVar(&o.inproc, "inproc", false, "use the in-process bus instead of NATS (one process only)")
	fs.StringVar(&o.natsURL, "nats", "", "connect to this NATS server or cluster (comma-separated URLs) instead of starting an embedded one")
	fs.IntVar(&o.natsPort, "nats-port", 4222, "loopback client port of the embedded NATS server (0 picks a free one)")
	fs.IntVar(&o.natsReplicas, "nats-replicas", 1, "copies of the durable-message streams in the NATS cluster (3 for a three-server cluster, so that losing one server loses nothing)")
	fs.StringVar(&o.natsCreds, "nats-credentials", "", "JSON file of NATS credentials by user (default: DATA/nats/credentials.json when present)")
	fs.StringVar(&o.storeDSN, "store-dsn", os.Getenv("TROUPE_STORE_DSN"), "PostgreSQL DSN for the todo service's store (default $TROUPE_STORE_DSN; empty: SQLite under -data)")
	fs.StringVar(&o.debugAddr, "debug-addr", "", "serve Go's profiler (net/http/pprof) on this address, e.g. 127.0.0.1:6060; keep it private")
	fs.StringVar(&o.only, "only", "", "run only these services of the manifest (comma-separated; \"gateway\" is the HTTP gateway), for scaling out against -nats")
	if err := fs.Parse(args); err != nil {
		return o, exitError(2)
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "addr" {
			o.addrSet = true
		}
	})
	switch fs.NArg() {
	case 0:
	case 1:
		o.manifest = fs.Arg(0)
	default:
		fs.Usage()
		return o, exitError(2)
	}
	if o.inproc && o.natsURL != "" {
		return o, fmt.Errorf("run: -inproc and -nats exclude each other")
	}
	if o.logFormat != "text" && o.logFormat != "json" {
		return o, fmt.Errorf("run: -log-format %q: want text or json", o.logFormat)
	}
	return o, nil
}

// loadApp reads the manifest named by o, ./troupe.yaml, or the demo. It
// returns the manifest's path, "" for the built-in demo.
func loadApp(o runOptions) (*troupe.App, string, error) {
	path := o.manifest
	if path == "" {
		if _, err := os.Stat("troupe.yaml"); err == nil {
			path = "troupe.yaml"
		}
	}
	if path == "" {
		app, err := manifest.Parse("demo.yaml (built in)", demoManifest)
		return app, "", err
	}
	app, err := manifest.Load(path)
	return app, path, err
}

// newQuietLogger logs warnings and errors only, for the client commands.
func newQuietLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func newLogger(o runOptions, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return nil, fmt.Errorf("run: -log-level %q: %w", o.logLevel, err)
	}
	hopts := &slog.HandlerOptions{Level: level}
	if o.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, hopts)), nil
	}
	return slog.New(slog.NewTextHandler(w, hopts)), nil
}

// linked are the services compiled into this binary, by manifest name.
func (a *application) linked(ctx context.Context) map[string]func(service.Config) (*service.Service, error) {
	o := a.opts
	return map[string]func(service.Config) (*service.Service, error){
		hello.Name: func(cfg service.Config) (*service.Service, error) {
			return hello.New(cfg, hello.Options{PanicRate: o.panicRate})
		},
		"todo": func(cfg service.Config) (*service.Service, error) {
			st, err := a.openStore(ctx)
			if err != nil {
				return nil, err
			}
			return todo.New(cfg, todo.Options{Store: st, Logger: a.log})
		},
		"web": func(cfg service.Config) (*service.Service, error) {
			if a.pages != nil {
				return nil, fmt.Errorf("web: run one instance per process (live updates reach the browsers of the instance that receives the event)")
			}
			s, pages, err := web.New(cfg, web.Options{Logger: a.log, Timeout: o.timeout})
			if err != nil {
				return nil, err
			}
			a.pages = pages
			return s, nil
		},
	}
}

// openStore opens the todo service's store once: PostgreSQL if -store-dsn
// (or TROUPE_STORE_DSN) is set, else SQLite under the data directory.
func (a *application) openStore(ctx context.Context) (store.Store, error) {
	if a.store != nil {
		return a.store, nil
	}
	var (
		st  store.Store
		err error
	)
	if dsn := a.opts.storeDSN; dsn != "" {
		st, err = postgres.Open(ctx, dsn)
	} else {
		dir := filepath.Join(a.opts.dataDir, "todo")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("todo store: %w", err)
		}
		st, err = sqlite.Open(ctx, filepath.Join(dir, "todo.db"))
	}
	if err != nil {
		return nil, fmt.Errorf("todo store: %w", err)
	}
	a.store = st
	return st, nil
}

// runCmd is troupe run.
func runCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseRunFlags(args, stderr)
	if err != nil {
		return err
	}
	log, err := newLogger(o, stderr)
	if err != nil {
		return err
	}
	app, source, err := loadApp(o)
	if err != nil {
		return err
	}
	if app, err = withOperator(app); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	a := &application{opts: o, app: app, log: log, stdout: stdout, stderr: stderr, source: source}
	if err := a.start(ctx); err != nil {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.drain)
		defer cancel()
		return errors.Join(err, a.stop(stopCtx))
	}
	log.Info("application running", "app", app.Name, "manifest", cmp.Or(source, "built-in demo"))
	fmt.Fprintf(stdout, "ready: %s\n", a.summary())
	_ = sdnotify.Ready()
	if a.server != nil {
		_ = sdnotify.Status("serving " + a.server.URL())
	}

	// Under systemd with WatchdogSec, ping while the actor runtime answers:
	// a wedged process stops pinging and systemd restarts it.
	wdCtx, wdStop := context.WithCancel(ctx)
	wdDone := make(chan struct{})
	go func() {
		defer close(wdDone)
		_ = sdnotify.Watchdog(wdCtx, a.healthy)
	}()
	<-ctx.Done()
	wdStop()
	<-wdDone
	log.Info("shutting down", "app", app.Name)
	_ = sdnotify.Stopping()
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.drain)
	defer cancel()
	return a.stop(stopCtx)
}

// application is everything troupe run starts, in start order; stop undoes
// it in reverse.
type application struct {
	opts   runOptions
	app    *troupe.App
	log    *slog.Logger
	stdout io.Writer
	stderr io.Writer // where the output of command services goes, prefixed

	registry    *prometheus.Registry
	monitor     *alarm.Monitor
	webhook     *alarm.Webhook
	sys         *actor.System
	events      *actor.Subscription
	eventsWG    sync.WaitGroup
	natsServer  *natsbus.Server
	transport   *natsbus.Transport
	bus         *bus.Bus
	services    []*service.Service
	procs       []*proc.Process
	store       store.Store  // the todo service's, if it runs here
	pages       *web.Handler // the web service's pages, if it runs here
	gatewayHere bool         // this process serves the gateway's routes
	debug       *http.Server // -debug-addr
	heartbeat   actor.PID    // answers the systemd watchdog's health check
	source      string       // the manifest's path, "" for the built-in demo
	gw          *gateway.Gateway
	server      *gateway.Server
}

func (a *application) start(ctx context.Context) error {
	o := a.opts
	a.registry = prometheus.NewRegistry()
	a.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	if o.debugAddr != "" {
		if err := a.startDebug(o.debugAddr); err != nil {
			return err
		}
	}

	// Alarms first, so that everything after can feed them.
	notifiers := []alarm.Notifier{alarm.LogNotifier(a.log)}
	if o.webhook != "" {
		wh, err := alarm.NewWebhook(alarm.WebhookConfig{URL: o.webhook, Logger: a.log})
		if err != nil {
			return fmt.Errorf("run: alarm webhook: %w", err)
		}
		a.webhook = wh
		notifiers = append(notifiers, wh)
		a.registry.MustRegister(wh)
	}
	a.monitor = alarm.New(alarm.Config{Notifiers: notifiers, Source: a.app.Name, Logger: a.log})
	surge, err := a.monitor.Rate("request-surge", alarm.RateConfig{Threshold: alarm.Threshold{High: o.surge}, Noun: "requests"})
	if err != nil {
		return fmt.Errorf("run: surge alarm: %w", err)
	}
	errorRate, err := a.monitor.ErrorRate("error-rate", alarm.ErrorRateConfig{})
	if err != nil {
		return fmt.Errorf("run: error-rate alarm: %w", err)
	}
	crashLoop, err := a.monitor.CrashLoop("crash-loop", alarm.CrashLoopConfig{})
	if err != nil {
		return fmt.Errorf("run: crash-loop alarm: %w", err)
	}
	// Any durable message that exhausted its attempts raises this alarm.
	deadLetters, err := a.monitor.Rate("dead-letters", alarm.RateConfig{Threshold: alarm.Threshold{High: 1e-9, Low: 1e-10}, Window: time.Minute, Noun: "dead letters"})
	if err != nil {
		return fmt.Errorf("run: dead-letter alarm: %w", err)
	}
	a.registry.MustRegister(a.monitor)
	if err := a.monitor.Start(); err != nil {
		return fmt.Errorf("run: alarms: %w", err)
	}

	// The actor system; its crashes feed the crash-loop alarm, and a
	// heartbeat process answers the watchdog's health check.
	a.sys = actor.NewSystem(actor.Config{Logger: a.log})
	a.heartbeat, err = a.sys.Spawn(actor.BehaviorFunc(func(c *actor.Context, msg any) { c.Reply(msg) }), actor.Options{Name: "heartbeat"})
	if err != nil {
		return fmt.Errorf("run: heartbeat: %w", err)
	}
	a.events = a.sys.Subscribe(1024)
	a.eventsWG.Add(1)
	go func() {
		defer a.eventsWG.Done()
		for ev := range a.events.C {
			if ev.Kind == actor.Crashed {
				crashLoop.Crash(crashKey(ev.PID))
			}
		}
	}()

	// The transport, the bus and the services linked into this binary.
	if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
		return fmt.Errorf("run: data directory: %w", err)
	}
	transport, err := a.startTransport(ctx, func(env *troupe.Envelope, service, reason string) {
		deadLetters.Observe()
		a.log.Error("durable message dead-lettered", "name", env.Name, "id", env.ID, "service", service, "reason", reason)
	})
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	cfg := bus.Config{App: a.app, Timeout: o.timeout, Logger: a.log}
	if transport != nil {
		cfg.Transport = transport
	}
	a.bus, err = bus.New(cfg)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	a.registry.MustRegister(a.bus.Collector())
	only, err := a.selected()
	if err != nil {
		return err
	}
	factories := a.linked(ctx)
	for _, decl := range a.app.Services {
		if decl.Name == troupe.GatewayService || decl.Name == operatorService || !only(decl.Name) {
			continue
		}
		if len(decl.Command) > 0 {
			if err := a.startCommand(decl, crashLoop); err != nil {
				return fmt.Errorf("run: %w", err)
			}
			continue
		}
		newService, ok := factories[decl.Name]
		if !ok {
			return fmt.Errorf("run: service %q is not linked into this binary (linked: %s)", decl.Name, strings.Join(slices.Sorted(maps.Keys(factories)), ", "))
		}
		for i := 1; i <= max(decl.Instances, 1); i++ {
			s, err := newService(service.Config{Name: decl.Name, Instance: fmt.Sprintf("%s-%d", decl.Name, i)})
			if err != nil {
				return fmt.Errorf("run: %w", err)
			}
			if err := s.Start(ctx, a.bus, a.sys); err != nil {
				return fmt.Errorf("run: %w", err)
			}
			a.services = append(a.services, s)
		}
	}

	// The gateway last: traffic arrives only when everything can serve it.
	// A process without the gateway (-only) still answers /healthz,
	// /readyz and /metrics (and serves the web pages if web runs here),
	// on -addr if it was given.
	withGateway := only(troupe.GatewayService)
	a.gatewayHere = withGateway
	if !withGateway && !o.addrSet && a.pages == nil {
		return nil
	}
	gcfg := gateway.Config{
		App:     a.app,
		Timeout: o.timeout,
		Logger:  a.log,
		Metrics: a.registry,
		Health: func(context.Context) map[string]any {
			return map[string]any{"app": a.app.Name, "version": versionString(), "alarms": a.monitor.Snapshot()}
		},
		Observer: func(_ string, code troupe.Code, _ time.Duration) {
			surge.Observe()
			errorRate.Observe(code != "" && code != troupe.CodeBadRequest && code != troupe.CodeNotFound)
		},
	}
	if withGateway {
		client, err := a.bus.Join(ctx, troupe.GatewayService, "gateway-1")
		if err != nil {
			return fmt.Errorf("run: gateway: %w", err)
		}
		gcfg.Bus = client
	} else {
		noRoutes := *a.app
		noRoutes.Routes = nil
		gcfg.App = &noRoutes // health endpoints only: no bus needed
	}
	a.gw, err = gateway.New(gcfg)
	if err != nil {
		return fmt.Errorf("run: gateway: %w", err)
	}
	scfg := gateway.ServerConfig{
		Addr:         o.addr,
		TLSAddr:      o.tlsAddr,
		CertFile:     o.certFile,
		KeyFile:      o.keyFile,
		SelfSigned:   o.selfSigned,
		DataDir:      filepath.Join(o.dataDir, "tls"),
		RedirectHTTP: o.redirectHTTP,
	}
	if a.pages != nil {
		scfg.Handler = web.Combine(a.pages, a.gw)
	}
	a.server, err = gateway.Listen(a.gw, scfg)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	what := "gateway"
	if !withGateway {
		what = "health endpoints"
	}
	if u := a.server.HTTPURL(); u != "" {
		fmt.Fprintf(a.stdout, "%s listening on %s\n", what, u)
	}
	if u := a.server.HTTPSURL(); u != "" {
		fmt.Fprintf(a.stdout, "%s listening on %s\n", what, u)
	}
	if a.pages != nil {
		fmt.Fprintf(a.stdout, "todo app: %s (REST API description: %sapi/openapi.json)\n", a.server.URL(), a.server.URL())
	}
	if withGateway && a.app.Service(hello.Name) != nil {
		fmt.Fprintf(a.stdout, "try: curl -s -H 'Content-Type: application/json' -d '{\"type\":\"Hello\"}' %s\n", a.server.URL())
	}
	return nil
}

// stop undoes start in reverse order: drain the gateway, stop the services,
// close the bus, shut the actor system down, close the alarms.
func (a *application) stop(ctx context.Context) error {
	var errs []error
	if a.gw != nil {
		a.gw.SetDraining(true)
	}
	if a.pages != nil {
		// Live connections are hijacked: the server's Shutdown would not
		// wait for them.
		errs = append(errs, a.pages.Close(ctx))
	}
	if a.server != nil {
		errs = append(errs, a.server.Shutdown(ctx))
	}
	for i := len(a.services) - 1; i >= 0; i-- {
		errs = append(errs, a.services[i].Stop(ctx))
	}
	for i := len(a.procs) - 1; i >= 0; i-- {
		errs = append(errs, a.procs[i].Stop(ctx))
	}
	if a.store != nil {
		errs = append(errs, a.store.Close())
	}
	if a.bus != nil {
		errs = append(errs, a.bus.Close(ctx))
	}
	if a.transport != nil {
		errs = append(errs, a.transport.Close(ctx))
	}
	if a.natsServer != nil {
		errs = append(errs, a.natsServer.Shutdown(ctx))
	}
	if a.sys != nil {
		errs = append(errs, a.sys.Shutdown(ctx))
		a.events.Close()
		a.eventsWG.Wait()
	}
	if a.monitor != nil {
		errs = append(errs, a.monitor.Close(ctx))
	}
	if a.debug != nil {
		errs = append(errs, a.debug.Shutdown(ctx))
	}
	if a.webhook != nil {
		errs = append(errs, a.webhook.Close(ctx))
	}
	return errors.Join(errs...)
}

// startDebug serves net/http/pprof on addr.
func (a *application) startDebug(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("run: -debug-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	a.debug = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = a.debug.Serve(ln) }()
	fmt.Fprintf(a.stdout, "profiler listening on http://%s/debug/pprof/\n", ln.Addr())
	return nil
}

// healthy reports whether the actor runtime still answers: an Ask to a
// process of its own, within a second. The systemd watchdog calls it.
func (a *application) healthy() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if a.heartbeat.IsZero() {
		return errors.New("no heartbeat process")
	}
	_, err := actor.Ask(ctx, a.heartbeat, struct{}{})
	return err
}

// summary says what this process runs, for the ready line.
func (a *application) summary() string {
	var names []string
	for _, s := range a.services {
		names = append(names, s.Name())
	}
	if a.gatewayHere {
		names = append(names, troupe.GatewayService)
	}
	return fmt.Sprintf("app %s, running %s", a.app.Name, strings.Join(names, ", "))
}

// selected returns whether -only selects a service; without -only, all are.
func (a *application) selected() (func(string) bool, error) {
	if a.opts.only == "" {
		return func(string) bool { return true }, nil
	}
	set := map[string]bool{}
	for _, name := range strings.Split(a.opts.only, ",") {
		name = strings.TrimSpace(name)
		if name != troupe.GatewayService && a.app.Service(name) == nil {
			return nil, fmt.Errorf("run: -only %q: the manifest declares no such service", name)
		}
		set[name] = true
	}
	return func(name string) bool { return set[name] }, nil
}

// crashKey names a crashed process for the crash-loop alarm: its registered
// name, else its pid.
func crashKey(pid actor.PID) string {
	if n := pid.Name(); n != "" {
		return n
	}
	return pid.String()
}
