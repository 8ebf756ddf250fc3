package natsbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
)

// Config configures a Transport. The zero value connects to a NATS server at
// nats.DefaultURL without credentials, under the application name
// DefaultAppName, with the defaults below.
type Config struct {
	// App is the application. Its name prefixes every subject; its
	// manifest decides which names are durable and who may send what.
	// Without it every subscribed name is also consumed durably and
	// senders are not checked.
	App *troupe.App
	// Server, if set, is an embedded server that members connect to
	// in-process; URL is then ignored, and Credentials defaults to
	// Server.Credentials.
	Server *Server
	// URL is the server or cluster to dial: one URL or several separated
	// by commas. Empty means nats.DefaultURL.
	URL string
	// Credentials returns the credential of a NATS user: a service name,
	// or AdminUser for creating the streams. Nil, or an empty Credential,
	// means connecting without credentials. When it knows no AdminUser, the Transport expects the
	// streams to exist already.
	Credentials func(user string) (Credential, bool)
	// Logger receives malformed and refused envelopes and connection
	// events; nil means slog.Default().
	Logger *slog.Logger
	// AckWait is how long a durable delivery may stay unsettled before
	// NATS redelivers it (default 30s).
	AckWait time.Duration
	// PullExpiry is how long each request a member makes for its durable
	// envelopes lasts on the server (default 2s; the member makes the next
	// as soon as one ends). A member that leaves asks for nothing more and
	// waits for its last request to end, so that no envelope is on its way
	// to it as it goes: a shorter PullExpiry leaves sooner and asks more
	// often while idle.
	PullExpiry time.Duration
	// Backoff, if set, replaces AckWait for successive redeliveries after
	// a timeout (JetStream's consumer BackOff).
	Backoff []time.Duration
	// MaxDeliver is how many times a durable envelope is delivered to one
	// service before it goes to the dead-letter stream (default 5).
	MaxDeliver int
	// MaxBytes bounds the stream of durable envelopes; past it, Route
	// refuses new ones. 0 means no bound but the server's store.
	MaxBytes int64
	// Replicas is the number of copies of each stream in a cluster
	// (default 1).
	Replicas int
	// OnDeadLetter, if set, is called after a durable envelope has been
	// moved to the dead-letter stream, with the reason (raise an alarm
	// here). It must not block.
	OnDeadLetter func(env *troupe.Envelope, service, reason string)
	// PingInterval is how often each connection pings its server, so
	// that a server that stops answering (frozen, or cut off) is noticed
	// after two unanswered pings and the connection moves to another
	// server of the cluster. Default DefaultPingInterval; negative turns
	// pings off.
	PingInterval time.Duration
	// NoShortcut makes members of this process that share an embedded
	// Server talk through it even where they could skip it (local.go).
	NoShortcut bool
	// Options are extra nats.go options for every connection.
	Options []nats.Option
}

// DefaultPingInterval is Config.PingInterval's default: with two pings
// outstanding at most, a frozen server is noticed within about half a
// second, well inside a request's one-second budget (nats.go's own default
// is two minutes).
const DefaultPingInterval = 200 * time.Millisecond

// Stats counts what a Transport dropped.
type Stats struct {
	Malformed   uint64 // envelopes that did not decode, or arrived on the wrong subject
	Forged      uint64 // envelopes whose sender or replier is not the service whose credentials sent them
	DeadLetters uint64 // durable envelopes moved to the dead-letter stream
	AsyncErrors uint64 // errors NATS reported asynchronously (permission violations, slow consumers)
}

// Transport is a bus.Transport over NATS. Each member joins with its own
// connection, logged in as its service's user.
type Transport struct {
	cfg  Config
	subj subjects
	log  *slog.Logger

	// durableNames is the set of names consumed through JetStream (from
	// the App), nil if every subscribed name is; received is the set of
	// names some service receives, nil without an App.
	durableNames, received map[string]bool

	malformed, forged, deadLetters, asyncErrors atomic.Uint64

	mu      sync.Mutex
	members map[troupe.Member]*port
	closed  bool

	local *local // the in-process shortcut (local.go), over an embedded server
}

