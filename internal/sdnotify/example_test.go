package sdnotify_test

import (
	"context"
	"log/slog"

	"github.com/troupe-go/troupe/internal/sdnotify"
)

// A service tells systemd it is ready once it listens, keeps the watchdog
// fed while it runs, and says it is stopping before it drains. Outside
// systemd every call does nothing.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// ... listen and start serving ...
	if err := sdnotify.Ready(); err != nil {
		slog.Warn("sd_notify", "err", err)
	}
	go func() { _ = sdnotify.Watchdog(ctx, nil) }()

	// ... on SIGTERM:
	_ = sdnotify.Stopping()
	_ = sdnotify.Status("draining connections")
}
