// Command troupe is troupe's own tool: it scaffolds new applications, checks
// manifests, talks to running applications, and runs applications whose
// services are all command services (programs in any language that join the
// bus through the TROUPE_* contract).
//
//	troupe new DIR               create an application module from seed 001's hello template
//	troupe lint [troupe.yaml]    validate a manifest and report unused messages
//	troupe send NAME [JSON]      send one message to a running application, print the reply
//	troupe run [troupe.yaml]     start an application of command services
//	troupe version               print the version
//
// An application with Go services has a main of its own that registers them
// and calls host.Main, and gets the same commands for its services (the
// repository's demo is one: go run ./examples/demo run).
package main

import "github.com/troupe-go/troupe/host"

// version is stamped at build time:
//
//	go build -ldflags "-X main.version=v0.1.0" ./cmd/troupe
var version = ""

func main() {
	host.Main(host.Program{Name: "troupe", Version: version})
}