var _ bus.Transport = (*Transport)(nil)

// New returns a Transport. If it can log in as AdminUser (or without
// credentials), it creates or updates the application's streams.
func New(ctx context.Context, cfg Config) (*Transport, error) {
	name := DefaultAppName
	if cfg.App != nil {
		name = cfg.App.Name
	}
	s, err := newSubjects(name)
	if err != nil {
		return nil, err
	}
	if cfg.Server != nil && cfg.Credentials == nil {
		cfg.Credentials = cfg.Server.Credentials
	}
	if cfg.URL == "" {
		cfg.URL = nats.DefaultURL
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.PullExpiry <= 0 {
		cfg.PullExpiry = defaultPullExpiry
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = 30 * time.Second
	}
	if cfg.MaxDeliver <= 0 {
		cfg.MaxDeliver = 5
	}
	if cfg.Replicas <= 0 {
		cfg.Replicas = 1
	}
	if cfg.PingInterval == 0 {
		cfg.PingInterval = DefaultPingInterval
	}
	t := &Transport{
		cfg: cfg, subj: s, log: cfg.Logger.With("transport", "nats", "app", name),
		members: map[troupe.Member]*port{},
	}
	if cfg.App != nil {
		t.durableNames, t.received = map[string]bool{}, map[string]bool{}
		for _, d := range cfg.App.Services {
			for _, n := range d.Durable {
				t.durableNames[n] = true
			}
			for _, n := range d.Receives {
				t.received[n] = true
			}
		}
	}
	if err := t.provisionRetrying(ctx); err != nil {
		return nil, err
	}
	if cfg.Server != nil && cfg.App != nil && !cfg.NoShortcut {
		t.local = newLocal(t)
	}
	return t, nil
}

// provisionTimeout bounds how long New retries creating the streams and
// consumers while the cluster is not ready for it (no JetStream meta leader
// yet, a server of it just restarted).
const provisionTimeout = 30 * time.Second

// provisionRetrying provisions, trying again after transient failures until
// it works, ctx ends or provisionTimeout has passed.
func (t *Transport) provisionRetrying(ctx context.Context) error {
	deadline := time.Now().Add(provisionTimeout)
	wait := 100 * time.Millisecond
	for {
		err := t.provision(ctx)
		if err == nil || !transient(err) || time.Now().Add(wait).After(deadline) || ctx.Err() != nil {
			return err
		}
		t.log.Warn("natsbus: the streams cannot be made yet; trying again", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// transient reports whether a provisioning error may go away by itself: a
// timeout, no responders (JetStream not up yet), a cluster without a leader
// or without enough peers for now.
func transient(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, jetstream.ErrNoHeartbeat) {
		return true
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case 10008, // JetStream cluster not available (no meta leader)
			10023, // insufficient resources
			10009, // not the cluster leader (a leader change under way)
			10118, // stream offline (its servers are catching up)
			10005: // no suitable peers for placement
			return true
		}
		return apiErr.Code == 503
	}
	return strings.Contains(err.Error(), "no suitable peers") || strings.Contains(err.Error(), "not available")
}

// provision creates or updates the streams, if the Transport may.
func (t *Transport) provision(ctx context.Context) error {
	if t.cfg.Credentials != nil {
		if _, ok := t.cfg.Credentials(AdminUser); !ok {
			return nil
		}
	}
	nc, err := t.connect(AdminUser, "admin")
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("natsbus: %w", err)
	}
	maxBytes := t.cfg.MaxBytes
	if maxBytes <= 0 {
		maxBytes = -1
	}
	streams := []jetstream.StreamConfig{{
		Name:        t.subj.stream(),
		Description: "troupe " + t.subj.app + ": durable envelopes",
		Subjects:    []string{t.subj.prefix + ".durable.>"},
		Retention:   jetstream.InterestPolicy,
		Discard:     jetstream.DiscardNew,
		MaxBytes:    maxBytes,
		Storage:     jetstream.FileStorage,
		Replicas:    t.cfg.Replicas,
		Duplicates:  2 * time.Minute,
	}, {
		Name:        t.subj.deadStream(),
		Description: "troupe " + t.subj.app + ": dead letters",
		Subjects:    []string{t.subj.prefix + ".dead.>"},
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardNew,
		Storage:     jetstream.FileStorage,
		Replicas:    t.cfg.Replicas,
		Duplicates:  2 * time.Minute,
	}}
	for _, sc := range streams {
		if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
			return fmt.Errorf("natsbus: stream %s: %w", sc.Name, err)
		}
	}
	if t.cfg.App == nil {
		return nil
	}
	// Create the consumers now, so that durable envelopes sent before
	// their receiver first joins are kept for it.
	for _, d := range t.cfg.App.Services {
		for _, n := range d.Receives {
			if !t.durableNames[n] {
				continue
			}
			if _, err := js.CreateOrUpdateConsumer(ctx, t.subj.stream(), t.consumerConfig(d.Name, n)); err != nil {
				return fmt.Errorf("natsbus: consumer %s: %w", consumerName(d.Name, n), err)
			}
		}
	}
	return nil
}

