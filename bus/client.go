package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/internal/plainjson"
	"github.com/troupe-go/troupe/internal/strictjson"
)

// A Client is one member (service instance) of the bus: it sends requests,
// notifications and events on the service's behalf, and receives the names
// the service declares. It is safe for concurrent use.
type Client struct {
	bus    *Bus
	sp     *servicePolicy
	member troupe.Member
	port   Port
	ctx    context.Context // base of handler contexts; cancelled by Close
	cancel context.CancelFunc
	pend   pendingTable
	closed atomic.Bool
	stats  []counters // by nameInfo.idx, then one for undeclared names
	joined time.Time
	spin   replySpin // whether waiting for a reply yields first (spin.go)

	mu   sync.Mutex
	subs map[string]bool
}

// inbox is a Client seen as the Deliverer of its replies.
type inbox Client

var _ Deliverer = (*inbox)(nil)

func newClient(b *Bus, sp *servicePolicy, m troupe.Member) *Client {
	ctx, cancel := context.WithCancel(context.Background())
	c := &Client{bus: b, sp: sp, member: m, ctx: ctx, cancel: cancel, subs: make(map[string]bool), stats: make([]counters, len(b.nameList)+1), joined: time.Now()}
	c.pend.init()
	c.spin.init()
	return c
}

// Member returns the service and instance the client joined as.
func (c *Client) Member() troupe.Member { return c.member }

// Close detaches the member: its subscriptions end and its outstanding
// requests fail with unavailable. Close is idempotent.
func (c *Client) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	err := c.port.Close()
	c.cancel()
	for _, pe := range c.pend.all() {
		p := pe.p
		err := &troupe.Error{Code: troupe.CodeUnavailable, Msg: fmt.Sprintf("bus: request %q: client closed", pe.name)}
		if p.pooled {
			// A Request: its caller is waiting and finishes it.
			p.endIf(pe.id, err)
			continue
		}
		p.end(err)
		p.finish(err)
	}
	c.bus.forget(c)
	if err != nil {
		return fmt.Errorf("bus: close %s: %w", c.member, err)
	}
	return nil
}

// Leave stops deliveries to this member as it begins to stop (see
// Port.Leave): no new message is delivered to its handlers, those already on
// their way are, and it may still send requests and reply to what it holds
// until Close. A service leaves, lets its handlers finish, then closes.
func (c *Client) Leave(ctx context.Context) error {
	if c.closed.Load() {
		return nil
	}
	if err := c.port.Leave(ctx); err != nil {
		return fmt.Errorf("bus: leave %s: %w", c.member, err)
	}
	return nil
}

