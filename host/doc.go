// Package host runs a troupe node: one operating-system process that holds an
// application's declaration (the manifest), the services registered in it, a
// transport, the command services it starts, the HTTP gateway and the admin
// endpoints. It is the only package that knows the order in which they start
// and stop, and the package a user's own main calls.
//
// # A user's own binary
//
// An application's main registers its services and calls Main, as Caddy's
// main does; the binary then has troupe's whole command line (run, send,
// lint, bench, new, version) for its own services:
//
//	func main() {
//		host.Main(host.Program{
//			Services: []host.Service{greeter.Service},
//		})
//	}
//
// where greeter.Service names the service in the manifest and builds it:
//
//	var Service = host.Service{
//		Name: "greeter",
//		New: func(ctx context.Context, in *host.Instance) (*service.Service, error) {
//			s := service.New(in.Config())
//			err := service.Handle(s, "Greet", "Greeting", greet)
//			return s, err
//		},
//	}
//
// `go run . run` starts the application of ./troupe.yaml (or of
// Program.Manifest) on an embedded NATS server; `-inproc` keeps it in one
// process without NATS; `-nats URL` joins a cluster; `-only a,b` runs only
// some services, so that more processes of the same binary scale it out.
//
// # The node
//
// Start runs a node from a Config and Shutdown stops it. The order is fixed:
//
//	start: alarms → actor system → transport (embedded NATS, a cluster, or
//	       in-process) → bus → services, in manifest order → command
//	       services → gateway and HTTP listeners
//	stop:  the reverse, each part given what is left of Shutdown's context
//
// A registration that does not match the manifest (a declared service with no
// registration and no command, a registration the manifest does not declare,
// a handler for a name the service does not receive, a command that does not
// exist) makes Start fail with one error naming both sides, before any
// traffic is accepted.
//
// Every instance gets an id unique across processes and machines
// (troupe.NewInstanceID): replies come back to it, and logs and metrics carry
// it. Every node also declares the operator service, troupe.OperatorService,
// whose credentials `send` uses.
//
// # Command services
//
// A service whose manifest entry has a command runs as an operating-system
// process, supervised by an actor supervisor of the node like any child: it
// is restarted when it exits (after a backoff that grows while it keeps
// failing), every exit is reported once in the log and counted by the
// crash-loop alarm, and it dies with its parent. The child learns everything
// it needs from TROUPE_* environment variables (docs/protocol.md, "Command
// services"); a Go binary built on this package reads them in Main, so the
// same registration that runs in process serves a child process too.
package host
