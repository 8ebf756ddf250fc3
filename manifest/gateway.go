package manifest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/troupe-go/troupe"
	"go.yaml.in/yaml/v3"
)

var (
	gatewayKeys = []string{"routes", "authenticate", "revoked"}
	routeKeys   = []string{"method", "path", "types", "message", "principal"}
	// methods are the HTTP methods a REST route may use.
	methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}
)

// route is a parsed route with the names it sends and where it was written.
type route struct {
	r    troupe.Route
	node *yaml.Node
	msgs []posName
}

func (p *parser) gateway(app *troupe.App, n *yaml.Node) []route {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "gateway must be a mapping with keys %s, not %s", strings.Join(gatewayKeys, ", "), describe(n))
		return nil
	}
	var routes []route
	for _, f := range p.fields(n, "gateway", gatewayKeys) {
		switch f.key {
		case "routes":
			routes = p.routes(f.v)
		case "authenticate":
			p.gatewayMessage(f.v, "authenticate", &app.Authenticate, &p.pos.authenticate) // auth.go
		case "revoked":
			p.gatewayMessage(f.v, "revoked", &app.Revoked, &p.pos.revoked)
		}
	}
	return routes
}

func (p *parser) routes(n *yaml.Node) []route {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "gateway routes must be a list of routes, not %s", describe(n))
		return nil
	}
	if len(n.Content) > MaxRoutes {
		p.errorf(n, "gateway has %d routes (at most %d)", len(n.Content), MaxRoutes)
		return nil
	}
	var out []route
	seen := map[string]*yaml.Node{}
	mux := http.NewServeMux()
	for _, path := range reserved {
		_ = conflict(mux, path)
	}
	for _, item := range n.Content {
		r, ok := p.route(deref(item))
		if !ok {
			continue
		}
		key := r.r.Method + " " + patternKey(r.r.Path)
		if first, dup := seen[key]; dup {
			p.errorf(r.node, "duplicate route %s %s (first at line %d)", r.r.Method, r.r.Path, first.Line)
			continue
		}
		if err := conflict(http.NewServeMux(), muxPattern(r.r)); err != nil {
			p.errorf(r.node, "the gateway cannot serve route %s %s: %v", r.r.Method, r.r.Path, err)
			continue
		}
		if conflict(mux, muxPattern(r.r)) != nil {
			p.errorf(r.node, "route %s %s conflicts with %s", r.r.Method, r.r.Path, conflictsWith(out, r))
			continue
		}
		seen[key] = r.node
		out = append(out, r)
	}
	return out
}

// conflictsWith describes the earlier route that r conflicts with.
func conflictsWith(earlier []route, r route) string {
	const why = "both match some requests and neither is more specific"
	for _, path := range reserved {
		mux := http.NewServeMux()
		if conflict(mux, path) == nil && conflict(mux, muxPattern(r.r)) != nil {
			return fmt.Sprintf("the gateway's own %s: %s", path, why)
		}
	}
	for _, e := range earlier {
		mux := http.NewServeMux()
		if conflict(mux, muxPattern(e.r)) == nil && conflict(mux, muxPattern(r.r)) != nil {
			return fmt.Sprintf("the route %s %s at line %d: %s", e.r.Method, e.r.Path, e.node.Line, why)
		}
	}
	return "an earlier route"
}

