package host

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
)

// Program is a troupe application's binary: its services and, optionally,
// the manifest built into it. Main gives it troupe's whole command line.
type Program struct {
	// Name is the command's name in usage messages. Empty means the base
	// name of os.Args[0].
	Name string
	// Manifest is the application's troupe.yaml built into the binary
	// (go:embed), used when no manifest is given on the command line and
	// there is no ./troupe.yaml. Nil means a manifest must be found.
	Manifest []byte
	// Services are the services the binary can run in process.
	Services []Service
	// Version is what version prints and /healthz reports. Empty means the
	// module version and VCS revision the go command recorded.
	Version string
}

// Main runs the command line of p with os.Args and exits: status 0 on
// success, 2 on a usage error, 1 on any other error (printed to stderr).
// SIGINT and SIGTERM stop a running node gracefully. A process started by a
// node as a command service (TROUPE_SERVICE set, no arguments) serves that
// service.
func Main(p Program) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := Run(ctx, p, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(ExitCode(err, os.Stderr, p.name()))
}

// ExitCode prints err (unless it is only an exit status) and returns the
// status Main exits with.
func ExitCode(err error, stderr io.Writer, name string) int {
	if err == nil {
		return 0
	}
	var ex exitStatus
	if errors.As(err, &ex) {
		return int(ex)
	}
	fmt.Fprintf(stderr, "%s: %v\n", name, err)
	return 1
}

// exitStatus ends the program with a status and no further message: the
// command has already said what was wrong (a usage message, say).
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// errUsage is returned after a usage message: exit status 2.
const errUsage = exitStatus(2)

// Run runs one command line of p (args without the program name), writing to
// stdout and stderr; it returns when the command is done, or, for run, when
// ctx ends and the node has stopped. Tests drive it directly.
func Run(ctx context.Context, p Program, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 && os.Getenv(EnvService) != "" {
		return serveChild(ctx, p, stdout, stderr)
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		p.usage(stdout)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	for _, c := range p.commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "%s: unknown command %q\n\n", p.name(), args[0])
	p.usage(stderr)
	return errUsage
}

// subcommand is one command of the command line: it gets the arguments after
// its name.
type subcommand struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func (p Program) commands() []subcommand {
	return []subcommand{
		{"run", "start the application: bus, services, command services, gateway", p.runCmd},
		{"send", "send one message to a running application and print the reply", p.sendCmd},
		{"tap", "print the messages of a running application as they flow", p.tapCmd},
		{"top", "show the live traffic of a running application per message", p.topCmd},
		{"lint", "check a manifest, its unused messages, and its breaking changes (-against)", p.lintCmd},
		{"api", "write the AsyncAPI and OpenAPI documents generated from the manifest", p.apiCmd},
		{"bench", "seed 001's experiment (hello), and issue 17's mixed load and soak (mix)", p.benchCmd},
		{"new", "create a new application module from the hello template", p.newCmd},
		{"serve", "serve one command service instance for a parent node (TROUPE_* variables)", p.serveCmd},
		{"provision", "create the JetStream streams and consumers of the application, as the NATS admin", p.provisionCmd}, // cli_provision.go
		{"version", "print the version", p.versionCmd},
	}
}

func (p Program) name() string {
	if p.Name != "" {
		return p.Name
	}
	if len(os.Args) > 0 {
		return filepath.Base(os.Args[0])
	}
	return "troupe"
}

func (p Program) usage(w io.Writer) {
	fmt.Fprintf(w, "usage: %s <command> [flags] [arguments]\n\nCommands:\n", p.name())
	for _, c := range p.commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun '%s <command> -h' for a command's flags.\n", p.name())
}

// newFlagSet returns a flag set whose -h prints usage and flags to stdout,
// as go's tools do, and whose errors go to stderr.
func (p Program) newFlagSet(name, args, about string, stdout, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(p.name()+" "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "usage: %s %s [flags] %s\n\n%s\n", p.name(), name, args, about)
		var any bool
		fs.VisitAll(func(*flag.Flag) { any = true })
		if any {
			fmt.Fprintln(w, "\nFlags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parse parses args: -h prints the usage to stdout and ends the command with
// status 0, a bad flag prints it to stderr with status 2.
func parse(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	out := fs.Output()
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(out)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(stdout)
		fs.Usage()
		fs.SetOutput(out)
		return errHelp
	case err != nil:
		fmt.Fprintln(out, err)
		fs.Usage()
		return errUsage
	}
	return nil
}

// errHelp ends a command after its usage was printed on request: status 0.
var errHelp = errors.New("help requested")

// done turns errHelp into success.
func done(err error) error {
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}
