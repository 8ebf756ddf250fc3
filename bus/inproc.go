package bus

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/troupe-go/troupe"
)

// InProcConfig configures the durability of an in-process transport.
type InProcConfig struct {
	// AckTimeout is how long a durable delivery may stay unsettled before
	// it is delivered again. Zero means 30s.
	AckTimeout time.Duration
	// MaxDeliver bounds the deliveries of one durable envelope to one
	// service, whatever the reason; after the last it is dead-lettered.
	// Zero means 10. (The Bus dead-letters a failing handler's envelope
	// after Config.MaxAttempts, normally earlier.)
	MaxDeliver int
}

// InProc is the in-process Transport: it passes *troupe.Envelope values
// between the members of one process without encoding them, and delivers in
// the sender's goroutine (Deliverers hand envelopes over and return).
//
// Durable envelopes are delivered at least once: each delivery must be
// settled through its Acker; a Nak or a missing ack (after AckTimeout)
// redelivers, to another instance if the member left, and after MaxDeliver
// attempts or a Term the envelope goes to the dead letters. All of this is in
// memory: in-process durability protects against a crashing handler, not
// against the process exiting. Use the NATS transport with JetStream for
// persistence.
type InProc struct {
	cfg     InProcConfig
	mu      sync.Mutex // guards the maps below and the copy-on-write tables
	members map[troupe.Member]*inprocPort
	groups  map[string]map[string]*group // name → service → group
	dead    []DeadLetter
	open    map[*delivery]struct{} // durable deliveries not yet settled

	routes  atomic.Pointer[map[string][]route]          // name → groups with subscribers
	inboxes atomic.Pointer[map[troupe.Member]Deliverer] // member → reply inbox
	closed  atomic.Bool
	active  atomic.Int64   // Route/Reply calls in progress
	timers  sync.WaitGroup // durable redelivery callbacks
}

var _ Transport = (*InProc)(nil)

// DeadLetter is a durable envelope that one service gave up on.
type DeadLetter struct {
	Env      *troupe.Envelope
	Service  string
	Attempts int
	Reason   string
	At       time.Time
}

// NewInProc returns an in-process transport with the default InProcConfig.
func NewInProc() *InProc { return NewInProcWith(InProcConfig{}) }

// NewInProcWith returns an in-process transport configured by cfg.
func NewInProcWith(cfg InProcConfig) *InProc {
	if cfg.AckTimeout <= 0 {
		cfg.AckTimeout = 30 * time.Second
	}
	if cfg.MaxDeliver <= 0 {
		cfg.MaxDeliver = 10
	}
	t := &InProc{
		cfg:     cfg,
		members: make(map[troupe.Member]*inprocPort),
		groups:  make(map[string]map[string]*group),
		open:    make(map[*delivery]struct{}),
	}
	t.routes.Store(&map[string][]route{})
	t.inboxes.Store(&map[troupe.Member]Deliverer{})
	return t
}

// group is the instances of one service subscribed to one name. They
// compete: each envelope goes to one of them, round robin.
type group struct {
	name, service string
	mode          Delivery
	subs          []*inprocSub // copy-on-write under InProc.mu
	next          atomic.Uint32
	backlog       []*delivery // durable, waiting for an instance; under InProc.mu
}

// route is a snapshot of one group's subscribers, read without locking.
type route struct {
	g    *group
	subs []*inprocSub
}

type inprocSub struct {
	port *inprocPort
	d    Deliverer
}

type inprocPort struct {
	t      *InProc
	member troupe.Member
	inbox  Deliverer
	closed bool // under t.mu
}

var errInProcClosed = errors.New("bus: inproc: transport closed")

