package manifest_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/gateway"
	"github.com/troupe-go/troupe/manifest"
	"github.com/troupe-go/troupe/natsbus"
)

// checkRuns fails t if what troupe run builds from app refuses it: the bus,
// the NATS permissions (and so the subjects) and the gateway. The manifest
// checker must refuse first whatever they refuse.
func checkRuns(t *testing.T, app *troupe.App) {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	b, err := bus.New(bus.Config{App: app, Logger: quiet})
	if err != nil {
		t.Fatalf("the manifest accepted what bus.New refuses: %v", err)
	}
	defer b.Close(context.Background())
	if _, err := natsbus.Permissions(app); err != nil {
		t.Fatalf("the manifest accepted what natsbus.Permissions refuses: %v", err)
	}
	if _, err := gateway.New(gateway.Config{App: app, Bus: nopRequester{}, Logger: quiet}); err != nil {
		t.Fatalf("the manifest accepted what gateway.New refuses: %v", err)
	}
}

type nopRequester struct{}

func (nopRequester) Request(context.Context, string, any) (*troupe.Envelope, error) {
	return nil, troupe.ErrUnavailable
}

// TestAcceptedManifestsRun checks every good manifest against what troupe
// run builds from it.
func TestAcceptedManifestsRun(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "good", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range append(files, filepath.Join("..", "troupe.yaml"), filepath.Join("..", "examples", "todo", "troupe.yaml")) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			app, err := manifest.Load(file)
			if err != nil {
				t.Fatal(err)
			}
			checkRuns(t, app)
		})
	}
}
