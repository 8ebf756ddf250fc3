package dashboard

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/troupe-go/troupe/observe"
)

// Defaults of Config's zero fields.
const (
	DefaultInterval = time.Second
	DefaultHistory  = 300
	// MaxClients bounds the pages open at once; past it a new one is
	// refused with 503.
	MaxClients = 64
)

// Config configures a Dashboard. Client is required.
type Config struct {
	// Client asks the application's nodes.
	Client *observe.Client
	// App is the application's name, in the page's title.
	App string
	// Interval is how often the dashboard asks the nodes while a page is
	// open. Default DefaultInterval (1s).
	Interval time.Duration
	// History is how many intervals of traffic the charts keep. Default
	// DefaultHistory (300: five minutes at one a second).
	History int
	// Logger receives the dashboard's problems. Nil means slog.Default().
	Logger *slog.Logger
}

// A Dashboard is the web page of a running application (Erlang's observer,
// Phoenix's LiveDashboard, for every process at once): services and
// instances, traffic per message with charts, alarms and their history,
// crash reports, supervision trees, dead letters, the hops of an activity,
// and a live tap. It is an http.Handler serving the page at "/" and its
// data under "/api/"; mount it where its paths are its own (strip a prefix
// with http.StripPrefix).
//
// It asks the nodes only while a page is open, once per Interval, and
// keeps the history itself, so that every page sees the same charts. A page
// that does not keep up with the updates is disconnected (it reconnects
// and catches up) rather than buffered for: a slow browser costs the
// services nothing. The handler is read-only; who may see it is the
// listener's business (the host's admin listener).
type Dashboard struct {
	cfg    Config
	log    *slog.Logger
	mux    *http.ServeMux
	static fs.FS

	mu      sync.Mutex
	clients map[*client]struct{}
	cancel  context.CancelFunc // stops the poller; nil while none runs
	polling sync.WaitGroup
	closed  bool

	agg   aggregator
	state []byte        // the last state frame, for a new page
	done  chan struct{} // closed by Close: every stream ends
}

// client is one open page's stream of frames.
type client struct {
	frames chan []byte
	kicked chan struct{} // closed when the client is dropped
	once   sync.Once
}

func (c *client) kick() { c.once.Do(func() { close(c.kicked) }) }

//go:embed static
var staticFiles embed.FS

// New returns a Dashboard.
func New(cfg Config) (*Dashboard, error) {
	if cfg.Client == nil {
		return nil, errors.New("dashboard: config: Client is required")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.History <= 0 {
		cfg.History = DefaultHistory
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	static, err := fs.Sub(staticFiles, "static")
	if err != nil {
		return nil, err
	}
	d := &Dashboard{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(), static: static, clients: map[*client]struct{}{}, done: make(chan struct{})}
	d.agg.init(cfg.History)
	files := http.FileServerFS(static)
	d.mux.Handle("GET /{$}", http.HandlerFunc(d.serveIndex))
	d.mux.Handle("GET /static/", http.StripPrefix("/static/", files))
	d.mux.HandleFunc("GET /api/stream", d.serveStream)
	d.mux.HandleFunc("GET /api/state", d.serveState)
	d.mux.HandleFunc("GET /api/activity", d.serveActivity)
	d.mux.HandleFunc("GET /api/tap", d.serveTap)
	return d, nil
}

// ServeHTTP serves the page and its data.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
	h.Set("Cache-Control", "no-store")
	d.mux.ServeHTTP(w, r)
}

func (d *Dashboard) serveIndex(w http.ResponseWriter, r *http.Request) {
	page, err := fs.ReadFile(d.static, "index.html")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(page)
}

// Close disconnects every page and stops asking the nodes.
func (d *Dashboard) Close() {
	d.mu.Lock()
	if !d.closed {
		close(d.done)
	}
	d.closed = true
	for c := range d.clients {
		c.kick()
	}
	cancel := d.cancel
	d.cancel = nil
	d.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	d.polling.Wait()
}

// join adds a page; the first starts the poller.
func (d *Dashboard) join() (*client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, errors.New("dashboard closed")
	}
	if len(d.clients) >= MaxClients {
		return nil, errors.New("too many dashboard pages open")
	}
	c := &client{frames: make(chan []byte, 4), kicked: make(chan struct{})}
	d.clients[c] = struct{}{}
	if d.cancel == nil {
		ctx, cancel := context.WithCancel(context.Background())
		d.cancel = cancel
		d.polling.Add(1)
		go func() {
			defer d.polling.Done()
			d.poll(ctx)
		}()
	}
	return c, nil
}

