package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/internal/schema"
)

// Defaults for the zero fields of Config.
const (
	DefaultTimeout        = time.Second
	DefaultMaxPayload     = 1 << 20
	DefaultMaxOutstanding = 10000
	DefaultMaxAttempts    = 5
)

// HeaderAttempt is the header in which a transport tells the bus which
// delivery attempt of a durable envelope it is delivering ("1" for the
// first). The bus dead-letters a failed durable delivery after
// Config.MaxAttempts attempts.
const HeaderAttempt = "troupe-attempt"

// Config configures a Bus. The zero value of each field but App means its
// documented default.
type Config struct {
	// App declares the services, what each sends and receives, and which
	// messages are durable. Required.
	App *troupe.App
	// Transport moves envelopes. Nil means a new in-process transport
	// (NewInProc), which the Bus then owns and closes in Close. A
	// Transport given here is not closed by the Bus.
	Transport Transport
	// Timeout is the deadline of a request whose context has no earlier
	// one. Zero means DefaultTimeout (1s).
	Timeout time.Duration
	// MaxPayload bounds the size of a payload in bytes, sent or received;
	// larger payloads are refused with bad_request. Zero means
	// DefaultMaxPayload (1 MiB).
	MaxPayload int
	// MaxOutstanding bounds the requests outstanding from one caller
	// service to one target service in this process (the bulkhead); past
	// it a request fails at once with unavailable. Zero means
	// DefaultMaxOutstanding (10000).
	MaxOutstanding int
	// MaxAttempts is how many times a durable delivery is attempted
	// before a failed one goes to the dead letters. Zero means
	// DefaultMaxAttempts (5).
	MaxAttempts int
	// Backoff is the delay before the n-th redelivery (n from 1) of a
	// durable envelope whose handler failed. Nil means 10ms·2^(n-1),
	// at most 5s.
	Backoff func(n int) time.Duration
	// Logger receives one record per refusal or drop. Nil means
	// slog.Default().
	Logger *slog.Logger
}

// A Bus enforces an application's declaration (permissions, deadlines,
// bulkheads, payload limits) on a Transport and counts what passes through
// it. Each process has one Bus; each service instance in the process joins it
// and gets a Client. A Bus is safe for concurrent use.
type Bus struct {
	app       *troupe.App
	tr        Transport
	ownsTr    bool
	timeout   time.Duration
	maxSize   int
	maxOut    int64
	maxTries  int
	backoff   func(int) time.Duration
	log       *slog.Logger
	services  map[string]*servicePolicy
	names     map[string]*nameInfo
	nameList  []*nameInfo // names by nameInfo.idx
	retired   retired     // the counts of clients that closed
	unknown   *counters   // refusals and drops for names the App does not declare
	closed    atomic.Bool
	mu        sync.Mutex
	clients   map[*Client]struct{}
	closeOnce sync.Once

	schemas    *schema.Set         // payload validators by name (schema.go)
	checked    sync.Map            // *troupe.Envelope → struct{}: validated here, in its transport call (schema.go)
	translated map[string][]string // app name → "service/local" (translate.go)

	taps taps // observers of the traffic (tap.go)
}

// servicePolicy is what the bus knows about one declared service, built once
// in New so that the per-message checks are map lookups.
type servicePolicy struct {
	name      string
	edge      bool                 // may send a principal (identity.go)
	broadcast map[string]bool      // received names every instance gets
	sends     map[string]*sendInfo // by message name
	receives  map[string]*nameInfo // by message name
	handled   dedup                // durable envelopes handled, to drop redeliveries

	toApp, toLocal map[string]string // translations (translate.go); nil: none
}

// sendInfo is one (caller service, message name) pair: where the name goes
// and the bulkheads towards each receiving service.
type sendInfo struct {
	name      *nameInfo
	bulkheads []*atomic.Int64 // one per name.receivers, for this caller
}

// nameInfo is one declared message name.
type nameInfo struct {
	name      string
	receivers []string
	senders   map[string]bool // services that declare that they send it
	durable   bool
	idx       int // in Bus.nameList and each Client's counters

	validator *schema.Validator   // nil: no schema, or its check is off
	replies   []string            // the declared reply names; nil: any
	auth      *troupe.MessageDecl // who may send it (identity.go); nil: anyone
}

