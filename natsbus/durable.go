package natsbus

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
)

// Headers of the messages in the dead-letter stream.
const (
	HeaderReason   = "Troupe-Reason"   // why the envelope was given up on
	HeaderService  = "Troupe-Service"  // the service that gave up
	HeaderAttempts = "Troupe-Attempts" // how many times it was delivered
)

// routeDurable publishes env to the stream and waits for the server's
// acknowledgement that it is stored. The envelope's ID is the message id,
// so a repeated Route within the stream's duplicate window stores it once.
func (p *port) routeDurable(ctx context.Context, env *troupe.Envelope, data []byte) error {
	msg := &nats.Msg{Subject: p.t.subj.durable(p.m.Service, env.Name), Data: data, Header: nats.Header{}}
	if err := p.publishDurable(ctx, msg, env); err != nil {
		return notStored(env.Name, err)
	}
	return nil
}

// notStored is the error of a durable Route of name that failed with err.
func notStored(name string, err error) error {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return &troupe.Error{Code: troupe.CodeUnavailable, Msg: fmt.Sprintf("natsbus: route %q: not stored: %s", name, apiErr.Description), Err: err}
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) || errors.Is(err, jetstream.ErrAsyncPublishTimeout) {
		return &troupe.Error{Code: troupe.CodeTimeout, Msg: fmt.Sprintf("natsbus: route %q: no storage acknowledgement (it may or may not be stored; retrying with the same id is safe)", name), Err: err}
	}
	return unavailable("route", name, err)
}

// futureSlack is how far past a publish's deadline jetstream's own end of
// its future may come for publishStored to rely on it.
const futureSlack = 10 * time.Millisecond

// leaderPatience bounds how long a durable publish waits for the stream to
// have a leader again (an election after a server left) when its context
// has no earlier deadline.
const leaderPatience = 5 * time.Second

// publishDurable publishes msg to the stream. While the stream has no leader
// (the server answers "no responders": a leader election is under way) it
// publishes again, with the same message id, so that the stream keeps one
// copy whatever happened to the earlier tries, until the election is over,
// ctx ends or leaderPatience has passed.
func (p *port) publishDurable(ctx context.Context, msg *nats.Msg, env *troupe.Envelope) error {
	deadline := time.Now().Add(leaderPatience)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	wait := 25 * time.Millisecond
	for {
		err := p.publishStored(ctx, msg, env, deadline)
		if err == nil || !(errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders)) ||
			time.Now().Add(wait).After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, 250*time.Millisecond)
	}
}

// publishStored publishes msg once and waits for the stream's
// acknowledgement that it is stored, until ctx ends or deadline. It
// publishes asynchronously, so that the durable sends of all the callers
// of a port share its connection's pipeline rather than making a request
// each, and each caller still returns only once its own message is stored.
// The client library is told not to publish again by itself
// (publishDurable does, after an election), so that msg's data, a buffer
// Route reuses, is never read once this returns. When too many publishes
// are waiting for their acknowledgements it falls back to one synchronous
// publish.
func (p *port) publishStored(ctx context.Context, msg *nats.Msg, env *troupe.Envelope, deadline time.Time) error {
	opts := []jetstream.PublishOpt{jetstream.WithMsgID(env.ID), jetstream.WithExpectStream(p.t.subj.stream())}
	f, err := p.js.PublishMsgAsync(msg, append(opts, jetstream.WithRetryAttempts(0))...)
	if errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
		_, err = p.js.PublishMsg(ctx, msg, opts...)
		return err
	}
	if err != nil {
		return err
	}
	// A timer only when neither ctx (a request's usually does) nor the
	// future itself ends by the deadline: jetstream ends a future with
	// ErrAsyncPublishTimeout leaderPatience after its publish
	// (transport.go), which is the deadline of a first try without an
	// earlier one.
	var timeout <-chan time.Time
	if d, ok := ctx.Deadline(); (!ok || d.After(deadline)) && time.Until(deadline) < leaderPatience-futureSlack {
		timer := time.NewTimer(time.Until(deadline))
		defer timer.Stop()
		timeout = timer.C
	}
	select {
	case <-f.Ok():
		return nil
	case err := <-f.Err():
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-timeout:
		return nats.ErrTimeout
	}
}

// consume attaches d to the service's durable consumer for name.
func (p *port) consume(ctx context.Context, name string, d bus.Deliverer) (*puller, error) {
	cfg := p.t.consumerConfig(p.m.Service, name)
	if _, err := p.js.CreateOrUpdateConsumer(ctx, p.t.subj.stream(), cfg); err != nil {
		return nil, fmt.Errorf("natsbus: subscribe %q: consumer %s: %w", name, cfg.Durable, err)
	}
	deliver := func(msg *nats.Msg) {
		if !p.enter() {
			_ = msg.Nak() // the member is closing: to another instance
			return
		}
		defer p.leave()
		p.deliverDurable(name, msg, d)
	}
	failed := func(err error) {
		if errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrConnectionReconnecting) ||
			errors.Is(err, nats.ErrReconnectBufExceeded) { // the connection is away: the reconnect logs
			p.t.log.Debug("natsbus: consumer", "member", p.m.String(), "name", name, "err", err)
			return
		}
		p.t.log.Warn("natsbus: consumer", "member", p.m.String(), "name", name, "err", err)
	}
	pl, err := startPuller(p.nc, p.t.subj.stream(), cfg.Durable, p.t.cfg.PullExpiry, deliver, failed)
	if err != nil {
		return nil, fmt.Errorf("natsbus: subscribe %q: consumer %s: %w", name, cfg.Durable, err)
	}
	return pl, nil
}