// Handle makes this instance one of the service's receivers of name: the
// envelopes named name routed to the service are delivered to h (to this
// instance or another of the same service, one of them each time). name must
// be declared in the service's receives, and may be handled once per client.
func (c *Client) Handle(name string, h Handler) error {
	if h == nil {
		return &troupe.Error{Code: troupe.CodeBadRequest, Msg: fmt.Sprintf("bus: handle %q: nil handler", name)}
	}
	local := name
	name = c.sp.appName(local) // translate.go
	ni := c.sp.receives[name]
	if ni == nil {
		c.bus.refuse(c, c.bus.names[name], "handle an undeclared name", nameAttrs(c.member.String(), local, name)...)
		return &troupe.Error{Code: troupe.CodeForbidden, Msg: fmt.Sprintf("bus: handle %s: service %q does not declare that it receives it", quoteNames(local, name), c.sp.name)}
	}
	if c.closed.Load() {
		return fmt.Errorf("bus: handle %q: %w", name, errClientClosed)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.subs[name] {
		return &troupe.Error{Code: troupe.CodeConflict, Msg: fmt.Sprintf("bus: handle %q: already handled by %s", name, c.member)}
	}
	mode := OneInstance
	if c.sp.broadcast[name] {
		mode = EveryInstance
	}
	if err := c.port.Subscribe(name, mode, &subscription{c: c, ni: ni, h: h, local: local}); err != nil {
		return fmt.Errorf("bus: handle %q: %w", name, err)
	}
	c.subs[name] = true
	return nil
}

var errClientClosed = &troupe.Error{Code: troupe.CodeUnavailable, Msg: "client is closed"}

// Request sends a request named name and waits for its first reply, until
// the deadline: ctx's if it is earlier, else the Bus's Timeout from now.
// An Error reply comes back as (nil, *troupe.Error); at the deadline the
// error is a timeout *troupe.Error (errors.Is(err, troupe.ErrTimeout)).
//
// payload is sent as-is if it is a json.RawMessage or []byte (it must be
// valid JSON), as null if nil, and json.Marshal'ed otherwise. If ctx comes
// from ContextWith (a handler's context), the request belongs to the same
// activity and inherits the remaining deadline.
func (c *Client) Request(ctx context.Context, name string, payload any) (*troupe.Envelope, error) {
	env, si, err := c.prepare(ctx, troupe.KindRequest, name, payload)
	if err != nil {
		return nil, err
	}
	return c.request(ctx, env, si)
}

// Send sends a one-way notification named name to every service that
// receives it (one instance of each). If no service receives name, Send
// fails at once with a not_found *troupe.Error whose cause is
// troupe.ErrNoReceiver.
func (c *Client) Send(ctx context.Context, name string, payload any) error {
	env, si, err := c.prepare(ctx, troupe.KindSend, name, payload)
	if err != nil {
		return err
	}
	return c.route(ctx, env, si, false)
}

// Publish publishes an event named name to every service that receives it
// (one instance of each); zero receivers is fine.
func (c *Client) Publish(ctx context.Context, name string, payload any) error {
	env, si, err := c.prepare(ctx, troupe.KindPublish, name, payload)
	if err != nil {
		return err
	}
	return c.route(ctx, env, si, true)
}

// Call sends a request named name and returns at once; the replies
// (one or several from each receiving service) come from the Call's Next.
// The deadline is computed as for Request. The request's bulkhead slot is
// released when every final reply is in, at the deadline, or on Cancel,
// whether or not Next is called.
func (c *Client) Call(ctx context.Context, name string, payload any) (*Call, error) {
	env, si, err := c.prepare(ctx, troupe.KindRequest, name, payload)
	if err != nil {
		return nil, err
	}
	p, err := c.start(ctx, env, si, false)
	if err != nil {
		return nil, err
	}
	p.arm()
	return &Call{p: p}, nil
}

// Collect publishes a request named name to every service that receives it
// and calls each with every reply (Error replies included: see
// Envelope.Err) until the deadline, until every receiving service has sent
// its final reply, or until each returns false. It returns how many replies
// it passed to each. Zero receivers is fine: Collect returns (0, nil) at
// once. Reaching the deadline is the normal end, not an error.
func (c *Client) Collect(ctx context.Context, name string, payload any, each func(*troupe.Envelope) bool) (int, error) {
	if each == nil {
		return 0, &troupe.Error{Code: troupe.CodeBadRequest, Msg: fmt.Sprintf("bus: collect %q: nil func", name)}
	}
	env, si, err := c.prepare(ctx, troupe.KindRequest, name, payload)
	if err != nil {
		if errors.Is(err, troupe.ErrNoReceiver) {
			return 0, nil
		}
		return 0, err
	}
	return c.collect(ctx, env, si, each)
}

// prepare checks a request, send or publish against the policy and builds
// its envelope. Every refusal is counted and logged.
func (c *Client) prepare(ctx context.Context, kind troupe.Kind, name string, payload any) (*troupe.Envelope, *sendInfo, error) {
	b := c.bus
	if c.closed.Load() {
		return nil, nil, fmt.Errorf("bus: %s %q: %w", verb(kind), name, errClientClosed)
	}
	local := name
	name = c.sp.appName(local) // translate.go
	si := c.sp.sends[name]
	if si == nil {
		ni := b.names[name]
		b.refuse(c, ni, "undeclared send", "sender", c.member.String(), "name", name, "kind", kind)
		return nil, nil, &troupe.Error{Code: troupe.CodeForbidden, Msg: fmt.Sprintf("bus: %s %q: service %q does not declare that it sends it", verb(kind), name, c.sp.name)}
	}
	ni := si.name
	if kind != troupe.KindPublish && len(ni.receivers) == 0 {
		b.refuse(c, ni, "no receiver", "sender", c.member.String(), "name", name, "kind", kind)
		return nil, nil, &troupe.Error{Code: troupe.CodeNotFound, Msg: fmt.Sprintf("bus: %s %q: no service receives it", verb(kind), name), Err: troupe.ErrNoReceiver}
	}
	raw, err := b.encode(payload)
	if err != nil {
		b.refuse(c, ni, "bad payload", "sender", c.member.String(), "name", name, "error", err)
		return nil, nil, &troupe.Error{Code: troupe.CodeBadRequest, Msg: fmt.Sprintf("bus: %s %q: %v", verb(kind), name, err), Err: err}
	}
	if ni.validator != nil {
		if terr := c.checkSend(ni, kind, local, raw); terr != nil { // schema.go
			return nil, nil, terr
		}
	}
	now := time.Now()
	env := &troupe.Envelope{
		ID:      newID(now), // newenv.go
		Kind:    kind,
		Name:    name,
		Sender:  c.member,
		SentAt:  now,
		Durable: ni.durable,
		Payload: raw,
		Value:   troupe.ValueOf(payload),
		From:    c.member.Service,
	}
	if terr := c.principal(ctx, env, ni); terr != nil { // identity.go
		return nil, nil, terr
	}
	env.ActivityID = env.ID
	if parent := EnvelopeFrom(ctx); parent != nil {
		if parent.ActivityID != "" {
			env.ActivityID = parent.ActivityID
		}
		traceHeaders(env, parent) // tap.go
	}
	if kind == troupe.KindRequest {
		dl := now.Add(b.timeout)
		if d, ok := ctx.Deadline(); ok && d.Before(dl) {
			dl = d
		}
		if !dl.After(now) {
			b.refuse(c, ni, "deadline already passed", "sender", c.member.String(), "name", name)
			return nil, nil, &troupe.Error{Code: troupe.CodeTimeout, Msg: fmt.Sprintf("bus: request %q: deadline already passed", name), Err: context.DeadlineExceeded}
		}
		env.Deadline = dl
	}
	return env, si, nil
}

// verb names what a kind of envelope is in error messages.
func verb(k troupe.Kind) string {
	switch k {
	case troupe.KindRequest:
		return "request"
	case troupe.KindSend:
		return "send"
	case troupe.KindPublish:
		return "publish"
	}
	return string(k)
}

// encode turns a payload argument into JSON within the size limit.
func (b *Bus) encode(payload any) (json.RawMessage, error) {
	var raw []byte
	switch p := payload.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		raw = p
	case []byte:
		raw = p
	default:
		var ok bool
		if raw, ok = plainjson.Marshal(payload); !ok { // the same bytes, for plain data
			var err error
			if raw, err = json.Marshal(payload); err != nil {
				return nil, fmt.Errorf("payload: %w", err)
			}
		}
	}
	if len(raw) > b.maxSize {
		return nil, fmt.Errorf("payload is %d bytes (at most %d)", len(raw), b.maxSize)
	}
	if _, ok := payload.(json.RawMessage); ok || isBytes(payload) {
		if !strictjson.Valid(raw) {
			return nil, errors.New("payload is not valid JSON")
		}
	}
	return raw, nil
}

