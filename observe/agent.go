package observe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/alarm"
	"github.com/troupe-go/troupe/bus"
)

// Limits of what an agent keeps and sends.
const (
	// MaxCrashes and MaxDeadLetters are how many of the last crash
	// reports and dead letters a node keeps for its Node.
	MaxCrashes     = 32
	MaxDeadLetters = 32
	// MaxTapPayload is how much of a payload a tap shows.
	MaxTapPayload = 1024
	// RecordRate is about how many hops per second a node records for
	// Activity while someone watches: past it, it records a sample of the
	// activities (each one whole) instead of every one.
	RecordRate = 2000
	// recordRing is how many recorded hops a node keeps.
	recordRing = 8192
	// recordLease is how long a Nodes query with Record keeps the node
	// recording.
	recordLease = 30 * time.Second
	// tapQueue bounds the hops waiting to be sent to one tap session;
	// past it they are dropped and counted.
	tapQueue = 4096
	// tapBatch is the most hops in one frame.
	tapBatch = 256
)

// Config configures an Agent. App and Bus are required; the zero value of
// each other field means its documented default.
type Config struct {
	// App is the application.
	App *troupe.App
	// Bus is the node's bus: its members are the node's instances.
	Bus *bus.Bus
	// Actors is the node's actor system, for supervision trees and
	// crash reports. Nil: none.
	Actors *actor.System
	// Alarms is the node's alarm monitor. Nil: none.
	Alarms *alarm.Monitor
	// Node is the node's id. Empty means a new one (troupe.NewInstanceID
	// of "node").
	Node string
	// Version is the binary's version. Empty means "devel".
	Version string
	// Logger receives the agent's own problems. Nil means slog.Default().
	Logger *slog.Logger
}

// An Agent answers, for one node, what an operator's tools ask: the node's
// instances, their traffic and supervision trees, its alarms, crash reports
// and dead letters (Node), the hops of recent activities (Activity), and
// live taps of its traffic. Over NATS it serves the observe protocol and
// each instance's NATS micro discovery (ServeNATS, ServeMicro); a Client
// asks every node at once.
//
// An agent costs the node's traffic nothing while nobody watches: it taps
// the bus only while a tap session is open or a dashboard asked it to
// record, and then does bounded work per message: a full tap queue drops
// hops (counted, and said in the next frame) rather than slow the bus.
type Agent struct {
	cfg     Config
	log     *slog.Logger
	host    string
	started time.Time

	mu        sync.Mutex
	crashes   []Crash
	dead      []DeadLetter
	untap     func() // removes the bus tap; nil while not tapping
	subs      []subscription
	closed    bool
	sessList  []*session
	lastTotal uint64    // bus events counted at the last resample
	lastTick  time.Time // when

	sessions  atomic.Pointer[[]*session]
	recording atomic.Int64  // unix nanos until which hops are recorded
	shift     atomic.Uint32 // record the activities whose hash has shift low zero bits
	ring      [recordRing]atomic.Pointer[Hop]
	next      atomic.Uint64

	events *actor.Subscription
	stop   chan struct{}
	done   sync.WaitGroup
}

// subscription is something ServeNATS or ServeMicro subscribed, to end in
// Close.
type subscription interface{ Unsubscribe() error }

