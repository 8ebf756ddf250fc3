package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/apidoc"
	"github.com/troupe-go/troupe/internal/limit"
	"github.com/troupe-go/troupe/internal/schema"
)

// Requester sends a request on the bus and waits for its reply. *bus.Client
// satisfies it. Request must return once ctx is done; an Error reply is
// returned as (nil, *troupe.Error), and any other reply envelope's Name is
// the reply's type and its Payload the reply's JSON.
type Requester interface {
	Request(ctx context.Context, name string, payload any) (*troupe.Envelope, error)
}

// Defaults of Config's zero fields.
const (
	DefaultTimeout           = time.Second
	DefaultMaxBodyBytes      = 1 << 20
	DefaultMaxDepth          = 32
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultMaxHeaderBytes    = 16 << 10
)

// Paths the gateway serves itself; routes may not use them
// (troupe.ValidRoutePath refuses them).
const (
	HealthPath   = troupe.HealthPath
	ReadyPath    = troupe.ReadyPath
	MetricsPath  = troupe.MetricsPath
	OpenAPIPath  = troupe.OpenAPIPath
	AsyncAPIPath = troupe.AsyncAPIPath
)

// Config configures a Gateway. The zero value of each field means the
// default documented beside it; App and Bus are required.
type Config struct {
	// App declares the routes (App.Routes). Required.
	App *troupe.App
	// Bus sends the requests. Required when App has routes; without
	// routes the Gateway serves only /healthz, /readyz and /metrics (a
	// process that runs services but not the gateway).
	Bus Requester

	// Timeout is the budget from a request's arrival to its reply; past
	// it the client gets a timeout Error and a late reply is dropped.
	// Default 1 s (seed 001).
	Timeout time.Duration
	// MaxBodyBytes bounds a request body. Default 1 MiB.
	MaxBodyBytes int64
	// MaxDepth bounds the nesting of arrays and objects in a request
	// body. Default 32.
	MaxDepth int
	// ReadHeaderTimeout bounds the time to read a request's headers
	// (slowloris). Default 5 s. Used by Server.
	ReadHeaderTimeout time.Duration
	// IdleTimeout bounds how long an idle keep-alive connection is kept.
	// Default 120 s. Used by Server.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds the size of a request's headers. Default
	// 16 KiB. Used by Server.
	MaxHeaderBytes int

	// Authenticator says who sends each request to a route (a bearer
	// token, a session cookie); the request's message goes out on behalf
	// of the principal it names. Nil authenticates nobody: a route whose
	// message needs a principal answers 401. See BusAuthenticator.
	Authenticator Authenticator
	// AllowedHosts are the hosts the gateway answers for, as the Host
	// header names them (the port is ignored): a name, "*.example.com"
	// for the names under example.com, or "*" for any. IP addresses,
	// localhost and *.localhost are always allowed, so the default serves
	// only those: list the names clients use. Other hosts get 421
	// (DNS rebinding protection).
	AllowedHosts []string
	// AllowUnknownFields lets a request carry members that its message's
	// payload schema does not declare. By default the gateway refuses
	// them with 400 when the schema lists the members of an object
	// (properties, without additionalProperties): a misspelt field is an
	// error, not silently ignored.
	AllowUnknownFields bool
	// TrustedOrigins are the origins ("https://app.example.com") besides
	// the request's own from which browsers may send state-changing
	// requests (POST, PUT, PATCH, DELETE) and open WebSockets; others
	// get 403 (cross-site request forgery protection).
	TrustedOrigins []string

	// Logger receives one line per failed request. Default slog.Default().
	Logger *slog.Logger
	// Metrics, if set, is served at /metrics on the gateway's own
	// handler, that is on its public address. Nil serves no metrics here:
	// a node serves them on its admin listener (host.Config.AdminAddr).
	Metrics prometheus.Gatherer
	// Registerer, if set, receives the gateway's own metrics:
	// troupe_gateway_requests_total{route, code} and
	// troupe_gateway_request_duration_seconds{route}, where route is
	// the route's pattern ("unmatched" when none matched) and code the
	// Error code or "ok". Optional.
	Registerer prometheus.Registerer
	// Health adds entries (alarm states, say) to the /healthz body.
	// Optional.
	Health func(ctx context.Context) map[string]any
	// Live reports whether the process is alive (its runtime answers);
	// /healthz answers 503 while it returns an error, so that a
	// supervisor (the kubelet's liveness probe) restarts it. Optional:
	// nil means alive.
	Live func(ctx context.Context) error
	// Ready reports whether the application is ready for traffic; /readyz
	// answers 503 while it returns an error. Optional: nil means ready.
	Ready func(ctx context.Context) error
	// Limit bounds the requests of each route on the bus at once and the
	// queue before them (troupe.LimitPolicy); a zero field means its
	// default: DefaultRouteConcurrency, DefaultRouteQueue,
	// DefaultRouteMaxWait. A request that cannot have its turn in time is
	// answered 503 with Retry-After at once, never left to time out.
	Limit troupe.LimitPolicy
	// Limits holds per-route policies, by Name the route's pattern
	// ("GET /api/lists/{list}/todos"; "POST /" for a protocol route),
	// field by field over Limit.
	Limits []troupe.LimitPolicy

	// Observer is called once per request to a route, after the reply
	// is written, with the route ("POST /" or "GET /api/todos/{id}"; ""
	// when no route matched), the Error code ("" on success) and the time
	// from arrival to reply. It must be fast and safe for concurrent use.
	// Optional.
	Observer func(route string, code troupe.Code, d time.Duration)
}