func isBytes(v any) bool { _, ok := v.([]byte); return ok }

// route hands a send or publish to the transport and counts it.
func (c *Client) route(ctx context.Context, env *troupe.Envelope, si *sendInfo, zeroOK bool) error {
	ni := si.name
	if len(ni.receivers) == 0 {
		// A publish nobody receives: accepted, counted, not routed.
		c.count(ni).sent.Add(1)
		return nil
	}
	err := c.bus.routeChecked(ctx, c.port, env, ni.validator != nil)
	if err != nil {
		if errors.Is(err, troupe.ErrNoReceiver) {
			if zeroOK {
				c.count(ni).sent.Add(1)
				return nil
			}
			c.bus.refuse(c, ni, "no receiver subscribed", "sender", c.member.String(), "name", env.Name)
			return noInstance(verb(env.Kind), env.Name)
		}
		c.count(ni).errors.Add(1)
		return fmt.Errorf("bus: %s %q: %w", verb(env.Kind), env.Name, err)
	}
	c.count(ni).sent.Add(1)
	if t := c.bus.tapping(); t != nil {
		emit(t, TapEvent{Kind: TapSent, Member: c.member, Env: env})
	}
	return nil
}

// start registers a pending request, takes its bulkhead slots and routes it.
// A pooled pending must be recycled by its caller after finish.
func (c *Client) start(ctx context.Context, env *troupe.Envelope, si *sendInfo, pooled bool) (*pending, error) {
	ni := si.name
	max := c.bus.maxOut
	for i, bh := range si.bulkheads {
		if bh.Add(1) > max {
			for _, u := range si.bulkheads[:i+1] {
				u.Add(-1)
			}
			c.bus.refuse(c, ni, "bulkhead full", "sender", c.member.String(), "name", env.Name, "target", ni.receivers[i])
			return nil, &troupe.Error{Code: troupe.CodeUnavailable, Msg: fmt.Sprintf("bus: request %q: %d requests to %q outstanding (bulkhead)", env.Name, max, ni.receivers[i])}
		}
	}
	var p *pending
	if pooled {
		p = pendingPool.Get().(*pending)
		select {
		case <-p.ready: // a stale signal from its last life
		default:
		}
	} else {
		p = &pending{ready: make(chan struct{}, 1)}
	}
	p.mu.Lock()
	p.c, p.id, p.si, p.start, p.deadline, p.finals = c, env.ID, si, env.SentAt, env.Deadline, len(ni.receivers)
	p.q, p.gotFinals, p.done, p.finished, p.err, p.timer, p.pooled = p.qbuf[:0], 0, false, false, nil, nil, pooled
	p.last = time.Time{}
	p.mu.Unlock()
	c.pend.put(p)
	c.count(ni).inFlight.Add(1)
	if err := c.bus.routeChecked(ctx, c.port, env, ni.validator != nil); err != nil {
		c.pend.remove(p.id)
		p.mu.Lock()
		already := p.finished // replies may have completed it during Route
		p.done = true
		p.finished = true
		p.mu.Unlock()
		if !already {
			p.release()
		}
		if pooled {
			p.recycle()
		}
		if errors.Is(err, troupe.ErrNoReceiver) {
			c.bus.refuse(c, ni, "no receiver subscribed", "sender", c.member.String(), "name", env.Name)
			return nil, noInstance("request", env.Name)
		}
		c.count(ni).errors.Add(1)
		return nil, fmt.Errorf("bus: request %q: %w", env.Name, err)
	}
	c.count(ni).sent.Add(1)
	if t := c.bus.tapping(); t != nil {
		emit(t, TapEvent{Kind: TapSent, Member: c.member, Env: env})
	}
	return p, nil
}

