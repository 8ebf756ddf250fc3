package main

import (
	"context"
	"io"

	"github.com/troupe-go/troupe/manifest"
)

// runLint is troupe lint [troupe.yaml]: it prints validation errors and lint
// warnings, and fails (status 1) on errors.
func runLint(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if code := manifest.LintCommand(args, stdout, stderr); code != 0 {
		return exitError(code)
	}
	return nil
}
