// Package troupe is the vocabulary of the troupe framework: the things every
// layer meets at and nothing more.
//
// troupe runs services as supervised actors that talk over a message bus which
// routes by message name. The layers live in their own packages:
//
//   - actor: processes, mailboxes, supervisors, links, monitors, crash reports;
//   - bus: routing by name, permissions, deadlines, stats, durability, transports;
//   - service: the SDK a service is written against (typed handlers);
//   - gateway: the HTTP edge that turns {"type": Name, ...} into bus requests.
//
// This package holds what they share:
//
//   - [Envelope], the message that travels on the bus, and its wire form
//     ([Envelope.MarshalJSON], [DecodeEnvelope]; docs/protocol.md specifies it);
//   - [ID], sortable unique identifiers for messages and activities;
//   - [Error] and its [Code]s, the one typed error that crosses service
//     boundaries, with sentinels such as [ErrForbidden] for errors.Is;
//   - [App], the declaration of an application (its services, what each sends
//     and receives, what is durable, the gateway's routes, each message's
//     payload schema and replies, the names a service's code uses) that the
//     manifest package reads from troupe.yaml and the bus enforces;
//   - the rules for names and route paths that every layer applies alike
//     ([ValidName], [ValidPortableName], [ValidRoutePath], [ValidRoute]).
//
// It imports nothing else from this module.
package troupe
