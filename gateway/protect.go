package gateway

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/troupe-go/troupe"
)

// Protection of the HTTP edge (docs/gateway.md, "Cross-site and cross-host
// requests"), on every request the gateway or its Server serves:
//
//   - the Host header must name a host the gateway answers for
//     (Config.AllowedHosts; IP addresses and localhost always), so that a
//     page on an attacker's domain that resolves to this server (DNS
//     rebinding) is refused;
//   - a state-changing request (not GET, HEAD or OPTIONS) from a browser
//     on another origin is refused (net/http's CrossOriginProtection,
//     with Config.TrustedOrigins);
//   - a WebSocket upgrade whose Origin is another origin is refused;
//   - a route's request body must say it is JSON (Content-Type), so that a
//     form or a "no-cors" fetch from another site cannot send one.

// protection is the compiled configuration of protect.
type protection struct {
	hosts   []string // exact names, ".suffix" for "*.suffix"
	anyHost bool
	cop     *http.CrossOriginProtection
	origins map[string]bool // trusted origins, "scheme://host[:port]"
}

func newProtection(cfg Config) (*protection, error) {
	p := &protection{cop: http.NewCrossOriginProtection(), origins: map[string]bool{}}
	for _, h := range cfg.AllowedHosts {
		h = strings.ToLower(strings.TrimSpace(h))
		switch {
		case h == "*":
			p.anyHost = true
		case strings.HasPrefix(h, "*."):
			p.hosts = append(p.hosts, h[1:])
		case h == "" || strings.ContainsAny(h, "/:*"):
			return nil, fmt.Errorf("gateway: config: allowed host %q: want a host name, *.name or *", h)
		default:
			p.hosts = append(p.hosts, h)
		}
	}
	for _, o := range cfg.TrustedOrigins {
		if err := p.cop.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("gateway: config: trusted origin: %w", err)
		}
		p.origins[strings.ToLower(o)] = true
	}
	return p, nil
}

// hostAllowed reports whether a request's Host header names a host the
// gateway answers for.
func (p *protection) hostAllowed(hostport string) bool {
	if p.anyHost {
		return true
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if host == "" {
		return false
	}
	if net.ParseIP(host) != nil || host == "localhost" || strings.HasSuffix(host, ".localhost") {
		// An IP address cannot be rebound, and localhost resolves to
		// loopback in every browser.
		return true
	}
	for _, h := range p.hosts {
		if h == host || h[0] == '.' && strings.HasSuffix(host, h) {
			return true
		}
	}
	return false
}

// check returns why r is refused, or nil.
func (p *protection) check(r *http.Request) *edgeError {
	if !p.hostAllowed(r.Host) {
		return &edgeError{
			err:    troupe.Errorf(troupe.CodeBadRequest, "host %q is not served here (allowed hosts)", truncate(r.Host, 100)),
			status: http.StatusMisdirectedRequest,
		}
	}
	if isWebSocket(r) {
		if o := r.Header.Get("Origin"); o != "" && !p.sameOrigin(o, r) && !p.origins[strings.ToLower(o)] {
			return &edgeError{err: troupe.Errorf(troupe.CodeForbidden, "WebSocket from origin %q refused", truncate(o, 100)), status: http.StatusForbidden}
		}
		return nil
	}
	if err := p.cop.Check(r); err != nil {
		return &edgeError{err: troupe.Errorf(troupe.CodeForbidden, "cross-origin %s refused", r.Method), status: http.StatusForbidden}
	}
	return nil
}

// sameOrigin reports whether origin is the origin of r's Host.
func (p *protection) sameOrigin(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}

func isWebSocket(r *http.Request) bool {
	for _, v := range r.Header.Values("Upgrade") {
		if strings.EqualFold(strings.TrimSpace(v), "websocket") {
			return true
		}
	}
	return false
}

// Protect returns h behind the gateway's protection of its own routes:
// the allowed hosts, cross-origin requests and WebSocket origins of its
// Config. A node serves its Front handlers (pages, say) through it, and
// Listen serves ServerConfig.Handler through it.
func (g *Gateway) Protect(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := g.prot.check(r); err != nil {
			w.Header()["X-Content-Type-Options"] = nosniff
			g.fail(w, r, "", time.Now(), err)
			return
		}
		h.ServeHTTP(w, r)
	})
}