// Deliver receives the replies addressed to the client's member.
func (in *inbox) Deliver(env *troupe.Envelope, ack Acker) {
	c := (*Client)(in)
	if ack != nil {
		_ = ack.Ack() // replies are never redelivered
	}
	b := c.bus
	if env == nil || env.Kind != troupe.KindReply {
		b.drop(c, nil, dropOther, "not a reply in the inbox", "member", c.member.String())
		return
	}
	if env.From == "" || env.From != env.Sender.Service {
		// A reply whose replier the transport did not authenticate, or
		// that claims another service's name (identity.go).
		b.refuse(c, b.names[env.Name], "reply: "+forgedReason(env), "member", c.member.String(), "name", env.Name, "replier", env.Sender.String(), "from", env.From, "responseTo", env.ResponseTo)
		return
	}
	if p := c.pend.get(env.ResponseTo); p != nil {
		p.deliver(c, env)
		return
	}
	c.stray(env)
}

// stray counts a reply to a request that is not (or no longer) pending.
func (c *Client) stray(env *troupe.Envelope) {
	b := c.bus
	if !env.Deadline.IsZero() && time.Now().After(env.Deadline) {
		b.drop(c, b.names[env.Name], dropLate, "late reply", "member", c.member.String(), "name", env.Name, "responseTo", env.ResponseTo)
		return
	}
	b.drop(c, b.names[env.Name], dropOther, "reply to an unknown request", "member", c.member.String(), "name", env.Name, "responseTo", env.ResponseTo)
}