// leave removes a page; the last stops the poller.
func (d *Dashboard) leave(c *client) {
	d.mu.Lock()
	delete(d.clients, c)
	var cancel context.CancelFunc
	if len(d.clients) == 0 && d.cancel != nil {
		cancel, d.cancel = d.cancel, nil
	}
	d.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// poll asks the nodes every interval and sends each page the new state.
func (d *Dashboard) poll(ctx context.Context) {
	t := time.NewTicker(d.cfg.Interval)
	defer t.Stop()
	for {
		d.refresh(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// refresh asks the nodes once and broadcasts the state.
func (d *Dashboard) refresh(ctx context.Context) {
	qctx, cancel := context.WithTimeout(ctx, d.cfg.Interval*3)
	nodes, err := d.cfg.Client.Nodes(qctx, observe.NodeOptions{Trees: true, Record: true})
	var acts []observe.Hop
	if err == nil {
		acts, _ = d.cfg.Client.Activity(qctx, "", 400)
	}
	cancel()
	if ctx.Err() != nil {
		return
	}
	st := d.agg.update(time.Now(), nodes, err, acts)
	st.App = d.cfg.App
	frame, merr := json.Marshal(st)
	if merr != nil {
		d.log.Warn("dashboard: state", "err", merr)
		return
	}
	d.mu.Lock()
	d.state = frame
	clients := make([]*client, 0, len(d.clients))
	for c := range d.clients {
		clients = append(clients, c)
	}
	d.mu.Unlock()
	for _, c := range clients {
		select {
		case c.frames <- frame:
		default:
			c.kick() // it does not keep up: drop it, it reconnects
		}
	}
}

// serveStream streams the state to a page as server-sent events: the
// history first, then one state frame per interval.
func (d *Dashboard) serveStream(w http.ResponseWriter, r *http.Request) {
	c, err := d.join()
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer d.leave(c)
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(event string, data []byte) bool {
		// A page that cannot take a frame within 10 s is gone.
		_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		var b strings.Builder
		b.WriteString("event: ")
		b.WriteString(event)
		b.WriteString("\ndata: ")
		b.Write(data)
		b.WriteString("\n\n")
		if _, err := w.Write([]byte(b.String())); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	hist, err := json.Marshal(d.agg.historyFrame())
	if err != nil || !send("history", hist) {
		return
	}
	d.mu.Lock()
	last := d.state
	d.mu.Unlock()
	if last != nil && !send("state", last) {
		return
	}
	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-c.kicked:
			return
		case <-d.done:
			return
		case f := <-c.frames:
			if !send("state", f) {
				return
			}
		case <-ping.C:
			if !send("ping", []byte("{}")) {
				return
			}
		}
	}
}

// serveState answers the last state once (scripts, tests).
func (d *Dashboard) serveState(w http.ResponseWriter, r *http.Request) {
	nodes, err := d.cfg.Client.Nodes(r.Context(), observe.NodeOptions{Trees: true})
	st := d.agg.peek(time.Now(), nodes, err)
	st.App = d.cfg.App
	writeJSON(w, st)
}

// serveActivity answers the hops of one activity, ?id=...
func (d *Dashboard) serveActivity(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	if id == "" || len(id) > 64 {
		http.Error(w, "want ?id=<activity id>", http.StatusBadRequest)
		return
	}
	hops, err := d.cfg.Client.Activity(r.Context(), id, 0)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	writeJSON(w, timeline(id, hops))
}

// maxTapRate bounds the hops a tap page gets per second; past it a frame
// says how many were left out.
const maxTapRate = 200

// serveTap streams a live tap to a page as server-sent events:
// ?name=pattern&service=name&activity=id (each may repeat).
func (d *Dashboard) serveTap(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := observe.Filter{Names: q["name"], Services: q["service"], Activity: q.Get("activity")}
	if len(f.Names) > 16 || len(f.Services) > 16 {
		http.Error(w, "at most 16 names and 16 services", http.StatusBadRequest)
		return
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()
	type frame struct {
		Hops    []observe.Hop `json:"hops"`
		Dropped uint64        `json:"dropped"`
	}
	frames := make(chan frame, 16)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	tapped := make(chan struct{})
	defer func() {
		cancel()
		<-tapped
	}()
	var (
		mu      sync.Mutex
		window  = time.Now()
		inWin   int
		dropped uint64
	)
	go func() {
		defer close(tapped)
		_ = d.cfg.Client.Tap(ctx, f, func(_ string, hops []observe.Hop, lost uint64) {
			mu.Lock()
			now := time.Now()
			if now.Sub(window) >= time.Second {
				window, inWin = now, 0
			}
			keep := min(len(hops), max(0, maxTapRate-inWin))
			inWin += keep
			dropped += lost + uint64(len(hops)-keep)
			fr := frame{Hops: hops[:keep], Dropped: dropped}
			mu.Unlock()
			select {
			case frames <- fr:
				mu.Lock()
				dropped = 0
				mu.Unlock()
			default: // the page is behind: drop, and count
				mu.Lock()
				dropped += uint64(keep)
				mu.Unlock()
			}
		})
		cancel()
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.done:
			return
		case fr := <-frames:
			data, _ := json.Marshal(fr)
			_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if _, err := w.Write([]byte("event: hops\ndata: " + string(data) + "\n\n")); err != nil || rc.Flush() != nil {
				return
			}
		}
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(data)
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
