package natsbus

import (
	"fmt"
	"strings"

	"github.com/troupe-go/troupe"
)

// DefaultAppName is the application name used in subjects when Config.App is
// nil.
const DefaultAppName = "default"

// AdminUser is the NATS user under which a Transport creates the JetStream
// streams of an application. RunServer generates a password for it beside the
// services' users; it cannot clash with a service name, which has no '_'.
const AdminUser = "_troupe_admin"

// subjects computes the NATS names of one application (docs/protocol.md,
// "Transport: NATS").
type subjects struct {
	app    string
	prefix string // "troupe.<app>"
}

func newSubjects(app string) (subjects, error) {
	if err := troupe.ValidServiceName(app); err != nil {
		return subjects{}, fmt.Errorf("natsbus: application name %v", err)
	}
	return subjects{app: app, prefix: "troupe." + app}, nil
}

// msg is the subject of at-most-once envelopes named name.
func (s subjects) msg(name string) string { return s.prefix + ".msg." + name }

// durable is the subject, captured by the stream, of durable envelopes.
func (s subjects) durable(name string) string { return s.prefix + ".durable." + name }

// dead is the subject, captured by the dead-letter stream, of envelopes that
// service gave up on.
func (s subjects) dead(service, name string) string {
	return s.prefix + ".dead." + service + "." + name
}

// reply is the subject of the replies to request id sent to member m.
func (s subjects) reply(m troupe.Member, id troupe.ID) string {
	return s.prefix + ".reply." + m.Service + "." + m.Instance + "." + id
}

// replies is the wildcard a member subscribes to for its replies.
func (s subjects) replies(m troupe.Member) string {
	return s.prefix + ".reply." + m.Service + "." + m.Instance + ".*"
}

// inbox is the inbox prefix of a service's connections (JetStream acks).
func (s subjects) inbox(service string) string { return s.prefix + ".inbox." + service }

// stream is the name of the stream of durable envelopes.
func (s subjects) stream() string { return "troupe-" + s.app }

// deadStream is the name of the dead-letter stream.
func (s subjects) deadStream() string { return "troupe-" + s.app + "-dead" }

// consumer is the name of the durable consumer through which service
// receives the envelopes named name. Message names may hold '.', which
// consumer names may not; '~' never occurs in a message name.
func consumerName(service, name string) string {
	return service + "_" + strings.ReplaceAll(name, ".", "~")
}

// validSubjectName checks that name can be a part of a subject: a valid
// message name without empty tokens.
func validSubjectName(name string) error {
	if err := troupe.ValidName(name); err != nil {
		return err
	}
	if strings.Contains(name, "..") || strings.HasSuffix(name, ".") {
		return fmt.Errorf("name %q has an empty token", name)
	}
	return nil
}
