// Command troupe runs, checks and talks to troupe applications.
//
//	troupe run [troupe.yaml]     start the application (embedded NATS, gateway, services)
//	troupe lint [troupe.yaml]    validate a manifest and report unused messages
//	troupe send NAME [JSON]      send one message to a running application, print the reply
//	troupe bench hello           seed 001's experiment: N concurrent Hellos within a second
//	troupe version               print the version
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var ex exitError
		if errors.As(err, &ex) {
			os.Exit(int(ex))
		}
		fmt.Fprintln(os.Stderr, "troupe:", err)
		os.Exit(1)
	}
}

// exitError ends the program with a status and no further message (the
// command has already said what was wrong).
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// command is one subcommand: it gets the arguments after its name.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() map[string]command {
	return map[string]command{
		"run":     {"start the application: bus, services, gateway", runCmd},
		"lint":    {"check a manifest and report unused messages", runLint},
		"send":    {"send one message to a running application and print the reply", runSend},
		"bench":   {"seed 001's experiment: N concurrent Hellos within a duration", runBench},
		"version": {"print the version", runVersion},
	}
}

// run is the whole program: main only adds signals and the exit status, so
// tests drive run directly.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return nil
	}
	cmd, ok := commands()[args[0]]
	if !ok {
		usage(stderr)
		return fmt.Errorf("unknown command %q", args[0])
	}
	return cmd.run(ctx, args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: troupe <command> [arguments]")
	fmt.Fprintln(w)
	for _, name := range []string{"run", "lint", "send", "bench", "version"} {
		if c, ok := commands()[name]; ok {
			fmt.Fprintf(w, "  %-8s %s\n", name, c.summary)
		}
	}
}