// Join attaches member m with its reply inbox.
func (t *InProc) Join(ctx context.Context, m troupe.Member, inbox Deliverer) (Port, error) {
	if inbox == nil {
		return nil, fmt.Errorf("bus: inproc: join %s: nil inbox", m)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed.Load() {
		return nil, errInProcClosed
	}
	if _, ok := t.members[m]; ok {
		return nil, fmt.Errorf("bus: inproc: join %s: %w", m, &troupe.Error{Code: troupe.CodeConflict, Msg: "member already joined"})
	}
	p := &inprocPort{t: t, member: m, inbox: inbox}
	t.members[m] = p
	t.publishInboxes()
	return p, nil
}

// publishInboxes rebuilds the inbox table; t.mu is held.
func (t *InProc) publishInboxes() {
	in := make(map[troupe.Member]Deliverer, len(t.members))
	for m, p := range t.members {
		in[m] = p.inbox
	}
	t.inboxes.Store(&in)
}

// publishRoutes rebuilds the routing table; t.mu is held.
func (t *InProc) publishRoutes() {
	r := make(map[string][]route, len(t.groups))
	for name, gs := range t.groups {
		for _, g := range gs {
			if len(g.subs) > 0 {
				r[name] = append(r[name], route{g: g, subs: g.subs})
			}
		}
	}
	t.routes.Store(&r)
}

// Subscribe adds d as this member's receiver of name.
func (p *inprocPort) Subscribe(name string, mode Delivery, d Deliverer) error {
	if d == nil {
		return fmt.Errorf("bus: inproc: subscribe %q: nil deliverer", name)
	}
	t := p.t
	t.mu.Lock()
	if p.closed || t.closed.Load() {
		t.mu.Unlock()
		return fmt.Errorf("bus: inproc: subscribe %q: port closed", name)
	}
	gs := t.groups[name]
	if gs == nil {
		gs = make(map[string]*group)
		t.groups[name] = gs
	}
	g := gs[p.member.Service]
	if g == nil {
		g = &group{name: name, service: p.member.Service, mode: mode}
		gs[p.member.Service] = g
	}
	if len(g.subs) == 0 {
		g.mode = mode
	}
	if g.mode != mode {
		t.mu.Unlock()
		return fmt.Errorf("bus: inproc: subscribe %q: %s asks for %s delivery, its service's other instances for %s", name, p.member, mode, g.mode)
	}
	for _, s := range g.subs {
		if s.port == p {
			t.mu.Unlock()
			return fmt.Errorf("bus: inproc: subscribe %q: %s already subscribed", name, p.member)
		}
	}
	subs := make([]*inprocSub, len(g.subs), len(g.subs)+1)
	copy(subs, g.subs)
	g.subs = append(subs, &inprocSub{port: p, d: d})
	t.publishRoutes()
	backlog := g.backlog
	g.backlog = nil
	t.mu.Unlock()
	for _, dl := range backlog {
		t.dispatch(dl)
	}
	return nil
}

// Route delivers env to one instance of each subscribed service.
func (p *inprocPort) Route(ctx context.Context, env *troupe.Envelope) error {
	t := p.t
	t.active.Add(1)
	defer t.active.Add(-1)
	if t.closed.Load() {
		return errInProcClosed
	}
	if env == nil {
		return errors.New("bus: inproc: route: nil envelope")
	}
	env, err := p.authenticate("route", env)
	if err != nil {
		return err
	}
	if env.Durable {
		return t.routeDurable(env)
	}
	rs := (*t.routes.Load())[env.Name]
	if len(rs) == 0 {
		return fmt.Errorf("bus: inproc: route %q: %w", env.Name, troupe.ErrNoReceiver)
	}
	for _, r := range rs {
		if r.g.mode == EveryInstance {
			for _, s := range r.subs {
				s.d.Deliver(env, nil)
			}
			continue
		}
		s := r.subs[0]
		if len(r.subs) > 1 {
			s = r.subs[r.g.next.Add(1)%uint32(len(r.subs))]
		}
		s.d.Deliver(env, nil)
	}
	return nil
}

// routeDurable stores env for every service that ever subscribed to its
// name, whether or not an instance is subscribed now, and delivers it.
func (t *InProc) routeDurable(env *troupe.Envelope) error {
	t.mu.Lock()
	gs := t.groups[env.Name]
	dls := make([]*delivery, 0, len(gs))
	for _, g := range gs {
		dls = append(dls, &delivery{t: t, g: g, env: env})
	}
	t.mu.Unlock()
	if len(dls) == 0 {
		return fmt.Errorf("bus: inproc: route %q: %w", env.Name, troupe.ErrNoReceiver)
	}
	for _, dl := range dls {
		t.dispatch(dl)
	}
	return nil
}

// Reply delivers env to member to's inbox.
func (p *inprocPort) Reply(ctx context.Context, to troupe.Member, env *troupe.Envelope) error {
	t := p.t
	t.active.Add(1)
	defer t.active.Add(-1)
	if t.closed.Load() {
		return errInProcClosed
	}
	if env == nil {
		return errors.New("bus: inproc: reply: nil envelope")
	}
	env, err := p.authenticate("reply", env)
	if err != nil {
		return err
	}
	in := (*t.inboxes.Load())[to]
	if in == nil {
		return fmt.Errorf("bus: inproc: reply to %s: %w", to, &troupe.Error{Code: troupe.CodeNotFound, Msg: "member not joined"})
	}
	in.Deliver(env, nil)
	return nil
}

// authenticate is the in-process transport's half of identity: an envelope
// routed or replied through a member's port must be sent by that member
// (else forbidden, as a NATS server refuses a subject the user may not
// publish), and is delivered with From set to the member's service. An
// envelope the bus prepared has From set already and is not copied.
func (p *inprocPort) authenticate(op string, env *troupe.Envelope) (*troupe.Envelope, error) {
	if env.Sender != p.member {
		return nil, &troupe.Error{Code: troupe.CodeForbidden, Msg: fmt.Sprintf("bus: inproc: %s %q: sender %s is not the member %s", op, env.Name, env.Sender, p.member)}
	}
	if env.From != p.member.Service {
		cp := *env
		cp.From = p.member.Service
		env = &cp
	}
	return env, nil
}

// Leave stops deliveries to the member; envelopes are delivered in the
// sender's goroutine, so none is on its way once Leave returns.
func (p *inprocPort) Leave(context.Context) error {
	t := p.t
	t.mu.Lock()
	defer t.mu.Unlock()
	p.unsubscribeAll()
	t.publishRoutes()
	return nil
}

// unsubscribeAll removes the member from every group; t.mu is held.
func (p *inprocPort) unsubscribeAll() {
	for _, gs := range p.t.groups {
		g := gs[p.member.Service]
		if g == nil {
			continue
		}
		subs := make([]*inprocSub, 0, len(g.subs))
		for _, s := range g.subs {
			if s.port != p {
				subs = append(subs, s)
			}
		}
		g.subs = subs
	}
}

// Close detaches the member. Its unsettled durable deliveries go to the
// service's other instances, or wait for the next one to subscribe.
func (p *inprocPort) Close() error {
	t := p.t
	t.mu.Lock()
	if p.closed {
		t.mu.Unlock()
		return nil
	}
	p.closed = true
	if t.members[p.member] == p {
		delete(t.members, p.member)
		t.publishInboxes()
	}
	p.unsubscribeAll()
	t.publishRoutes()
	var orphans []*delivery
	for dl := range t.open {
		if dl.port == p {
			orphans = append(orphans, dl)
		}
	}
	t.mu.Unlock()
	for _, dl := range orphans {
		dl.requeue(false)
	}
	return nil
}

// Close detaches every member, waits for deliveries in progress to return
// or ctx to end, and drops the unsettled durable deliveries (they live in
// memory only).
func (t *InProc) Close(ctx context.Context) error {
	t.mu.Lock()
	if t.closed.Swap(true) {
		t.mu.Unlock()
		return nil
	}
	for _, p := range t.members {
		p.closed = true
	}
	clear(t.members)
	t.publishInboxes()
	clear(t.groups)
	t.publishRoutes()
	for dl := range t.open {
		dl.stopTimer()
	}
	clear(t.open)
	t.mu.Unlock()
	for t.active.Load() > 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("bus: inproc: close: %w", ctx.Err())
		default:
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
	done := make(chan struct{})
	go func() { t.timers.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("bus: inproc: close: %w", ctx.Err())
	}
}

// DeadLetters returns the durable envelopes given up on so far.
func (t *InProc) DeadLetters() []DeadLetter {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]DeadLetter(nil), t.dead...)
}

