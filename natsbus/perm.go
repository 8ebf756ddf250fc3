package natsbus

import (
	"fmt"
	"slices"

	"github.com/troupe-go/troupe"
)

// Permission is what one NATS user may publish and subscribe to: exact
// subjects or NATS wildcards ('*' one token, '>' the rest).
type Permission struct {
	Publish   []string `json:"publish"`
	Subscribe []string `json:"subscribe"`
	// AllowResponses lets the user answer, once each, the requests it
	// received on any reply subject (nats-server's allow_responses): how
	// a service answers the NATS micro discovery protocol and the observe
	// protocol to whichever tool asked.
	AllowResponses bool `json:"allow_responses,omitempty"`
}

// Permissions returns, for each service of app and for the gateway, the NATS
// permissions of its user: it may publish the names it sends (durable ones
// to the stream), subscribe to the names it receives, reply to the services
// that send it something, and use its own durable consumers, inbox and
// dead-letter subjects; nothing else. The gateway, unless declared, sends
// the messages of app's routes.
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
			p.Publish = append(p.Publish, s.msg(n))
			if durable(n) {
				p.Publish = append(p.Publish, s.durable(n))
			}
		}
		// Replies go to the members of the services that send this
		// one something.
		for _, other := range decls {
			for _, n := range other.Sends {
				if slices.Contains(d.Receives, n) {
					p.Publish = append(p.Publish, s.prefix+".reply."+other.Name+".*.*")
					break
				}
			}
		}
		for _, n := range d.Receives {
			p.Subscribe = append(p.Subscribe, s.msg(n))
			if !durable(n) {
				continue
			}
			c := consumerName(d.Name, n)
			p.Publish = append(p.Publish,
				"$JS.API.CONSUMER.CREATE."+s.stream()+"."+c+"."+s.durable(n),
				"$JS.API.CONSUMER.INFO."+s.stream()+"."+c,
				"$JS.API.CONSUMER.MSG.NEXT."+s.stream()+"."+c,
				"$JS.ACK."+s.stream()+"."+c+".>",
				s.prefix+".dead."+d.Name+".>",
			)
		}
		p.Subscribe = append(p.Subscribe,
			s.prefix+".reply."+d.Name+".*.*",
			s.inbox(d.Name)+".>",
		)
		observePermissions(&p, s, d.Name) // observe.go
		slices.Sort(p.Publish)
		slices.Sort(p.Subscribe)
		p.Publish = slices.Compact(p.Publish)
		p.Subscribe = slices.Compact(p.Subscribe)
		out[d.Name] = p
	}
	return out, nil
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