// pending is one outstanding request.
type pending struct {
	c        *Client
	id       troupe.ID
	si       *sendInfo
	start    time.Time
	deadline time.Time
	finals   int           // final replies expected: one per receiving service
	ready    chan struct{} // signalled when q grows or the request ends
	timer    *time.Timer   // Call only: ends the request at the deadline

	pooled bool // a Request's: recycled after finish

	mu        sync.Mutex
	q         []*troupe.Envelope
	qbuf      [1]*troupe.Envelope
	gotFinals int
	last      time.Time // when the last reply arrived
	done      bool      // no more replies accepted
	finished  bool      // stats recorded, slots released
	err       error     // why it ended, for Next
}

var pendingPool = sync.Pool{New: func() any { return &pending{ready: make(chan struct{}, 1)} }}

// recycle returns a finished Request's pending to the pool. A reply racing
// with it finds another ID and is counted as stray.
func (p *pending) recycle() {
	p.mu.Lock()
	p.id = ""
	p.c, p.si, p.err = nil, nil, nil
	clear(p.q)
	p.qbuf[0] = nil
	p.q = nil
	p.mu.Unlock()
	pendingPool.Put(p)
}

// endIf ends the request if p still is request id.
func (p *pending) endIf(id troupe.ID, err error) {
	p.mu.Lock()
	same := p.id == id && !p.finished
	p.mu.Unlock()
	if same {
		p.end(err)
	}
}