// Gateway is the HTTP edge of an application: an http.Handler that turns
// requests into bus requests and bus replies into responses (see the package
// documentation). Use it with a Server, or any http.Server.
type Gateway struct {
	cfg      Config
	mux      *http.ServeMux
	metrics  http.Handler
	stats    *stats   // nil without a Registerer
	routes   []*route // the compiled routes, in the manifest's order
	draining atomic.Bool
	prot     *protection          // protect.go
	fields   map[string]*fieldSet // by message: its payload's declared members; nil entry: any
}

// fieldSet is what a message's payload schema declares.
type fieldSet struct {
	names map[string]bool
	list  string // for messages: "list, title"
}

// checkFields refuses a member of message name's payload that its schema
// does not declare.
func (g *Gateway) checkField(name, key string) error {
	fs := g.fields[name]
	if fs == nil || fs.names[key] {
		return nil
	}
	return badRequest("unknown field %q: %s takes %s", truncate(key, 40), name, fs.list)
}

// compileFields finds the declared members of the payload of every
// message a route sends.
func (g *Gateway) compileFields() {
	g.fields = map[string]*fieldSet{}
	if g.cfg.AllowUnknownFields {
		return
	}
	for _, rt := range g.cfg.App.Routes {
		for _, name := range append(slices.Clone(rt.Types), rt.Message) {
			if name == "" || g.fields[name] != nil {
				continue
			}
			names, ok := schema.Fields(g.cfg.App, name)
			if !ok {
				continue
			}
			fs := &fieldSet{names: map[string]bool{}, list: strings.Join(names, ", ")}
			if fs.list == "" {
				fs.list = "no fields"
			}
			for _, n := range names {
				fs.names[n] = true
			}
			g.fields[name] = fs
		}
	}
}

// stats are the gateway's own metrics.
type stats struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newStats(r prometheus.Registerer) (*stats, error) {
	s := &stats{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "troupe_gateway_requests_total",
			Help: "HTTP requests answered by the gateway, by route pattern and Error code (ok on success).",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "troupe_gateway_request_duration_seconds",
			Help:    "Time from a request's arrival at the gateway to its reply, by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
	}
	for _, c := range []prometheus.Collector{s.requests, s.latency} {
		if err := r.Register(c); err != nil {
			return nil, fmt.Errorf("gateway: metrics: %w", err)
		}
	}
	return s, nil
}

var _ http.Handler = (*Gateway)(nil)

