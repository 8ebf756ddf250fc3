package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/apidoc"
	"github.com/troupe-go/troupe/internal/load"
	"github.com/troupe-go/troupe/manifest"
)

// lintCmd is `lint`: validation errors (status 1) or lint warnings, and with
// -against the breaking changes since an older version (status 1).
func (p Program) lintCmd(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := p.newFlagSet("lint", "[troupe.yaml]", "Checks a troupe manifest (default ./troupe.yaml) and prints its errors, with\n"+
		"file:line:col, or its warnings: messages sent by no service or received by none.\n"+
		"Exit status 1 if the manifest has errors. With -against, it also prints every\n"+
		"change since the older version OLD.yaml that can break a client or a service\n"+
		"written against it (docs/protocol.md, \"Compatibility\"), and exits 1 if there is one.", stdout, stderr)
	against := fs.String("against", "", "an older version of the manifest: report the breaking changes since it")
	verbose := fs.Bool("v", false, "with -against, print the compatible changes too")
	if err := parse(fs, args, stdout); err != nil {
		return done(err)
	}
	if fs.NArg() > 1 {
		fs.Usage()
		return errUsage
	}
	path := "troupe.yaml"
	if fs.NArg() == 1 {
		path = fs.Arg(0)
	}
	app, failed, err := lintLoad(path, stdout)
	if err != nil || failed {
		return err
	}
	for _, w := range manifest.Lint(app) {
		fmt.Fprintln(stdout, w.String())
	}
	if *against == "" {
		return nil
	}
	old, failed, err := lintLoad(*against, stdout)
	if err != nil || failed {
		return err
	}
	var breaking int
	for _, c := range manifest.Compare(old, app) {
		if c.Breaking {
			breaking++
		}
		if c.Breaking || *verbose {
			fmt.Fprintln(stdout, c.String())
		}
	}
	if breaking > 0 {
		fmt.Fprintf(stdout, "%d breaking change(s) since %s\n", breaking, *against)
		return exitStatus(1)
	}
	return nil
}

// lintLoad loads a manifest for lint: its errors are printed (failed), and
// so is a declaration of the operator's reserved name.
func lintLoad(path string, stdout io.Writer) (app *troupe.App, failed bool, err error) {
	app, err = manifest.Load(path)
	var errs manifest.Errors
	if errors.As(err, &errs) {
		for _, e := range errs {
			fmt.Fprintln(stdout, e.Error())
		}
		return nil, true, exitStatus(1)
	}
	if err != nil {
		return nil, true, fmt.Errorf("lint: %w", err)
	}
	if _, err := app.WithOperator(); err != nil {
		fmt.Fprintf(stdout, "%s: %v\n", path, err)
		return nil, true, exitStatus(1)
	}
	return app, false, nil
}

// apiCmd is `api`: the application's AsyncAPI (the bus) and OpenAPI (the
// gateway's routes) documents.
func (p Program) apiCmd(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := p.newFlagSet("api", "[troupe.yaml]", "Writes the application's API documents, generated from its manifest (default\n"+
		"./troupe.yaml, else the one built in): asyncapi.json (AsyncAPI 3.0: the bus's\n"+
		"channels on NATS, each service's operations, payload and reply schemas) and\n"+
		"openapi.json (OpenAPI 3.1: the gateway's routes). The gateway serves both too.", stdout, stderr)
	out := fs.String("out", ".", "directory to write asyncapi.json and openapi.json to")
	one := fs.String("print", "", "print one document to stdout instead: asyncapi or openapi")
	if err := parse(fs, args, stdout); err != nil {
		return done(err)
	}
	if fs.NArg() > 1 || (*one != "" && *one != "asyncapi" && *one != "openapi") {
		fs.Usage()
		return errUsage
	}
	app, _, err := p.loadManifest(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	docs := []struct {
		name string
		gen  func(*troupe.App) ([]byte, error)
	}{{"asyncapi", apidoc.AsyncAPI}, {"openapi", apidoc.OpenAPI}}
	for _, d := range docs {
		if *one != "" && *one != d.name {
			continue
		}
		data, err := d.gen(app)
		if err != nil {
			return fmt.Errorf("api: %s: %w", d.name, err)
		}
		if *one != "" {
			_, err = stdout.Write(append(data, '\n'))
			return err
		}
		path := filepath.Join(*out, d.name+".json")
		if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
			return fmt.Errorf("api: %w", err)
		}
		fmt.Fprintf(stdout, "wrote %s\n", path)
	}
	return nil
}

