package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// DefaultAddr is where a Server listens when its config names no address.
const DefaultAddr = "127.0.0.1:8080"

// ServerConfig says where a Server listens and how it does TLS. The zero
// value serves plain HTTP on DefaultAddr.
type ServerConfig struct {
	// Addr is the plain-HTTP listen address ("host:port"; port 0 picks
	// one). Default DefaultAddr when TLSAddr is empty, none otherwise.
	Addr string
	// TLSAddr is the HTTPS listen address. Empty means no HTTPS.
	TLSAddr string
	// CertFile and KeyFile name a PEM certificate (chain) and key for
	// HTTPS.
	CertFile, KeyFile string
	// SelfSigned makes a self-signed certificate for development when no
	// CertFile is given (ECDSA P-256, for localhost, 127.0.0.1, ::1 and
	// Hosts), kept in DataDir if set so that clients can trust it once.
	SelfSigned bool
	// DataDir is where the self-signed certificate is cached. Optional.
	DataDir string
	// Hosts are extra DNS names or IP addresses for the self-signed
	// certificate.
	Hosts []string
	// RedirectHTTP makes the plain-HTTP listener answer every request
	// with a permanent redirect (308) to HTTPS instead of serving it.
	RedirectHTTP bool
	// Handler, if set, is served instead of the Gateway: an application
	// that also serves pages (the todo app's web service, say) passes a
	// handler that routes the gateway's paths to the Gateway and the rest
	// to its own. It is served behind the Gateway's protection (allowed
	// hosts, cross-origin requests: Gateway.Protect). Draining and /readyz
	// still follow the Gateway.
	Handler http.Handler
	// DrainDelay is how long Shutdown keeps serving after /readyz turns
	// 503 and before it closes the listeners, so that a load balancer
	// (a Kubernetes Service) stops sending new requests first. Default 0.
	DrainDelay time.Duration
}

// Server serves a Gateway on its listeners: HTTP, HTTPS (with HTTP/2), or
// both, with the Gateway's limits (header timeout, idle timeout, header size;
// a request's body must arrive within ReadHeaderTimeout plus Timeout).
type Server struct {
	g          *Gateway
	drainDelay time.Duration
	servers    []*http.Server
	lns        []net.Listener
	httpURL    string
	tlsURL     string

	wg      sync.WaitGroup
	mu      sync.Mutex
	serveEr error
}

// Listen binds the listeners cfg names and serves g on them until Shutdown.
// It returns once the listeners are bound, so the URLs are known.
func Listen(g *Gateway, cfg ServerConfig) (*Server, error) {
	if cfg.Addr == "" && cfg.TLSAddr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.RedirectHTTP && (cfg.TLSAddr == "" || cfg.Addr == "") {
		return nil, errors.New("gateway: server: RedirectHTTP needs both Addr and TLSAddr")
	}
	var tlsConf *tls.Config
	if cfg.TLSAddr != "" {
		cert, err := loadCertificate(cfg)
		if err != nil {
			return nil, err
		}
		tlsConf = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}
	if cfg.DrainDelay < 0 {
		return nil, errors.New("gateway: server: negative DrainDelay")
	}
	s := &Server{g: g, drainDelay: cfg.DrainDelay}
	var served http.Handler = g
	if cfg.Handler != nil {
		served = g.Protect(cfg.Handler)
	}
	if cfg.TLSAddr != "" {
		ln, err := net.Listen("tcp", cfg.TLSAddr)
		if err != nil {
			return nil, fmt.Errorf("gateway: server: %w", err)
		}
		s.tlsURL = "https://" + urlHost(ln.Addr())
		hs := s.newHTTPServer(served)
		hs.TLSConfig = tlsConf
		s.start(hs, ln, true)
	}
	if cfg.Addr != "" {
		ln, err := net.Listen("tcp", cfg.Addr)
		if err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("gateway: server: %w", err)
		}
		s.httpURL = "http://" + urlHost(ln.Addr())
		h := served
		if cfg.RedirectHTTP {
			_, port, _ := net.SplitHostPort(s.lns[0].Addr().String())
			h = redirect(port)
		}
		s.start(s.newHTTPServer(h), ln, false)
	}
	return s, nil
}

func (s *Server) newHTTPServer(h http.Handler) *http.Server {
	c := &s.g.cfg
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		ReadTimeout:       c.ReadHeaderTimeout + c.Timeout,
		WriteTimeout:      c.ReadHeaderTimeout + 2*c.Timeout + 5*time.Second,
		IdleTimeout:       c.IdleTimeout,
		MaxHeaderBytes:    c.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(c.Logger.Handler(), slog.LevelDebug),
	}
}

func (s *Server) start(hs *http.Server, ln net.Listener, useTLS bool) {
	s.servers = append(s.servers, hs)
	s.lns = append(s.lns, ln)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		var err error
		if useTLS {
			err = hs.ServeTLS(ln, "", "") // adds h2 to the ALPN protocols
		} else {
			err = hs.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.mu.Lock()
			if s.serveEr == nil {
				s.serveEr = fmt.Errorf("gateway: server: %w", err)
			}
			s.mu.Unlock()
		}
	}()
}

// URL returns the base URL clients should use: the HTTPS one if the server
// serves HTTPS, the HTTP one otherwise.
func (s *Server) URL() string {
	if s.tlsURL != "" {
		return s.tlsURL + "/"
	}
	return s.httpURL + "/"
}

// HTTPURL returns the plain-HTTP base URL, or "" if there is none.
func (s *Server) HTTPURL() string { return s.httpURL }

// HTTPSURL returns the HTTPS base URL, or "" if there is none.
func (s *Server) HTTPSURL() string { return s.tlsURL }

// Shutdown drains the server: /readyz turns 503, requests are still served
// for DrainDelay, then the listeners close, idle connections close, and
// requests in progress are answered; it returns when they are, or when ctx
// is done (then the remaining connections are closed at once, and the delay
// is cut short). It returns the first error a listener failed with, if any.
func (s *Server) Shutdown(ctx context.Context) error {
	s.g.SetDraining(true)
	if s.drainDelay > 0 {
		t := time.NewTimer(s.drainDelay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	var errs []error
	for _, hs := range s.servers {
		if err := hs.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("gateway: shutdown: %w", err))
			_ = hs.Close()
		}
	}
	s.wg.Wait()
	s.closeListeners()
	s.mu.Lock()
	errs = append(errs, s.serveEr)
	s.mu.Unlock()
	return errors.Join(errs...)
}

// Close closes the listeners and all connections at once, without draining.
func (s *Server) Close() error {
	s.g.SetDraining(true)
	var errs []error
	for _, hs := range s.servers {
		errs = append(errs, hs.Close())
	}
	s.wg.Wait()
	s.closeListeners()
	return errors.Join(errs...)
}

// closeListeners closes listeners that a server closed before it served
// them (http.Server leaves those open); closing one twice is harmless.
func (s *Server) closeListeners() {
	for _, ln := range s.lns {
		_ = ln.Close()
	}
}

// urlHost formats a listener address for a URL.
func urlHost(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if host == "" || host == "::" || host == "0.0.0.0" {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// redirect answers every request with a 308 to the same URL on HTTPS at
// port.
func redirect(port string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if host == "" || strings.ContainsAny(host, "/\\@ ") {
			host = "localhost"
		}
		if port != "443" {
			host = net.JoinHostPort(strings.Trim(host, "[]"), port)
		}
		w.Header().Set("Connection", "close")
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusPermanentRedirect)
	})
}
