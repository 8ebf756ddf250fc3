package host

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/natsbus"
)

// serveCmd is `serve`: the child side of the TROUPE_* contract, for a
// command line that names it explicitly (command: [./app, serve]).
func (p Program) serveCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := p.newFlagSet("serve", "", "Serves one instance of one service for a parent node that started this process\n"+
		"as a command service: everything comes from the TROUPE_* environment variables\n"+
		"(docs/protocol.md, \"Command services\"). Started without arguments and with\n"+
		"TROUPE_SERVICE set, the binary does the same.", stdout, stderr)
	if err := parse(fs, args, stdout); err != nil {
		return done(err)
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	return serveChild(ctx, p, stdout, stderr)
}

// serveChild runs the node of one command service instance, configured by
// its parent through the environment, until ctx ends, the parent dies or
// SIGTERM arrives (Main's ctx).
func serveChild(ctx context.Context, p Program, stdout, stderr io.Writer) error {
	env := func(k string) string { return os.Getenv(k) }
	name := env(EnvService)
	if name == "" {
		return fmt.Errorf("serve: %s is not set: this command is for a process a node starts", EnvService)
	}
	app, file, err := p.loadManifest(env(EnvManifest))
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if want := env(EnvApp); want != "" && want != app.Name {
		return fmt.Errorf("serve: the parent runs app %q, the manifest %s declares app %q", want, cmpOrBuiltIn(file), app.Name)
	}
	decl := app.Service(name)
	if decl == nil {
		return fmt.Errorf("serve: %s=%s: the manifest %s declares no such service", EnvService, name, cmpOrBuiltIn(file))
	}
	// The child runs the service in process, whatever the manifest's
	// command for it says.
	local := *app
	local.Services = make([]troupe.ServiceDecl, len(app.Services))
	for i, d := range app.Services {
		if d.Name == name {
			d.Command, d.Instances = nil, 1
		}
		local.Services[i] = d
	}
	durations := map[string]time.Duration{EnvTimeout: time.Second, EnvDrain: DefaultDrain}
	for k := range durations {
		if v := env(k); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return fmt.Errorf("serve: %s=%q: want a positive Go duration", k, v)
			}
			durations[k] = d
		}
	}
	replicas := 1
	if v := env(EnvNATSReplicas); v != "" {
		if replicas, err = strconv.Atoi(v); err != nil || replicas < 1 {
			return fmt.Errorf("serve: %s=%q: want a positive number", EnvNATSReplicas, v)
		}
	}
	url := env(EnvNATSURL)
	if url == "" {
		return fmt.Errorf("serve: %s is not set", EnvNATSURL)
	}
	log, err := newLogger(cmp.Or(env("TROUPE_LOG_FORMAT"), "text"), cmp.Or(env("TROUPE_LOG_LEVEL"), "info"), stderr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	cfg := Config{
		App:          &local,
		ManifestFile: file,
		Services:     p.Services,
		Only:         []string{name},
		DataDir:      cmp.Or(env(EnvDataDir), DefaultDataDir),
		Timeout:      durations[EnvTimeout],
		Drain:        durations[EnvDrain],
		NATS:         NATSConfig{URL: url, Replicas: replicas},
		HTTP:         HTTPConfig{Addr: env("TROUPE_HTTP_ADDR")},
		Logger:       log,
		Stdout:       stdout,
		Output:       stderr,
		Version:      p.version(),
		instanceID:   env(EnvInstance),
		credentials: map[string]natsbus.Credential{
			name: {User: env(EnvNATSUser), Seed: env(EnvNATSNkey), Password: env(EnvNATSPassword)},
		},
		child: true,
	}
	if pid, err := strconv.Atoi(env(EnvParentPID)); err == nil && pid > 1 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		go watchParent(ctx, pid, cancel, cfg)
	}
	return p.serve(ctx, cfg, stdout)
}

// watchParent cancels the child's context when its parent is gone: it has
// been given to another parent (init, or a subreaper).
func watchParent(ctx context.Context, pid int, cancel context.CancelFunc, cfg Config) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if os.Getppid() != pid {
				cfg.Logger.Warn("the parent node is gone; stopping", "parent_pid", pid)
				cancel()
				return
			}
		}
	}
}
