package service

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/internal/limit"
)

// Config configures a Service.
type Config struct {
	// Name is the service's name in the application's manifest. Required.
	Name string
	// Instance names this instance; it must be unique within the service.
	// Empty means Name followed by a random suffix ("hello-k3v9q2m1").
	Instance string
	// Logger receives the service's own records (refused registrations,
	// replies that could not be sent). Nil means the actor system's logger.
	// Crash reports go to the actor system's logger.
	Logger *slog.Logger

	// Middleware are the serving-side interceptors, outermost first:
	// every message delivered to one of the service's handlers passes
	// through them, in this order, on its way to the handler.
	Middleware []Middleware
	// CallMiddleware are the calling-side interceptors, outermost first:
	// every message the service sends passes through them, then through
	// the fallback, the retries and the circuit breaker, then the bus.
	CallMiddleware []CallMiddleware

	// Breaker configures the circuit breaker in front of every service
	// this one calls; a zero field means its default (DefaultBreakerFailures
	// and the other DefaultBreaker constants): a breaker is on unless Off
	// is set.
	Breaker troupe.BreakerPolicy
	// Retry configures the retries of idempotent requests to every
	// target; a zero field means its default (DefaultRetryAttempts and
	// the other DefaultRetry constants). Only requests marked Idempotent
	// are retried, and those named in Retry.Messages.
	Retry troupe.RetryPolicy
	// Targets holds per-target policies. Field by field, the first that
	// sets one wins: the manifest's calls entry for the target (the
	// service's ServiceDecl.Calls), then Targets, then Breaker and Retry,
	// then the defaults. Off anywhere turns the breaker off.
	Targets []troupe.CallPolicy
	// OnBreaker, if set, is called with every state change of one of the
	// service's circuit breakers, on the goroutine whose request caused
	// it. It must not block; a node turns these into alarms.
	OnBreaker func(BreakerEvent)

	// Limit bounds the messages each handler of the instance handles at
	// once and the queue before it (troupe.LimitPolicy); a zero field
	// means its default: DefaultConcurrency, DefaultQueue, DefaultMaxWait.
	// A message that cannot be handled in time is shed at once instead of
	// timing out.
	Limit troupe.LimitPolicy
	// Limits holds per-message policies, by Name, field by field over
	// Limit.
	Limits []troupe.LimitPolicy
}

// A Service is one instance of a service: its handlers and, once started, its
// bus client and supervision tree. Register handlers with Handle, On and
// Stream, then Start it. Its methods are safe for concurrent use.
type Service struct {
	cfg Config

	mu       sync.Mutex
	handlers []*entry
	state    state
	client   *bus.Client
	sys      *actor.System
	top      actor.PID // the service's supervisor
	reqs     actor.PID // the request supervisor (simple_one_for_one)
	idle     idleWorkers
	log      *slog.Logger
	decls    []declared // typed endpoints and events, for Check (endpoint.go)
	instance string     // from Start on

	out     atomic.Pointer[outgoing] // the calling side, while started
	targets []*target                // the services it calls, by name, from Start on
}

type state int

const (
	created state = iota
	started
	stopped
)

// entry is one registered handler: the name it receives, the Handler,
// interceptors included, that decodes, calls the user's handler and answers,
// and the limit in front of it (nil when off).
type entry struct {
	name      string
	h         Handler
	lim       *limit.Limiter
	sensitive []string // payload fields crash reports leave out (MessageDecl.Sensitive)
}

// New returns a Service with no handlers.
func New(cfg Config) *Service {
	return &Service{cfg: cfg}
}

// Name returns the service's name.
func (s *Service) Name() string { return s.cfg.Name }

// Handles returns the names s has handlers for, in the order they were
// registered.
func (s *Service) Handles() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, len(s.handlers))
	for i, h := range s.handlers {
		names[i] = h.name
	}
	return names
}

// Client returns the service's bus client, or nil before Start. Requests
// made on it directly bypass the service's calling-side interceptors, its
// circuit breakers, retries and fallbacks; for calls made outside handlers
// (an HTTP handler of a web service, say) prefer Request with a context of
// its own.
func (s *Service) Client() *bus.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.client
}

