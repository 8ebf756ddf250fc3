package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/troupe-go/troupe/internal/load"
)

// runBench is troupe bench hello: seed 001's experiment. Without -url it
// first starts the demo application in this process on a free port.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "hello" {
		fmt.Fprintln(stderr, "usage: troupe bench hello [flags]")
		return exitError(2)
	}
	fs := flag.NewFlagSet("bench hello", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		url      = fs.String("url", "", "the application's URL (default: start the demo application in this process)")
		n        = fs.Int("n", load.DefaultN, "requests, all started at once")
		conns    = fs.Int("c", load.DefaultConcurrency, "connection pool size (the livebook's client pools 50)")
		duration = fs.Duration("duration", load.DefaultDuration, "the time all replies must arrive within")
		body     = fs.String("body", load.DefaultBody, "request body")
		expect   = fs.String("expect", "world", "the reply type that counts as good")
		inproc   = fs.Bool("inproc", false, "without -url: run the demo on the in-process bus instead of the embedded NATS")
	)
	if err := fs.Parse(args[1:]); err != nil {
		return exitError(2)
	}
	target := *url
	if target == "" {
		data, err := os.MkdirTemp("", "troupe-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(data)
		o, err := parseRunFlags([]string{"-addr", "127.0.0.1:0", "-nats-port", "0", "-data", data, "-log-level", "warn"}, stderr)
		if err != nil {
			return err
		}
		o.inproc = *inproc
		log, err := newLogger(o, stderr)
		if err != nil {
			return err
		}
		app, _, err := loadApp(o)
		if err != nil {
			return err
		}
		a := &application{opts: o, app: app, log: log, stdout: io.Discard}
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			_ = a.stop(sctx)
		}()
		if err := a.start(ctx); err != nil {
			return err
		}
		target = a.server.URL()
		fmt.Fprintf(stdout, "started the demo application at %s\n", target)
	}
	res, err := load.Burst(ctx, load.Config{
		URL: target, N: *n, Concurrency: *conns, Duration: *duration,
		Body: []byte(*body), Expect: load.ExpectType(*expect),
	})
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	fmt.Fprintln(stdout, res.String())
	fmt.Fprintln(stdout, res.Verdict())
	if !res.AllGood {
		return exitError(1)
	}
	return nil
}
