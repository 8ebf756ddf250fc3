// Package natsbus is a bus.Transport over NATS, for applications whose
// services run in more than one process.
//
// A tour:
//
//   - RunServer starts an embedded nats-server on loopback with JetStream,
//     one user per service of the App, and permissions generated from the
//     manifest by Permissions: a service may publish what it sends,
//     subscribe to what it receives, and reply to whoever sends it
//     something; nothing else. Each user logs in with an nkey of its own
//     (Credential.Seed), new for each run unless given (Server.Users hands
//     them to child processes and restarts).
//   - New returns a Transport. Each member that joins gets its own
//     connection, in-process (Config.Server) or over TCP (Config.URL, which
//     can also name an external server or cluster), logged in as its
//     service's user.
//   - At-most-once envelopes travel on core NATS: subject
//     troupe.<app>.msg.<sender>.<name>, queue group <service>, so each
//     receiving service gets one copy, delivered to one instance; the
//     sender's service is the subject's token, which the server's publish
//     permissions bind to the user that published it (identity.go). Replies
//     go to troupe.<app>.reply.<service>.<instance>.<request id>.<replier>.
//   - Durable envelopes go to the JetStream stream troupe-<app>; Route
//     returns once the server has stored them, deduplicated by envelope
//     ID. Each receiving service has a durable consumer per name; the
//     Deliverer gets an Acker; after Config.MaxDeliver attempts the
//     envelope moves to the dead-letter stream troupe-<app>-dead and
//     Config.OnDeadLetter is called.
//   - Malformed envelopes, and envelopes whose sender may not send them,
//     are counted (Transport.Stats), logged and dropped.
//
// docs/protocol.md, "Transport: NATS", gives subjects, headers and queue
// groups precisely enough for a client in another language.
package natsbus
