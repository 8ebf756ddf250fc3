// Package todoapp declares the todo application of seeds 002 and 004: its
// manifest (troupe.yaml beside this file: the web and todo services and the
// gateway's REST routes) for tests, benchmarks and `troupe run`.
//
// The services are in the subpackages: todo (the todo service, owner of the
// store), web (HTML pages, assets, live updates) and store (storage).
package todoapp

import (
	_ "embed"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/manifest"
)

// Manifest is the application's troupe.yaml.
//
//go:embed troupe.yaml
var Manifest []byte

// App parses Manifest.
func App() (*troupe.App, error) {
	return manifest.Parse("examples/todo/troupe.yaml", Manifest)
}
