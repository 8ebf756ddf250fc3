package host

import (
	"cmp"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/dashboard"
	"github.com/troupe-go/troupe/natsbus"
	"github.com/troupe-go/troupe/observe"
	"github.com/troupe-go/troupe/tracing"
)

// What a node does so that it can be seen (docs/observe.md): it traces
// its services' messages (OpenTelemetry, when the OTEL_* variables ask
// for it), runs an observe agent that answers the operator's tools over the
// bus, makes every instance answer NATS's service discovery, exports its
// actors' series, and serves the dashboard on its admin listener.

// DefaultAdminAddr is where a node's admin listener (the dashboard, and
// what operators alone may see) listens when HTTPConfig.AdminAddr is
// empty: a free port on loopback.
const DefaultAdminAddr = "127.0.0.1:0"

// AdminOff as HTTPConfig.AdminAddr turns the admin listener off.
const AdminOff = "off"

// observer is a node's observability: set up by startTracing and
// startObserve, stopped by stopObserve and stopTracing.
type observer struct {
	tracing *tracing.Tracing
	agent   *observe.Agent
	opConn  *nats.Conn // the dashboard's connection, as the operator
	dash    *dashboard.Dashboard
	admin   *http.Server
	adminLn net.Listener
	mux     *http.ServeMux // the admin listener's routes
	nodeID  string
}

// wrapLogger makes the node's logger add the trace and activity of the
// message being handled to every record made with its context.
func wrapLogger(l *slog.Logger) *slog.Logger { return slog.New(tracing.LogHandler(l.Handler())) }

// startTracing sets up the node's tracing from the environment, before the
// services are built: their interceptors come from it (Instance.Config).
func (n *Node) startTracing(ctx context.Context) error {
	t, err := tracing.New(ctx, tracing.Config{App: n.app.Name})
	if err != nil {
		return fmt.Errorf("host: %w", err)
	}
	n.obs.tracing = t
	if t.Enabled() {
		n.log.Info("tracing: exporting spans over OTLP")
	}
	return nil
}

// traceHTTP traces the node's HTTP handler as the gateway's.
func (n *Node) traceHTTP(h http.Handler) http.Handler {
	return n.obs.tracing.HTTP(troupe.GatewayService, n.gatewayID, h)
}

// noteDeadLetter tells the agent of a durable message given up on.
func (n *Node) noteDeadLetter(env *troupe.Envelope, service, reason string) {
	if a := n.obs.agent; a != nil {
		a.DeadLetter(env, service, reason)
	}
}

// startObserve starts the agent, the discovery and observe protocols on
// NATS, the actors' metrics and the admin listener, once the node's
// instances have joined the bus.
func (n *Node) startObserve(ctx context.Context) error {
	owners := map[string][2]string{}
	for _, r := range n.instances {
		owners[r.in.ID] = [2]string{r.in.Service, r.in.ID}
	}
	n.registry.MustRegister(actor.Collector(n.sys, func(tree string) (string, string, bool) {
		o, ok := owners[tree]
		return o[0], o[1], ok
	}))
	n.obs.nodeID = troupe.NewInstanceID("node")
	agent, err := observe.New(observe.Config{
		App: n.app, Bus: n.bus, Actors: n.sys, Alarms: n.monitor,
		Node: n.obs.nodeID, Version: n.cfg.Version, Logger: n.log,
	})
	if err != nil {
		return fmt.Errorf("host: %w", err)
	}
	n.obs.agent = agent
	client := observe.Local(agent)
	if n.transport != nil {
		if err := n.serveObserveNATS(); err != nil {
			return err
		}
		// The dashboard asks every node, as the operator, when this node
		// has the operator's credentials (a command service has not).
		nc, err := n.transport.Connect(troupe.OperatorService, "dashboard")
		if err == nil {
			n.obs.opConn = nc
			client = observe.NewClient(nc, n.app.Name)
		} else if !n.cfg.child && n.cfg.HTTP.AdminAddr != AdminOff {
			n.log.Warn("the dashboard shows this node only: it has no credentials of the operator to ask the others", "user", troupe.OperatorService, "err", err)
		}
	}
	return n.startAdmin(client)
}

// serveObserveNATS makes every instance of the node answer NATS's service
// discovery on its own connection, and the agent answer the observe
// protocol on the first one's.
func (n *Node) serveObserveNATS() error {
	var members []troupe.Member
	for _, ms := range n.bus.Members() {
		if ms.Member.Service != troupe.OperatorService {
			members = append(members, ms.Member)
		}
	}
	slices.SortFunc(members, func(a, b troupe.Member) int { return strings.Compare(a.String(), b.String()) })
	served := false
	for _, m := range members {
		nc := n.transport.Conn(m)
		if nc == nil {
			continue
		}
		if err := n.obs.agent.ServeMicro(nc, m); err != nil {
			return fmt.Errorf("host: %w", err)
		}
		if !served {
			if err := n.obs.agent.ServeNATS(nc); err != nil {
				return fmt.Errorf("host: %w", err)
			}
			served = true
		}
	}
	return nil
}

