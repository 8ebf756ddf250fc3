package manifest

import (
	"fmt"
	"slices"
	"strings"

	"github.com/troupe-go/troupe"
	"go.yaml.in/yaml/v3"
)

var (
	gatewayKeys = []string{"routes"}
	routeKeys   = []string{"method", "path", "types", "message"}
	// methods are the HTTP methods a REST route may use.
	methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}
)

// route is a parsed route with the names it sends and where it was written.
type route struct {
	r    troupe.Route
	node *yaml.Node
	msgs []posName
}

func (p *parser) gateway(n *yaml.Node) []route {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "gateway must be a mapping with key routes, not %s", describe(n))
		return nil
	}
	var routes []route
	for _, f := range p.fields(n, "gateway", gatewayKeys) {
		if f.key == "routes" {
			routes = p.routes(f.v)
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
	var out []route
	seen := map[string]*yaml.Node{}
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
		seen[key] = r.node
		out = append(out, r)
	}
	return out
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

// checkPath reports what is wrong with a route's path, or "". Literal
// segments hold letters, digits and "-._~"; a REST route's path may have
// {param} segments, param being a letter or '_' followed by letters, digits
// and '_', each name once.
func checkPath(path string, rest bool) string {
	if !strings.HasPrefix(path, "/") {
		return "must start with '/'"
	}
	if len(path) > 1024 {
		return "is longer than 1024 bytes"
	}
	if path == "/" {
		return ""
	}
	if strings.HasSuffix(path, "/") {
		return "must not end with '/'"
	}
	params := map[string]bool{}
	for seg := range strings.SplitSeq(path[1:], "/") {
		switch {
		case seg == "":
			return "has an empty segment (\"//\")"
		case seg == "." || seg == "..":
			return "has a \".\" or \"..\" segment"
		case strings.ContainsAny(seg, "{}"):
			if !rest {
				return "has a {param}, which only REST routes (message) may have"
			}
			name, ok := strings.CutPrefix(seg, "{")
			name, ok2 := strings.CutSuffix(name, "}")
			if !ok || !ok2 || !isIdent(name) {
				return fmt.Sprintf("has a malformed parameter %q: want a whole segment {name}, name a letter or '_' then letters, digits or '_'", truncate(seg))
			}
			if params[name] {
				return fmt.Sprintf("has parameter {%s} twice", name)
			}
			params[name] = true
		default:
			for i := 0; i < len(seg); i++ {
				c := seg[i]
				if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~", c) >= 0) {
					return fmt.Sprintf("has %q in segment %q: literal segments hold letters, digits and \"-._~\"", string(rune(c)), truncate(seg))
				}
			}
		}
	}
	return ""
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
		if !letter && !(i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// patternKey replaces a path's parameter names by "{}", so that two routes
// that match the same requests compare equal.
func patternKey(path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") {
			segs[i] = "{}"
		}
	}
	return strings.Join(segs, "/")
}

// checkRoutes checks that every route message has a receiver, and adds or
// checks the gateway service.
func (p *parser) checkRoutes(app *troupe.App, routes []route) {
	if len(routes) == 0 {
		return
	}
	gw := app.Service(troupe.GatewayService)
	var sends []posName
	seen := map[string]bool{}
	for _, r := range routes {
		app.Routes = append(app.Routes, r.r)
		for _, m := range r.msgs {
			if len(app.Receivers(m.name)) == 0 {
				p.errorf(m.node, "route message %q is received by no service; add it to the receives of the service that handles it", m.name)
			}
			if gw != nil && !slices.Contains(gw.Sends, m.name) {
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
}