func (p *port) deliverDurable(name string, msg *nats.Msg, d bus.Deliverer) {
	attempt := uint64(1)
	if md, err := msg.Metadata(); err == nil {
		attempt = md.NumDelivered
	}
	env := p.t.decode(msg.Subject, name, msg.Data)
	if env == nil {
		// Redelivering it would not make it any better.
		_ = termWithReason(msg, "malformed or refused envelope")
		return
	}
	// The stream keeps the subject it was published on, whose sender
	// token the server's permissions bound to the publishing user; the
	// bus refuses (and terminates) an envelope that claims another.
	env.From, _ = p.t.subj.sender(msg.Subject)
	a := &acker{p: p, msg: msg, env: env, attempt: attempt}
	if attempt > uint64(p.t.cfg.MaxDeliver) {
		// The last attempt was not settled in time (a crash, a hang).
		_ = a.deadLetter(fmt.Sprintf("not acknowledged after %d attempts", attempt-1))
		return
	}
	env.Headers = maps.Clone(env.Headers)
	if env.Headers == nil {
		env.Headers = make(map[string]string, 1)
	}
	env.Headers[bus.HeaderAttempt] = strconv.FormatUint(attempt, 10)
	p.mu.Lock()
	if p.unsettled != nil {
		p.unsettled[a] = struct{}{}
	}
	p.mu.Unlock()
	d.Deliver(env, a)
}

// acker settles one durable delivery.
type acker struct {
	p       *port
	msg     *nats.Msg
	env     *troupe.Envelope
	attempt uint64
	done    atomic.Bool
}

var _ bus.Acker = (*acker)(nil)

func (a *acker) settle() error {
	if a.done.Swap(true) {
		return fmt.Errorf("natsbus: %q already settled", a.env.ID)
	}
	a.p.mu.Lock()
	delete(a.p.unsettled, a)
	a.p.mu.Unlock()
	return nil
}

// Ack reports success: the envelope is not delivered to this service again.
func (a *acker) Ack() error {
	if err := a.settle(); err != nil {
		return err
	}
	if err := a.msg.Ack(); err != nil {
		return fmt.Errorf("natsbus: ack %s: %w", a.env.ID, err)
	}
	return nil
}

// Nak asks for redelivery after delay; after the last attempt the envelope
// goes to the dead-letter stream instead.
func (a *acker) Nak(delay time.Duration) error {
	if err := a.settle(); err != nil {
		return err
	}
	if a.attempt >= uint64(a.p.t.cfg.MaxDeliver) {
		return a.deadLetter(fmt.Sprintf("failed %d attempts", a.attempt))
	}
	if err := a.msg.NakWithDelay(max(delay, 0)); err != nil {
		return fmt.Errorf("natsbus: nak %s: %w", a.env.ID, err)
	}
	return nil
}

// giveBack returns an unsettled delivery for immediate redelivery, to
// another instance if there is one, when its member leaves. Leaving is no
// failure of the handler, so this never dead-letters.
func (a *acker) giveBack() {
	if a.settle() == nil {
		_ = a.msg.Nak()
	}
}

// Term moves the envelope to the dead-letter stream.
func (a *acker) Term(reason string) error {
	if err := a.settle(); err != nil {
		return err
	}
	return a.deadLetter(reason)
}

// deadLetter copies the envelope to the dead-letter stream (once per
// service, deduplicated by id), terminates the delivery and calls
// OnDeadLetter. If the copy cannot be stored, the delivery is given back for
// a later attempt rather than lost.
func (a *acker) deadLetter(reason string) error {
	t, p := a.p.t, a.p
	svc := p.m.Service
	msg := &nats.Msg{
		Subject: t.subj.dead(svc, a.env.Name),
		Data:    a.msg.Data,
		Header: nats.Header{
			HeaderReason:   {reason},
			HeaderService:  {svc},
			HeaderAttempts: {strconv.FormatUint(a.attempt, 10)},
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := p.js.PublishMsg(ctx, msg, jetstream.WithMsgID(svc+"."+a.env.ID)); err != nil {
		_ = a.msg.NakWithDelay(t.cfg.AckWait)
		return fmt.Errorf("natsbus: dead letter %s: %w", a.env.ID, err)
	}
	if err := termWithReason(a.msg, reason); err != nil {
		return fmt.Errorf("natsbus: dead letter %s: %w", a.env.ID, err)
	}
	t.deadLetters.Add(1)
	t.log.Warn("natsbus: dead letter", "service", svc, "name", a.env.Name, "id", a.env.ID,
		"attempts", a.attempt, "reason", reason)
	if t.cfg.OnDeadLetter != nil {
		t.cfg.OnDeadLetter(a.env, svc, reason)
	}
	return nil
}

// termWithReason terminates a durable delivery, telling the server why
// (JetStream's "+TERM reason" acknowledgement, which the client library
// offers only on its own consumers' messages).
func termWithReason(msg *nats.Msg, reason string) error {
	return msg.Respond([]byte("+TERM " + reason))
}
