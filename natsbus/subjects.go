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

// msg is the subject of at-most-once envelopes named name that service
// sends: the sender's service is a token of the subject, which the
// server's publish permissions bind to the publishing user (identity).
func (s subjects) msg(service, name string) string { return s.prefix + ".msg." + service + "." + name }

// msgs is the subject a receiver of name subscribes to: name from any
// sender.
func (s subjects) msgs(name string) string { return s.prefix + ".msg.*." + name }

// durable is the subject, captured by the stream, of durable envelopes
// named name that service sends.
func (s subjects) durable(service, name string) string {
	return s.prefix + ".durable." + service + "." + name
}

// durables is the filter of a consumer of the durable name from any sender.
func (s subjects) durables(name string) string { return s.prefix + ".durable.*." + name }

// sender returns the sender token of a msg or durable subject ("" if the
// subject is neither); the rest of the subject is the name.
func (s subjects) sender(subject string) (service, name string) {
	rest, ok := strings.CutPrefix(subject, s.prefix+".")
	if !ok {
		return "", ""
	}
	_, rest, ok = strings.Cut(rest, ".") // "msg" or "durable"
	if !ok {
		return "", ""
	}
	service, name, _ = strings.Cut(rest, ".")
	return service, name
}

// dead is the subject, captured by the dead-letter stream, of envelopes that
// service gave up on.
func (s subjects) dead(service, name string) string {
	return s.prefix + ".dead." + service + "." + name
}

// reply is the subject of the replies that service replier sends to
// request id of member m: the replier's service is its last token, bound
// by the server's publish permissions as the sender's is (identity).
func (s subjects) reply(m troupe.Member, id troupe.ID, replier string) string {
	return s.prefix + ".reply." + m.Service + "." + m.Instance + "." + id + "." + replier
}

// requestReply is the NATS reply subject of request id of member m: where
// the server answers "no responders" and a receiver's transport answers a
// request it refuses.
func (s subjects) requestReply(m troupe.Member, id troupe.ID) string {
	return s.prefix + ".reply." + m.Service + "." + m.Instance + "." + id
}

// replies is the wildcard a member subscribes to for its replies and the
// answers on its requests' reply subjects.
func (s subjects) replies(m troupe.Member) string {
	return s.prefix + ".reply." + m.Service + "." + m.Instance + ".>"
}

// ownedByOther reports whether subject belongs to a service other than service
// in the application's namespace (its replies or its inbox): a reply
// subject there is not one that service may be answered on.
func (s subjects) ownedByOther(subject, service string) bool {
	for _, kind := range [2]string{".reply.", ".inbox."} {
		if rest, ok := strings.CutPrefix(subject, s.prefix+kind); ok {
			owner, _, _ := strings.Cut(rest, ".")
			return owner != service
		}
	}
	return false
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