// deliver queues a reply that the client c received for p.
func (p *pending) deliver(c *Client, env *troupe.Envelope) {
	b := c.bus
	p.mu.Lock()
	if p.id != env.ResponseTo || p.finished {
		p.mu.Unlock()
		c.stray(env)
		return
	}
	ni := p.si.name
	now := time.Now()
	if e := transportAnswer(c, env); e != nil {
		p.mu.Unlock()
		if e.Code == troupe.CodeUnavailable || e.Code == troupe.CodeNotFound {
			b.refuse(c, ni, "no receiver subscribed (transport)", "sender", c.member.String(), "name", ni.name)
			p.end(noInstance("request", ni.name))
			return
		}
		b.refuse(c, ni, "refused by a receiver's transport", "sender", c.member.String(), "name", ni.name, "error", e.Msg)
		p.end(&troupe.Error{Code: e.Code, Msg: fmt.Sprintf("bus: request %q: refused: %s", ni.name, e.Msg)})
		return
	}
	switch {
	case !validReplier(ni, env.Sender.Service):
		p.mu.Unlock()
		b.refuse(c, ni, "reply from a service that does not receive the request", "member", c.member.String(), "name", ni.name, "replier", env.Sender.String())
		return
	case len(env.Payload) > b.maxSize:
		p.mu.Unlock()
		b.drop(c, ni, dropOther, "oversized reply", "member", c.member.String(), "name", ni.name, "size", len(env.Payload))
		return
	case now.After(p.deadline):
		p.mu.Unlock()
		b.drop(c, ni, dropLate, "late reply", "member", c.member.String(), "name", ni.name, "responseTo", env.ResponseTo)
		return
	case p.done:
		p.mu.Unlock()
		b.drop(c, ni, dropOther, "reply to a finished request", "member", c.member.String(), "name", ni.name, "responseTo", env.ResponseTo)
		return
	}
	if env.Name != troupe.ErrorName && (ni.replies != nil || b.schemas.Len() > 0) {
		env = c.checkReplyIn(ni, env) // schema.go
	}
	env = localEnvelope(env, c.sp.localName(env.Name)) // translate.go
	p.q = append(p.q, env)
	p.last = now
	if !env.More {
		p.gotFinals++
		if p.gotFinals >= p.finals {
			p.done = true
		}
	}
	complete := p.done && !p.pooled && p.err == nil
	p.mu.Unlock()
	select {
	case p.ready <- struct{}{}:
	default:
	}
	if complete {
		// A Call or Collect has all its replies: release its slot now;
		// Next still yields the queued replies, then io.EOF.
		p.finish(nil)
	}
}

// noInstance is the error of a message to a name that the manifest says some
// service receives, when no instance of it is subscribed right now (none has
// started yet, the last one is restarting, the transport is reconnecting):
// unavailable, for the caller to try again later, with the cause
// troupe.ErrNoReceiver. A name that no service declares is refused with
// not_found instead, before anything is sent.
func noInstance(verb, name string) *troupe.Error {
	return &troupe.Error{Code: troupe.CodeUnavailable, Msg: fmt.Sprintf("bus: %s %q: no instance receives it now; try again later", verb, name), Err: troupe.ErrNoReceiver}
}

// transportAnswer returns the error of env if it is the transport's own
// answer to a request of this member (see TransportReply): a final Error
// reply that the transport addressed from this member to itself, marked
// with HeaderTransport. It ends the request at once instead of at its
// deadline: unavailable and not_found with the error of noInstance, others
// (a receiver's transport refused the request) with their code.
func transportAnswer(c *Client, env *troupe.Envelope) *troupe.Error {
	if env.Sender != c.member || env.From != c.member.Service || env.Name != troupe.ErrorName || env.More ||
		env.Headers[HeaderTransport] == "" {
		return nil
	}
	return env.Err()
}

// HeaderTransport marks an Error reply that a transport made itself, for
// the requester's bus (TransportReply). It never travels: transports make
// such replies on the requester's side.
const HeaderTransport = "troupe-transport"

// NoReceiverReply returns the envelope that a transport which learns only
// after Route that no member received the request id sent by requester (as
// NATS answers "no responders") delivers to the requester's inbox: a final
// unavailable Error reply to the request, sent by the requester itself. The
// requester's bus ends the request at once with an unavailable error whose
// cause is troupe.ErrNoReceiver.
func NoReceiverReply(id troupe.ID, requester troupe.Member) *troupe.Envelope {
	return TransportReply(id, requester, &troupe.Error{Code: troupe.CodeUnavailable, Msg: troupe.ErrNoReceiver.Error()})
}

// TransportReply returns an Error reply to request id that a transport
// delivers to the requester's inbox when it learns, on its own, how the
// request ended: nobody received it (NoReceiverReply), or a receiver's
// transport refused it (a forbidden or bad_request answer on the NATS reply
// subject). It is marked with HeaderTransport and sent by the requester
// itself; the requester's bus ends the request at once with e's code.
func TransportReply(id troupe.ID, requester troupe.Member, e *troupe.Error) *troupe.Envelope {
	payload, _ := json.Marshal(&troupe.Error{Code: e.Code, Msg: e.Msg})
	return &troupe.Envelope{
		Kind: troupe.KindReply, Name: troupe.ErrorName, ID: troupe.NewID(), ActivityID: id,
		ResponseTo: id, Sender: requester, SentAt: time.Now(), Payload: payload,
		Headers: map[string]string{HeaderTransport: "1"}, From: requester.Service,
	}
}

