package bus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/troupe-go/troupe"
)

// Prepare builds the envelope of a request, send or publish named name,
// checked against the policy exactly as Request, Send and Publish check
// theirs (each refusal is counted and logged), without sending it.
// RequestEnvelope, SendEnvelope and CollectEnvelope send it.
//
// The calling side of the service SDK works this way so that its
// interceptors see the envelope before it leaves: they may add Headers (a
// trace context, say) and bring the Deadline forward; the other fields are
// the bus's and must not change. Once sent, an envelope is read-only: a
// receiver in this process may hold it. To send it again, send a copy.
func (c *Client) Prepare(ctx context.Context, kind troupe.Kind, name string, payload any) (*troupe.Envelope, error) {
	switch kind {
	case troupe.KindRequest, troupe.KindSend, troupe.KindPublish:
	default:
		return nil, &troupe.Error{Code: troupe.CodeBadRequest, Msg: fmt.Sprintf("bus: prepare %q: kind %q cannot be sent", name, kind)}
	}
	env, _, err := c.prepare(ctx, kind, name, payload)
	return env, err
}

// RequestEnvelope sends env, a request from Prepare, and waits for its first
// reply, exactly as Request does.
//
// A request may be sent more than once: a retry of an idempotent request is a
// copy of env with the same ID, so that its receiver can recognise it (see
// the service SDK's IdempotencyKey), and with headers and an earlier deadline
// of its own. A late reply to an earlier attempt answers the current one.
func (c *Client) RequestEnvelope(ctx context.Context, env *troupe.Envelope) (*troupe.Envelope, error) {
	si, err := c.prepared(env, troupe.KindRequest)
	if err != nil {
		return nil, err
	}
	return c.request(ctx, env, si)
}

// SendEnvelope sends env, a send or publish from Prepare, as Send or Publish
// does.
func (c *Client) SendEnvelope(ctx context.Context, env *troupe.Envelope) error {
	si, err := c.prepared(env, "")
	if err != nil {
		return err
	}
	switch env.Kind {
	case troupe.KindSend:
		return c.route(ctx, env, si, false)
	case troupe.KindPublish:
		return c.route(ctx, env, si, true)
	}
	return &troupe.Error{Code: troupe.CodeBadRequest, Msg: fmt.Sprintf("bus: send %q: a %s goes through RequestEnvelope or CollectEnvelope", env.Name, env.Kind)}
}

// CollectEnvelope sends env, a request from Prepare, to every service that
// receives it and calls each with every reply, exactly as Collect does.
func (c *Client) CollectEnvelope(ctx context.Context, env *troupe.Envelope, each func(*troupe.Envelope) bool) (int, error) {
	if each == nil {
		return 0, &troupe.Error{Code: troupe.CodeBadRequest, Msg: "bus: collect: nil func"}
	}
	si, err := c.prepared(env, troupe.KindRequest)
	if err != nil {
		return 0, err
	}
	return c.collect(ctx, env, si, each)
}

// prepared checks an envelope given back to the client after Prepare: it
// must still be this member's, of kind (if not ""), of a name the service
// sends, and a request must still have time left. A payload is not
// encoded or checked again, only measured.
func (c *Client) prepared(env *troupe.Envelope, kind troupe.Kind) (*sendInfo, error) {
	if env == nil {
		return nil, &troupe.Error{Code: troupe.CodeBadRequest, Msg: "bus: send: nil envelope"}
	}
	if c.closed.Load() {
		return nil, fmt.Errorf("bus: %s %q: %w", verb(env.Kind), env.Name, errClientClosed)
	}
	b := c.bus
	si := c.sp.sends[env.Name]
	switch {
	case si == nil || env.Sender != c.member:
		b.refuse(c, b.names[env.Name], "prepared envelope not this member's", "sender", c.member.String(), "name", env.Name, "envelope sender", env.Sender.String())
		return nil, &troupe.Error{Code: troupe.CodeForbidden, Msg: fmt.Sprintf("bus: %s %q: not an envelope that %s may send", verb(env.Kind), env.Name, c.member)}
	case kind != "" && env.Kind != kind:
		return nil, &troupe.Error{Code: troupe.CodeBadRequest, Msg: fmt.Sprintf("bus: %s %q: want a %s", verb(env.Kind), env.Name, kind)}
	case len(env.Payload) > b.maxSize:
		b.refuse(c, si.name, "bad payload", "sender", c.member.String(), "name", env.Name, "size", len(env.Payload))
		return nil, &troupe.Error{Code: troupe.CodeBadRequest, Msg: fmt.Sprintf("bus: %s %q: payload is %d bytes (at most %d)", verb(env.Kind), env.Name, len(env.Payload), b.maxSize)}
	}
	if env.Kind == troupe.KindRequest {
		if env.Deadline.IsZero() {
			return nil, &troupe.Error{Code: troupe.CodeBadRequest, Msg: fmt.Sprintf("bus: request %q: no deadline", env.Name)}
		}
		if !time.Now().Before(env.Deadline) {
			b.refuse(c, si.name, "deadline already passed", "sender", c.member.String(), "name", env.Name)
			return nil, &troupe.Error{Code: troupe.CodeTimeout, Msg: fmt.Sprintf("bus: request %q: deadline already passed", env.Name), Err: context.DeadlineExceeded}
		}
	}
	return si, nil
}

// request routes a checked request and waits for its first reply.
func (c *Client) request(ctx context.Context, env *troupe.Envelope, si *sendInfo) (*troupe.Envelope, error) {
	p, err := c.start(ctx, env, si, true)
	if err != nil {
		return nil, err
	}
	reply, err := p.wait(ctx, true)
	if err == nil {
		if e := reply.Err(); e != nil {
			reply, err = nil, e
		}
	}
	p.finish(err)
	p.recycle()
	return reply, err
}

// collect routes a checked request to every receiving service and passes
// each reply to each until the end (see Collect).
func (c *Client) collect(ctx context.Context, env *troupe.Envelope, si *sendInfo, each func(*troupe.Envelope) bool) (int, error) {
	p, err := c.start(ctx, env, si, false)
	if err != nil {
		if errors.Is(err, troupe.ErrNoReceiver) {
			return 0, nil
		}
		return 0, err
	}
	n := 0
	for {
		reply, err := p.wait(ctx, false)
		if err != nil {
			if errors.Is(err, troupe.ErrTimeout) || errors.Is(err, troupe.ErrNoReceiver) || err == io.EOF {
				p.finish(nil)
				return n, nil
			}
			p.finish(err)
			return n, err
		}
		n++
		if !each(reply) {
			p.finish(nil)
			return n, nil
		}
	}
}

// Replied reports whether the final reply to m has been sent, or its
// sending attempted (a reply past the deadline is not sent); either way no
// other final reply can be sent. It is false for sends and publishes. A
// serving-side interceptor uses it to tell whether the handler answered.
func (m *Msg) Replied() bool { return m.final.Load() }