// startAdmin serves the admin listener: the dashboard, and what
// adminHandlers adds. It listens on loopback unless HTTPConfig.AdminAddr
// says otherwise; off loopback /metrics is open (Prometheus scrapes it; a
// pod's network policy decides who reaches it) and the rest asks for the
// operator's credentials; a node without them refuses the rest and says
// so in its log.
func (n *Node) startAdmin(client *observe.Client) error {
	addr := n.cfg.HTTP.AdminAddr
	switch {
	case addr == AdminOff, addr == "" && n.cfg.child:
		return nil
	case addr == "":
		addr = DefaultAdminAddr
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("host: admin address %q: %w", addr, err)
	}
	var check func(*http.Request) bool
	if !loopbackHost(host) {
		if cred, ok := n.operatorCredential(); ok {
			check = basicAuth(cred)
		} else {
			check = func(*http.Request) bool { return false }
			n.log.Warn("the admin listener is off loopback and this node has no credentials of the operator to ask for: it serves /metrics only", "addr", addr, "user", troupe.OperatorService)
		}
	}
	d, err := dashboard.New(dashboard.Config{Client: client, App: n.app.Name, Logger: n.log})
	if err != nil {
		return fmt.Errorf("host: %w", err)
	}
	n.obs.dash = d
	n.obs.mux = http.NewServeMux()
	n.adminHandlers(n.obs.mux)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("host: admin listener: %w", err)
	}
	n.obs.adminLn = ln
	n.obs.admin = &http.Server{
		Handler:           adminGuard(n.obs.mux, check),
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
	}
	go func() { _ = n.obs.admin.Serve(ln) }()
	fmt.Fprintf(n.cfg.Stdout, "admin listening on %s (dashboard, metrics, pprof)\n", n.AdminURL())
	return nil
}

// adminHandlers registers what the admin listener serves: the dashboard at
// the root (with its /api/state), the node's metrics at /metrics (its
// registry, Node.Metrics; off the gateway's public address) and Go's
// profiler under /debug/pprof/.
func (n *Node) adminHandlers(mux *http.ServeMux) {
	mux.Handle("/", n.obs.dash)
	mux.Handle(troupe.MetricsPath, promhttp.HandlerFor(n.registry, promhttp.HandlerOpts{}))
	pprofRoutes(mux)
}

// AdminURL returns the base URL of the node's admin listener (the
// dashboard), "http://127.0.0.1:40123/", or "" when it has none.
func (n *Node) AdminURL() string {
	if n.obs.adminLn == nil {
		return ""
	}
	return "http://" + n.obs.adminLn.Addr().String() + "/"
}

// operatorCredential returns the operator's NATS credential, if the node
// has it.
func (n *Node) operatorCredential() (natsbus.Credential, bool) {
	var c natsbus.Credential
	if n.natsServer != nil {
		c, _ = n.natsServer.Credentials(troupe.OperatorService)
	} else if creds, err := ReadCredentials(n.credentialsPath()); err == nil && creds != nil {
		c = creds[troupe.OperatorService]
	}
	return c, adminSecret(c) != ""
}

// adminSecret is the password the admin listener asks for off loopback:
// the operator's NATS password, or, where NATS knows the operator by an
// nkey, its seed (the SU... line of troupe-cli.nk).
func adminSecret(c natsbus.Credential) string { return cmp.Or(c.Password, c.Seed) }

// basicAuth checks a request's Basic credentials against the operator's.
func basicAuth(c natsbus.Credential) func(*http.Request) bool {
	user, secret := cmp.Or(c.User, troupe.OperatorService), adminSecret(c)
	return func(r *http.Request) bool {
		u, p, ok := r.BasicAuth()
		return ok && subtle.ConstantTimeCompare([]byte(u), []byte(user)) == 1 &&
			subtle.ConstantTimeCompare([]byte(p), []byte(secret)) == 1
	}
}

// adminGuard lets a request through to h if check passes (or it asks for
// the metrics, which are open on a listener off loopback), or, without a
// check (a loopback listener), if it names a loopback host: a page on
// another site that a browser was tricked into sending to 127.0.0.1 under
// another name (DNS rebinding) reads nothing.
func adminGuard(h http.Handler, check func(*http.Request) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if check != nil {
			if r.URL.Path != troupe.MetricsPath && !check(r) {
				w.Header().Set("WWW-Authenticate", `Basic realm="troupe admin", charset="UTF-8"`)
				http.Error(w, "the admin listener wants the operator's credentials ("+troupe.OperatorService+" and its NATS password or nkey seed)", http.StatusUnauthorized)
				return
			}
		} else {
			host := r.Host
			if h, _, err := net.SplitHostPort(r.Host); err == nil {
				host = h
			}
			if !loopbackHost(strings.Trim(host, "[]")) {
				http.Error(w, "the admin listener answers only requests to a loopback host", http.StatusMisdirectedRequest)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// stopObserve stops the admin listener, the dashboard and the agent, first
// of all at shutdown.
func (n *Node) stopObserve(ctx context.Context) error {
	var errs []error
	if n.obs.dash != nil {
		n.obs.dash.Close()
	}
	if n.obs.admin != nil {
		if err := n.obs.admin.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, fmt.Errorf("host: admin listener: %w", err))
		}
	}
	if n.obs.agent != nil {
		errs = append(errs, n.obs.agent.Close(ctx))
	}
	if n.obs.opConn != nil {
		n.obs.opConn.Close()
	}
	return errors.Join(errs...)
}

// stopTracing exports the last spans, last of all at shutdown.
func (n *Node) stopTracing(ctx context.Context) error { return n.obs.tracing.Shutdown(ctx) }
