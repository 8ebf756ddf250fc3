package bus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/internal/schema"
)

// Payload validation (docs/bus.md, "Schemas"): a name the App describes
// with a payload schema (troupe.MessageDecl.Payload) is checked where it
// enters, on every transport:
//
//   - on the sending side, before it is routed (Request, Send, Publish,
//     Call, Collect) or replied (Msg.Reply): the sender gets a bad_request
//     *troupe.Error naming the field, and nothing travels;
//   - on the receiving side, before the handler runs: a request is answered
//     with that bad_request Error, a durable delivery is given up (it would
//     fail again), and the handler never sees it; a reply is turned into
//     that Error for the requester.
//
// Each refusal is counted and logged as any other. MessageDecl.NoValidate
// turns the check off for one name.

// An envelope that a Client of this Bus validated and that the transport
// hands, as the same *troupe.Envelope and within the same call, to a
// receiving Client of the same Bus (InProc always does, and natsbus's
// in-process shortcut does for members of one process) is not checked
// against the same schema again on the receiving side. routeChecked and
// replyChecked mark such an envelope for the duration of the transport's
// call; anything else that arrives (another Bus on a shared transport, a
// redelivery, a raw port, an envelope decoded from the wire) is checked on
// arrival.

// routeChecked routes env, marking it as validated here if it was.
func (b *Bus) routeChecked(ctx context.Context, port Port, env *troupe.Envelope, validated bool) error {
	if validated {
		b.checked.Store(env, struct{}{})
		defer b.checked.Delete(env)
	}
	return port.Route(ctx, env)
}

// replyChecked sends the reply env, marked as routeChecked marks.
func (b *Bus) replyChecked(ctx context.Context, port Port, to troupe.Member, env *troupe.Envelope) error {
	if env.Name != troupe.ErrorName && b.schemas.Validator(env.Name) != nil {
		b.checked.Store(env, struct{}{})
		defer b.checked.Delete(env)
	}
	return port.Reply(ctx, to, env)
}

// validatedHere reports whether env is being routed by a Client of b that
// validated it, in this call.
func (b *Bus) validatedHere(env *troupe.Envelope) bool {
	_, ok := b.checked.Load(env)
	return ok
}

// compileSchemas compiles the App's payload schemas and gives each declared
// name its validator.
func (b *Bus) compileSchemas() error {
	for _, m := range b.app.Messages {
		if err := troupe.ValidName(m.Name); err != nil {
			return fmt.Errorf("bus: app: messages: %v", err)
		}
	}
	set, problems := schema.Compile(b.app)
	if len(problems) > 0 {
		errs := make([]error, len(problems))
		for i, p := range problems {
			errs[i] = p
		}
		return fmt.Errorf("bus: app: %w", errors.Join(errs...))
	}
	b.schemas = set
	for n, ni := range b.names {
		ni.validator = set.Validator(n)
		if md := b.app.Message(n); md != nil {
			ni.replies = md.Replies
		}
	}
	return nil
}

// invalidPayload checks a payload against the validator of its name and
// returns the bad_request error that names the field, or nil. what says
// where the payload is ("request \"todo.create\""); it is called only for
// the error, so that a payload that matches costs no words.
func invalidPayload(v *schema.Validator, what func() string, raw []byte) *troupe.Error {
	if v == nil {
		return nil
	}
	err := v.Validate(raw)
	if err == nil {
		return nil
	}
	return &troupe.Error{Code: troupe.CodeBadRequest, Msg: fmt.Sprintf("bus: %s: payload does not match its schema: %v", what(), err), Err: err}
}

// checkSend validates the payload of a request, send or publish before it
// is routed. local is the name the sender's code used.
func (c *Client) checkSend(ni *nameInfo, kind troupe.Kind, local string, raw []byte) *troupe.Error {
	terr := invalidPayload(ni.validator, func() string { return verb(kind) + " " + quoteNames(local, ni.name) }, raw)
	if terr != nil {
		c.bus.refuse(c, ni, "payload does not match its schema", nameAttrs(c.member.String(), local, ni.name, "error", terr.Err)...)
	}
	return terr
}