func (t *Transport) consumerConfig(service, name string) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       consumerName(service, name),
		Description:   service + " receives " + name,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       t.cfg.AckWait,
		BackOff:       t.cfg.Backoff,
		// Attempts are counted by the Transport, which moves the
		// envelope to the dead-letter stream after the last one; the
		// server keeps redelivering until then.
		MaxDeliver:    -1,
		MaxAckPending: 10000,
		FilterSubject: t.subj.durables(name),
		Replicas:      t.cfg.Replicas,
	}
}

// connect opens a connection logged in as user.
func (t *Transport) connect(user, what string) (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name("troupe " + t.subj.app + " " + what),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(100 * time.Millisecond),
		nats.PingInterval(max(t.cfg.PingInterval, 0)),
		nats.MaxPingsOutstanding(2),
		// Publishing while disconnected fails at once rather than
		// being buffered: the sender learns that it was not sent.
		nats.ReconnectBufSize(-1),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			t.asyncErrors.Add(1)
			subj := ""
			if sub != nil {
				subj = sub.Subject
			}
			t.log.Warn("natsbus: nats error", "conn", what, "subject", subj, "err", err)
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				t.log.Info("natsbus: disconnected", "conn", what, "err", err)
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) { t.log.Info("natsbus: reconnected", "conn", what) }),
	}
	if user != AdminUser && user != "" {
		opts = append(opts, nats.CustomInboxPrefix(t.subj.inbox(user)))
	}
	if t.cfg.Credentials != nil {
		c, ok := t.cfg.Credentials(user)
		if !ok {
			return nil, fmt.Errorf("natsbus: no credential for user %q", user)
		}
		if c.Seed != "" || c.User != "" {
			opt, err := c.Option()
			if err != nil {
				return nil, fmt.Errorf("natsbus: credential of user %q: %w", user, err)
			}
			opts = append(opts, opt)
		}
	}
	if t.cfg.Server != nil {
		opts = append(opts, nats.InProcessServer(t.cfg.Server))
	}
	opts = append(opts, t.cfg.Options...)
	nc, err := nats.Connect(t.cfg.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("natsbus: connect as %q: %w", user, err)
	}
	return nc, nil
}

// Stats returns what the Transport has dropped so far.
func (t *Transport) Stats() Stats {
	return Stats{
		Malformed: t.malformed.Load(), Forged: t.forged.Load(), DeadLetters: t.deadLetters.Load(), AsyncErrors: t.asyncErrors.Load(),
	}
}