// route is one compiled route.
type route struct {
	pattern   string          // what the Observer sees
	principal bool            // the route needs a principal whatever its message
	types     map[string]bool // protocol route: accepted types
	message   string          // REST route: the message sent
	params    []string        // REST route: path parameter names
	lim       *limit.Limiter  // nil when the route's limit is off
	ok        atomic.Pointer[answerSeries]
}

// answerSeries are the series of the gateway's metrics that one answer adds
// to; a route keeps those of its successful answers (observe).
type answerSeries struct {
	requests prometheus.Counter
	latency  prometheus.Observer
}

// New returns a Gateway for cfg's routes, or an error naming the first
// invalid route.
func New(cfg Config) (*Gateway, error) {
	if cfg.App == nil {
		return nil, errors.New("gateway: config: App is required")
	}
	if cfg.Bus == nil && len(cfg.App.Routes) > 0 {
		return nil, errors.New("gateway: config: Bus is required to serve routes")
	}
	if cfg.Timeout < 0 || cfg.MaxBodyBytes < 0 || cfg.MaxDepth < 0 || cfg.ReadHeaderTimeout < 0 ||
		cfg.IdleTimeout < 0 || cfg.MaxHeaderBytes < 0 {
		return nil, errors.New("gateway: config: negative limit")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxDepth == 0 {
		cfg.MaxDepth = DefaultMaxDepth
	}
	if cfg.ReadHeaderTimeout == 0 {
		cfg.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.MaxHeaderBytes == 0 {
		cfg.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if err := checkLimits(cfg.App, cfg.Limit, cfg.Limits); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	prot, err := newProtection(cfg)
	if err != nil {
		return nil, err
	}
	g := &Gateway{cfg: cfg, mux: http.NewServeMux(), prot: prot}
	g.compileFields()
	if cfg.Metrics != nil {
		g.metrics = promhttp.HandlerFor(cfg.Metrics, promhttp.HandlerOpts{})
	} else {
		g.metrics = http.HandlerFunc(g.serveNotFound)
	}
	if cfg.Registerer != nil {
		st, err := newStats(cfg.Registerer)
		if err != nil {
			return nil, err
		}
		g.stats = st
		if err := cfg.Registerer.Register(limitCollector{g}); err != nil {
			return nil, fmt.Errorf("gateway: metrics: %w", err)
		}
	}
	if err := g.handle(HealthPath, http.HandlerFunc(g.serveHealth)); err != nil {
		return nil, err
	}
	if err := g.handle(ReadyPath, http.HandlerFunc(g.serveReady)); err != nil {
		return nil, err
	}
	if err := g.handle(MetricsPath, g.metrics); err != nil {
		return nil, err
	}
	if err := g.serveDocuments(); err != nil {
		return nil, err
	}
	if err := g.handle("/", http.HandlerFunc(g.serveNotFound)); err != nil {
		return nil, err
	}
	restMethods := map[string][]string{} // REST path -> methods
	protocol := map[string]bool{}        // paths of protocol routes
	for i, rt := range cfg.App.Routes {
		if err := g.addRoute(rt, restMethods); err != nil {
			return nil, fmt.Errorf("gateway: route %d (%s %s): %w", i, rt.Method, rt.Path, err)
		}
		if len(rt.Types) > 0 {
			protocol[muxPath(rt.Path)] = true
		}
	}
	// A REST path answers the methods it has no route for with 405 and
	// Allow. Each such method gets its own pattern ("PUT /a/{id}"), which
	// conflicts with no route that ServeMux accepts beside the others (a
	// method-less pattern would: "/a/new" beside "GET /a/{id}"). A path
	// that a protocol route serves is left to it.
	for _, path := range slices.Sorted(maps.Keys(restMethods)) {
		if protocol[path] {
			continue
		}
		methods := restMethods[path]
		allow := strings.Join(methods, ", ")
		pattern := strings.Join(methods, "|") + " " + path
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			g.fail(w, r, pattern, time.Now(), methodNotAllowed(r.Method, allow))
		})
		for _, m := range fallbackMethods {
			if slices.Contains(methods, m) || m == http.MethodGet && slices.Contains(methods, http.MethodHead) {
				continue
			}
			// A pattern that an overlapping route's own makes ambiguous
			// is left out: that route's fallback answers instead.
			_ = g.handle(m+" "+path, h)
		}
	}
	return g, nil
}

// fallbackMethods are the methods a REST path answers with 405 when it has
// no route for them (HEAD goes with GET).
var fallbackMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions, http.MethodTrace}

