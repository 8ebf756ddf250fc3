package host

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/sdnotify"
	"github.com/troupe-go/troupe/manifest"
)

// readyWait bounds how long run waits for command services to say they are
// ready before it prints its ready line anyway.
const readyWait = 60 * time.Second

// runFlags are the flags of run (and of bench, which starts the same node).
type runFlags struct {
	addr, tlsAddr, certFile, keyFile string
	selfSigned, redirectHTTP         bool
	dataDir                          string
	timeout, drain                   time.Duration
	logFormat, logLevel              string
	webhook                          string
	surge                            float64
	inproc                           bool
	natsURL, natsCreds               string
	natsPort, natsReplicas           int
	only                             string
	debugAddr, adminAddr             string
	allowedHosts, trustedOrigins     string
	addrSet                          bool
}

// define adds the node's flags and every service's own to fs.
func (f *runFlags) define(fs *flag.FlagSet, services []Service) {
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "gateway HTTP listen address (port 0 picks a free port)")
	fs.StringVar(&f.tlsAddr, "https-addr", "", "gateway HTTPS listen address (empty: no HTTPS)")
	fs.StringVar(&f.certFile, "tls-cert", "", "PEM certificate for HTTPS")
	fs.StringVar(&f.keyFile, "tls-key", "", "PEM key for HTTPS")
	fs.BoolVar(&f.selfSigned, "tls-self-signed", false, "generate a self-signed certificate for HTTPS (development)")
	fs.BoolVar(&f.redirectHTTP, "redirect-http", false, "make the HTTP listener redirect to HTTPS")
	fs.StringVar(&f.dataDir, "data", DefaultDataDir, "data directory (NATS store and credentials, services' data, certificates)")
	fs.DurationVar(&f.timeout, "timeout", time.Second, "budget from a request's arrival to its reply")
	fs.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&f.webhook, "alarm-webhook", "", "URL that alarm notifications are POSTed to")
	fs.Float64Var(&f.surge, "surge-threshold", DefaultSurge, "requests per second above which the surge alarm is raised")
	fs.DurationVar(&f.drain, "drain", DefaultDrain, "how long to drain in-flight work on shutdown (and command services' grace time)")
	fs.BoolVar(&f.inproc, "inproc", false, "use the in-process bus instead of NATS (one process only)")
	fs.StringVar(&f.natsURL, "nats", "", "connect to this NATS server or cluster (comma-separated URLs) instead of starting an embedded one")
	fs.IntVar(&f.natsPort, "nats-port", DefaultNATSPort, "loopback client port of the embedded NATS server (0 picks a free one)")
	fs.IntVar(&f.natsReplicas, "nats-replicas", 1, "copies of the durable-message streams in the NATS cluster (3 for a three-server cluster, so that losing one server loses nothing)")
	fs.StringVar(&f.natsCreds, "nats-credentials", "", "NATS credentials: a JSON file by user, or a directory of USER.nk nkey seed files (default: DATA/nats/credentials.json)")
	fs.StringVar(&f.adminAddr, "admin-addr", DefaultAdminAddr, "admin listener address (dashboard, metrics, Go's profiler): loopback by default, any free port; off for none; off loopback only /metrics is open, the rest asks for the operator's credentials")
	fs.StringVar(&f.debugAddr, "debug-addr", "", "serve Go's profiler (net/http/pprof) on this address too, e.g. 127.0.0.1:6060; keep it private")
	fs.StringVar(&f.allowedHosts, "allowed-hosts", "", "host names the HTTP listeners answer for, comma-separated (*.example.com for the names under it; IP addresses and localhost always)")
	fs.StringVar(&f.trustedOrigins, "trusted-origins", "", "other origins (https://app.example.com) whose browsers may send state-changing requests, comma-separated")
	fs.StringVar(&f.only, "only", "", "run only these services of the manifest (comma-separated; \"gateway\" is the HTTP gateway), to scale out against -nats")
	for _, s := range services {
		if s.Flags != nil {
			s.Flags(fs)
		}
	}
}