// Ready reports whether every member's connection is connected to a
// server: an error names those that are not (reconnecting, or never
// connected), for a readiness probe.
func (t *Transport) Ready() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return errClosed
	}
	var down []string
	for m, p := range t.members {
		if p.opened.Load() && !p.nc.IsConnected() {
			down = append(down, m.String())
		}
	}
	if len(down) > 0 {
		slices.Sort(down)
		return fmt.Errorf("natsbus: not connected to NATS: %s", strings.Join(down, ", "))
	}
	return nil
}

// Join attaches member m with its own NATS connection, logged in as
// m.Service. Replies to m go to inbox.
func (t *Transport) Join(ctx context.Context, m troupe.Member, inbox bus.Deliverer) (bus.Port, error) {
	if err := troupe.ValidServiceName(m.Service); err != nil {
		return nil, fmt.Errorf("natsbus: join: service %v", err)
	}
	if err := troupe.ValidServiceName(m.Instance); err != nil {
		return nil, fmt.Errorf("natsbus: join: instance %v", err)
	}
	if inbox == nil {
		return nil, fmt.Errorf("natsbus: join %s: nil inbox", m)
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil, fmt.Errorf("natsbus: join %s: %w", m, errClosed)
	}
	if _, dup := t.members[m]; dup {
		t.mu.Unlock()
		return nil, fmt.Errorf("natsbus: join %s: already joined", m)
	}
	p := &port{t: t, m: m, unsettled: map[*acker]struct{}{}, replyPrefix: t.subj.prefix + ".reply." + m.Service + "." + m.Instance + "."}
	p.idle.L = &p.mu
	t.members[m] = p // reserve the name while connecting
	t.mu.Unlock()

	err := p.open(ctx, inbox)
	if err == nil {
		p.opened.Store(true)
		if t.local != nil {
			t.local.refresh() // its replies may skip the server from now on
		}
	}
	if err != nil {
		t.mu.Lock()
		delete(t.members, m)
		t.mu.Unlock()
		return nil, err
	}
	return p, nil
}

// Close detaches every member and waits for deliveries in progress.
func (t *Transport) Close(ctx context.Context) error {
	t.mu.Lock()
	t.closed = true
	ports := make([]*port, 0, len(t.members))
	for _, p := range t.members {
		ports = append(ports, p)
	}
	t.mu.Unlock()
	var errs []error
	for _, p := range ports {
		if err := p.Close(); err != nil && !errors.Is(err, errClosed) {
			errs = append(errs, err)
		}
	}
	if t.local != nil {
		t.local.close()
	}
	return errors.Join(errs...)
}

// drop counts, logs and discards an envelope that cannot be delivered.
func (t *Transport) drop(counter *atomic.Uint64, reason, subject string, data []byte, err error) {
	counter.Add(1)
	t.log.Warn("natsbus: dropped envelope", "reason", reason, "subject", subject,
		"size", len(data), "err", err)
}

// decode reads an envelope arriving on subject for name (empty for replies).
// It returns nil after counting and logging an envelope it drops. Whether
// the sender may send it is the receiving bus's to check.
//
// Here and wherever the transport decodes, data is a message's Data as
// nats.go delivers it, in a buffer of its own that nothing else writes to,
// and the envelope is made of it (troupe.DecodeEnvelopeOwned).
func (t *Transport) decode(subject, name string, data []byte) *troupe.Envelope {
	env, err := troupe.DecodeEnvelopeOwned(data)
	if err != nil {
		t.drop(&t.malformed, "malformed", subject, data, err)
		return nil
	}
	if name != "" && (env.Name != name || env.Kind == troupe.KindReply) {
		t.drop(&t.malformed, "wrong subject", subject, data, fmt.Errorf("%s %q", env.Kind, env.Name))
		return nil
	}
	if name == "" && env.Kind != troupe.KindReply {
		t.drop(&t.malformed, "not a reply", subject, data, fmt.Errorf("%s %q", env.Kind, env.Name))
		return nil
	}
	return env
}

