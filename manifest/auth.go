package manifest

import (
	"slices"

	"github.com/troupe-go/troupe"
	"go.yaml.in/yaml/v3"
)

// Identity in the manifest (docs/manifest.md, "Users and roles"):
//
//	services:
//	  web:
//	    edge: true                 # authenticates users itself; may send their principal
//	messages:
//	  todo.create:
//	    principal: true            # only for an authenticated user
//	  list.delete:
//	    roles: [admin]             # only for a user with one of these roles
//	  account.login:
//	    sensitive: [password]      # never shown in crash reports and logs
//	gateway:
//	  authenticate: account.authenticate  # who a bearer token belongs to
//	  revoked: token.revoked              # a user's credentials changed: drop what is cached
//	  routes:
//	    - {method: GET, path: /api/me, message: me, principal: true}
//
// The gateway is always an edge. The bus refuses a principal from any
// other service, and a message that needs one without it.

// boolValue reads a YAML boolean.
func (p *parser) boolValue(n *yaml.Node, what string) bool {
	n = deref(n)
	var b bool
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
		p.errorf(n, "%s must be true or false, not %s", what, describe(n))
		return false
	}
	return b
}

// roles reads a message's roles: a list of role names.
func (p *parser) roles(n *yaml.Node, where string) []string {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%s: roles must be a list of role names, such as [admin], not %s", where, describe(n))
		return nil
	}
	var out []string
	for _, item := range n.Content {
		item = deref(item)
		r, ok := p.scalar(item, where+": a role")
		if !ok {
			continue
		}
		if err := troupe.ValidName(r); err != nil {
			p.errorf(item, "%s: roles: bad role %v", where, err)
			continue
		}
		if slices.Contains(out, r) {
			p.errorf(item, "%s: roles lists %q twice", where, r)
			continue
		}
		out = append(out, r)
	}
	if len(out) > troupe.MaxRoles {
		p.errorf(n, "%s: %d roles (at most %d)", where, len(out), troupe.MaxRoles)
		return nil
	}
	return out
}

// sensitive reads a message's sensitive payload fields.
func (p *parser) sensitive(n *yaml.Node, where string) []string {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%s: sensitive must be a list of payload field names, such as [password], not %s", where, describe(n))
		return nil
	}
	var out []string
	for _, item := range n.Content {
		item = deref(item)
		f, ok := p.scalar(item, where+": a sensitive field")
		if !ok {
			continue
		}
		if f == "" {
			p.errorf(item, "%s: sensitive: a field name is empty", where)
			continue
		}
		if slices.Contains(out, f) {
			p.errorf(item, "%s: sensitive lists %q twice", where, truncate(f))
			continue
		}
		out = append(out, f)
	}
	return out
}

// gatewayMessage reads the message name of gateway key (authenticate,
// revoked) into *name and where it was written into *at.
func (p *parser) gatewayMessage(n *yaml.Node, key string, name *string, at **yaml.Node) {
	v, ok := p.scalar(n, "gateway: "+key)
	if !ok {
		return
	}
	if err := troupe.ValidName(v); err != nil {
		p.errorf(n, "gateway: %s: bad message %v", key, err)
		return
	}
	*name, *at = v, deref(n)
}

// checkAuth checks what the identity keys declare against the services:
// the authenticate message has a receiver and is among the gateway's sends
// (added to an implicit gateway's).
func (p *parser) checkAuth(app *troupe.App) {
	if app.Authenticate == "" {
		return
	}
	n := p.pos.authenticate
	if len(app.Receivers(app.Authenticate)) == 0 {
		p.errorf(n, "gateway: authenticate: message %q is received by no service; add it to the receives of the service that knows the users", app.Authenticate)
	}
	gw := app.Service(troupe.GatewayService)
	if gw == nil {
		app.Services = append(app.Services, troupe.ServiceDecl{Name: troupe.GatewayService, Sends: []string{app.Authenticate}})
		p.pos.sends[svcName{troupe.GatewayService, app.Authenticate}] = pos{n.Line, n.Column}
		p.pos.implicitGateway = true
		return
	}
	if !slices.Contains(gw.Sends, app.Authenticate) {
		if p.pos.implicitGateway {
			gw.Sends = append(gw.Sends, app.Authenticate)
			p.pos.sends[svcName{troupe.GatewayService, app.Authenticate}] = pos{n.Line, n.Column}
			return
		}
		p.errorf(n, "service %q is declared, so its sends must list the authenticate message %q", troupe.GatewayService, app.Authenticate)
	}
}

// checkRevoked checks the revoked event, after checkAuth (which may add the
// implicit gateway): it needs authenticate (whose
// answers it drops), a sender, and no service's durable delivery (the
// gateway receives it as a broadcast, which is never durable); it is
// among the gateway's receives and broadcast (added to an implicit
// gateway's).
func (p *parser) checkRevoked(app *troupe.App) {
	name := app.Revoked
	if name == "" {
		return
	}
	n := p.pos.revoked
	if app.Authenticate == "" {
		p.errorf(n, "gateway: revoked: %q drops cached answers to authenticate, and there is no gateway: authenticate", name)
		return
	}
	sent := false
	for _, s := range app.Services {
		sent = sent || slices.Contains(s.Sends, name)
		if slices.Contains(s.Durable, name) {
			p.errorf(n, "gateway: revoked: %q is durable for service %q; every gateway receives it as a broadcast, which is not durable", name, s.Name)
		}
	}
	if !sent {
		p.errorf(n, "gateway: revoked: message %q is sent by no service; add it to the sends of the service that revokes credentials", name)
	}
	gw := app.Service(troupe.GatewayService)
	if gw == nil { // no authenticate message to add it to: reported above
		return
	}
	if p.pos.implicitGateway {
		if !slices.Contains(gw.Receives, name) {
			gw.Receives = append(gw.Receives, name)
			p.pos.receives[svcName{troupe.GatewayService, name}] = pos{n.Line, n.Column}
		}
		if !slices.Contains(gw.Broadcast, name) {
			gw.Broadcast = append(gw.Broadcast, name)
		}
		return
	}
	if !app.MayReceive(troupe.GatewayService, name) || !app.Broadcasts(troupe.GatewayService, name) {
		p.errorf(n, "service %q is declared, so its receives and broadcast must list the revoked event %q", troupe.GatewayService, name)
	}
}