// muxPath is the ServeMux path of a route path: one ending in "/" would
// match every path below it; routes are exact, so it is anchored.
func muxPath(path string) string {
	if strings.HasSuffix(path, "/") {
		return path + "{$}"
	}
	return path
}

// addRoute validates and registers one route. Its rule is
// troupe.ValidRoute, the manifest's.
func (g *Gateway) addRoute(rt troupe.Route, restMethods map[string][]string) error {
	if err := troupe.ValidRoute(rt); err != nil {
		return err
	}
	muxPath := muxPath(rt.Path)
	switch {
	case len(rt.Types) > 0:
		r := &route{pattern: "POST " + rt.Path, principal: rt.Principal, types: map[string]bool{}}
		for _, t := range rt.Types {
			r.types[t] = true
		}
		r.lim = g.routeLimit(r.pattern)
		g.routes = append(g.routes, r)
		return g.handle(muxPath, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			g.serveProtocol(w, req, r)
		}))
	default:
		params := troupe.PathParams(rt.Path)
		r := &route{pattern: rt.Method + " " + rt.Path, principal: rt.Principal, message: rt.Message, params: params}
		r.lim = g.routeLimit(r.pattern)
		g.routes = append(g.routes, r)
		if err := g.handle(rt.Method+" "+muxPath, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			g.serveREST(w, req, r)
		})); err != nil {
			return err
		}
		if !slices.Contains(restMethods[muxPath], rt.Method) {
			restMethods[muxPath] = append(restMethods[muxPath], rt.Method)
		}
		return nil
	}
}

// handle registers h at pattern, turning the ServeMux's panic on an invalid
// or conflicting pattern into an error.
func (g *Gateway) handle(pattern string, h http.Handler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	g.mux.Handle(pattern, h)
	return nil
}

// serveDocuments serves the application's generated API documents: the
// OpenAPI document of the routes and the AsyncAPI document of the bus.
func (g *Gateway) serveDocuments() error {
	open, err := apidoc.OpenAPI(g.cfg.App)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	async, err := apidoc.AsyncAPI(g.cfg.App)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	for path, doc := range map[string][]byte{OpenAPIPath: open, AsyncAPIPath: async} {
		if err := g.handle(path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				g.fail(w, r, "", time.Now(), methodNotAllowed(r.Method, "GET, HEAD"))
				return
			}
			h := w.Header()
			h["Content-Type"] = contentTypeJSON
			h.Set("Cache-Control", "no-cache")
			h.Set("Access-Control-Allow-Origin", "*") // documentation viewers on other origins
			_, _ = w.Write(doc)
		})); err != nil {
			return err
		}
	}
	return nil
}

// ServeHTTP serves a request: a route's, /healthz, /readyz, /metrics (if
// Config.Metrics is set), /openapi.json or /asyncapi.json, after the
// protection of Protect.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header()["X-Content-Type-Options"] = nosniff
	if err := g.prot.check(r); err != nil {
		g.fail(w, r, "", time.Now(), err)
		return
	}
	g.mux.ServeHTTP(w, r)
}

func (g *Gateway) serveNotFound(w http.ResponseWriter, r *http.Request) {
	g.fail(w, r, "", time.Now(), &edgeError{
		err:    troupe.Errorf(troupe.CodeNotFound, "no route for %s %s", r.Method, truncate(r.URL.Path, 100)),
		status: http.StatusNotFound,
	})
}

