package host

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The admin listener (docs/operations.md, "Admin listener"): what an
// operator reads and the public must not, off the gateway's address. It
// serves the node's metrics and Go's profiler; by default on a free
// loopback port, printed at start ("admin listening on ...").

// DefaultAdminAddr is where a node serves its admin endpoints when
// Config.AdminAddr is empty: a free port on loopback, so that nothing but
// the machine itself reaches it. Give a fixed address (0.0.0.0:9090 in a
// pod) for Prometheus to scrape.
const DefaultAdminAddr = "127.0.0.1:0"

// AdminRoutes registers the node's admin endpoints on mux: /metrics (the
// node's registry, Node.Metrics) and Go's profiler under /debug/pprof/.
// The node serves them on its admin listener; a program that runs its own
// admin server (a dashboard, say) registers them there.
func (n *Node) AdminRoutes(mux *http.ServeMux) {
	mux.Handle("/metrics", promhttp.HandlerFor(n.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
}

// startAdmin serves AdminRoutes on Config.AdminAddr.
func (n *Node) startAdmin() error {
	addr := n.cfg.AdminAddr
	if addr == "" {
		addr = DefaultAdminAddr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("host: admin address: %w", err)
	}
	mux := http.NewServeMux()
	n.AdminRoutes(mux)
	n.admin = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	n.adminURL = "http://" + ln.Addr().String() + "/"
	go func() { _ = n.admin.Serve(ln) }()
	fmt.Fprintf(n.cfg.Stdout, "admin listening on %s (metrics, pprof)\n", n.adminURL)
	return nil
}

// AdminURL returns the base URL of the node's admin listener
// ("http://127.0.0.1:9090/"), or "" before it listens.
func (n *Node) AdminURL() string { return n.adminURL }