// isDurable reports whether name is consumed through JetStream.
func (t *Transport) isDurable(name string) bool {
	return t.durableNames == nil || t.durableNames[name]
}

// port is one member's attachment.
type port struct {
	t  *Transport
	m  troupe.Member
	nc *nats.Conn
	js jetstream.JetStream

	mu        sync.Mutex
	idle      sync.Cond            // signalled when busy drops to zero
	busy      int                  // deliveries in progress
	stopping  bool                 // no new deliveries start
	inbox     bus.Deliverer        // where replies to the member go
	subs      []*nats.Subscription // subs[0] is the reply subscription
	consumers []*puller
	unsettled map[*acker]struct{}
	left      bool // Leave was called: no subscriptions but replies

	replyPrefix string // of the member's reply subjects, with the last '.'
	closed      bool

	rawMu    sync.Mutex
	raw      map[troupe.ID]rawReply // identity.go: raw clients' reply subjects
	rawNext  time.Time              // no entry of raw expires before it
	rawScans int                    // times raw was scanned for expired entries
	rawAny   atomic.Bool            // raw has had an entry
	opened   atomic.Bool            // nc and js are set
}

var _ bus.Port = (*port)(nil)

func (p *port) open(ctx context.Context, inbox bus.Deliverer) error {
	nc, err := p.t.connect(p.m.Service, p.m.String())
	if err != nil {
		return err
	}
	p.nc = nc
	// An asynchronous durable publish that the server never acknowledges
	// (it went away) is given up by the client library after
	// leaderPatience, so that its place among the publishes waiting for
	// acknowledgements is freed (durable.go, publishStored).
	if p.js, err = jetstream.New(nc, jetstream.WithPublishAsyncTimeout(leaderPatience)); err != nil {
		nc.Close()
		return fmt.Errorf("natsbus: join %s: %w", p.m, err)
	}
	sub, err := nc.Subscribe(p.t.subj.replies(p.m), func(msg *nats.Msg) {
		if p.enter() {
			defer p.leave()
			p.reply(msg, inbox)
		}
	})
	if err == nil {
		sub.SetPendingLimits(-1, 64<<20)
		// Make sure the server has the subscription before any
		// request can be answered.
		err = flush(ctx, nc)
	}
	if err != nil {
		nc.Close()
		return fmt.Errorf("natsbus: join %s: %w", p.m, err)
	}
	p.subs = append(p.subs, sub)
	p.inbox = inbox
	return nil
}

// reply handles a message on one of the member's reply subjects: a reply
// to one of its requests (reply.<service>.<instance>.<id>.<replier>), or,
// on a request's own reply subject (reply.<service>.<instance>.<id>), the
// server's no-responders status or a receiver's refusal.
func (p *port) reply(msg *nats.Msg, inbox bus.Deliverer) {
	t := p.t
	id, replier, direct := strings.Cut(strings.TrimPrefix(msg.Subject, p.replyPrefix), ".")
	if !troupe.ValidID(id) || strings.Contains(replier, ".") {
		t.drop(&t.malformed, "a reply subject without a request id", msg.Subject, msg.Data, nil)
		return
	}
	if !direct {
		if len(msg.Data) == 0 && msg.Header.Get("Status") == "503" {
			inbox.Deliver(bus.NoReceiverReply(id, p.m), nil)
			return
		}
		// Only a receiver of the request may publish here (the server's
		// permissions): a refusal ends the request at once.
		env, err := troupe.DecodeEnvelopeOwned(msg.Data)
		if err == nil && env.Kind == troupe.KindReply && env.ResponseTo == id && !env.More {
			if e := env.Err(); e != nil && (e.Code == troupe.CodeBadRequest || e.Code == troupe.CodeForbidden) {
				inbox.Deliver(bus.TransportReply(id, p.m, e), nil)
				return
			}
		}
		t.drop(&t.malformed, "not a refusal on a request's reply subject", msg.Subject, msg.Data, err)
		return
	}
	env := t.decode(msg.Subject, "", msg.Data)
	if env == nil {
		return
	}
	if env.ResponseTo != id {
		t.drop(&t.forged, "a reply on the subject of another request", msg.Subject, msg.Data, fmt.Errorf("responseTo %s", env.ResponseTo))
		return
	}
	// The replier's service is the subject's, which the server's
	// permissions bind to the user that published it; the bus refuses a
	// reply that claims another.
	env.From = replier
	inbox.Deliver(env, nil)
}