// New returns an Agent for the node of cfg and starts its one goroutine
// (which watches crashes and ends tap sessions and recordings whose lease
// ran out). Close stops it.
func New(cfg Config) (*Agent, error) {
	if cfg.App == nil || cfg.Bus == nil {
		return nil, errors.New("observe: config: App and Bus are required")
	}
	if cfg.Node == "" {
		cfg.Node = troupe.NewInstanceID("node")
	}
	if cfg.Version == "" {
		cfg.Version = "devel"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	host, _ := os.Hostname()
	a := &Agent{
		cfg: cfg, log: cfg.Logger, host: host, started: time.Now(),
		stop: make(chan struct{}),
	}
	if cfg.Actors != nil {
		a.events = cfg.Actors.Subscribe(256)
	}
	a.done.Add(1)
	go a.run()
	return a, nil
}

// ID returns the node's id.
func (a *Agent) ID() string { return a.cfg.Node }

// run watches the actor system's crashes and, every second, ends what has
// expired and adapts the recording's sampling to the traffic.
func (a *Agent) run() {
	defer a.done.Done()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var crashes <-chan actor.Event
	if a.events != nil {
		crashes = a.events.C
	}
	for {
		select {
		case <-a.stop:
			return
		case ev, ok := <-crashes:
			if !ok {
				crashes = nil
				continue
			}
			if ce, isCrash := ev.Reason.(*actor.CrashError); isCrash && ev.Kind == actor.Crashed {
				a.noteCrash(ce)
			}
		case now := <-tick.C:
			a.tick(now)
		}
	}
}

// tick expires sessions, adapts the sampling and removes the bus tap when
// nothing needs it.
func (a *Agent) tick(now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var live []*session
	for _, s := range a.sessList {
		if now.UnixNano() < s.expires.Load() {
			live = append(live, s)
		} else {
			s.end()
		}
	}
	if len(live) != len(a.sessList) {
		a.sessList = live
		a.publishSessions()
	}
	if now.UnixNano() < a.recording.Load() {
		a.resample(now)
	}
	a.retap()
}

// maxShift is the sparsest sampling: one activity in 65536.
const maxShift = 16

// resample sets the recording's sampling from the bus's traffic since the
// last time: about RecordRate hops a second are recorded. a.mu is held.
func (a *Agent) resample(now time.Time) {
	total := a.busEvents()
	dt := now.Sub(a.lastTick).Seconds()
	rate := uint64(float64(total-min(a.lastTotal, total)) / max(dt, 0.05))
	a.lastTotal, a.lastTick = total, now
	var shift uint32
	for rate>>shift > RecordRate && shift < maxShift {
		shift++
	}
	a.shift.Store(shift)
}

// busEvents counts what the node's members sent and received so far.
func (a *Agent) busEvents() uint64 {
	var total uint64
	for _, m := range a.cfg.Bus.Members() {
		for _, n := range m.Names {
			total += n.Sent + n.Received
		}
	}
	return total
}

// publishSessions makes the tap see a.sessList; a.mu is held.
func (a *Agent) publishSessions() {
	if len(a.sessList) == 0 {
		a.sessions.Store(nil)
		return
	}
	l := slices.Clone(a.sessList)
	a.sessions.Store(&l)
}

// retap installs the bus tap while a session is open or hops are recorded,
// and removes it otherwise; a.mu is held.
func (a *Agent) retap() {
	need := !a.closed && (len(a.sessList) > 0 || time.Now().UnixNano() < a.recording.Load())
	switch {
	case need && a.untap == nil:
		a.untap = a.cfg.Bus.Tap(a.onTap)
	case !need && a.untap != nil:
		a.untap()
		a.untap = nil
	}
}

// Close stops the agent: its subscriptions end, tap sessions close, the bus
// tap is removed, and its goroutines return (or ctx ends).
func (a *Agent) Close(ctx context.Context) error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	subs := a.subs
	a.subs = nil
	for _, s := range a.sessList {
		s.end()
	}
	a.sessList = nil
	a.publishSessions()
	a.retap()
	a.mu.Unlock()
	var errs []error
	for _, s := range subs {
		if err := s.Unsubscribe(); err != nil && !errors.Is(err, errConnClosed) {
			errs = append(errs, err)
		}
	}
	close(a.stop)
	if a.events != nil {
		a.events.Close()
	}
	done := make(chan struct{})
	go func() {
		a.done.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, ctx.Err())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("observe: close: %w", err)
	}
	return nil
}

