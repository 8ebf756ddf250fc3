package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/troupe-go/troupe"
)

// A Handler receives the envelopes of one name for one client. Serve must
// not block the transport for long: the service SDK hands m to an actor and
// returns. m stays valid after Serve returns; replies can be sent later.
type Handler interface {
	Serve(ctx context.Context, m *Msg)
}

// HandlerFunc adapts a function to a Handler.
type HandlerFunc func(ctx context.Context, m *Msg)

// Serve calls f(ctx, m).
func (f HandlerFunc) Serve(ctx context.Context, m *Msg) { f(ctx, m) }

// A Msg is what a handler gets: the envelope, and the means to answer it and
// to settle a durable delivery. Its methods are safe for concurrent use.
type Msg struct {
	// Env is the envelope delivered; treat it as read-only.
	Env *troupe.Envelope

	c     *Client
	ni    *nameInfo
	ack   Acker
	final atomic.Bool // a final reply was sent
	done  atomic.Bool // Done was called (or the delivery settled)
	ctx   msgContext
	at    time.Time    // when it was delivered (tap.go)
	took  atomic.Int64 // 1 + how long after at the final reply was sent (RepliedAt)

	hmu          sync.Mutex
	replyHeaders map[string]string // SetReplyHeader (tap.go)
}

// Context returns the context the handler was served with: the client's
// context (cancelled when it closes) carrying the envelope, as ContextWith,
// and ended at the envelope's deadline and by Done, so that a handler's own
// work (a database query, say) stops when the requester stops waiting. It
// starts a timer for the deadline only when its Done is first asked for.
func (m *Msg) Context() context.Context { return &m.ctx }

