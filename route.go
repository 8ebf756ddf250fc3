package troupe

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// The paths the gateway serves itself. No route may use them; the manifest
// and the gateway both refuse one that does (ValidRoutePath).
const (
	HealthPath   = "/healthz"       // liveness
	ReadyPath    = "/readyz"        // readiness
	MetricsPath  = "/metrics"       // Prometheus metrics
	OpenAPIPath  = "/openapi.json"  // the OpenAPI document of the routes
	AsyncAPIPath = "/asyncapi.json" // the AsyncAPI document of the bus
)

// GatewayPaths returns the paths the gateway serves itself, in the order
// above.
func GatewayPaths() []string {
	return []string{HealthPath, ReadyPath, MetricsPath, OpenAPIPath, AsyncAPIPath}
}

// routeMethods are the HTTP methods a REST route may use.
var routeMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

// RouteMethods returns the HTTP methods a REST route may use: GET, POST,
// PUT, PATCH and DELETE.
func RouteMethods() []string { return slices.Clone(routeMethods) }

// MaxPathLen is the longest route path, in bytes.
const MaxPathLen = 1024

// ValidRoutePath reports what is wrong with a route's path, as the rest of a
// sentence that starts with the path ("must start with '/'"), or nil. It is
// the one rule for route paths: the manifest checks it, and the gateway
// refuses a route that breaks it.
//
// Paths are net/http.ServeMux paths: they start with '/'; literal segments
// hold ASCII letters, digits and "-._~", and are not "." or ".."; no segment
// is empty but the last ("/" or a trailing slash: exactly that path). If
// params is true (REST routes), a segment may be a parameter {name}, name a
// letter or '_' then letters, digits or '_', each name once; the last
// segment may be {name...} (the rest of the path) or {$}. The gateway's own
// paths (GatewayPaths), with or without a trailing slash, are refused.
func ValidRoutePath(path string, params bool) error {
	if !strings.HasPrefix(path, "/") {
		return errors.New("must start with '/'")
	}
	if len(path) > MaxPathLen {
		return fmt.Errorf("is longer than %d bytes", MaxPathLen)
	}
	if slices.Contains(GatewayPaths(), strings.TrimSuffix(path, "/")) {
		return fmt.Errorf("is the gateway's own (%s are reserved)", strings.Join(GatewayPaths(), ", "))
	}
	seen := map[string]bool{}
	segs := strings.Split(path[1:], "/")
	for i, seg := range segs {
		last := i == len(segs)-1
		switch {
		case seg == "" && last:
			// "/" or a trailing slash: exactly this path.
		case seg == "":
			return errors.New(`has an empty segment ("//")`)
		case seg == "." || seg == "..":
			return errors.New(`has a "." or ".." segment`)
		case strings.ContainsAny(seg, "{}"):
			if !params {
				return errors.New("has a {param}, which only REST routes (message) may have")
			}
			name, ok := strings.CutPrefix(seg, "{")
			name, ok2 := strings.CutSuffix(name, "}")
			if !ok || !ok2 {
				return fmt.Errorf("has a malformed parameter %q: a parameter is a whole segment {name}", truncate([]byte(seg), 40))
			}
			if name == "$" {
				if !last {
					return errors.New("has {$} before its end")
				}
				continue
			}
			name, dots := strings.CutSuffix(name, "...")
			if dots && !last {
				return fmt.Errorf("has {%s...} before its end: it matches the rest of the path", truncate([]byte(name), 40))
			}
			if !isIdent(name) {
				return fmt.Errorf("has a malformed parameter %q: want {name}, name a letter or '_' then letters, digits or '_'", truncate([]byte(seg), 40))
			}
			if seen[name] {
				return fmt.Errorf("has parameter {%s} twice", name)
			}
			seen[name] = true
		default:
			for j := 0; j < len(seg); j++ {
				c := seg[j]
				if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~", c) >= 0) {
					return fmt.Errorf("has %q in segment %q: literal segments hold letters, digits and \"-._~\"", string(rune(c)), truncate([]byte(seg), 40))
				}
			}
		}
	}
	return nil
}

// PathParams returns the names of the parameters of a path that
// ValidRoutePath accepts, in order ({$} is not a parameter; {rest...} is
// "rest").
func PathParams(path string) []string {
	var out []string
	for seg := range strings.SplitSeq(path, "/") {
		name, ok := strings.CutPrefix(seg, "{")
		if !ok || name == "$}" {
			continue
		}
		name = strings.TrimSuffix(strings.TrimSuffix(name, "}"), "...")
		out = append(out, name)
	}
	return out
}

// ValidRoute reports what is wrong with a route, or nil: a protocol route
// has Types (valid message names), method POST or empty, and a path without
// parameters; a REST route has a Message, a method of RouteMethods and a
// path that may have parameters. Either path must pass ValidRoutePath.
func ValidRoute(r Route) error {
	switch {
	case len(r.Types) > 0 && r.Message != "":
		return errors.New("a route has either types (protocol) or a message (REST), not both")
	case len(r.Types) > 0:
		if r.Method != "" && r.Method != "POST" {
			return fmt.Errorf("a protocol route (types) accepts only POST, not %q", truncate([]byte(r.Method), 40))
		}
		for _, t := range r.Types {
			if err := ValidName(t); err != nil {
				return fmt.Errorf("type: %w", err)
			}
		}
	case r.Message != "":
		if err := ValidName(r.Message); err != nil {
			return fmt.Errorf("message: %w", err)
		}
		if !slices.Contains(routeMethods, r.Method) {
			return fmt.Errorf("method %q is not one of %s", truncate([]byte(r.Method), 40), strings.Join(routeMethods, ", "))
		}
	default:
		return errors.New("a route needs types (protocol) or a message (REST)")
	}
	if err := ValidRoutePath(r.Path, r.Message != ""); err != nil {
		return fmt.Errorf("path %q %w", truncate([]byte(r.Path), 40), err)
	}
	return nil
}

// ValidPortableName reports whether s can name a message on every
// transport: it is a valid name (ValidName) whose dot-separated tokens are
// not empty ("a..b" and "a." are refused: a NATS subject cannot carry them).
// The manifest requires it of every name it declares.
func ValidPortableName(s string) error {
	if err := ValidName(s); err != nil {
		return err
	}
	if strings.Contains(s, "..") || strings.HasSuffix(s, ".") {
		return fmt.Errorf("name %q has an empty token between dots (a NATS subject cannot carry it)", truncate([]byte(s), 40))
	}
	return nil
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