func validReplier(ni *nameInfo, service string) bool {
	for _, r := range ni.receivers {
		if r == service {
			return true
		}
	}
	return false
}

var timerPool = sync.Pool{New: func() any {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}}

// wait returns the next reply, io.EOF once every final reply has been
// taken, or the error that ended the request (timeout, cancellation, close).
// first makes the first reply end the request (Request).
func (p *pending) wait(ctx context.Context, first bool) (*troupe.Envelope, error) {
	var timer *time.Timer
	spin := true // yield for the first reply before parking (spin.go)
	defer func() {
		if timer != nil {
			timer.Stop()
			timerPool.Put(timer)
		}
	}()
	for {
		p.mu.Lock()
		if len(p.q) > 0 {
			env := p.q[0]
			p.q[0] = nil
			p.q = p.q[1:]
			if first {
				p.done = true
			}
			p.mu.Unlock()
			return env, nil
		}
		if p.err != nil {
			err := p.err
			p.mu.Unlock()
			return nil, err
		}
		if p.done {
			p.mu.Unlock()
			return nil, io.EOF
		}
		p.mu.Unlock()
		if spin && p.c.spin.try() && p.c.spin.await(p.ready) {
			spin = false
			continue
		}
		spin = false
		if timer == nil {
			if d, ok := ctx.Deadline(); !ok || d.After(p.deadline) {
				timer = timerPool.Get().(*time.Timer)
				timer.Reset(time.Until(p.deadline))
			}
		}
		var tc <-chan time.Time
		if timer != nil {
			tc = timer.C
		}
		select {
		case <-p.ready:
		case <-tc:
			p.expire()
		case <-ctx.Done():
			if ctx.Err() == context.DeadlineExceeded || !time.Now().Before(p.deadline) {
				p.expire()
			} else {
				p.end(fmt.Errorf("bus: request %q: %w", p.si.name.name, ctx.Err()))
			}
		}
	}
}

// arm starts the timer that ends an asynchronous Call at its deadline.
func (p *pending) arm() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.done && p.err == nil {
		p.timer = time.AfterFunc(time.Until(p.deadline), func() {
			p.expire()
			p.mu.Lock()
			err := p.err
			p.mu.Unlock()
			if err == io.EOF {
				err = nil
			}
			p.finish(err) // release the slot even if nobody calls Next
		})
	}
}

// expire ends the request with a timeout unless all replies are in.
func (p *pending) expire() {
	p.end(&troupe.Error{Code: troupe.CodeTimeout, Msg: fmt.Sprintf("bus: request %q: deadline exceeded", p.si.name.name), Err: context.DeadlineExceeded})
}

// end stops accepting replies; queued replies can still be taken.
func (p *pending) end(err error) {
	p.mu.Lock()
	if p.err == nil && p.gotFinals < p.finals {
		p.err = err
		p.done = true
	}
	p.mu.Unlock()
	select {
	case p.ready <- struct{}{}:
	default:
	}
}

// finish records the request's outcome once: unregisters it, releases its
// bulkhead slots, and counts in flight, errors and latency.
func (p *pending) finish(err error) {
	p.mu.Lock()
	if p.finished {
		p.mu.Unlock()
		return
	}
	p.finished = true
	p.done = true
	if p.err == nil {
		p.err = err
		if err == nil {
			p.err = io.EOF
		}
	}
	t, last := p.timer, p.last
	p.mu.Unlock()
	if t != nil {
		t.Stop()
	}
	p.c.pend.remove(p.id)
	p.release()
	ni := p.si.name
	var d time.Duration
	if err == nil && !last.IsZero() {
		d = last.Sub(p.start) // when the reply arrived
	} else {
		d = time.Since(p.start)
	}
	p.c.count(ni).latency.observe(d)
	if err != nil {
		k := p.c.count(ni)
		k.errors.Add(1)
		k.byCode[codeIndex(err)].Add(1)
	}
	select {
	case p.ready <- struct{}{}:
	default:
	}
}