// noteCrash keeps a crash report for Node.
func (a *Agent) noteCrash(ce *actor.CrashError) {
	c := Crash{
		Incident: ce.Incident, At: time.Now(), Process: ce.PID.Name(), PID: ce.PID.String(),
		Supervisor: ce.Supervisor, MessageType: ce.Message, Panic: fmt.Sprint(ce.Value), Stack: ce.Stack,
		Service: ce.Attr("service"), Instance: ce.Attr("instance"), Name: ce.Attr("name"),
		Activity: ce.Attr("activity"), TraceID: ce.Attr("trace_id"),
	}
	if c.Instance == "" {
		c.Instance = ce.Tree()
	}
	if len(c.Panic) > 4096 {
		c.Panic = c.Panic[:4096] + "…"
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.crashes = keepLast(a.crashes, c, MaxCrashes)
}

// DeadLetter records a durable envelope that service gave up on (the NATS
// transport's OnDeadLetter hook calls it; the in-process transport's dead
// letters are read from it directly).
func (a *Agent) DeadLetter(env *troupe.Envelope, service, reason string) {
	if env == nil {
		return
	}
	d := DeadLetter{At: time.Now(), Name: env.Name, ID: env.ID, Activity: env.ActivityID, Service: service, Reason: reason}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.dead = keepLast(a.dead, d, MaxDeadLetters)
}

func keepLast[T any](s []T, v T, n int) []T {
	if len(s) >= n {
		s = append(s[:0], s[len(s)-n+1:]...)
	}
	return append(s, v)
}

// NodeOptions say what Node includes and does.
type NodeOptions struct {
	// Trees includes each instance's supervision tree.
	Trees bool
	// Record makes the node record hops for Activity for the next 30
	// seconds (a dashboard asks for it with every poll).
	Record bool
}

// Node returns the node's snapshot.
func (a *Agent) Node(ctx context.Context, opts NodeOptions) Node {
	if opts.Record {
		a.mu.Lock()
		if now := time.Now(); now.UnixNano() >= a.recording.Load() {
			// Recording starts as sparse as it gets, until the next
			// tick has measured the traffic: never more than the goal.
			a.shift.Store(maxShift)
			a.lastTotal, a.lastTick = a.busEvents(), now
		}
		a.recording.Store(time.Now().Add(recordLease).UnixNano())
		a.retap()
		a.mu.Unlock()
	}
	now := time.Now()
	n := Node{
		ID: a.cfg.Node, App: a.cfg.App.Name, Host: a.host, PID: os.Getpid(), Version: a.cfg.Version,
		Started: a.started, At: now,
	}
	if now.UnixNano() < a.recording.Load() {
		n.Sampling = 1 / float64(uint64(1)<<a.shift.Load())
	}
	trees := map[string]actor.TreeStats{}
	roots := map[string]actor.PID{}
	if sys := a.cfg.Actors; sys != nil {
		for _, t := range sys.Trees() {
			trees[t.Name] = t
		}
		for _, pid := range sys.TopLevel() {
			roots[pid.Name()] = pid
		}
	}
	members := a.cfg.Bus.Members()
	slices.SortFunc(members, func(x, y bus.MemberStats) int {
		return strings.Compare(x.Member.String(), y.Member.String())
	})
	inTrees := 0
	for _, m := range members {
		if m.Member.Service == troupe.OperatorService {
			continue
		}
		in := Instance{Service: m.Member.Service, ID: m.Member.Instance, Started: m.Joined}
		for _, name := range slices.Sorted(maps.Keys(m.Names)) {
			in.Messages = append(in.Messages, message(a.cfg.App, m.Member.Service, name, m.Names[name]))
		}
		if t, ok := trees[in.ID]; ok {
			in.Processes, in.Mailbox, in.Crashes, in.Restarts = t.Processes, t.Mailbox, t.Crashes, t.Restarts
			inTrees += t.Processes
		}
		if root, ok := roots[in.ID]; ok && opts.Trees {
			tctx, cancel := context.WithTimeout(ctx, time.Second)
			tn, err := actor.Tree(tctx, root, 50)
			cancel()
			if err == nil {
				p := process(tn)
				in.Tree = &p
			}
		}
		n.Instances = append(n.Instances, in)
	}
	for _, t := range trees {
		n.Processes += t.Processes
	}
	n.Processes -= inTrees
	if mon := a.cfg.Alarms; mon != nil {
		for _, s := range mon.Snapshot() {
			n.Alarms = append(n.Alarms, Alarm{Name: s.Name, Kind: s.Kind, Active: s.Active, Value: s.Value, High: s.High, Low: s.Low, Since: s.Since, Message: s.Message})
		}
		for _, e := range mon.History() {
			n.AlarmEvents = append(n.AlarmEvents, AlarmEvent{Alarm: e.Alarm, State: string(e.State), Value: e.Value, At: e.At, Message: e.Message, Subject: e.Subject})
		}
	}
	a.mu.Lock()
	n.Crashes = slices.Clone(a.crashes)
	n.DeadLetters = slices.Clone(a.dead)
	a.mu.Unlock()
	if ip, ok := a.cfg.Bus.Transport().(*bus.InProc); ok {
		for _, d := range ip.DeadLetters() {
			n.DeadLetters = keepLast(n.DeadLetters, DeadLetter{At: d.At, Name: d.Env.Name, ID: d.Env.ID, Activity: d.Env.ActivityID, Service: d.Service, Reason: d.Reason}, MaxDeadLetters)
		}
	}
	return n
}

// message turns a member's counters for one name into a Message.
func message(app *troupe.App, service, name string, s bus.NameStats) Message {
	m := Message{
		Name: name, Sent: s.Sent, Received: s.Received, Errors: s.Errors, HandlerErrors: s.HandlerErrors,
		Refusals: s.Refusals, Dropped: s.LateReplies + s.Expired + s.Dropped, DeadLetters: s.DeadLetters,
		InFlight: s.InFlight, Handled: s.Handled, HandledTime: s.HandledTime.Seconds(),
	}
	if d := app.Service(service); d != nil {
		m.Sends, m.Receives = slices.Contains(d.Sends, name), slices.Contains(d.Receives, name)
	} else if service == troupe.GatewayService {
		m.Sends = true
	}
	for c, n := range s.ErrorsByCode {
		if m.Codes == nil {
			m.Codes = map[string]uint64{}
		}
		m.Codes[string(c)] = n
	}
	m.Latency = Histogram{Count: s.Latency.Count, Sum: s.Latency.Sum.Seconds()}
	for i, n := range s.Buckets {
		if n > 0 {
			if m.Latency.Buckets == nil {
				m.Latency.Buckets = map[int]uint64{}
			}
			m.Latency.Buckets[i] = n
		}
	}
	return m
}

// process turns a supervision tree into its wire form.
func process(t actor.TreeNode) Process {
	p := Process{
		Name: t.Name, Child: t.Child, Supervisor: t.IsSupervisor, Mailbox: t.Mailbox,
		Restarts: t.Restarts, Restarting: t.Restarting, More: t.More,
	}
	if !t.PID.IsZero() {
		p.PID = t.PID.String()
	}
	for _, c := range t.Children {
		p.Children = append(p.Children, process(c))
	}
	return p
}