// New returns a Bus for cfg.App on cfg.Transport. It checks the declaration:
// every service and message name must be valid.
func New(cfg Config) (*Bus, error) {
	if cfg.App == nil {
		return nil, errors.New("bus: config: App is required")
	}
	b := &Bus{
		app:      cfg.App,
		tr:       cfg.Transport,
		timeout:  cfg.Timeout,
		maxSize:  cfg.MaxPayload,
		maxOut:   int64(cfg.MaxOutstanding),
		maxTries: cfg.MaxAttempts,
		backoff:  cfg.Backoff,
		log:      cfg.Logger,
		services: make(map[string]*servicePolicy),
		names:    make(map[string]*nameInfo),
		unknown:  newCounters(),
		clients:  make(map[*Client]struct{}),

		translated: make(map[string][]string),
	}
	switch {
	case b.timeout < 0:
		return nil, fmt.Errorf("bus: config: negative Timeout %v", b.timeout)
	case b.timeout == 0:
		b.timeout = DefaultTimeout
	}
	switch {
	case b.maxSize < 0:
		return nil, fmt.Errorf("bus: config: negative MaxPayload %d", b.maxSize)
	case b.maxSize == 0:
		b.maxSize = DefaultMaxPayload
	}
	switch {
	case b.maxOut < 0:
		return nil, fmt.Errorf("bus: config: negative MaxOutstanding %d", b.maxOut)
	case b.maxOut == 0:
		b.maxOut = DefaultMaxOutstanding
	}
	switch {
	case b.maxTries < 0:
		return nil, fmt.Errorf("bus: config: negative MaxAttempts %d", b.maxTries)
	case b.maxTries == 0:
		b.maxTries = DefaultMaxAttempts
	}
	if b.backoff == nil {
		b.backoff = defaultBackoff
	}
	if b.log == nil {
		b.log = slog.Default()
	}
	if err := b.compile(); err != nil {
		return nil, err
	}
	if b.tr == nil {
		b.tr = NewInProc()
		b.ownsTr = true
	}
	return b, nil
}

func defaultBackoff(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	if n > 10 {
		return 5 * time.Second
	}
	return min(10*time.Millisecond<<(n-1), 5*time.Second)
}

// compile turns the App into lookup tables.
func (b *Bus) compile() error {
	decls := b.app.Services
	// The gateway sends the messages of the routes unless it is declared.
	if b.app.Service(troupe.GatewayService) == nil && len(b.app.Routes) > 0 {
		gw := troupe.ServiceDecl{Name: troupe.GatewayService}
		for _, r := range b.app.Routes {
			if r.Message != "" {
				gw.Sends = append(gw.Sends, r.Message)
			}
			gw.Sends = append(gw.Sends, r.Types...)
		}
		decls = append(decls[:len(decls):len(decls)], gw)
	}
	name := func(n string) (*nameInfo, error) {
		if ni := b.names[n]; ni != nil {
			return ni, nil
		}
		if err := troupe.ValidName(n); err != nil {
			return nil, err
		}
		ni := &nameInfo{name: n, idx: len(b.nameList)}
		b.names[n] = ni
		b.nameList = append(b.nameList, ni)
		return ni, nil
	}
	for i := range decls {
		d := &decls[i]
		if err := troupe.ValidServiceName(d.Name); err != nil {
			return fmt.Errorf("bus: app: service name %v", err)
		}
		if b.services[d.Name] != nil {
			return fmt.Errorf("bus: app: service %q declared twice", d.Name)
		}
		sp := &servicePolicy{
			name:     d.Name,
			edge:     d.Edge || d.Name == troupe.GatewayService,
			sends:    make(map[string]*sendInfo, len(d.Sends)),
			receives: make(map[string]*nameInfo, len(d.Receives)),
		}
		for _, n := range d.Receives {
			ni, err := name(n)
			if err != nil {
				return fmt.Errorf("bus: app: service %q receives: %v", d.Name, err)
			}
			if sp.receives[n] == nil {
				ni.receivers = append(ni.receivers, d.Name)
			}
			sp.receives[n] = ni
		}
		for _, n := range d.Durable {
			ni, err := name(n)
			if err != nil {
				return fmt.Errorf("bus: app: service %q durable: %v", d.Name, err)
			}
			ni.durable = true
		}
		for _, n := range d.Broadcast {
			switch {
			case sp.receives[n] == nil:
				return fmt.Errorf("bus: app: service %q broadcast: %q is not in its receives", d.Name, n)
			case slices.Contains(d.Durable, n):
				return fmt.Errorf("bus: app: service %q: %q is both durable and broadcast", d.Name, n)
			}
			if sp.broadcast == nil {
				sp.broadcast = map[string]bool{}
			}
			sp.broadcast[n] = true
		}
		b.services[d.Name] = sp
	}
	for i := range decls {
		d := &decls[i]
		sp := b.services[d.Name]
		for _, n := range d.Sends {
			ni, err := name(n)
			if err != nil {
				return fmt.Errorf("bus: app: service %q sends: %v", d.Name, err)
			}
			sp.sends[n] = &sendInfo{name: ni}
			if ni.senders == nil {
				ni.senders = make(map[string]bool)
			}
			ni.senders[d.Name] = true
		}
	}
	// Bulkheads: one counter per (caller, target) pair, shared by every
	// name the caller sends to that target.
	for _, sp := range b.services {
		pairs := make(map[string]*atomic.Int64)
		for _, si := range sp.sends {
			for _, target := range si.name.receivers {
				c := pairs[target]
				if c == nil {
					c = new(atomic.Int64)
					pairs[target] = c
				}
				si.bulkheads = append(si.bulkheads, c)
			}
		}
	}
	if err := b.compileTranslations(decls); err != nil {
		return err
	}
	b.compileAuth()
	return b.compileSchemas()
}

