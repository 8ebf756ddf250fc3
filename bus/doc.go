// Package bus routes named messages between the services of an application:
// it refuses what a sender did not declare, delivers to whoever declared that
// it receives, puts a deadline on every request, bounds outstanding requests,
// counts everything, and never drops a message silently.
//
// # Buses and clients
//
// A process builds one [Bus] from the application's declaration
// ([troupe.App]: services, what each sends and receives, what is durable)
// and a [Transport]. Each service instance in the process joins it and gets
// a [Client]:
//
//	b, err := bus.New(bus.Config{App: app}) // in-process transport
//	...
//	web, err := b.Join(ctx, "web", "web-1")
//	pricing, err := b.Join(ctx, "pricing", "pricing-1")
//
// # Receiving
//
// A client receives a name with [Client.Handle]. The service must declare
// the name in its receives. Every service that receives a name gets one copy
// of each message, delivered to one of its instances (competing consumers).
// The handler gets a [Msg]: the envelope and the means to answer it.
//
//	pricing.Handle("price.get", bus.HandlerFunc(func(ctx context.Context, m *bus.Msg) {
//		m.Reply(ctx, "price", 250)
//	}))
//
// Handlers must return quickly; the service SDK hands each Msg to an actor.
//
// # Sending: the five interaction styles
//
//   - request/response: [Client.Request] waits for the reply;
//   - asynchronous request/response: [Client.Call] returns a [Call] whose
//     Next yields one or several replies ([Msg.ReplyMore], then
//     [Msg.Reply]);
//   - one-way notification: [Client.Send];
//   - publish/subscribe: [Client.Publish], zero or more receivers;
//   - publish/async responses: [Client.Collect] asks every receiving
//     service and gathers replies until the deadline.
//
// # Policy
//
// The Bus enforces the App on both sides, so every transport behaves the
// same. A name the sender does not declare in its sends is refused with
// [troupe.ErrForbidden]; a request or send to a name that no service
// receives fails with a not_found error whose cause is [troupe.ErrNoReceiver],
// and one to a name whose services have no instance on the bus at the moment
// with an unavailable error (try again later) with the same cause; a receiving bus
// checks each delivered envelope's name and sender again. Every refusal is
// an error to the sender, one log record and a counter.
//
// Every request has a deadline: the context's, or Config.Timeout (1s) from
// now. A handler's context (see [ContextWith]) carries the request, so
// nested requests join its activity and inherit what is left of the
// deadline. Expired requests are dropped on delivery, late replies are
// dropped and counted, and the requester gets a timeout error at the
// deadline ([troupe.ErrTimeout]). A bulkhead bounds the requests outstanding
// from one service to another (Config.MaxOutstanding); past it a request
// fails at once with [troupe.ErrUnavailable].
//
// # Schemas and translation
//
// A name the App describes with a payload schema ([troupe.MessageDecl]) is
// validated where it enters, on every transport: before it is routed or
// replied, and again on delivery or arrival. A mismatch is a bad_request
// *troupe.Error naming the field; a request refused on delivery is answered
// with it. Declared reply names are enforced the same way.
// MessageDecl.NoValidate turns the check off for a hot path.
//
// A service's [troupe.ServiceDecl.Translate] lets its code use its own names
// (ExoCom's message translation): its Client translates them to the App's
// names and back, so only the App's names travel. [Stats].Translated lists
// the pairs; refusals log both names.
//
// # Durability
//
// Names a service declares durable are delivered at least once: the handler
// settles the delivery with [Msg.Done] (a final reply settles a request),
// failures are redelivered with backoff and dead-lettered after
// Config.MaxAttempts. The in-process transport keeps this in memory only;
// the NATS transport persists with JetStream.
//
// # Stats
//
// [Bus.Stats] returns counters and latency quantiles per message name and
// per service; [Bus.Collector] exports the same as Prometheus metrics.
// [Bus.Members] gives each member's counters with the latency histogram's
// buckets, for an observer's own windows.
//
// # Observing
//
// [Bus.Tap] sees every envelope the members of a process send, receive and
// reply, and the dead letters, as operators' tools do (package observe);
// without taps it costs one atomic load per message. A message sent with a
// handler's context carries the handled envelope's W3C trace context
// ([HeaderTraceParent], [HeaderTraceState]) on, and a reply its request's
// unless an interceptor set its own ([Msg.SetReplyHeader]).
//
// # Transports
//
// [Transport] is the seam: [NewInProc] passes envelopes between the members
// of one process without encoding them; package natsbus carries them over
// NATS. Package bustest is the conformance suite every transport passes.
package bus