// register adds a handler; before Start it is subscribed by Start, after
// Start at once.
func (s *Service) register(name string, h Handler) error {
	if err := troupe.ValidName(name); err != nil {
		return fmt.Errorf("service %s: handle: %w", s.cfg.Name, err)
	}
	e := &entry{name: name, h: chainHandler(h, s.cfg.Middleware), lim: s.limitFor(name)}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.handlers {
		if h.name == e.name {
			return fmt.Errorf("service %s: handle %q: already registered", s.cfg.Name, e.name)
		}
	}
	switch s.state {
	case started:
		if err := s.subscribe(e); err != nil {
			return err
		}
	case stopped:
		return fmt.Errorf("service %s: handle %q: service stopped", s.cfg.Name, e.name)
	}
	s.handlers = append(s.handlers, e)
	return nil
}

// Start joins bus b as this service's instance, starts the service's
// supervision tree in sys, and subscribes every registered handler. The
// service must be declared in b's App and receive every name it handles,
// and its typed endpoints and events must agree with the App (see Check).
func (s *Service) Start(ctx context.Context, b *bus.Bus, sys *actor.System) error {
	if err := troupe.ValidServiceName(s.cfg.Name); err != nil {
		return fmt.Errorf("service: name %v", err)
	}
	if err := s.Check(b.App()); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != created {
		return fmt.Errorf("service %s: already started", s.cfg.Name)
	}
	instance := s.cfg.Instance
	if instance == "" {
		instance = s.cfg.Name + "-" + randomSuffix()
	}
	s.log = s.cfg.Logger
	if s.log == nil {
		s.log = sys.Logger()
	}
	s.log = s.log.With("service", s.cfg.Name, "instance", instance)

	top, err := sys.StartSupervisor(actor.SupervisorSpec{
		// The instance's id names its tree, so that a crash report's
		// supervisor path ("root/hello-3kq9v0m2x7cd/requests") says
		// which instance of which service crashed.
		Name:     instance,
		Strategy: actor.OneForOne,
		Children: []actor.ChildSpec{{
			Name: "requests",
			Supervisor: &actor.SupervisorSpec{
				Name:     "requests",
				Strategy: actor.SimpleOneForOne,
				Children: []actor.ChildSpec{{
					Name:    "request",
					New:     func(arg any) actor.Behavior { return arg.(*worker) },
					Restart: actor.Temporary,
				}},
			},
		}},
	})
	if err != nil {
		return fmt.Errorf("service %s: start supervisor: %w", s.cfg.Name, err)
	}
	children, err := actor.Children(ctx, top)
	if err != nil || len(children) != 1 || children[0].PID.IsZero() {
		_ = actor.Stop(context.WithoutCancel(ctx), top)
		return fmt.Errorf("service %s: request supervisor did not start: %v", s.cfg.Name, err)
	}
	member := troupe.Member{Service: s.cfg.Name, Instance: instance}
	out, targets, err := s.calling(b.App(), member)
	if err != nil {
		_ = actor.Stop(context.WithoutCancel(ctx), top)
		return err
	}
	client, err := b.Join(ctx, s.cfg.Name, instance)
	if err != nil {
		_ = actor.Stop(context.WithoutCancel(ctx), top)
		return fmt.Errorf("service %s: %w", s.cfg.Name, err)
	}
	out.client = client
	out.invoke = s.invoker(client)
	s.sys, s.top, s.reqs, s.client, s.instance = sys, top, children[0].PID, client, instance
	// The calling side first: a handler may call out as soon as it is
	// subscribed.
	s.targets = targets
	s.out.Store(out)
	decl := b.App().Service(s.cfg.Name)
	for _, e := range s.handlers {
		if m := b.App().Message(decl.AppName(e.name)); m != nil {
			e.sensitive = m.Sensitive
		}
		if err := s.subscribe(e); err != nil {
			s.out.Store(nil)
			_ = client.Close()
			_ = actor.Stop(context.WithoutCancel(ctx), top)
			s.client, s.targets = nil, nil
			return err
		}
	}
	s.state = started
	return nil
}

// subscribe makes the bus deliver e.name to this instance. s.mu is held.
func (s *Service) subscribe(e *entry) error {
	err := s.client.Handle(e.name, bus.HandlerFunc(func(_ context.Context, m *bus.Msg) {
		s.dispatch(e, m)
	}))
	if err != nil {
		return fmt.Errorf("service %s: %w", s.cfg.Name, err)
	}
	return nil
}

