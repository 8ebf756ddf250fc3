package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/troupe-go/troupe"
)

// An Authenticator says who sent an HTTP request: the gateway asks it for
// every request to a route, and sends the request's message on behalf of
// the principal it returns (Envelope.Principal), which only the gateway and
// the edges the manifest declares may do.
//
// Authenticate returns nil and no error for a request without credentials
// (an anonymous one: a route whose message needs a principal then answers
// 401), the principal the request's credentials name, or an error. An
// error with code forbidden, not_found or bad_request means the credentials
// are wrong (401, the credentials are not accepted); any other (the
// service that knows the users is unavailable, say) is answered with its
// own status.
type Authenticator interface {
	Authenticate(ctx context.Context, r *http.Request) (*troupe.Principal, error)
}

// AuthenticatorFunc adapts a function to an Authenticator.
type AuthenticatorFunc func(ctx context.Context, r *http.Request) (*troupe.Principal, error)

// Authenticate calls f(ctx, r).
func (f AuthenticatorFunc) Authenticate(ctx context.Context, r *http.Request) (*troupe.Principal, error) {
	return f(ctx, r)
}

// Kinds of credentials a BusAuthenticator sends.
const (
	CredentialBearer  = "bearer"  // an API token from "Authorization: Bearer T"
	CredentialSession = "session" // a session cookie's value
)

// MaxTokenLen bounds the credentials a BusAuthenticator accepts; longer ones
// are refused without asking.
const MaxTokenLen = 512

// BusAuthenticator authenticates a request by asking a service over the
// bus who its credentials belong to: the API token of an
// "Authorization: Bearer T" header, or else, if Cookie is set, the value
// of the session cookie of that name. It sends request Message with the
// payload {"token": T, "kind": "bearer" or "session"}; the reply's payload is
// the troupe.Principal. An Error reply with code not_found or forbidden
// means the credentials are wrong.
//
// The manifest's gateway authenticate names the message a node's gateway
// sends (troupe.App.Authenticate); a service that serves pages itself (an
// edge) uses one with its own bus client and its session cookie.
type BusAuthenticator struct {
	Bus     Requester // sends Message: the gateway's client, or the edge's
	Message string    // the request asked, such as "account.authenticate"
	// Cookie names the session cookie read when a request has no bearer
	// token. Empty reads no cookie.
	Cookie string
	// CacheFor keeps each answer this long, so that a burst of requests
	// with the same credentials asks once. Zero asks every time: a
	// revoked token or ended session is refused at once. A cached answer
	// outlives its revocation by up to CacheFor unless the revocation
	// reaches Revoke (or Revoked, Forget) first: a node's gateway caches
	// only where the manifest names the event that says so
	// (troupe.App.Revoked), and calls Revoked on every instance.
	CacheFor time.Duration

	mu    sync.Mutex
	cache map[credential]cached
	// revocations counts Revoke calls: an answer asked for before one and
	// arriving after it may be the revoked credentials', and is not
	// cached.
	revocations uint64
}

// DefaultAuthCacheFor is how long a node's gateway keeps an answer when
// the manifest names a revoked event.
const DefaultAuthCacheFor = time.Minute

var _ Authenticator = (*BusAuthenticator)(nil)

type credential struct{ kind, token string }

type cached struct {
	p     *troupe.Principal
	until time.Time
}

// maxCached bounds a BusAuthenticator's cache; past it, it starts over.
const maxCached = 10000

// Credentials returns the credentials of r that a BusAuthenticator with
// cookie sends: the bearer token, else the cookie's value; kind is ""
// when r has neither. A malformed Authorization header is an error.
func Credentials(r *http.Request, cookie string) (kind, token string, err error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		tok = strings.TrimSpace(tok)
		if !ok || !strings.EqualFold(scheme, "Bearer") || !validToken(tok) {
			return "", "", troupe.Errorf(troupe.CodeBadRequest, "authorization: want \"Bearer TOKEN\"")
		}
		return CredentialBearer, tok, nil
	}
	if cookie == "" {
		return "", "", nil
	}
	c, err := r.Cookie(cookie)
	if err != nil || c.Value == "" {
		return "", "", nil
	}
	if !validToken(c.Value) {
		return "", "", troupe.Errorf(troupe.CodeBadRequest, "session cookie is malformed")
	}
	return CredentialSession, c.Value, nil
}

// validToken reports whether tok could be a token: 1 to MaxTokenLen
// printable ASCII characters without spaces.
func validToken(tok string) bool {
	if tok == "" || len(tok) > MaxTokenLen {
		return false
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] <= ' ' || tok[i] >= 0x7f {
			return false
		}
	}
	return true
}