// Join attaches one instance of service to the bus and returns its Client.
// The service must be declared in the App (the gateway is declared
// implicitly by the App's routes); instance must be a valid instance name
// that is not already joined.
func (b *Bus) Join(ctx context.Context, service, instance string) (*Client, error) {
	if b.closed.Load() {
		return nil, fmt.Errorf("bus: join %s/%s: %w", service, instance, errClosed)
	}
	sp := b.services[service]
	if sp == nil {
		return nil, fmt.Errorf("bus: join %q: %w", service, &troupe.Error{Code: troupe.CodeNotFound, Msg: fmt.Sprintf("service %q is not declared in the app", service)})
	}
	if err := troupe.ValidServiceName(instance); err != nil {
		return nil, fmt.Errorf("bus: join %s: instance %w", service, &troupe.Error{Code: troupe.CodeBadRequest, Msg: err.Error()})
	}
	c := newClient(b, sp, troupe.Member{Service: service, Instance: instance})
	port, err := b.tr.Join(ctx, c.member, (*inbox)(c))
	if err != nil {
		return nil, fmt.Errorf("bus: join %s: %w", c.member, err)
	}
	c.port = port
	b.mu.Lock()
	if b.closed.Load() {
		b.mu.Unlock()
		_ = port.Close()
		return nil, fmt.Errorf("bus: join %s: %w", c.member, errClosed)
	}
	b.clients[c] = struct{}{}
	b.mu.Unlock()
	return c, nil
}

// forget removes a closed client, keeping its counts (Stats).
func (b *Bus) forget(c *Client) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.clients[c]; ok {
		b.retire(c)
		delete(b.clients, c)
	}
}

// App returns the application declaration the bus enforces.
func (b *Bus) App() *troupe.App { return b.app }

// Close closes every Client (their outstanding requests fail with
// unavailable) and, if the Bus created its transport, the transport.
// A closed Bus refuses Join.
func (b *Bus) Close(ctx context.Context) error {
	var err error
	b.closeOnce.Do(func() {
		b.mu.Lock()
		b.closed.Store(true)
		clients := make([]*Client, 0, len(b.clients))
		for c := range b.clients {
			clients = append(clients, c)
		}
		b.mu.Unlock()
		for _, c := range clients {
			err = errors.Join(err, c.Close())
		}
		if b.ownsTr {
			err = errors.Join(err, b.tr.Close(ctx))
		}
	})
	if err != nil {
		return fmt.Errorf("bus: close: %w", err)
	}
	return nil
}

var errClosed = &troupe.Error{Code: troupe.CodeUnavailable, Msg: "bus is closed"}

// refuse records one refusal by (or to) the member of c: a counter on the
// name (if declared; else the bus's undeclared counter), and one log record.
func (b *Bus) refuse(c *Client, ni *nameInfo, msg string, attrs ...any) {
	if ni == nil {
		b.unknown.refusals.Add(1)
	}
	c.count(ni).refusals.Add(1)
	b.log.Warn("bus: refused: "+msg, attrs...)
}

// drop records one dropped envelope that was not a refusal (expired, late,
// malformed, unknown reply) at the member of c, on the name if declared, and
// logs it at debug level.
func (b *Bus) drop(c *Client, ni *nameInfo, kind dropKind, msg string, attrs ...any) {
	cs := [2]*counters{c.count(ni), nil}
	if ni == nil {
		cs[1] = b.unknown
	}
	for _, k := range cs {
		if k == nil {
			continue
		}
		switch kind {
		case dropLate:
			k.late.Add(1)
		case dropExpired:
			k.expired.Add(1)
		default:
			k.dropped.Add(1)
		}
	}
	b.log.Debug("bus: dropped: "+msg, attrs...)
}

type dropKind int

const (
	dropOther dropKind = iota
	dropLate
	dropExpired
)
