package natsbus_test

import (
	"testing"
	"time"

	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/bus/bustest"
	"github.com/troupe-go/troupe/natsbus"
)

// TestConformance runs the bus conformance suite over NATS, in-process and
// over loopback TCP. Each subtest gets its own embedded server.
//
// The server has no users here: bustest plays processes that break the rules
// (a forged sender) and checks that the receiving bus refuses them, which it
// can only see if NATS lets them through. With per-service users the server
// refuses them first (TestRawClientPermissions).
func TestConformance(t *testing.T) {
	for _, c := range connections {
		t.Run(c.name, func(t *testing.T) {
			bustest.Run(t, func(t *testing.T) bus.Transport {
				srv := runServer(t, natsbus.ServerConfig{})
				cfg := c.cfg(srv)
				cfg.App = bustest.App()
				cfg.AckWait = 2 * time.Second
				return newTransport(t, cfg)
			})
		})
	}
}
