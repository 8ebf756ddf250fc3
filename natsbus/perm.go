package natsbus

import (
	"fmt"
	"slices"
	"time"

	"github.com/troupe-go/troupe"
)

// Permission is what one NATS user may publish and subscribe to: exact
// subjects or NATS wildcards ('*' one token, '>' the rest).
type Permission struct {
	Publish   []string `json:"publish"`
	Subscribe []string `json:"subscribe"`
	// AllowResponses lets the user answer, once each and within
	// ResponseExpiry, the messages it received on whatever reply subject
	// they name (nats-server's allow_responses): how a service answers the
	// NATS micro discovery protocol and the observe protocol to whichever
	// tool asked, and how a receiver's transport answers a request it
	// refuses from a client that asked on a subject of its own rather than
	// its troupe reply subject.
	AllowResponses bool `json:"allow_responses,omitempty"`
}

// ResponseExpiry is how long after receiving a message a service's user
// may answer on its NATS reply subject (Permission.AllowResponses). A
// receiver's transport answers at once; the server forgets the allowance
// afterwards. Requests from troupe members name a reply subject that their
// receivers may publish on anyway, so the server keeps no allowance for
// them.
const ResponseExpiry = 5 * time.Second

// Permissions returns, for each service of app and for the gateway, the NATS
// permissions of its user: it may publish the names it sends (durable ones
// to the stream), under its own service's token, subscribe to the names it
// receives, reply to the services that send it something (under its own
// token again), and use its own durable consumers, inbox and dead-letter
// subjects; nothing else. The gateway, unless declared, sends the messages
// of app's routes.
//
// The lists are sorted and free of duplicates, so the result is stable.
func Permissions(app *troupe.App) (map[string]Permission, error) {
	if app == nil {
		return nil, fmt.Errorf("natsbus: permissions: no application")
	}
	s, err := newSubjects(app.Name)
	if err != nil {
		return nil, err
	}
	decls := services(app)
	for _, d := range decls {
		if err := troupe.ValidServiceName(d.Name); err != nil {
			return nil, fmt.Errorf("natsbus: permissions: service name %v", err)
		}
		for _, n := range slices.Concat(d.Sends, d.Receives) {
			if err := validSubjectName(n); err != nil {
				return nil, fmt.Errorf("natsbus: permissions: service %q: %v", d.Name, err)
			}
		}
	}
	durable := func(name string) bool {
		for _, d := range decls {
			if slices.Contains(d.Durable, name) {
				return true
			}
		}
		return false
	}
	out := make(map[string]Permission, len(decls))
	for _, d := range decls {
		var p Permission
		for _, n := range d.Sends {
			p.Publish = append(p.Publish, s.msg(d.Name, n))
			if durable(n) {
				p.Publish = append(p.Publish, s.durable(d.Name, n))
			}
		}
		// Replies go to the members of the services that send this
		// one something.
		for _, other := range decls {
			for _, n := range other.Sends {
				if slices.Contains(d.Receives, n) {
					p.Publish = append(p.Publish, replyPermissions(s, other.Name, d.Name)...)
					break
				}
			}
		}
		for _, n := range d.Receives {
			p.Subscribe = append(p.Subscribe, s.msgs(n))
			if !durable(n) {
				continue
			}
			c := consumerName(d.Name, n)
			p.Publish = append(p.Publish,
				"$JS.API.CONSUMER.CREATE."+s.stream()+"."+c+"."+s.durables(n),
				"$JS.API.CONSUMER.INFO."+s.stream()+"."+c,
				"$JS.API.CONSUMER.MSG.NEXT."+s.stream()+"."+c,
				"$JS.ACK."+s.stream()+"."+c+".>",
				s.prefix+".dead."+d.Name+".>",
			)
		}
		p.Subscribe = append(p.Subscribe,
			s.prefix+".reply."+d.Name+".>",
			s.inbox(d.Name)+".>",
		)
		p.AllowResponses = true
		observePermissions(&p, s, d.Name) // observe.go
		slices.Sort(p.Publish)
		slices.Sort(p.Subscribe)
		p.Publish = slices.Compact(p.Publish)
		p.Subscribe = slices.Compact(p.Subscribe)
		out[d.Name] = p
	}
	return out, nil
}

// replyPermissions are what a service replier may publish towards the
// members of service to (identity): its replies, under its own service's
// token (reply.<to>.<instance>.<request id>.<replier>), and its transport's
// answers on their requests' reply subjects (reply.<to>.<instance>.<request
// id>). With explicit permission for the latter, the server tracks no
// allow_responses entry for requests from troupe members.
func replyPermissions(s subjects, to, replier string) []string {
	return []string{
		s.prefix + ".reply." + to + ".*.*",
		s.prefix + ".reply." + to + ".*.*." + replier,
	}
}

// services returns app's services plus the gateway's implicit declaration.
func services(app *troupe.App) []troupe.ServiceDecl {
	decls := slices.Clone(app.Services)
	if app.Service(troupe.GatewayService) != nil || len(app.Routes) == 0 {
		return decls
	}
	gw := troupe.ServiceDecl{Name: troupe.GatewayService}
	for _, r := range app.Routes {
		gw.Sends = append(gw.Sends, r.Types...)
		if r.Message != "" {
			gw.Sends = append(gw.Sends, r.Message)
		}
	}
	slices.Sort(gw.Sends)
	gw.Sends = slices.Compact(gw.Sends)
	return append(decls, gw)
}
