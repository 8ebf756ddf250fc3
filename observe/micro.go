package observe

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/troupe-go/troupe"
)

// ServeMicro makes instance m of the node answer NATS's service discovery
// protocol (the one nats.go's micro package speaks and `nats micro ls`,
// `info`, `stats` and `ping` ask) on nc, the instance's own connection:
// $SRV.PING, $SRV.INFO and $SRV.STATS, alone, with the service's name, and
// with the service's name and the instance's id. The micro service's name
// is the troupe service's, its id the instance's, its version the node's
// (as semantic versioning wants it: see MicroVersion), and its endpoints
// the names the service receives (their micro names from EndpointName; the
// subject is the name's NATS subject, the queue group the service's, none
// for a broadcast name). Stats count what the instance received, its
// handlers' errors, and the time from delivery to final reply. It answers
// until Close.
func (a *Agent) ServeMicro(nc *nats.Conn, m troupe.Member) error {
	started := time.Now()
	for _, verb := range []micro.Verb{micro.PingVerb, micro.InfoVerb, micro.StatsVerb} {
		for _, subject := range microSubjects(verb, m) {
			verb := verb
			sub, err := nc.Subscribe(subject, func(msg *nats.Msg) {
				if msg.Reply == "" {
					return
				}
				out, err := json.Marshal(a.micro(verb, m, started))
				if err != nil {
					return
				}
				_ = msg.Respond(out)
			})
			if err != nil {
				return fmt.Errorf("observe: micro %s: %w", m, err)
			}
			if err := a.keep(sub); err != nil {
				return err
			}
		}
	}
	if err := nc.Flush(); err != nil {
		return fmt.Errorf("observe: micro %s: %w", m, err)
	}
	return nil
}

// microSubjects are the three subjects of verb that instance m answers.
func microSubjects(verb micro.Verb, m troupe.Member) []string {
	var out []string
	for _, ids := range [][2]string{{"", ""}, {m.Service, ""}, {m.Service, m.Instance}} {
		s, err := micro.ControlSubject(verb, ids[0], ids[1])
		if err == nil {
			out = append(out, s)
		}
	}
	return out
}

// micro answers one discovery verb for instance m.
func (a *Agent) micro(verb micro.Verb, m troupe.Member, started time.Time) any {
	id := micro.ServiceIdentity{
		Name: m.Service, ID: m.Instance, Version: MicroVersion(a.cfg.Version),
		Metadata: map[string]string{
			"troupe.app": a.cfg.App.Name, "troupe.node": a.cfg.Node, "troupe.host": a.host,
			"troupe.pid": strconv.Itoa(os.Getpid()),
		},
	}
	eps := a.endpoints(m.Service)
	switch verb {
	case micro.PingVerb:
		return micro.Ping{ServiceIdentity: id, Type: micro.PingResponseType}
	case micro.InfoVerb:
		info := micro.Info{ServiceIdentity: id, Type: micro.InfoResponseType,
			Description: fmt.Sprintf("troupe service %s of app %s", m.Service, a.cfg.App.Name), Endpoints: []micro.EndpointInfo{}}
		for _, e := range eps {
			info.Endpoints = append(info.Endpoints, e.EndpointInfo)
		}
		return info
	}
	stats := micro.Stats{ServiceIdentity: id, Type: micro.StatsResponseType, Started: started, Endpoints: []*micro.EndpointStats{}}
	var counts map[string]Message
	for _, ms := range a.cfg.Bus.Members() {
		if ms.Member == m {
			counts = map[string]Message{}
			for name, ns := range ms.Names {
				counts[name] = message(a.cfg.App, m.Service, name, ns)
			}
		}
	}
	for _, e := range eps {
		c := counts[e.name]
		es := &micro.EndpointStats{
			Name: e.Name, Subject: e.Subject, QueueGroup: e.QueueGroup,
			NumRequests: int(c.Received), NumErrors: int(c.HandlerErrors),
			ProcessingTime: time.Duration(c.HandledTime * float64(time.Second)),
		}
		if c.Handled > 0 {
			es.AverageProcessingTime = es.ProcessingTime / time.Duration(c.Handled)
		}
		es.Data, _ = json.Marshal(map[string]any{
			"name": e.name, "received": c.Received, "handled": c.Handled, "handler_errors": c.HandlerErrors,
			"refusals": c.Refusals, "dead_letters": c.DeadLetters,
		})
		stats.Endpoints = append(stats.Endpoints, es)
	}
	return stats
}

// endpoint is one name a service receives, as a micro endpoint.
type endpoint struct {
	micro.EndpointInfo
	name string // the troupe name
}

// endpoints returns the micro endpoints of service: the names it receives.
func (a *Agent) endpoints(service string) []endpoint {
	d := a.cfg.App.Service(service)
	if d == nil {
		return nil
	}
	names := slices.Clone(d.Receives)
	slices.Sort(names)
	taken := map[string]bool{}
	var out []endpoint
	for _, name := range names {
		ep := EndpointName(name)
		for i := 2; taken[ep]; i++ {
			ep = EndpointName(name) + "_" + strconv.Itoa(i)
		}
		taken[ep] = true
		md := map[string]string{"troupe.name": name}
		queue := service
		if slices.Contains(d.Broadcast, name) {
			queue = "" // every instance gets each
			md["troupe.broadcast"] = "true"
		}
		// The subjects the instance subscribes to: the name from any
		// sender, whose service is the token before it (natsbus,
		// docs/protocol.md, "Identity").
		subject := "troupe." + a.cfg.App.Name + ".msg.*." + name
		if slices.Contains(d.Durable, name) {
			md["troupe.durable"] = "true"
			md["troupe.stream_subject"] = "troupe." + a.cfg.App.Name + ".durable.*." + name
		}
		out = append(out, endpoint{EndpointInfo: micro.EndpointInfo{Name: ep, Subject: subject, QueueGroup: queue, Metadata: md}, name: name})
	}
	return out
}

// EndpointName maps a message name to a micro endpoint name, which may hold
// only letters, digits, '-' and '_': each other character ('.') becomes
// '_' ("todo.list" is "todo_list"). Two names that map alike are told apart
// by a suffix ("_2") in the order of the names; the endpoint's metadata
// "troupe.name" always holds the message's own name.
func EndpointName(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

var semver = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)

// MicroVersion maps a binary's version to the semantic version the micro
// protocol wants, without a leading "v": "v1.2.3" is "1.2.3"; a version that
// is no semantic version ("devel", a VCS revision) becomes a pre-release of
// 0.0.0 ("0.0.0-devel").
func MicroVersion(v string) string {
	v = strings.TrimPrefix(v, "v")
	if semver.MatchString(v) {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' {
			b.WriteByte(c)
		} else {
			b.WriteByte('-')
		}
	}
	pre := strings.Trim(b.String(), ".-")
	for strings.Contains(pre, "..") {
		pre = strings.ReplaceAll(pre, "..", ".")
	}
	// Numeric identifiers may not have leading zeros: prefix them.
	parts := strings.Split(pre, ".")
	for i, p := range parts {
		if len(p) > 1 && p[0] == '0' && strings.Trim(p, "0123456789") == "" {
			parts[i] = "x" + p
		}
	}
	pre = strings.Join(parts, ".")
	if pre == "" {
		pre = "devel"
	}
	return "0.0.0-" + pre
}