// checkReplyOut validates a reply before it is sent: its name must be one
// the request declares (if it declares any) and its payload must match the
// reply's schema.
func (m *Msg) checkReplyOut(local, name string, raw []byte) *troupe.Error {
	b := m.c.bus
	what := func() string { return fmt.Sprintf("reply %s to %q", quoteNames(local, name), m.Env.Name) } // on a refusal only
	if len(m.ni.replies) > 0 && name != troupe.ErrorName && !slices.Contains(m.ni.replies, name) {
		b.refuse(m.c, m.ni, "undeclared reply", nameAttrs(m.c.member.String(), m.Env.Name, m.ni.name, "reply", name)...)
		return &troupe.Error{Code: troupe.CodeBadRequest, Msg: fmt.Sprintf("bus: %s: the app declares the replies %v", what(), m.ni.replies)}
	}
	terr := invalidPayload(b.schemas.Validator(name), what, raw)
	if terr != nil {
		b.refuse(m.c, m.ni, "reply payload does not match its schema", nameAttrs(m.c.member.String(), m.Env.Name, m.ni.name, "reply", name, "error", terr.Err)...)
	}
	return terr
}

// checkDelivery validates a delivered request, send or publish. If it does
// not match, the delivery is refused: a request is answered with the
// bad_request Error, a durable delivery is given up, and it reports false.
func (s *subscription) checkDelivery(env *troupe.Envelope, ack Acker) bool {
	if s.c.bus.validatedHere(env) {
		return true
	}
	terr := invalidPayload(s.ni.validator, func() string { return "delivery of " + verb(env.Kind) + " " + quoteNames(s.local, env.Name) }, env.Payload)
	if terr == nil {
		return true
	}
	c := s.c
	c.bus.refuse(c, s.ni, "delivery: payload does not match its schema", nameAttrs(c.member.String(), s.local, env.Name, "sender", env.Sender.String(), "id", env.ID, "error", terr.Err)...)
	if env.Kind == troupe.KindRequest && time.Now().Before(env.Deadline) {
		m := &Msg{Env: env, c: c, ni: s.ni, at: time.Now()}
		m.ctx = msgContext{Context: c.ctx, env: env, member: &c.member}
		if err := m.ReplyError(context.WithoutCancel(&m.ctx), terr); err != nil {
			c.bus.log.Debug("bus: error reply not sent", "name", env.Name, "error", err)
		}
	}
	if ack != nil {
		_ = ack.Term("refused: " + terr.Msg)
	}
	return false
}

// checkReplyIn validates a reply that arrived for a request named ni.name.
// A reply that the app does not allow, or whose payload does not match its
// schema, is replaced by an Error reply with code bad_request for the
// requester; the original is counted and logged.
func (c *Client) checkReplyIn(ni *nameInfo, env *troupe.Envelope) *troupe.Envelope {
	if env.Name == troupe.ErrorName {
		return env
	}
	b := c.bus
	var terr *troupe.Error
	what := func() string { return fmt.Sprintf("reply %q to %q from %s", env.Name, ni.name, env.Sender) } // on a refusal only
	if len(ni.replies) > 0 && !slices.Contains(ni.replies, env.Name) {
		terr = &troupe.Error{Code: troupe.CodeBadRequest, Msg: fmt.Sprintf("bus: %s: the app declares the replies %v", what(), ni.replies)}
	} else if b.validatedHere(env) {
		return env
	} else if terr = invalidPayload(b.schemas.Validator(env.Name), what, env.Payload); terr == nil {
		return env
	}
	b.refuse(c, ni, "reply refused", "member", c.member.String(), "name", ni.name, "reply", env.Name, "replier", env.Sender.String(), "error", terr.Msg)
	payload, _ := encodeError(terr)
	out := *env
	out.Name, out.Payload = troupe.ErrorName, payload
	return &out
}