// Subscribe delivers the envelopes named name to d: at-most-once ones from a
// queue subscription (group: the service; a plain subscription for
// bus.EveryInstance, so that every instance gets each), durable ones, when
// the name is durable, from the service's JetStream consumer for it.
func (p *port) Subscribe(name string, mode bus.Delivery, d bus.Deliverer) error {
	if err := validSubjectName(name); err != nil {
		return troupe.Errorf(troupe.CodeBadRequest, "natsbus: subscribe: %v", err)
	}
	if d == nil {
		return fmt.Errorf("natsbus: subscribe %q: nil deliverer", name)
	}
	if mode == bus.EveryInstance && p.t.isDurable(name) {
		return troupe.Errorf(troupe.CodeBadRequest, "natsbus: subscribe %q: a durable name goes to one instance", name)
	}
	p.mu.Lock()
	closed, left := p.closed, p.left
	p.mu.Unlock()
	if closed || left {
		return fmt.Errorf("natsbus: subscribe %q: %w", name, errClosed)
	}
	subject := p.t.subj.msgs(name)
	handle := func(msg *nats.Msg) {
		if !p.enter() {
			return
		}
		defer p.leave()
		p.receive(msg, name, d)
	}
	var (
		sub *nats.Subscription
		err error
	)
	if mode == bus.EveryInstance {
		sub, err = p.nc.Subscribe(subject, handle)
	} else {
		sub, err = p.nc.QueueSubscribe(subject, p.m.Service, handle)
	}
	if err != nil {
		return fmt.Errorf("natsbus: subscribe %q: %w", name, err)
	}
	sub.SetPendingLimits(-1, 64<<20)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := flush(ctx, p.nc); err != nil {
		_ = sub.Unsubscribe()
		return fmt.Errorf("natsbus: subscribe %q: %w", name, err)
	}
	var cc *puller
	if p.t.isDurable(name) {
		if cc, err = p.consume(ctx, name, d); err != nil {
			_ = sub.Unsubscribe()
			return err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		_ = sub.Unsubscribe()
		if cc != nil {
			cc.abandon()
		}
		return fmt.Errorf("natsbus: subscribe %q: %w", name, errClosed)
	}
	p.subs = append(p.subs, sub)
	if cc != nil {
		p.consumers = append(p.consumers, cc)
	}
	if p.t.local != nil && mode == bus.OneInstance && !p.t.isDurable(name) {
		p.t.local.add(name, p, d)
	}
	return nil
}

// Route sends env. At-most-once envelopes are published to the name's
// subject; a request carries the member's reply subject, so that the server
// answers "no responders" when nobody subscribes (that arrives at the inbox
// as a not_found Error reply). Durable envelopes are published to the
// stream, and Route returns once the server has stored them.
func (p *port) Route(ctx context.Context, env *troupe.Envelope) error {
	if env == nil {
		return troupe.Errorf(troupe.CodeBadRequest, "natsbus: route: nil envelope")
	}
	if err := validSubjectName(env.Name); err != nil {
		return troupe.Errorf(troupe.CodeBadRequest, "natsbus: route: %v", err)
	}
	if env.Kind == troupe.KindReply {
		return troupe.Errorf(troupe.CodeBadRequest, "natsbus: route %q: a reply goes through Reply", env.Name)
	}
	if env.Sender != p.m {
		return &troupe.Error{Code: troupe.CodeForbidden, Msg: fmt.Sprintf("natsbus: route %q: sender %s is not the member %s", env.Name, env.Sender, p.m)}
	}
	if err := env.Validate(); err != nil {
		return fmt.Errorf("natsbus: route: %w", err)
	}
	if p.t.received != nil && !p.t.received[env.Name] {
		return &troupe.Error{Code: troupe.CodeNotFound, Msg: fmt.Sprintf("natsbus: route %q: %v", env.Name, troupe.ErrNoReceiver), Err: troupe.ErrNoReceiver}
	}
	if !env.Durable && p.t.local != nil {
		// Delivered in this process: the sender is the member whose
		// connection this is (Sender is p.m, above), as the subject's
		// token says through the server (identity.go).
		env.From = p.m.Service
		if r := p.t.local.route(env.Name); r != nil && r.deliver(env) { // local.go: no encoding, no server
			return nil
		}
	}
	buf := getBuf()
	defer putBuf(buf)
	data, err := env.AppendJSON((*buf)[:0])
	*buf = data
	if err != nil {
		return troupe.Errorf(troupe.CodeBadRequest, "natsbus: route %q: %v", env.Name, err)
	}
	if env.Durable {
		return p.routeDurable(ctx, env, data)
	}
	// Publish and PublishRequest copy data before they return.
	subject := p.t.subj.msg(p.m.Service, env.Name)
	if env.Kind == troupe.KindRequest {
		err = p.nc.PublishRequest(subject, p.t.subj.requestReply(p.m, env.ID), data)
	} else {
		err = p.nc.Publish(subject, data)
	}
	if err != nil {
		return unavailable("route", env.Name, err)
	}
	return nil
}

// bufs recycles the buffers envelopes are encoded into.
var bufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func getBuf() *[]byte { return bufs.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) <= 64<<10 {
		bufs.Put(b)
	}
}

