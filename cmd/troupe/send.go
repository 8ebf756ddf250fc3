package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/natsbus"
)

// operatorService is the bus identity of `troupe send`. troupe run declares
// it beside the manifest's services: it may send every name some service
// receives, and receives nothing. Its NATS credentials are in the data
// directory with the others, readable only by the user running troupe.
const operatorService = "troupe-cli"

// withOperator returns a copy of app with the operator service declared.
func withOperator(app *troupe.App) (*troupe.App, error) {
	if app.Service(operatorService) != nil {
		return nil, fmt.Errorf("the manifest declares %q, a name troupe reserves for troupe send", operatorService)
	}
	var sends []string
	for _, s := range app.Services {
		for _, name := range s.Receives {
			if !slices.Contains(sends, name) {
				sends = append(sends, name)
			}
		}
	}
	slices.Sort(sends)
	out := *app
	out.Services = append(slices.Clone(app.Services), troupe.ServiceDecl{Name: operatorService, Sends: sends})
	return &out, nil
}

// natsURLFile is where troupe run writes its embedded server's URL.
func natsURLFile(dataDir string) string { return filepath.Join(dataDir, "nats", "url") }

// runSend is troupe send: one message to a running application, over its
// bus, and the reply printed.
func runSend(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		dataDir   = fs.String("data", ".troupe", "data directory of the running application (for its NATS URL and credentials)")
		natsURL   = fs.String("nats", "", "NATS URL of the application (default: the one troupe run wrote under -data)")
		creds     = fs.String("nats-credentials", "", "JSON file of NATS credentials (default: DATA/nats/credentials.json)")
		manifestF = fs.String("manifest", "", "the application's manifest (default: ./troupe.yaml, else the built-in demo)")
		kind      = fs.String("kind", "request", "request (print the reply), send (one-way) or publish (event)")
		timeout   = fs.Duration("timeout", time.Second, "how long to wait for the reply")
	)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: troupe send [flags] NAME [JSON]")
		fmt.Fprintln(stderr, "\nSends one message named NAME with the JSON payload (default null) to a running")
		fmt.Fprintln(stderr, "application over its bus and prints the reply envelope as JSON.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		fs.Usage()
		return exitError(2)
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
	app, _, err := loadApp(runOptions{manifest: *manifestF})
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	if app, err = withOperator(app); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	url := *natsURL
	if url == "" {
		data, err := os.ReadFile(natsURLFile(*dataDir))
		if err != nil {
			return fmt.Errorf("send: no -nats URL and no running application's URL under %s: %w", *dataDir, err)
		}
		url = strings.TrimSpace(string(data))
	}
	credPath := *creds
	if credPath == "" {
		credPath = credentialsFile(*dataDir)
	}
	cm, err := readCredentials(credPath)
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	quiet := newQuietLogger(stderr)
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
	c, err := b.Join(ctx, operatorService, fmt.Sprintf("cli-%d", os.Getpid()))
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
		if err := c.Send(ctx, name, payload); err != nil {
			return fmt.Errorf("send: %w", err)
		}
	case "publish":
		if err := c.Publish(ctx, name, payload); err != nil {
			return fmt.Errorf("send: %w", err)
		}
	default:
		return fmt.Errorf("send: -kind %q: want request, send or publish", *kind)
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
