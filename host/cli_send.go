package host

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/natsbus"
)

// sendCmd is `send`: one message to a running application over its bus, as
// the operator service, and the reply printed.
func (p Program) sendCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := p.newFlagSet("send", "NAME [JSON]", "Sends one message named NAME with the JSON payload (default null) to a running\n"+
		"application over its bus, as the operator ("+troupe.OperatorService+"), and prints the reply envelope\n"+
		"as JSON: its sender names the instance that answered.", stdout, stderr)
	var (
		dataDir   = fs.String("data", DefaultDataDir, "data directory of the running application (for its NATS URL and credentials)")
		natsURL   = fs.String("nats", "", "NATS URL of the application (default: the one run wrote under -data)")
		creds     = fs.String("nats-credentials", "", "NATS credentials: a JSON file by user, or a directory of USER.nk nkey seed files (default: DATA/nats/credentials.json)")
		manifestF = fs.String("manifest", "", "the application's manifest (default: ./troupe.yaml, else the one built in)")
		kind      = fs.String("kind", "request", "request (print the reply), send (one-way) or publish (event)")
		timeout   = fs.Duration("timeout", time.Second, "how long to wait for the reply")
	)
	if err := parse(fs, args, stdout); err != nil {
		return done(err)
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		fs.Usage()
		return errUsage
	}
	switch *kind {
	case "request", "send", "publish":
	default:
		fmt.Fprintf(stderr, "-kind %q: want request, send or publish\n", *kind)
		fs.Usage()
		return errUsage
	}
	name := fs.Arg(0)
	var payload any // nil: null
	if fs.NArg() == 2 {
		raw := json.RawMessage(fs.Arg(1))
		if !json.Valid(raw) {
			return fmt.Errorf("send: payload %q is not valid JSON", fs.Arg(1))
		}
		payload = raw
	}
	app, _, err := p.loadManifest(*manifestF)
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	if *kind != "publish" && len(app.Receivers(name)) == 0 {
		return fmt.Errorf("send: no service of app %q receives %q%s", app.Name, name, suggest(name, received(app)))
	}
	if app, err = app.WithOperator(); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	url := *natsURL
	if url == "" {
		data, err := os.ReadFile(URLFile(*dataDir))
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("send: no application is running with data directory %s (no %s); start one with run, or give -nats", *dataDir, URLFile(*dataDir))
		}
		if err != nil {
			return fmt.Errorf("send: %w", err)
		}
		url = strings.TrimSpace(string(data))
	}
	credPath := *creds
	if credPath == "" {
		credPath = CredentialsFile(*dataDir)
	}
	cm, err := ReadCredentials(credPath)
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	quiet := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	tcfg := natsbus.Config{App: app, URL: url, Logger: quiet}
	if cm != nil {
		tcfg.Credentials = natsbus.CredentialsFrom(cm)
	}
	t, err := natsbus.New(ctx, tcfg)
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	b, err := bus.New(bus.Config{App: app, Transport: t, Timeout: *timeout, Logger: quiet})
	if err != nil {
		_ = t.Close(context.WithoutCancel(ctx))
		return fmt.Errorf("send: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = b.Close(cctx)
		_ = t.Close(cctx)
	}()
	c, err := b.Join(ctx, troupe.OperatorService, troupe.NewInstanceID(troupe.OperatorService))
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	switch *kind {
	case "request":
		env, err := c.Request(ctx, name, payload)
		if err != nil {
			return fmt.Errorf("send: %w", err)
		}
		return printEnvelope(stdout, env)
	case "send":
		err = c.Send(ctx, name, payload)
	case "publish":
		err = c.Publish(ctx, name, payload)
	}
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	_, err = fmt.Fprintf(stdout, "%s %s sent\n", *kind, name)
	return err
}

func printEnvelope(w io.Writer, env *troupe.Envelope) error {
	data, err := env.MarshalJSON()
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, data, "", "  "); err != nil {
		return errors.Join(err, fmt.Errorf("reply: %s", data))
	}
	out.WriteByte('\n')
	_, err = out.WriteTo(w)
	return err
}

// received returns every name some service of app receives, sorted.
func received(app *troupe.App) []string {
	var names []string
	for _, s := range app.Services {
		for _, name := range s.Receives {
			if !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
	}
	slices.Sort(names)
	return names
}

// suggest returns "; did you mean ...?" for the names close to name (by edit
// distance, ignoring case), or a list of what there is.
func suggest(name string, names []string) string {
	var near []string
	for _, n := range names {
		if d := distance(strings.ToLower(name), strings.ToLower(n)); d <= max(1, len(name)/4) {
			near = append(near, fmt.Sprintf("%q", n))
		}
	}
	switch {
	case len(near) > 0:
		return "; did you mean " + strings.Join(near, " or ") + "?"
	case len(names) == 0:
		return " (no service receives anything)"
	case len(names) <= 12:
		return " (received: " + strings.Join(names, ", ") + ")"
	}
	return ""
}

// distance is the Levenshtein distance between a and b, in bytes.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