func (p *parser) route(n *yaml.Node) (route, bool) {
	r := route{node: n}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "a route must be a mapping with keys %s, not %s", strings.Join(routeKeys, ", "), describe(n))
		return r, false
	}
	where := fmt.Sprintf("route at line %d", n.Line)
	ok := true
	var methodNode, pathNode, typesNode, messageNode *yaml.Node
	pathOK, methodBad := false, false
	for _, f := range p.fields(n, "a route", routeKeys) {
		switch f.key {
		case "method":
			methodNode = f.v
			if m, good := p.scalar(f.v, "method"); good {
				r.r.Method = m
			} else {
				ok, methodBad = false, true
			}
		case "path":
			pathNode = f.v
			r.r.Path, pathOK = p.scalar(f.v, "path")
		case "types":
			typesNode = f.v
		case "message":
			messageNode = f.v
		case "principal":
			r.r.Principal = p.boolValue(f.v, where+": principal") // auth.go
		}
	}
	switch {
	case typesNode != nil && messageNode != nil:
		p.errorf(n, "%s has both types (a protocol route) and message (a REST route); give one", where)
		return r, false
	case typesNode != nil:
		r.msgs = p.names(typesNode, where, "types")
		if len(r.msgs) == 0 {
			if len(deref(typesNode).Content) == 0 {
				p.errorf(typesNode, "%s: types is empty; list the message types it accepts", where)
			}
			return r, false
		}
		for _, m := range r.msgs {
			r.r.Types = append(r.r.Types, m.name)
		}
		if methodNode != nil && !methodBad && r.r.Method != "POST" {
			p.errorf(methodNode, "%s: a protocol route (types) accepts only POST, not %q", where, truncate(r.r.Method))
			ok = false
		}
		r.r.Method = "POST"
	case messageNode != nil:
		name, good := p.scalar(messageNode, where+": message")
		if !good {
			return r, false
		}
		if err := troupe.ValidName(name); err != nil {
			p.errorf(messageNode, "%s: bad message %v", where, err)
			return r, false
		}
		r.r.Message = name
		r.msgs = []posName{{name: name, pos: pos{deref(messageNode).Line, deref(messageNode).Column}, node: deref(messageNode)}}
		if methodNode == nil {
			p.errorf(n, "%s: a REST route needs a method: one of %s", where, strings.Join(methods, ", "))
			ok = false
		} else if !methodBad && !slices.Contains(methods, r.r.Method) {
			p.errorf(methodNode, "%s: method %q is not one of %s", where, truncate(r.r.Method), strings.Join(methods, ", "))
			ok = false
		}
	default:
		p.errorf(n, "%s needs types (a protocol route: POST {\"type\": T}) or message (a REST route)", where)
		return r, false
	}
	if pathNode == nil {
		p.errorf(n, "%s has no path", where)
		return r, false
	}
	if !pathOK {
		return r, false
	}
	if err := checkPath(r.r.Path, r.r.Message != ""); err != "" {
		p.errorf(pathNode, "%s: path %q %s", where, truncate(r.r.Path), err)
		ok = false
	}
	return r, ok
}

// reserved are the gateway's own paths, which no route may use.
var reserved = troupe.GatewayPaths()

// checkPath reports what is wrong with a route's path, or "": the rule of
// troupe.ValidRoutePath, which the gateway applies too.
func checkPath(path string, rest bool) string {
	if err := troupe.ValidRoutePath(path, rest); err != nil {
		return err.Error()
	}
	return ""
}

// patternKey replaces a path's parameter names by "{}" (or "{...}"), so that
// two routes that match the same requests compare equal.
func patternKey(path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		switch {
		case s == "{$}":
		case strings.HasSuffix(s, "...}"):
			segs[i] = "{...}"
		case strings.HasPrefix(s, "{"):
			segs[i] = "{}"
		}
	}
	return strings.Join(segs, "/")
}

// muxPattern is the net/http.ServeMux pattern under which the gateway serves
// r: protocol routes for every method (it answers 405 itself), a trailing
// slash anchored so that it matches only that path.
func muxPattern(r troupe.Route) string {
	p := r.Path
	if strings.HasSuffix(p, "/") {
		p += "{$}"
	}
	if r.Message != "" {
		p = r.Method + " " + p
	}
	return p
}

// conflict reports whether ServeMux refuses to serve pattern beside the
// patterns already in mux (two patterns that both match some request and
// neither is more specific), registering it if not.
func conflict(mux *http.ServeMux, pattern string) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	mux.Handle(pattern, http.NotFoundHandler())
	return nil
}

// checkRoutes checks that every route message has a receiver, and adds or
// checks the gateway service.
func (p *parser) checkRoutes(app *troupe.App, routes []route) {
	if len(routes) == 0 {
		return
	}
	gw := app.Service(troupe.GatewayService)
	received := map[string]bool{}
	for _, s := range app.Services {
		for _, m := range s.Receives {
			received[m] = true
		}
	}
	gwSends := map[string]bool{}
	if gw != nil {
		for _, m := range gw.Sends {
			gwSends[m] = true
		}
	}
	var sends []posName
	seen := map[string]bool{}
	for _, r := range routes {
		app.Routes = append(app.Routes, r.r)
		for _, m := range r.msgs {
			if !received[m.name] {
				p.errorf(m.node, "route message %q is received by no service; add it to the receives of the service that handles it", m.name)
			}
			if gw != nil && !gwSends[m.name] {
				p.errorf(m.node, "service %q is declared, so its sends must list the route message %q", troupe.GatewayService, m.name)
			}
			if !seen[m.name] {
				seen[m.name] = true
				sends = append(sends, m)
			}
		}
	}
	if gw != nil {
		return
	}
	decl := troupe.ServiceDecl{Name: troupe.GatewayService}
	for _, m := range sends {
		decl.Sends = append(decl.Sends, m.name)
		p.pos.sends[svcName{troupe.GatewayService, m.name}] = m.pos
	}
	app.Services = append(app.Services, decl)
	p.pos.implicitGateway = true
}