// serveProtocol serves seed 001's protocol: POST {"type": T, ...}.
func (g *Gateway) serveProtocol(w http.ResponseWriter, r *http.Request, rt *route) {
	start := time.Now()
	if r.Method != http.MethodPost {
		g.fail(w, r, rt.pattern, start, methodNotAllowed(r.Method, http.MethodPost))
		return
	}
	r, p, err := g.authenticate(r) // auth.go
	if err != nil {
		g.fail(w, r, rt.pattern, start, err)
		return
	}
	body, err := g.readBody(w, r)
	if err != nil {
		g.fail(w, r, rt.pattern, start, err)
		return
	}
	typ, payload, err := DecodeRequest(body.Bytes(), g.cfg.MaxDepth)
	putBuffer(body)
	if err != nil {
		g.fail(w, r, rt.pattern, start, err)
		return
	}
	if !rt.types[typ] {
		g.fail(w, r, rt.pattern, start, badRequest("unknown type %q at %s", truncate(typ, 40), rt.pattern[len("POST "):]))
		return
	}
	if err := g.allowed(p, typ, rt.principal); err != nil {
		g.fail(w, r, rt.pattern, start, err)
		return
	}
	if g.fields[typ] != nil {
		members, _ := splitObject(payload) // valid: DecodeRequest joined it
		for _, m := range members {
			if err := g.checkField(typ, m.key); err != nil {
				g.fail(w, r, rt.pattern, start, err)
				return
			}
		}
	}
	g.call(w, r, rt, start, typ, payload, http.StatusOK)
}

// serveREST serves a REST route: path parameters, query and JSON body
// merged into one payload object.
func (g *Gateway) serveREST(w http.ResponseWriter, r *http.Request, rt *route) {
	start := time.Now()
	r, p, err := g.authenticate(r) // auth.go
	if err == nil {
		err = g.allowed(p, rt.message, rt.principal)
	}
	if err != nil {
		g.fail(w, r, rt.pattern, start, err)
		return
	}
	var members []member
	var fields [][]byte
	seen := map[string]string{}
	add := func(key, from string, raw []byte) error {
		if prev, ok := seen[key]; ok {
			return badRequest("field %q given twice (%s and %s)", truncate(key, 40), prev, from)
		}
		if from != "path" { // the route's own parameters are always taken
			if err := g.checkField(rt.message, key); err != nil {
				return err
			}
		}
		seen[key] = from
		fields = append(fields, raw)
		return nil
	}
	for _, p := range rt.params {
		v := r.PathValue(p)
		if !utf8Valid(v) {
			g.fail(w, r, rt.pattern, start, badRequest("path parameter %q is not valid UTF-8", p))
			return
		}
		_ = add(p, "path", append(append(quote(p), ':'), quote(v)...))
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		g.fail(w, r, rt.pattern, start, badRequest("invalid query: %v", err))
		return
	}
	for _, k := range slices.Sorted(maps.Keys(query)) {
		vs := query[k]
		if len(vs) > 1 {
			g.fail(w, r, rt.pattern, start, badRequest("query parameter %q given %d times", truncate(k, 40), len(vs)))
			return
		}
		if !utf8Valid(k) || !utf8Valid(vs[0]) {
			g.fail(w, r, rt.pattern, start, badRequest("query parameter is not valid UTF-8"))
			return
		}
		if err := add(k, "query", append(append(quote(k), ':'), quote(vs[0])...)); err != nil {
			g.fail(w, r, rt.pattern, start, err)
			return
		}
	}
	if r.ContentLength != 0 {
		body, err := g.readBody(w, r)
		if err != nil {
			g.fail(w, r, rt.pattern, start, err)
			return
		}
		if len(trimSpace(body.Bytes())) > 0 {
			members, err = decodeObject(body.Bytes(), g.cfg.MaxDepth)
			if err != nil {
				putBuffer(body)
				g.fail(w, r, rt.pattern, start, err)
				return
			}
			for _, m := range members {
				if err := add(m.key, "body", m.raw); err != nil {
					putBuffer(body)
					g.fail(w, r, rt.pattern, start, err)
					return
				}
			}
		}
		payload := joinObject(fields) // copies out of body before it is reused
		putBuffer(body)
		g.call(w, r, rt, start, rt.message, payload, restStatus(r))
		return
	}
	g.call(w, r, rt, start, rt.message, joinObject(fields), restStatus(r))
}