// Reply sends env to the reply subject of member to.
func (p *port) Reply(ctx context.Context, to troupe.Member, env *troupe.Envelope) error {
	if env == nil {
		return troupe.Errorf(troupe.CodeBadRequest, "natsbus: reply: nil envelope")
	}
	if troupe.ValidServiceName(to.Service) != nil || troupe.ValidServiceName(to.Instance) != nil {
		return troupe.Errorf(troupe.CodeBadRequest, "natsbus: reply: invalid member %q", to.String())
	}
	if env.Kind != troupe.KindReply || !troupe.ValidID(env.ResponseTo) {
		return troupe.Errorf(troupe.CodeBadRequest, "natsbus: reply: not a reply")
	}
	if env.Sender != p.m {
		return &troupe.Error{Code: troupe.CodeForbidden, Msg: fmt.Sprintf("natsbus: reply %q: sender %s is not the member %s", env.Name, env.Sender, p.m)}
	}
	if err := env.Validate(); err != nil {
		return fmt.Errorf("natsbus: reply: %w", err)
	}
	if lp, in := p.t.localInbox(to); in != nil && lp.enter() {
		env.From = p.m.Service // the replier is this member (identity.go)
		in.Deliver(env, nil)   // local.go
		lp.leave()
		return nil
	}
	buf := getBuf()
	defer putBuf(buf)
	data, err := env.AppendJSON((*buf)[:0])
	*buf = data
	if err != nil {
		return troupe.Errorf(troupe.CodeBadRequest, "natsbus: reply: %v", err)
	}
	subject := p.t.subj.reply(to, env.ResponseTo, p.m.Service)
	if raw, ok := p.rawSubject(env.ResponseTo, !env.More); ok {
		subject = raw // identity.go: a raw client's own inbox
	}
	if err := p.nc.Publish(subject, data); err != nil {
		return unavailable("reply", env.Name, err)
	}
	return nil
}