// delivery is one durable envelope on its way to one service.
type delivery struct {
	t   *InProc
	g   *group
	env *troupe.Envelope

	// under t.mu:
	attempts int
	port     *inprocPort  // the member holding the current attempt
	timer    *time.Timer  // ack timeout or Nak delay
	settled  bool         // acked or dead
	token    *inprocAcker // the current attempt's acker
}

// dispatch delivers dl's next attempt to one instance of its service, or
// parks it until one subscribes.
func (t *InProc) dispatch(dl *delivery) {
	t.mu.Lock()
	if t.closed.Load() || dl.settled {
		t.mu.Unlock()
		return
	}
	subs := dl.g.subs
	if len(subs) == 0 {
		delete(t.open, dl)
		dl.g.backlog = append(dl.g.backlog, dl)
		t.mu.Unlock()
		return
	}
	s := subs[dl.g.next.Add(1)%uint32(len(subs))]
	dl.attempts++
	dl.port = s.port
	tok := &inprocAcker{dl: dl, attempt: dl.attempts}
	dl.token = tok
	t.open[dl] = struct{}{}
	dl.startTimer(t.cfg.AckTimeout, func() { dl.requeue(true) })
	env := *dl.env
	env.Headers = maps.Clone(dl.env.Headers)
	if env.Headers == nil {
		env.Headers = make(map[string]string, 1)
	}
	env.Headers[HeaderAttempt] = strconv.Itoa(dl.attempts)
	t.mu.Unlock()
	s.d.Deliver(&env, tok)
}

