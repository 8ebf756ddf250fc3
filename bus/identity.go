package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/troupe-go/troupe"
)

// Identity (docs/bus.md, "Identity"; docs/protocol.md, "Identity"):
//
//   - Every envelope a transport delivers carries From, the service whose
//     credentials sent it as the transport authenticated it. The receiving
//     bus refuses an envelope whose From is empty or is not the service its
//     Sender names, whether it is a request, a send, a publish or a reply.
//   - A principal (Envelope.Principal) may come only from an edge: the
//     gateway or a service the App declares Edge. A message the App says
//     needs a principal (MessageDecl.NeedsPrincipal) is refused without
//     one, or without one of its roles.
//   - A refused request is answered at once with an Error reply (forbidden
//     or bad_request) when its sender is authenticated, so that the
//     requester does not wait for its deadline.
//
// On the sending side the bus puts the principal of the context
// (troupe.WithPrincipal, or that of the message being handled) into what an
// edge sends; a service that is not an edge does not pass on the principal
// of the message it handles, and may not set one.

// compileAuth gives each declared name the App's rule on who may send it.
func (b *Bus) compileAuth() {
	for i := range b.app.Messages {
		m := &b.app.Messages[i]
		if ni := b.names[m.Name]; ni != nil && m.NeedsPrincipal() {
			ni.auth = m
		}
	}
}

// principal puts the principal of ctx into env, a request, send or publish
// that c prepares, and checks that the name may be sent for it.
func (c *Client) principal(ctx context.Context, env *troupe.Envelope, ni *nameInfo) *troupe.Error {
	p := troupe.PrincipalFrom(ctx)
	if p != nil && !c.sp.edge {
		if parent := EnvelopeFrom(ctx); parent != nil && parent.Principal == p {
			// Inherited from the message being handled: a service that
			// is not an edge does not pass it on.
			p = nil
		} else {
			c.bus.refuse(c, ni, "principal from a service that is not an edge", "sender", c.member.String(), "name", env.Name)
			return &troupe.Error{Code: troupe.CodeForbidden, Msg: fmt.Sprintf("bus: %s %q: service %q is not an edge and may not send a principal (declare it edge: true in the manifest)", verb(env.Kind), env.Name, c.sp.name)}
		}
	}
	if p != nil {
		if err := p.Validate(); err != nil {
			c.bus.refuse(c, ni, "invalid principal", "sender", c.member.String(), "name", env.Name, "error", err)
			return &troupe.Error{Code: troupe.CodeBadRequest, Msg: fmt.Sprintf("bus: %s %q: %v", verb(env.Kind), env.Name, err)}
		}
		env.Principal = p
	}
	if ni.auth != nil && !ni.auth.Allows(p) {
		c.bus.refuse(c, ni, "no principal allowed to send it", "sender", c.member.String(), "name", env.Name)
		return &troupe.Error{Code: troupe.CodeForbidden, Msg: fmt.Sprintf("bus: %s %q: %s", verb(env.Kind), env.Name, needs(ni.auth, p))}
	}
	return nil
}

// needs says what a principal lacks to send m.
func needs(m *troupe.MessageDecl, p *troupe.Principal) string {
	if p == nil || len(m.Roles) == 0 {
		return "it needs an authenticated user"
	}
	return fmt.Sprintf("it needs a user with the role %s", strings.Join(m.Roles, " or "))
}

// forgedReason says why an envelope's sender is not authenticated.
func forgedReason(env *troupe.Envelope) string {
	if env.From == "" {
		return fmt.Sprintf("the transport did not authenticate the sender of %s %q", env.Kind, env.Name)
	}
	return fmt.Sprintf("sent with the credentials of service %q, the envelope claims to be from %q", env.From, env.Sender.Service)
}

// checkPrincipal returns why the principal of env, or its lack, is
// refused, or "".
func (s *subscription) checkPrincipal(env *troupe.Envelope) (troupe.Code, string) {
	b := s.c.bus
	if env.Principal != nil {
		if sp := b.services[env.From]; sp == nil || !sp.edge {
			return troupe.CodeForbidden, fmt.Sprintf("a principal from service %q, which is not an edge", env.From)
		}
		if err := env.Principal.Validate(); err != nil {
			return troupe.CodeBadRequest, err.Error()
		}
	}
	if a := s.ni.auth; a != nil && !a.Allows(env.Principal) {
		return troupe.CodeForbidden, fmt.Sprintf("%s %q: %s", env.Kind, env.Name, needs(a, env.Principal))
	}
	return "", ""
}

// answerRefusal answers a refused request with an Error reply, when the
// requester is who it says (a forged sender is not answered: the reply
// would go to the service it names) and still waits.
func (s *subscription) answerRefusal(env *troupe.Envelope, code troupe.Code, reason string) {
	if env.Kind != troupe.KindRequest || env.Name != s.ni.name || env.From == "" || env.From != env.Sender.Service ||
		env.Deadline.IsZero() || !time.Now().Before(env.Deadline) {
		return
	}
	c := s.c
	m := &Msg{Env: env, c: c, ni: s.ni, at: time.Now()}
	m.ctx = msgContext{Context: c.ctx, env: env, member: &c.member}
	raw, _ := json.Marshal(&troupe.Error{Code: code, Msg: "bus: refused: " + reason})
	// Not ReplyError: a refusal is no failure of a handler.
	if err := m.reply(context.WithoutCancel(&m.ctx), troupe.ErrorName, json.RawMessage(raw), false); err != nil {
		c.bus.log.Debug("bus: refusal not answered", "name", env.Name, "error", err)
	}
}