// Leave drains the member's subscriptions and consumers (but its reply
// subscription): the server routes nothing new to it, and what the client
// already holds is still delivered. It returns when the drains are done,
// which for a durable consumer is when its last pull request has ended
// (within Config.PullExpiry), or when ctx ends.
func (p *port) Leave(ctx context.Context) error {
	p.mu.Lock()
	if p.closed || p.left {
		p.mu.Unlock()
		return nil
	}
	p.left = true
	if p.t.local != nil {
		p.t.local.remove(p)
	}
	var subs []*nats.Subscription
	if len(p.subs) > 1 {
		subs = slices.Clone(p.subs[1:])
	}
	consumers := slices.Clone(p.consumers)
	p.mu.Unlock()
	var drained []<-chan nats.SubStatus
	for _, sub := range subs {
		closed := sub.StatusChanged(nats.SubscriptionClosed)
		if err := sub.Drain(); err != nil {
			continue // already closed
		}
		drained = append(drained, closed)
	}
	// Each durable consumer asks for nothing more and keeps its inbox
	// until its last pull request has ended (pull.go), all at once.
	for _, cc := range consumers {
		cc.leave()
	}
	var err error
	for _, ch := range drained {
		select {
		case <-ch:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	for _, cc := range consumers {
		if lerr := cc.wait(ctx); lerr != nil {
			err = lerr
		}
	}
	if err != nil {
		return fmt.Errorf("natsbus: leave %s: %w", p.m, err)
	}
	return nil
}

// Close detaches the member: its subscriptions and consumers stop, durable
// deliveries not yet settled are given back for redelivery, deliveries in
// progress finish, and its connection closes.
func (p *port) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return fmt.Errorf("natsbus: close %s: %w", p.m, errClosed)
	}
	p.closed = true
	subs, consumers := p.subs, p.consumers
	p.mu.Unlock()
	if p.t.local != nil {
		p.t.local.remove(p)
	}

	for _, s := range subs {
		_ = s.Unsubscribe()
	}
	for _, cc := range consumers {
		cc.abandon()
	}
	p.mu.Lock()
	p.stopping = true
	for p.busy > 0 {
		p.idle.Wait()
	}
	unsettled := p.unsettled
	p.unsettled = nil
	p.mu.Unlock()
	for a := range unsettled {
		a.giveBack()
	}
	if p.nc.IsConnected() {
		// Best effort: what is not flushed is redelivered after
		// AckWait.
		_ = p.nc.FlushTimeout(time.Second)
	}
	p.nc.Close()
	p.t.mu.Lock()
	delete(p.t.members, p.m)
	p.t.mu.Unlock()
	return nil
}

// flush waits until the server has processed what nc sent, bounded by
// ctx or, without a deadline, by 10 seconds.
func flush(ctx context.Context, nc *nats.Conn) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	return nc.FlushWithContext(ctx)
}

// enter starts a delivery unless the port is closing.
func (p *port) enter() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopping {
		return false
	}
	p.busy++
	return true
}

// leave ends a delivery.
func (p *port) leave() {
	p.mu.Lock()
	p.busy--
	if p.busy == 0 {
		p.idle.Broadcast()
	}
	p.mu.Unlock()
}

// unavailable wraps a NATS publish error for the sender.
func unavailable(op, name string, err error) error {
	if errors.Is(err, nats.ErrMaxPayload) {
		return &troupe.Error{Code: troupe.CodeBadRequest, Msg: fmt.Sprintf("natsbus: %s %q: %v", op, name, err), Err: err}
	}
	if errors.Is(err, nats.ErrReconnectBufExceeded) {
		return &troupe.Error{Code: troupe.CodeUnavailable, Msg: fmt.Sprintf("natsbus: %s %q: not connected to the NATS server (reconnecting)", op, name), Err: err}
	}
	return &troupe.Error{Code: troupe.CodeUnavailable, Msg: fmt.Sprintf("natsbus: %s %q: %v", op, name, err), Err: err}
}