// Stop takes the instance out of the service gracefully: it leaves the bus
// (no new message is delivered to it; those already on their way are), then
// stops the supervision tree, so that the messages being handled finish
// (within the actor runtime's shutdown timeout) and their replies go out,
// and only then closes its bus client. Until then the handlers may still
// send, publish and make requests. It waits until all is done or ctx
// ends. The service's other instances take the new messages meanwhile.
func (s *Service) Stop(ctx context.Context) error {
	s.mu.Lock()
	if s.state != started {
		s.state = stopped
		s.mu.Unlock()
		return nil
	}
	s.state = stopped
	client, top := s.client, s.top
	if out := s.out.Load(); out != nil {
		out.closing.Store(true) // what fails from here on is not the targets' fault
	}
	s.mu.Unlock()
	err := client.Leave(ctx)
	// The messages waiting in the handlers' limits were delivered: they
	// have their turn (no more arrive), and they are handled and answered
	// before the tree stops (within ctx; the tree's stop then abandons what
	// is left).
	for _, e := range s.entries() {
		if derr := e.lim.Drain(ctx); derr != nil {
			err = errors.Join(err, derr)
			break
		}
	}
	if serr := actor.Stop(ctx, top); serr != nil && !errors.Is(serr, actor.ErrNoProcess) {
		err = errors.Join(err, serr)
	}
	// The handlers have returned: from here on a call is refused at once
	// rather than by the closed client.
	s.out.Store(nil)
	err = errors.Join(err, client.Close())
	for _, e := range s.entries() {
		e.lim.Close() // what still waits is shed
	}
	if err != nil {
		return fmt.Errorf("service %s: stop: %w", s.cfg.Name, err)
	}
	return nil
}

// entries returns the registered handlers.
func (s *Service) entries() []*entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.handlers)
}

// dispatch hands m to e's limit: when its turn comes (at once, while fewer
// than the limit's concurrency are in progress), e runs for m in a request
// process; when it cannot come in time, m is shed. It is called on the
// transport's delivery path and returns at once: no goroutine waits for a
// turn.
func (s *Service) dispatch(e *entry, m *bus.Msg) {
	if e.lim == nil {
		s.run(e, m, time.Time{})
		return
	}
	if e.lim.TryAcquire() { // no closures on the way of most messages
		// Its turn came as it was delivered, which is the clock reading
		// the bus took an instant ago: no second one.
		s.run(e, m, m.Delivered())
		return
	}
	e.lim.Do(m.Env.Deadline, func() { s.run(e, m, time.Now()) }, func(err error) { shed(m, err, s) })
}

// run runs e for m, whose turn came at start, in a request process: an idle
// one of the service's (a process that handled an earlier message and is
// waiting for the next), or a new temporary child of the request supervisor
// started on this goroutine (actor.SpawnChild: no round trip to the
// supervisor). It returns once the process has the message.
func (s *Service) run(e *entry, m *bus.Msg, start time.Time) {
	j := jobs.Get().(*job)
	j.e, j.m, j.log, j.start = e, m, s.log, start
	for range 2 {
		w := s.idle.get()
		if w == nil {
			w = &worker{s: s}
			pid, err := actor.SpawnChild(s.reqs, w)
			if err != nil {
				j.fail(&troupe.Error{Code: troupe.CodeUnavailable, Msg: fmt.Sprintf("%s: service %s is not accepting work", m.Env.Name, s.cfg.Name), Err: err})
				j.finish()
				return
			}
			w.self = pid
		}
		if err := actor.Send(w.self, j); err == nil {
			return
		}
		// An idle worker stopped meanwhile (the service stops): try a
		// new one once.
	}
	j.fail(&troupe.Error{Code: troupe.CodeUnavailable, Msg: fmt.Sprintf("%s: service %s is not accepting work", m.Env.Name, s.cfg.Name)})
	j.finish()
}

// maxIdleWorkers bounds the request processes a service keeps waiting for
// work; a busier moment starts more, which exit once they find the pool
// full.
const maxIdleWorkers = 256

// worker is a request process. It handles one message at a time, each in
// the process it runs in (a crash ends the process, and so only that
// message), and, once a handler has returned, goes back to the service's
// idle workers for the next message, saving the start of a process per
// message. A worker that a handler crashed is never used again: the next
// message gets another.
type worker struct {
	s    *Service
	self actor.PID
}

var _ actor.Behavior = (*worker)(nil)