// benchCmd is `bench hello`, seed 001's experiment (and `bench mix`, in
// load.go). Without -url, bench hello first starts the application in this
// process on free ports.
func (p Program) benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "mix" {
		return p.benchMixCmd(ctx, args[1:], stdout, stderr) // load.go
	}
	if len(args) == 0 || args[0] != "hello" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			fmt.Fprintf(stdout, "usage: %s bench hello|mix [flags]\n\nRun '%s bench hello -h' or '%s bench mix -h' for their flags.\n", p.name(), p.name(), p.name())
			return nil
		}
		fmt.Fprintf(stderr, "usage: %s bench hello|mix [flags]\n", p.name())
		return errUsage
	}
	fs := p.newFlagSet("bench hello", "", "Seed 001's experiment: N concurrent Hello requests, all of which must be\n"+
		"answered with the expected reply within the duration. Without -url it starts the\n"+
		"application (./troupe.yaml or the built-in one) in this process first; the run\n"+
		"flags below then configure it.", stdout, stderr)
	var (
		url      = fs.String("url", "", "the application's URL (default: start the application in this process)")
		n        = fs.Int("n", load.DefaultN, "requests, all started at once")
		conns    = fs.Int("c", load.DefaultConcurrency, "connection pool size (the livebook's client pools 50)")
		duration = fs.Duration("duration", load.DefaultDuration, "the time all replies must arrive within")
		body     = fs.String("body", load.DefaultBody, "request body")
		expect   = fs.String("expect", "world", "the reply type that counts as good")
	)
	var f runFlags
	f.define(fs, p.Services)
	if err := parse(fs, args[1:], stdout); err != nil {
		return done(err)
	}
	target := *url
	if target == "" {
		data, err := os.MkdirTemp("", "troupe-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(data)
		f.dataDir, f.addr, f.addrSet, f.logLevel = data, "127.0.0.1:0", true, "warn"
		if f.natsURL == "" {
			f.natsPort = 0
		}
		cfg, err := f.config(fs, io.Discard, stderr)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		cfg.HTTP.Addr = "127.0.0.1:0"
		app, file, err := p.loadManifest("")
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		cfg.App, cfg.ManifestFile, cfg.Services = app, file, p.Services
		node, err := Start(ctx, cfg)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			_ = node.Shutdown(sctx)
		}()
		target = node.URL()
		fmt.Fprintf(stdout, "started the application at %s\n", target)
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
		return exitStatus(1)
	}
	return nil
}

// versionCmd is `version`.
func (p Program) versionCmd(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := p.newFlagSet("version", "", "Prints the version of this binary, of Go, and the platform.", stdout, stderr)
	if err := parse(fs, args, stdout); err != nil {
		return done(err)
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	_, err := fmt.Fprintf(stdout, "%s %s %s %s/%s\n", p.name(), p.version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return err
}

// version is Program.Version, or the module version and VCS revision the go
// command recorded, or "devel".
func (p Program) version() string {
	v := p.Version
	bi, ok := debug.ReadBuildInfo()
	if v == "" && ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	if v == "" {
		v = "devel"
	}
	if ok {
		var rev, modified string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					modified = "+dirty"
				}
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" {
			v += " (" + rev + modified + ")"
		}
	}
	return v
}