// restStatus is the status of a REST route's successful reply: 201 Created
// for POST (a resource was made: REST level 2), 200 OK otherwise.
func restStatus(r *http.Request) int {
	if r.Method == http.MethodPost {
		return http.StatusCreated
	}
	return http.StatusOK
}

// call waits for the route's turn, sends the request and writes its reply
// with status ok; a request the route's limit sheds is answered 503 at once.
// Every check that needs no bus (the host and origin, the authentication,
// the principal's roles, the body's type, syntax and fields) comes before
// it: a request refused by them never takes a turn, so that an
// unauthenticated or forbidden client cannot fill a route's queue.
func (g *Gateway) call(w http.ResponseWriter, r *http.Request, rt *route, start time.Time, name string, payload json.RawMessage, ok int) {
	pattern := rt.pattern
	deadline := start.Add(g.cfg.Timeout)
	began, err := g.turn(r, rt, deadline)
	if err != nil {
		if r.Context().Err() != nil && time.Now().Before(deadline) {
			g.cfg.Logger.Debug("gateway: client gone", "route", pattern, "type", name)
			return
		}
		if errors.Is(err, context.DeadlineExceeded) {
			err = &troupe.Error{Code: troupe.CodeTimeout, Msg: fmt.Sprintf("no turn for %s within %v", name, g.cfg.Timeout), Err: err}
		}
		g.fail(w, r, pattern, start, err)
		return
	}
	env, err := g.request(r, name, payload, deadline) // trace.go
	now := time.Now()
	rt.lim.DoneAt(began, now, deadline)
	if err == nil && env == nil {
		err = troupe.Errorf(troupe.CodeInternal, "no reply")
	}
	if err == nil && !now.Before(deadline) {
		err = context.DeadlineExceeded // the late reply is dropped
	}
	if err == nil {
		if e := env.Err(); e != nil {
			err = e
		}
	}
	if err != nil {
		if r.Context().Err() != nil && time.Now().Before(deadline) {
			// The client went away: nobody to answer.
			g.cfg.Logger.Debug("gateway: client gone", "route", pattern, "type", name)
			return
		}
		if errors.Is(err, context.DeadlineExceeded) || troupe.CodeOf(err) == troupe.CodeTimeout && !time.Now().Before(deadline) {
			err = &troupe.Error{Code: troupe.CodeTimeout, Msg: fmt.Sprintf("no reply to %s within %v", name, g.cfg.Timeout), Err: err}
		}
		g.fail(w, r, pattern, start, err)
		return
	}
	out, err := encodeReply(env)
	if err != nil {
		g.fail(w, r, pattern, start, err)
		return
	}
	writeJSON(w, ok, out)
	g.observe(pattern, "", start, rt)
}

// turn waits for the route's limiter to let r's request go, until
// deadline, and returns when it did (for Done). A free slot costs no
// timer; a wait runs under a context that ends at the deadline.
func (g *Gateway) turn(r *http.Request, rt *route, deadline time.Time) (time.Time, error) {
	if rt.lim.TryAcquire() {
		return time.Now(), nil
	}
	ctx, cancel := context.WithDeadline(r.Context(), deadline)
	defer cancel()
	return rt.lim.Wait(ctx, deadline)
}

// observe counts an answer and gives it to the Observer. rt, if not nil,
// is the route whose successful answer it is: its series are looked up once
// rather than by their labels on every answer.
func (g *Gateway) observe(pattern string, code troupe.Code, start time.Time, rt *route) {
	if g.cfg.Observer == nil && g.stats == nil {
		return
	}
	d := time.Since(start)
	if g.stats != nil {
		st := g.series(pattern, code, rt)
		st.requests.Inc()
		st.latency.Observe(d.Seconds())
	}
	if g.cfg.Observer != nil {
		g.cfg.Observer(pattern, code, d)
	}
}