// Receive handles a job, then waits for the next one or exits.
func (w *worker) Receive(ctx *actor.Context, msg any) {
	j, ok := msg.(*job)
	if !ok {
		return
	}
	serve(j.e.h, j.m)
	j.finish()
	*j = job{} // a job that crashed never gets here, and is not reused
	jobs.Put(j)
	if !w.s.idle.put(w) {
		ctx.Stop(nil)
	}
}

// jobs recycles jobs: a job lives from its delivery to the end of its
// handler, and nothing outside the service holds it.
var jobs = sync.Pool{New: func() any { return new(job) }}

// idleWorkers is a service's request processes waiting for work, newest
// first (its stack is still warm).
type idleWorkers struct {
	mu   sync.Mutex
	free []*worker
}

func (p *idleWorkers) get() *worker {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.free)
	if n == 0 {
		return nil
	}
	w := p.free[n-1]
	p.free[n-1] = nil
	p.free = p.free[:n-1]
	return w
}

func (p *idleWorkers) put(w *worker) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.free) >= maxIdleWorkers {
		return false
	}
	p.free = append(p.free, w)
	return true
}

// job is one delivered message for a worker to handle. It is the message the
// worker receives, so that a crash while handling it reaches Crashed.
type job struct {
	e     *entry
	m     *bus.Msg
	log   *slog.Logger
	start time.Time // when its turn came
}

// finish gives the job's slot back to its handler's limit. It is called once:
// after the handler returned, after it crashed, or when no process could
// take the job.
func (j *job) finish() {
	if j.e == nil || j.e.lim == nil {
		return
	}
	// The final reply read the clock as it left: the handler's time ends
	// there (what it did after its answer is not its service time).
	end := j.m.RepliedAt()
	if end.IsZero() {
		end = time.Now()
	}
	j.e.lim.DoneAt(j.start, end, j.m.Env.Deadline)
}

var (
	_ actor.CrashObserver = (*job)(nil)
	_ actor.Describer     = (*job)(nil)
)

// Crashed answers the requester with the incident of the crash report and
// hands a durable message back for redelivery.
func (j *job) Crashed(ce *actor.CrashError) {
	j.fail(&troupe.Error{
		Code:     troupe.CodeInternal,
		Msg:      fmt.Sprintf("%s: the handler crashed; the incident is logged", j.m.Env.Name),
		Incident: ce.Incident,
		Err:      ce,
	})
	j.finish()
}

// fail answers with err (if the message expects an answer) and settles the
// delivery as failed.
func (j *job) fail(err *troupe.Error) {
	ctx := context.WithoutCancel(j.m.Context())
	if j.m.Env.Kind == troupe.KindRequest {
		if rerr := j.m.ReplyError(ctx, err); rerr != nil {
			j.log.Debug("service: error reply not sent", "name", j.m.Env.Name, "err", rerr)
		}
	}
	j.m.Done(err)
}

// String renders the job for crash reports: the bus message being handled,
// without the payload fields the manifest marks sensitive, and the user it
// was sent for.
func (j *job) String() string {
	env := j.m.Env
	user := ""
	if env.Principal != nil {
		user = " for user " + env.Principal.ID
	}
	return fmt.Sprintf("%s %s from %s%s (id %s): %s", env.Kind, env.Name, env.Sender, user, env.ID, troupe.Redact(env.Payload, j.e.sensitive))
}

// Describe tells a crash report what the crashed process was handling: the
// bus message (its kind and name, not this internal type), and the service
// instance, activity and trace it belongs to.
func (j *job) Describe() actor.Description {
	env := j.m.Env
	attrs := make([]slog.Attr, 0, 6)
	if m, ok := bus.MemberFrom(j.m.Context()); ok {
		attrs = append(attrs, slog.String("service", m.Service), slog.String("instance", m.Instance))
	}
	attrs = append(attrs, slog.String("name", env.Name), slog.String("activity", env.ActivityID))
	if tp := env.Headers[bus.HeaderTraceParent]; len(tp) == 55 {
		attrs = append(attrs, slog.String("trace_id", tp[3:35]))
	}
	return actor.Description{Type: string(env.Kind) + " " + env.Name, Text: j.String(), Attrs: attrs}
}

func randomSuffix() string {
	const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
	var b [8]byte
	_, _ = rand.Read(b[:])
	var sb strings.Builder
	for _, c := range b {
		sb.WriteByte(alphabet[c&31])
	}
	return sb.String()
}
