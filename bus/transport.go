package bus

import (
	"context"
	"time"

	"github.com/troupe-go/troupe"
)

// Transport moves envelopes between the members (service instances) of one
// application. It implements routing by name with competing consumers and
// nothing else: permissions, deadlines, bulkheads and stats are the Bus's, on
// both the sending and the receiving side, so they hold the same way on every
// transport. bustest.Run checks that a Transport keeps this contract.
//
// The in-process transport (NewInProc) is the default; natsbus provides one
// over NATS for more than one process.
type Transport interface {
	// Join attaches one member. Replies addressed to it (see Port.Reply)
	// go to inbox. Joining the same member twice is an error.
	Join(ctx context.Context, m troupe.Member, inbox Deliverer) (Port, error)
	// Close detaches every member and releases the transport. It waits
	// for deliveries in progress to return.
	Close(ctx context.Context) error
}

// Delivery is how the instances of one service share the envelopes of one
// name that are routed to the service.
type Delivery uint8

const (
	// OneInstance delivers each envelope to one instance of the service:
	// the instances compete (seed 003's point-to-point channel). It is the
	// default, and the only mode for durable names.
	OneInstance Delivery = iota
	// EveryInstance delivers each envelope to every instance of the
	// service (seed 003's publish-subscribe channel): a service that
	// keeps a copy of state in each instance (browsers' live updates, a
	// cache) declares such names broadcast in the manifest.
	EveryInstance
)

func (d Delivery) String() string {
	if d == EveryInstance {
		return "every instance"
	}
	return "one instance"
}

// Port is one member's attachment to a Transport. Its methods are safe for
// concurrent use.
type Port interface {
	// Subscribe delivers to d the envelopes named name that are routed to
	// this member's service: each envelope to one instance of each
	// subscribed service (OneInstance: the instances compete), or, for
	// EveryInstance, to every subscribed instance of the service.
	// Durable names are always OneInstance.
	Subscribe(name string, mode Delivery, d Deliverer) error
	// Leave stops deliveries to this member, as it begins to stop: the
	// transport routes no new envelope to it, and delivers those already
	// on their way (a NATS subscription drains) before Leave returns or
	// ctx ends. The member may still send and reply until Close.
	Leave(ctx context.Context) error
	// Route sends env (a request, send or publish) to one instance of
	// every service subscribed to env.Name. If env.Durable, Route returns
	// only once the transport has stored env, and delivery is at least
	// once; otherwise at most once. Route returns an error wrapping
	// troupe.ErrNoReceiver when it knows that no service is subscribed.
	Route(ctx context.Context, env *troupe.Envelope) error
	// Reply sends a reply envelope to the inbox of member to. ctx carries
	// the replier's values and may be done already (a handler's context
	// ends at the request's deadline, which the bus has checked): a
	// transport sends the reply whether or not it is.
	Reply(ctx context.Context, to troupe.Member, env *troupe.Envelope) error
	// Close detaches the member: its subscriptions end, durable
	// deliveries not yet acknowledged go back to the service's other
	// instances (or wait for the next one to join).
	Close() error
}

// Deliverer receives envelopes from a transport. Deliver must return quickly
// (hand the envelope to a mailbox and return); the transport may call it from
// several goroutines at once. ack is nil for at-most-once deliveries.
type Deliverer interface {
	Deliver(env *troupe.Envelope, ack Acker)
}

// DelivererFunc adapts a function to a Deliverer.
type DelivererFunc func(env *troupe.Envelope, ack Acker)

// Deliver calls f(env, ack).
func (f DelivererFunc) Deliver(env *troupe.Envelope, ack Acker) { f(env, ack) }

// Acker settles one durable delivery. Exactly one of its methods should be
// called, once; a delivery that is never settled is redelivered after the
// transport's ack timeout.
type Acker interface {
	// Ack reports that the handler succeeded; the envelope is not
	// delivered to this service again.
	Ack() error
	// Nak asks for redelivery after delay (the bus backs off).
	Nak(delay time.Duration) error
	// Term gives up on the envelope: it goes to the dead-letter store.
	Term(reason string) error
}