// series returns the metric series of an answer (see observe).
func (g *Gateway) series(pattern string, code troupe.Code, rt *route) answerSeries {
	if rt != nil && code == "" {
		if st := rt.ok.Load(); st != nil {
			return *st
		}
	}
	route, c := pattern, string(code)
	if route == "" {
		route = "unmatched"
	}
	if c == "" {
		c = "ok"
	}
	st := answerSeries{requests: g.stats.requests.WithLabelValues(route, c), latency: g.stats.latency.WithLabelValues(route)}
	if rt != nil && code == "" {
		rt.ok.Store(&st) // a racing answer stores the same series
	}
	return st
}

var bufPool sync.Pool

func putBuffer(b *buffer) {
	if b.Cap() <= 64<<10 {
		b.Reset()
		bufPool.Put(b)
	}
}

// readBody checks the content type and reads the body, at most MaxBodyBytes.
// The body must say it is JSON: a browser sends no such body to another
// site without asking it first (CORS), while a form or a fetch in "no-cors"
// mode can send a body without a Content-Type, or a text one.
func (g *Gateway) readBody(w http.ResponseWriter, r *http.Request) (*buffer, error) {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || !(mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		msg := fmt.Sprintf("Content-Type %q: want application/json", truncate(ct, 60))
		if ct == "" {
			msg = "no Content-Type: want application/json"
		}
		return nil, &edgeError{err: badRequest("%s", msg), status: http.StatusUnsupportedMediaType}
	}
	if ce := r.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return nil, &edgeError{
			err:    badRequest("Content-Encoding %q: not supported", truncate(ce, 60)),
			status: http.StatusUnsupportedMediaType,
		}
	}
	tooLarge := func() error {
		return &edgeError{
			err:    badRequest("body larger than %d bytes", g.cfg.MaxBodyBytes),
			status: http.StatusRequestEntityTooLarge,
		}
	}
	if r.ContentLength > g.cfg.MaxBodyBytes {
		return nil, tooLarge()
	}
	b, _ := bufPool.Get().(*buffer)
	if b == nil {
		b = new(buffer)
	}
	if r.ContentLength > 0 {
		b.Grow(int(r.ContentLength))
	}
	_, err = b.ReadFrom(http.MaxBytesReader(w, r.Body, g.cfg.MaxBodyBytes))
	if err != nil {
		putBuffer(b)
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge()
		}
		return nil, badRequest("reading body: %v", err)
	}
	return b, nil
}

// serveHealth answers liveness: 200 while Config.Live succeeds (503 with
// the reason when it fails), with the extra entries of Config.Health.
func (g *Gateway) serveHealth(w http.ResponseWriter, r *http.Request) {
	body := map[string]any{}
	if g.cfg.Health != nil {
		for k, v := range g.cfg.Health(r.Context()) {
			body[k] = v
		}
	}
	status := http.StatusOK
	body["status"] = "ok"
	if g.cfg.Live != nil {
		if err := g.cfg.Live(r.Context()); err != nil {
			status = http.StatusServiceUnavailable
			body["status"] = "unhealthy"
			body["reason"] = err.Error()
		}
	}
	body["draining"] = g.draining.Load()
	out, err := json.Marshal(body)
	if err != nil {
		g.fail(w, r, "", time.Now(), troupe.Errorf(troupe.CodeInternal, "health: %v", err))
		return
	}
	writeJSON(w, status, out)
}

// serveReady answers readiness: 503 while Config.Ready fails or the server
// drains.
func (g *Gateway) serveReady(w http.ResponseWriter, r *http.Request) {
	reason := ""
	switch {
	case g.draining.Load():
		reason = "draining"
	case g.cfg.Ready != nil:
		if err := g.cfg.Ready(r.Context()); err != nil {
			reason = err.Error()
		}
	}
	if reason != "" {
		out, _ := json.Marshal(map[string]string{"status": "not ready", "reason": reason})
		writeJSON(w, http.StatusServiceUnavailable, out)
		return
	}
	writeJSON(w, http.StatusOK, []byte(`{"status":"ready"}`))
}

// SetDraining marks the gateway as draining (or not): /readyz answers 503
// while it drains. Server.Shutdown sets it.
func (g *Gateway) SetDraining(draining bool) { g.draining.Store(draining) }
