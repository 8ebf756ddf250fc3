package host

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/troupe-go/troupe/natsbus"
)

// provisionCmd is `provision`: create or update an application's JetStream
// streams and durable consumers on a NATS server, logged in as the admin
// user, and exit. Where each service has only its own credential (a
// Kubernetes Deployment per service), no service may create them; a job
// with the admin credential runs this once per release instead
// (deploy/k8s/streams.yaml).
func (p Program) provisionCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := p.newFlagSet("provision", "[troupe.yaml]", "Creates or updates the JetStream streams and durable consumers of the\n"+
		"application the manifest declares, as the NATS admin user ("+natsbus.AdminUser+"), and exits.\n"+
		"Run it before the services when they log in with credentials of their own\n"+
		"that may not create streams.", stdout, stderr)
	var (
		natsURL  = fs.String("nats", "", "the NATS server or cluster (comma-separated URLs); required")
		creds    = fs.String("nats-credentials", "", "NATS credentials holding the admin user's: a JSON file by user, or a directory of USER.nk nkey seed files; required")
		replicas = fs.Int("nats-replicas", 1, "copies of the durable-message streams in the NATS cluster")
		timeout  = fs.Duration("timeout", 30*time.Second, "how long to try")
	)
	if err := parse(fs, args, stdout); err != nil {
		return done(err)
	}
	if fs.NArg() > 1 || *natsURL == "" || *creds == "" {
		fs.Usage()
		return errUsage
	}
	app, _, err := p.loadManifest(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("provision: %w", err)
	}
	cm, err := ReadCredentials(*creds)
	if err != nil {
		return fmt.Errorf("provision: %w", err)
	}
	if _, ok := cm[natsbus.AdminUser]; !ok {
		return fmt.Errorf("provision: %s holds no credential of %s", *creds, natsbus.AdminUser)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	t, err := natsbus.New(ctx, natsbus.Config{App: app, URL: *natsURL, Credentials: natsbus.CredentialsFrom(cm), Replicas: *replicas, Logger: quiet})
	if err != nil {
		return fmt.Errorf("provision: %w", err)
	}
	if err := t.Close(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("provision: %w", err)
	}
	fmt.Fprintf(stdout, "streams and consumers of app %s ready on %s\n", app.Name, *natsURL)
	return nil
}
