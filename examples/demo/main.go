// Command demo is the application troupe's README starts: seed 001's hello
// service and the Todo application of seeds 002 and 004 (examples/todo: the
// web and todo services, on SQLite or PostgreSQL), behind one gateway.
//
//	go run ./examples/demo run          # from the repository's root
//
// It is a troupe application like any user's: main registers the services
// and calls host.Main, which gives it troupe's whole command line (run, send,
// lint, bench, new, version). The manifest is built in (troupe.yaml here, a
// copy of the repository's), and used when there is no ./troupe.yaml.
package main

import (
	_ "embed"

	"github.com/troupe-go/troupe/examples/hello"
	todoapp "github.com/troupe-go/troupe/examples/todo"
	"github.com/troupe-go/troupe/host"
)

// manifest is the demo application's troupe.yaml.
//
//go:embed troupe.yaml
var manifest []byte

// version is stamped at build time:
//
//	go build -ldflags "-X main.version=v0.1.0" ./examples/demo
var version = ""

func main() { host.Main(program()) }

// program is the demo's services and manifest; each call has flags of its
// own (tests run it many times).
func program() host.Program {
	return host.Program{
		Name:     "troupe",
		Manifest: manifest,
		Services: append([]host.Service{hello.Service()}, todoapp.Services()...),
		Version:  version,
	}
}