// Attempt returns which delivery attempt this is, from 1. It is above 1 only
// for redelivered durable envelopes.
func (m *Msg) Attempt() int {
	if m.Env.Headers == nil {
		return 1
	}
	n, err := strconv.Atoi(m.Env.Headers[HeaderAttempt])
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// Reply sends the final reply named name to the requester. It fails for
// sends and publishes (nobody waits for a reply), after a final reply, and
// once the request's deadline has passed (the reply is then counted as late
// and not sent). For a durable request the final reply acknowledges it.
// ctx carries values (the trace); that it is done does not stop the reply.
func (m *Msg) Reply(ctx context.Context, name string, payload any) error {
	return m.reply(ctx, name, payload, false)
}

// ReplyMore sends a non-final reply (More set): more replies follow.
func (m *Msg) ReplyMore(ctx context.Context, name string, payload any) error {
	return m.reply(ctx, name, payload, true)
}

// ReplyError sends an Error reply as the final reply. A *troupe.Error in
// err's chain keeps its code, message and incident; any other error becomes
// internal with err's text.
func (m *Msg) ReplyError(ctx context.Context, err error) error {
	if err == nil {
		return &troupe.Error{Code: troupe.CodeBadRequest, Msg: fmt.Sprintf("bus: reply to %q: nil error", m.Env.Name)}
	}
	if m.Env.Kind != troupe.KindRequest {
		return &troupe.Error{Code: troupe.CodeBadRequest, Msg: fmt.Sprintf("bus: reply to %q: it is a %s, nobody waits for a reply", m.Env.Name, m.Env.Kind)}
	}
	var te *troupe.Error
	out := troupe.Error{Code: troupe.CodeInternal, Msg: err.Error()}
	if errors.As(err, &te) && te.Code.Known() {
		out = troupe.Error{Code: te.Code, Msg: te.Msg, Incident: te.Incident}
	}
	raw, merr := json.Marshal(&out)
	if merr != nil {
		return fmt.Errorf("bus: reply to %q: %w", m.Env.Name, merr)
	}
	// Counted before the reply leaves, so that a requester that sees the
	// reply also sees the count; taken back if the reply is not sent.
	m.c.count(m.ni).handlerErrors.Add(1)
	if err := m.reply(ctx, troupe.ErrorName, json.RawMessage(raw), false); err != nil {
		m.c.count(m.ni).handlerErrors.Add(^uint64(0))
		return err
	}
	return nil
}

func (m *Msg) reply(ctx context.Context, name string, payload any, more bool) error {
	c := m.c
	b := c.bus
	req := m.Env
	if req.Kind != troupe.KindRequest {
		return &troupe.Error{Code: troupe.CodeBadRequest, Msg: fmt.Sprintf("bus: reply to %q: it is a %s, nobody waits for a reply", req.Name, req.Kind)}
	}
	if err := troupe.ValidName(name); err != nil {
		return &troupe.Error{Code: troupe.CodeBadRequest, Msg: fmt.Sprintf("bus: reply to %q: %v", req.Name, err)}
	}
	local := name
	name = c.sp.appName(local) // translate.go
	raw, err := b.encode(payload)
	if err != nil {
		return &troupe.Error{Code: troupe.CodeBadRequest, Msg: fmt.Sprintf("bus: reply to %q: %v", req.Name, err), Err: err}
	}
	if m.ni.replies != nil || b.schemas.Len() > 0 {
		if terr := m.checkReplyOut(local, name, raw); terr != nil { // schema.go
			return terr
		}
	}
	if more {
		if m.final.Load() {
			return &troupe.Error{Code: troupe.CodeConflict, Msg: fmt.Sprintf("bus: reply to %q: the final reply was sent", req.Name)}
		}
	} else if m.final.Swap(true) {
		return &troupe.Error{Code: troupe.CodeConflict, Msg: fmt.Sprintf("bus: reply to %q: the final reply was sent", req.Name)}
	}
	now := time.Now()
	if !req.Deadline.IsZero() && now.After(req.Deadline) {
		b.drop(c, m.ni, dropLate, "late reply not sent", "member", c.member.String(), "name", req.Name, "responseTo", req.ID)
		if !more {
			m.settle(nil)
		}
		return &troupe.Error{Code: troupe.CodeTimeout, Msg: fmt.Sprintf("bus: reply to %q: deadline passed", req.Name), Err: context.DeadlineExceeded}
	}
	env := &troupe.Envelope{
		ID:         newID(now), // newenv.go
		Kind:       troupe.KindReply,
		Name:       name,
		ActivityID: req.ActivityID,
		ResponseTo: req.ID,
		Sender:     c.member,
		SentAt:     now,
		Deadline:   req.Deadline,
		Headers:    m.headersOfReply(), // tap.go
		More:       more,
		Payload:    raw,
		Value:      troupe.ValueOf(payload),
		From:       c.member.Service,
	}
	// Counted before the reply leaves, as handler errors are; taken back
	// if it is not sent.
	took := now.Sub(m.at)
	k := c.count(m.ni)
	if !more {
		k.handled.Add(1)
		k.handledNs.Add(int64(took))
	}
	if err := b.replyChecked(ctx, c.port, req.Sender, env); err != nil {
		if !more {
			k.handled.Add(^uint64(0))
			k.handledNs.Add(-int64(took))
		}
		return fmt.Errorf("bus: reply to %q: %w", req.Name, err)
	}
	if !more {
		m.took.Store(1 + max(int64(took), 0))
	}
	if t := b.tapping(); t != nil {
		emit(t, TapEvent{Kind: TapReplied, Member: c.member, Env: env, Took: took})
	}
	if !more {
		m.settle(nil)
	}
	return nil
}

// Done reports the handler's outcome. For a durable delivery it settles
// it: nil acknowledges it; an error asks for redelivery after a backoff, or
// after the last attempt (Config.MaxAttempts) moves it to the dead letters.
// For other deliveries an error is counted. Only the first call counts.
// Done ends the handler's context (Context).
func (m *Msg) Done(err error) {
	if err != nil && !m.done.Load() {
		m.c.count(m.ni).handlerErrors.Add(1)
	}
	m.settle(err)
	m.ctx.release()
}

func (m *Msg) settle(err error) {
	if m.done.Swap(true) || m.ack == nil {
		return
	}
	b := m.c.bus
	if err == nil {
		if aerr := m.ack.Ack(); aerr != nil {
			b.log.Warn("bus: ack failed", "name", m.Env.Name, "id", m.Env.ID, "error", aerr)
			return
		}
		m.c.sp.handled.add(m.Env.ID)
		return
	}
	n := m.Attempt()
	if n >= b.maxTries {
		m.c.count(m.ni).dead.Add(1)
		b.log.Error("bus: dead letter", "name", m.Env.Name, "id", m.Env.ID, "service", m.c.sp.name, "attempts", n, "error", err)
		if t := b.tapping(); t != nil {
			emit(t, TapEvent{Kind: TapDeadLetter, Member: m.c.member, Env: m.Env, Reason: err.Error()})
		}
		if terr := m.ack.Term(err.Error()); terr != nil {
			b.log.Warn("bus: term failed", "name", m.Env.Name, "id", m.Env.ID, "error", terr)
		}
		return
	}
	if nerr := m.ack.Nak(b.backoff(n)); nerr != nil {
		b.log.Warn("bus: nak failed", "name", m.Env.Name, "id", m.Env.ID, "error", nerr)
	}
}

// subscription delivers one name to one client's handler after checking the
// envelope against the App: the receiving side's half of the policy, which
// matters when another process could be lying.
type subscription struct {
	c     *Client
	ni    *nameInfo
	h     Handler
	local string // the name the handler's code uses (translate.go)
}

func (s *subscription) Deliver(env *troupe.Envelope, ack Acker) {
	c := s.c
	b := c.bus
	if code, reason := s.check(env); reason != "" {
		name := ""
		if env != nil {
			name = env.Name
			b.refuse(c, b.names[name], "delivery: "+reason, "member", c.member.String(), "name", name, "sender", env.Sender.String(), "from", env.From, "id", env.ID)
			s.answerRefusal(env, code, reason) // identity.go
		} else {
			b.refuse(c, nil, "delivery: "+reason, "member", c.member.String())
		}
		if ack != nil {
			_ = ack.Term("refused: " + reason)
		}
		return
	}
	if ack != nil && c.sp.handled.seen(env.ID) {
		b.drop(c, s.ni, dropOther, "duplicate durable delivery", "member", c.member.String(), "name", env.Name, "id", env.ID)
		_ = ack.Ack()
		return
	}
	now := time.Now()
	if !env.Deadline.IsZero() && now.After(env.Deadline) {
		b.drop(c, s.ni, dropExpired, "expired on delivery", "member", c.member.String(), "name", env.Name, "id", env.ID)
		if ack != nil {
			_ = ack.Ack()
		}
		return
	}
	if s.ni.validator != nil && !s.checkDelivery(env, ack) { // schema.go
		return
	}
	c.count(s.ni).received.Add(1)
	env = localEnvelope(env, s.local) // translate.go
	m := &Msg{Env: env, c: c, ni: s.ni, ack: ack, at: now}
	m.ctx = msgContext{Context: c.ctx, env: env, member: &c.member, bounded: true}
	if env.Principal != nil {
		// The handler's troupe.PrincipalFrom, and what an edge sends on
		// (identity.go).
		m.ctx.Context = troupe.WithPrincipal(c.ctx, env.Principal)
	}
	if t := b.tapping(); t != nil {
		emit(t, TapEvent{Kind: TapDelivered, Member: c.member, Env: env})
	}
	defer func() {
		if r := recover(); r != nil {
			s.crashed(m, r)
		}
	}()
	s.h.Serve(&m.ctx, m)
}

// crashed contains a handler that panicked in Serve, so that the panic does
// not unwind into the transport or, in-process, into the sender: one log
// record with the stack, an internal Error reply to a request, and a failed
// delivery (redelivered if durable).
func (s *subscription) crashed(m *Msg, r any) {
	c := s.c
	c.bus.log.Error("bus: handler panicked", "member", c.member.String(), "name", m.Env.Name, "id", m.Env.ID,
		"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	err := &troupe.Error{Code: troupe.CodeInternal, Msg: fmt.Sprintf("%s: the handler crashed", m.Env.Name)}
	if m.Env.Kind == troupe.KindRequest && !m.final.Load() {
		_ = m.ReplyError(context.WithoutCancel(&m.ctx), err)
	}
	m.Done(err)
}

// check returns why env may not be delivered, with the code of the Error
// reply that answers it, or "".
func (s *subscription) check(env *troupe.Envelope) (troupe.Code, string) {
	b := s.c.bus
	bad := troupe.CodeBadRequest
	switch {
	case env == nil:
		return bad, "nil envelope"
	case env.Name != s.ni.name:
		return bad, fmt.Sprintf("envelope named %q on the subscription to %q", env.Name, s.ni.name)
	case env.Kind != troupe.KindRequest && env.Kind != troupe.KindSend && env.Kind != troupe.KindPublish:
		return bad, fmt.Sprintf("kind %q", env.Kind)
	case env.ID == "":
		return bad, "no id"
	case env.From == "" || env.From != env.Sender.Service:
		return troupe.CodeForbidden, forgedReason(env) // identity.go
	case env.Kind == troupe.KindRequest && env.Deadline.IsZero():
		return bad, "request without a deadline"
	case len(env.Payload) > b.maxSize:
		return bad, fmt.Sprintf("payload of %d bytes (at most %d)", len(env.Payload), b.maxSize)
	}
	if !s.ni.senders[env.Sender.Service] {
		if b.services[env.Sender.Service] == nil {
			return troupe.CodeForbidden, fmt.Sprintf("sender service %q is not declared", env.Sender.Service)
		}
		return troupe.CodeForbidden, fmt.Sprintf("sender service %q does not declare that it sends %q", env.Sender.Service, env.Name)
	}
	return s.checkPrincipal(env) // identity.go
}

// msgContext carries an envelope and its deadline. A handler's context
// (bounded) also ends at the deadline, as context.WithDeadline's would,
// except that its timer starts only when Done is first asked for (by the
// handler, or by a context derived from it) and stops when the handler
// reports its outcome (Msg.Done): most handlers reply before their
// deadline without ever waiting on Done, and so pay for no timer.
// ContextWith's starts none: its Done is its parent's.
type msgContext struct {
	context.Context // the parent
	env             *troupe.Envelope
	member          *troupe.Member // the receiving member (MemberFrom); nil from ContextWith
	bounded         bool           // a handler's: Done closes at env's deadline too

	once    sync.Once
	started atomic.Bool
	child   context.Context // context.WithDeadline(parent, env.Deadline), once started
	cancel  context.CancelFunc
}

// timed reports whether c's Done closes at the envelope's deadline.
func (c *msgContext) timed() bool { return c.bounded && !c.env.Deadline.IsZero() }

func (c *msgContext) start() context.Context {
	c.once.Do(func() {
		c.child, c.cancel = context.WithDeadline(c.Context, c.env.Deadline)
		c.started.Store(true)
	})
	return c.child
}

func (c *msgContext) Done() <-chan struct{} {
	if !c.timed() {
		return c.Context.Done()
	}
	return c.start().Done()
}

func (c *msgContext) Err() error {
	if !c.timed() {
		return c.Context.Err()
	}
	if c.started.Load() {
		return c.child.Err()
	}
	if err := c.Context.Err(); err != nil {
		return err
	}
	if !time.Now().Before(c.env.Deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

// release stops the timer, if one was started: the handler is done, and
// its context with it.
func (c *msgContext) release() {
	if c.started.Load() {
		c.cancel()
	}
}

type envKey struct{}

func (c *msgContext) Deadline() (time.Time, bool) {
	d, ok := c.Context.Deadline()
	if dl := c.env.Deadline; !dl.IsZero() && (!ok || dl.Before(d)) {
		return dl, true
	}
	return d, ok
}

func (c *msgContext) Value(key any) any {
	switch key.(type) {
	case envKey:
		return c.env
	case memberKey:
		if c.member != nil {
			return c.member
		}
	}
	return c.Context.Value(key)
}

// ContextWith returns a context that carries env: requests made with it
// belong to env's activity (ActivityID) and inherit what remains of env's
// deadline (Deadline reports the earlier of ctx's and env's). It starts no
// timer: its Done is ctx's; wrap it in context.WithDeadline to be cancelled
// at the deadline too.
func ContextWith(ctx context.Context, env *troupe.Envelope) context.Context {
	if env == nil {
		return ctx
	}
	return &msgContext{Context: ctx, env: env}
}

// EnvelopeFrom returns the envelope carried by a context from ContextWith
// (or a handler's context), or nil.
func EnvelopeFrom(ctx context.Context) *troupe.Envelope {
	env, _ := ctx.Value(envKey{}).(*troupe.Envelope)
	return env
}

// dedupSize is how many handled durable envelope IDs each service
// remembers to drop redeliveries of.
const dedupSize = 4096

// dedup remembers the IDs of the last dedupSize durable envelopes that a
// service's handlers in this process settled successfully, so that a
// redelivery of one (an ack lost in a transport) is not handled twice.
type dedup struct {
	mu   sync.Mutex
	ids  map[troupe.ID]struct{}
	ring [dedupSize]troupe.ID
	next int
}

func (d *dedup) seen(id troupe.ID) bool {
	d.mu.Lock()
	_, ok := d.ids[id]
	d.mu.Unlock()
	return ok
}

func (d *dedup) add(id troupe.ID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ids == nil {
		d.ids = make(map[troupe.ID]struct{}, dedupSize)
	}
	if _, ok := d.ids[id]; ok {
		return
	}
	if old := d.ring[d.next]; old != "" {
		delete(d.ids, old)
	}
	// A copy of its own: an ID the bus made shares a slab with seven
	// others (newenv.go), which the ring would otherwise keep alive.
	id = strings.Clone(id)
	d.ring[d.next] = id
	d.ids[id] = struct{}{}
	d.next = (d.next + 1) % dedupSize
}