// release gives back the bulkhead slots and the in-flight count.
func (p *pending) release() {
	for _, bh := range p.si.bulkheads {
		bh.Add(-1)
	}
	p.c.count(p.si.name).inFlight.Add(-1)
}

// A Call is an asynchronous request: its replies arrive while the caller
// does other work, and Next yields them in order.
type Call struct {
	p *pending
}

// ID returns the ID of the request envelope.
func (c *Call) ID() troupe.ID { return c.p.id }

// Next returns the next reply. An Error reply comes back as
// (nil, *troupe.Error) and later replies can still follow. After the final
// reply of every receiving service Next returns io.EOF; at the deadline a
// timeout *troupe.Error; after Cancel an error wrapping context.Canceled.
func (c *Call) Next(ctx context.Context) (*troupe.Envelope, error) {
	env, err := c.p.wait(ctx, false)
	if err != nil {
		if err == io.EOF {
			c.p.finish(nil)
		} else {
			c.p.finish(err)
		}
		return nil, err
	}
	if e := env.Err(); e != nil {
		return nil, e
	}
	return env, nil
}

// Cancel stops waiting for replies: replies not yet taken and later ones are
// dropped, and Next returns an error wrapping context.Canceled. It releases
// the request's bulkhead slot. Cancel is idempotent.
func (c *Call) Cancel() {
	p := c.p
	p.mu.Lock()
	if p.err == nil || p.err == io.EOF {
		p.err = fmt.Errorf("bus: request %q: %w", p.si.name.name, context.Canceled)
	}
	p.done = true
	clear(p.q)
	p.q = p.q[:0]
	p.mu.Unlock()
	p.finish(nil)
}

// pendingTable maps request IDs to pending requests, sharded to keep
// contention low.
type pendingTable struct {
	shards [32]pendingShard
}

type pendingShard struct {
	mu sync.Mutex
	m  map[troupe.ID]*pending
	_  [40]byte // keep shards on separate cache lines
}

func (t *pendingTable) init() {
	for i := range t.shards {
		t.shards[i].m = make(map[troupe.ID]*pending)
	}
}

func (t *pendingTable) shard(id troupe.ID) *pendingShard {
	var h uint32
	if n := len(id); n >= 2 {
		h = uint32(id[n-1]) + 31*uint32(id[n-2])
	}
	return &t.shards[h%uint32(len(t.shards))]
}

func (t *pendingTable) put(p *pending) {
	s := t.shard(p.id)
	s.mu.Lock()
	s.m[p.id] = p
	s.mu.Unlock()
}

func (t *pendingTable) get(id troupe.ID) *pending {
	s := t.shard(id)
	s.mu.Lock()
	p := s.m[id]
	s.mu.Unlock()
	return p
}

func (t *pendingTable) remove(id troupe.ID) {
	s := t.shard(id)
	s.mu.Lock()
	delete(s.m, id)
	s.mu.Unlock()
}

// pendingEntry is a pending request as it was when listed.
type pendingEntry struct {
	p    *pending
	id   troupe.ID
	name string
}

func (t *pendingTable) all() []pendingEntry {
	var out []pendingEntry
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		for id, p := range s.m {
			out = append(out, pendingEntry{p: p, id: id})
		}
		s.mu.Unlock()
	}
	for i := range out {
		p := out[i].p
		p.mu.Lock()
		if p.id == out[i].id && p.si != nil {
			out[i].name = p.si.name.name
		}
		p.mu.Unlock()
	}
	return out
}
