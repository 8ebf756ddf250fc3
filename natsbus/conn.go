package natsbus

import (
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/troupe-go/troupe"
)

// Conn returns the NATS connection of member m, joined through t, or nil if
// m is not joined (or not connected yet). Use it for what a member answers
// beside the bus, on its own connection and under its own permissions: the
// NATS micro discovery protocol, the observe protocol. Closing the member
// closes it; do not close it yourself.
func (t *Transport) Conn(m troupe.Member) *nats.Conn {
	t.mu.Lock()
	p := t.members[m]
	t.mu.Unlock()
	if p == nil || !p.opened.Load() {
		return nil
	}
	return p.nc
}

// Connect opens a connection of its own logged in as user (a service's
// name, or troupe.OperatorService), with the transport's server, URL,
// credentials and options: an operator's tool (troupe tap, top, the
// dashboard) asks the observe protocol over it. The caller closes it.
func (t *Transport) Connect(user, what string) (*nats.Conn, error) {
	nc, err := t.connect(user, what)
	if err != nil {
		return nil, fmt.Errorf("natsbus: %w", err)
	}
	return nc, nil
}