// config turns the flags into a node's Config (without App and Services).
func (f *runFlags) config(fs *flag.FlagSet, stdout, stderr io.Writer) (Config, error) {
	fs.Visit(func(fl *flag.Flag) {
		if fl.Name == "addr" {
			f.addrSet = true
		}
	})
	if f.inproc && f.natsURL != "" {
		return Config{}, fmt.Errorf("-inproc and -nats exclude each other")
	}
	log, err := newLogger(f.logFormat, f.logLevel, stderr)
	if err != nil {
		return Config{}, err
	}
	cfg := Config{
		DataDir: f.dataDir,
		Timeout: f.timeout,
		Drain:   f.drain,
		InProc:  f.inproc,
		NATS: NATSConfig{
			URL:         f.natsURL,
			Port:        f.natsPort,
			Credentials: f.natsCreds,
			Replicas:    f.natsReplicas,
		},
		HTTP: HTTPConfig{
			TLSAddr:      f.tlsAddr,
			CertFile:     f.certFile,
			KeyFile:      f.keyFile,
			SelfSigned:   f.selfSigned,
			RedirectHTTP: f.redirectHTTP,
			AdminAddr:    f.adminAddr,
		},
		Alarms:    AlarmConfig{Webhook: f.webhook, Surge: f.surge},
		DebugAddr: f.debugAddr,
		Logger:    log,
		Stdout:    stdout,
		Output:    stderr,
	}
	if f.natsPort == 0 {
		cfg.NATS.Port = -1 // the command line's 0 is "any free port"
	}
	cfg.HTTP.AllowedHosts = splitList(f.allowedHosts)
	cfg.HTTP.TrustedOrigins = splitList(f.trustedOrigins)
	if f.only != "" {
		for _, name := range strings.Split(f.only, ",") {
			cfg.Only = append(cfg.Only, strings.TrimSpace(name))
		}
	}
	// -addr's default applies to a node that runs the gateway; a node
	// without it listens only where it is told to (or for a Front).
	cfg.HTTP.Addr = f.addr
	if !f.addrSet && len(cfg.Only) > 0 && !slices.Contains(cfg.Only, troupe.GatewayService) {
		cfg.HTTP.Addr = ""
	}
	return cfg, nil
}

func newLogger(format, level string, w io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("-log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(actor.NewTextHandler(w, opts)), nil // crash reports as blocks
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("-log-format %q: want text or json", format)
}

// loadManifest reads the manifest at path, else ./troupe.yaml, else the one
// built into p. It returns the file's path, "" for the built-in one.
func (p Program) loadManifest(path string) (*troupe.App, string, error) {
	if path == "" {
		if _, err := os.Stat("troupe.yaml"); err == nil {
			path = "troupe.yaml"
		}
	}
	if path == "" {
		if p.Manifest == nil {
			return nil, "", errors.New("no manifest: give its path, or run in a directory with a troupe.yaml")
		}
		app, err := manifest.Parse("troupe.yaml (built in)", p.Manifest)
		return app, "", err
	}
	app, err := manifest.Load(path)
	return app, path, err
}

// runCmd is `run`: start a node and serve until ctx ends.
func (p Program) runCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := p.newFlagSet("run", "[troupe.yaml]", "Starts the application the manifest declares: the bus (an embedded NATS server\n"+
		"unless -nats or -inproc), every service registered in this binary, the command\n"+
		"services, and the HTTP gateway. Without a manifest it runs ./troupe.yaml, or the\n"+
		"one built into the binary.", stdout, stderr)
	var f runFlags
	f.define(fs, p.Services)
	if err := parse(fs, args, stdout); err != nil {
		return done(err)
	}
	if fs.NArg() > 1 {
		fs.Usage()
		return errUsage
	}
	cfg, err := f.config(fs, stdout, stderr)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	app, file, err := p.loadManifest(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	cfg.App, cfg.ManifestFile, cfg.Services, cfg.Version = app, file, p.Services, p.version()
	return p.serve(ctx, cfg, stdout)
}

// serve starts a node, prints its ready line and serves until ctx ends.
func (p Program) serve(ctx context.Context, cfg Config, stdout io.Writer) error {
	n, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	if u := n.URL(); u != "" && n.ServesGateway() && n.App().Service("hello") != nil {
		fmt.Fprintf(stdout, "try: curl -s -H 'Content-Type: application/json' -d '{\"type\":\"Hello\"}' %s\n", u)
	}
	wctx, cancel := context.WithTimeout(ctx, readyWait)
	werr := n.WaitReady(wctx)
	cancel()
	line := n.Summary()
	if werr != nil {
		var waiting []string
		for _, in := range n.Instances() {
			if !in.Ready {
				waiting = append(waiting, in.ID)
			}
		}
		line += " (not ready yet: " + strings.Join(waiting, ", ") + ")"
	}
	cfg.Logger.Info("application running", "app", n.App().Name, "manifest", cmpOrBuiltIn(cfg.ManifestFile))
	fmt.Fprintf(stdout, "ready: %s\n", line)
	_ = sdnotify.Ready()
	if u := n.URL(); u != "" {
		_ = sdnotify.Status("serving " + u)
	}
	// Under systemd with WatchdogSec, ping while the actor runtime answers:
	// a wedged process stops pinging and systemd restarts it.
	wdCtx, wdStop := context.WithCancel(ctx)
	wdDone := make(chan struct{})
	go func() {
		defer close(wdDone)
		_ = sdnotify.Watchdog(wdCtx, func() error { return n.Healthy(context.Background()) })
	}()
	<-ctx.Done()
	wdStop()
	<-wdDone
	cfg.Logger.Info("shutting down", "app", n.App().Name)
	_ = sdnotify.Stopping()
	stopCtx, cancelStop := context.WithTimeout(context.WithoutCancel(ctx), cfg.Drain)
	defer cancelStop()
	return n.Shutdown(stopCtx)
}

func cmpOrBuiltIn(file string) string {
	if file == "" {
		return "built in"
	}
	return file
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
