package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/alarm"
	"github.com/troupe-go/troupe/internal/proc"
)

// The environment a command service is started with: everything it needs to
// join the bus in any language (docs/protocol.md).
const (
	envApp          = "TROUPE_APP"           // the application's name
	envService      = "TROUPE_SERVICE"       // the service's name
	envInstance     = "TROUPE_INSTANCE"      // this instance's name
	envNATSURL      = "TROUPE_NATS_URL"      // the NATS server to connect to
	envNATSUser     = "TROUPE_NATS_USER"     // the service's NATS user ...
	envNATSPassword = "TROUPE_NATS_PASSWORD" // ... and password
	envManifest     = "TROUPE_MANIFEST"      // the manifest's path ("" for the built-in demo)
)

// startCommand starts decl's instances as supervised OS processes.
func (a *application) startCommand(decl troupe.ServiceDecl, crashLoop *alarm.CrashLoop) error {
	if a.opts.inproc {
		return fmt.Errorf("service %q runs a command, which needs NATS: drop -inproc", decl.Name)
	}
	url := a.opts.natsURL
	if a.natsServer != nil {
		url = a.natsServer.ClientURL()
	}
	var user, password string
	if a.natsServer != nil {
		if c, ok := a.natsServer.Credentials(decl.Name); ok {
			user, password = c.User, c.Password
		}
	} else if creds, err := readCredentials(a.credentialsPath()); err == nil && creds != nil {
		user, password = creds[decl.Name].User, creds[decl.Name].Password
	}
	manifestPath := ""
	if a.source != "" {
		abs, err := filepath.Abs(a.source)
		if err != nil {
			return err
		}
		manifestPath = abs
	}
	for i := 1; i <= max(decl.Instances, 1); i++ {
		instance := fmt.Sprintf("%s-%d", decl.Name, i)
		env := []string{
			envApp + "=" + a.app.Name, envService + "=" + decl.Name, envInstance + "=" + instance,
			envNATSURL + "=" + url, envNATSUser + "=" + user, envNATSPassword + "=" + password,
			envManifest + "=" + manifestPath,
		}
		for k, v := range decl.Env {
			env = append(env, k+"="+v)
		}
		p, err := proc.Start(proc.Config{
			Name:    instance,
			Command: decl.Command,
			Env:     env,
			Output:  a.stderr,
			OnExit: func(err error, restartIn time.Duration) {
				crashLoop.Crash(instance)
				a.log.Error("service process exited; restarting", "service", decl.Name, "instance", instance, "err", fmt.Sprint(err), "restart_in", restartIn)
			},
		})
		if err != nil {
			return fmt.Errorf("service %q: %w", decl.Name, err)
		}
		a.procs = append(a.procs, p)
		a.log.Info("service process started", "service", decl.Name, "instance", instance, "pid", p.PID())
	}
	return nil
}

// credentialsPath is the credentials file of -nats-credentials or the data
// directory.
func (a *application) credentialsPath() string {
	if a.opts.natsCreds != "" {
		return a.opts.natsCreds
	}
	return credentialsFile(a.opts.dataDir)
}