// Authenticate asks Message who r's credentials belong to.
func (a *BusAuthenticator) Authenticate(ctx context.Context, r *http.Request) (*troupe.Principal, error) {
	kind, tok, err := Credentials(r, a.Cookie)
	if err != nil || kind == "" {
		return nil, err
	}
	key := credential{kind, tok}
	var asked uint64 // the revocations before the question, when answers are kept
	if a.CacheFor > 0 {
		a.mu.Lock()
		c, ok := a.cache[key]
		asked = a.revocations
		a.mu.Unlock()
		if ok && time.Now().Before(c.until) {
			return c.p, nil
		}
	}
	env, err := a.Bus.Request(ctx, a.Message, map[string]string{"token": tok, "kind": kind})
	if err != nil {
		return nil, fmt.Errorf("gateway: authenticate: %w", err)
	}
	var p troupe.Principal
	if err := json.Unmarshal(env.Payload, &p); err != nil {
		return nil, &troupe.Error{Code: troupe.CodeInternal, Msg: fmt.Sprintf("gateway: authenticate: the reply to %s is no principal", a.Message), Err: err}
	}
	if err := p.Validate(); err != nil {
		return nil, &troupe.Error{Code: troupe.CodeInternal, Msg: fmt.Sprintf("gateway: authenticate: the reply to %s: %v", a.Message, err), Err: err}
	}
	if a.CacheFor > 0 {
		a.mu.Lock()
		if a.revocations == asked {
			if a.cache == nil || len(a.cache) >= maxCached {
				a.cache = make(map[credential]cached)
			}
			a.cache[key] = cached{p: &p, until: time.Now().Add(a.CacheFor)}
		}
		a.mu.Unlock()
	}
	return &p, nil
}

// Revoke drops the cached answers naming user (Principal.ID), or every
// cached answer if user is empty. An answer asked for before the call and
// arriving after it is returned to its request but not cached.
func (a *BusAuthenticator) Revoke(user string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.revocations++
	for k, c := range a.cache {
		if user == "" || c.p.ID == user {
			delete(a.cache, k)
		}
	}
}

// Revoked handles the payload of one revoked event (troupe.App.Revoked):
// an object whose "user" names the user whose answers to drop. Any other
// payload drops every answer: a revocation is never lost to a payload the
// gateway does not understand.
func (a *BusAuthenticator) Revoked(payload json.RawMessage) {
	var ev struct {
		User string `json:"user"`
	}
	if json.Unmarshal(payload, &ev) != nil {
		ev.User = ""
	}
	a.Revoke(ev.User)
}

// Forget drops the cached answer for a token, as a service that ends a
// session in this process does.
func (a *BusAuthenticator) Forget(token string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.revocations++
	for k := range a.cache {
		if k.token == token {
			delete(a.cache, k)
		}
	}
}

// errUnauthenticated is the edge error of a request whose credentials are
// missing or wrong where a principal is needed: 401 with a
// WWW-Authenticate challenge.
func errUnauthenticated(msg string) *edgeError {
	return &edgeError{err: troupe.Errorf(troupe.CodeForbidden, "%s", msg), status: http.StatusUnauthorized}
}

// authenticate asks the Authenticator who sent r. It returns r with the
// principal in its context (troupe.WithPrincipal), or an error to answer.
func (g *Gateway) authenticate(r *http.Request) (*http.Request, *troupe.Principal, error) {
	if g.cfg.Authenticator == nil {
		return r, nil, nil
	}
	p, err := g.cfg.Authenticator.Authenticate(r.Context(), r)
	if err != nil {
		switch troupe.CodeOf(err) {
		case troupe.CodeForbidden, troupe.CodeNotFound, troupe.CodeBadRequest:
			var te *troupe.Error
			msg := "the credentials are not accepted"
			if errors.As(err, &te) && te.Code == troupe.CodeBadRequest {
				msg = te.Msg
			}
			return r, nil, errUnauthenticated(msg)
		}
		return r, nil, err
	}
	if p == nil {
		return r, nil, nil
	}
	return r.WithContext(troupe.WithPrincipal(r.Context(), p)), p, nil
}

// allowed checks that p may send message over a route that needs a
// principal if need says so: 401 without one, 403 without its role.
func (g *Gateway) allowed(p *troupe.Principal, message string, need bool) error {
	m := g.cfg.App.Message(message)
	if !need && !m.NeedsPrincipal() {
		return nil
	}
	if p == nil {
		return errUnauthenticated(fmt.Sprintf("%s needs an authenticated user", message))
	}
	if !m.Allows(p) {
		return troupe.Errorf(troupe.CodeForbidden, "%s needs a user with the role %s", message, strings.Join(m.Roles, " or "))
	}
	return nil
}
