package troupe

import (
	"context"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Principal is an authenticated user: who a message was sent for.
type Principal struct {
	// ID identifies the user within the application, for good: the
	// owner of what they make. 1 to MaxPrincipalLen bytes.
	ID string `json:"id"`
	// Name is what the user logs in with or is shown as; it may change.
	// At most MaxPrincipalLen bytes.
	Name string `json:"name,omitempty"`
	// Roles are what the user may do: the manifest lets a message be
	// sent only for users with one of its roles. At most MaxRoles,
	// each a valid message name (ValidName).
	Roles []string `json:"roles,omitempty"`
}

// Limits on a Principal, enforced by Validate.
const (
	MaxPrincipalLen = 256
	MaxRoles        = 32
)

// HasRole reports whether p has the role r. A nil Principal has none.
func (p *Principal) HasRole(r string) bool {
	if p == nil {
		return false
	}
	for _, have := range p.Roles {
		if have == r {
			return true
		}
	}
	return false
}

// Validate reports what is wrong with p, or nil: its ID must be 1 to
// MaxPrincipalLen bytes and its Name at most that, both valid UTF-8 without
// control characters; it has at most MaxRoles roles, each a valid name.
func (p *Principal) Validate() error {
	if p.ID == "" {
		return fmt.Errorf("principal: id is empty")
	}
	for _, f := range [2]struct{ name, v string }{{"id", p.ID}, {"name", p.Name}} {
		if len(f.v) > MaxPrincipalLen {
			return fmt.Errorf("principal: %s is %d bytes long (at most %d)", f.name, len(f.v), MaxPrincipalLen)
		}
		if !utf8.ValidString(f.v) {
			return fmt.Errorf("principal: %s is not valid UTF-8", f.name)
		}
		for _, r := range f.v {
			if unicode.IsControl(r) {
				return fmt.Errorf("principal: %s holds a control character", f.name)
			}
		}
	}
	if len(p.Roles) > MaxRoles {
		return fmt.Errorf("principal: %d roles (at most %d)", len(p.Roles), MaxRoles)
	}
	for _, r := range p.Roles {
		if err := ValidName(r); err != nil {
			return fmt.Errorf("principal: role %v", err)
		}
	}
	return nil
}

// principalKey is the context key of WithPrincipal.
type principalKey struct{}

// WithPrincipal returns a copy of ctx that carries p: what a service sends
// with that context goes out on behalf of p. Only the gateway and the
// services the manifest declares edges may send a principal (the bus refuses
// it from any other); an edge that authenticated a user, say from a session
// cookie, sends its requests with it. A nil p clears it.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal that ctx carries: the one given to
// WithPrincipal, or, in a handler, the principal of the message being
// handled (the bus puts it there). It returns nil for none.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}