// startTimer arms dl's timer; t.mu is held.
func (dl *delivery) startTimer(d time.Duration, f func()) {
	dl.stopTimer()
	t := dl.t
	t.timers.Add(1)
	var tm *time.Timer
	tm = time.AfterFunc(d, func() {
		defer t.timers.Done()
		t.mu.Lock()
		current := dl.timer == tm
		if current {
			dl.timer = nil
		}
		t.mu.Unlock()
		if current {
			f()
		}
	})
	dl.timer = tm
}

// stopTimer disarms dl's timer; t.mu is held.
func (dl *delivery) stopTimer() {
	if dl.timer != nil {
		if dl.timer.Stop() {
			dl.t.timers.Done()
		}
		dl.timer = nil
	}
}

// requeue delivers dl again, or dead-letters it after MaxDeliver attempts.
// timedOut says the current attempt was not settled in time.
func (dl *delivery) requeue(timedOut bool) {
	t := dl.t
	t.mu.Lock()
	if dl.settled || t.closed.Load() {
		t.mu.Unlock()
		return
	}
	dl.token = nil
	dl.stopTimer()
	if dl.attempts >= t.cfg.MaxDeliver {
		reason := "max deliveries reached"
		if timedOut {
			reason = "not acknowledged after max deliveries"
		}
		dl.deadLocked(reason)
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	t.dispatch(dl)
}

// deadLocked moves dl to the dead letters; t.mu is held.
func (dl *delivery) deadLocked(reason string) {
	dl.settled = true
	dl.stopTimer()
	delete(dl.t.open, dl)
	dl.t.dead = append(dl.t.dead, DeadLetter{Env: dl.env, Service: dl.g.service, Attempts: dl.attempts, Reason: reason, At: time.Now()})
}

// inprocAcker settles one attempt of a durable delivery.
type inprocAcker struct {
	dl      *delivery
	attempt int
}

var errStaleAck = errors.New("bus: inproc: delivery already settled or redelivered")

// current reports whether a is still the live attempt; t.mu is held.
func (a *inprocAcker) current() bool {
	return !a.dl.settled && a.dl.token == a
}

func (a *inprocAcker) Ack() error {
	t := a.dl.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if !a.current() {
		return errStaleAck
	}
	a.dl.settled = true
	a.dl.token = nil
	a.dl.stopTimer()
	delete(t.open, a.dl)
	return nil
}

func (a *inprocAcker) Nak(delay time.Duration) error {
	t := a.dl.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if !a.current() {
		return errStaleAck
	}
	dl := a.dl
	dl.token = nil
	if dl.attempts >= t.cfg.MaxDeliver {
		dl.deadLocked("max deliveries reached")
		return nil
	}
	dl.startTimer(max(delay, 0), func() { t.dispatch(dl) })
	return nil
}

func (a *inprocAcker) Term(reason string) error {
	t := a.dl.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if !a.current() {
		return errStaleAck
	}
	a.dl.deadLocked(reason)
	return nil
}
