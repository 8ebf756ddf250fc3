package natsbus

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/troupe-go/troupe"
)

// Credential is what one NATS connection logs in with: the seed of the
// service's own nkey (the embedded server gives each service one, and
// deploy/k8s mounts each Deployment's alone), or, for a server configured
// with passwords, a user name and password. Seed wins when both are set.
type Credential struct {
	User     string `json:"user"`
	Seed     string `json:"seed,omitempty"`
	Password string `json:"password,omitempty"`
}

// ServerConfig configures an embedded nats-server. The zero value is a
// server on a random loopback port with JetStream in a temporary directory
// and no authentication.
type ServerConfig struct {
	// App, if set, gives the server one user per service (and the
	// gateway, and AdminUser), each with an nkey of its own and the
	// permissions of Permissions(App). Without it, anyone who can connect
	// may do anything.
	App *troupe.App
	// Credentials fixes the nkey seeds of some users (for example those
	// of a previous run, see Server.Users); the others get new ones.
	Credentials map[string]Credential
	// Host is the address clients connect to: a loopback address
	// ("127.0.0.1" if empty). Other addresses are refused.
	Host string
	// Port is the client port; 0 picks a free one.
	Port int
	// NoListener starts no client listener at all: clients connect
	// in-process only (Config.Server).
	NoListener bool
	// DataDir is where JetStream stores its streams. If empty, a
	// temporary directory is used and removed by Shutdown.
	DataDir string
	// MaxStore bounds the JetStream file store in bytes; 0 means the
	// server's default (a share of the free disk).
	MaxStore int64
	// Name names the server; it must differ between the members of a
	// cluster. Empty means one is generated.
	Name string
	// Cluster, if Port is set, makes the server a member of a cluster
	// whose routes listen on loopback.
	Cluster ClusterConfig
}

// ClusterConfig joins an embedded server to a NATS cluster on loopback.
type ClusterConfig struct {
	Name   string   // the cluster's name, the same on every member ("troupe" if empty)
	Port   int      // this member's route port; 0 means not clustered
	Routes []string // route URLs of the members, e.g. "nats://127.0.0.1:6222"
}

// Server is an embedded nats-server with JetStream.
type Server struct {
	ns     *server.Server
	creds  map[string]Credential
	tmpDir string
}

// RunServer starts an embedded nats-server and waits until it accepts
// clients. It listens on loopback only.
func RunServer(cfg ServerConfig) (*Server, error) {
	host := cfg.Host
	if host == "" {
		host = "127.0.0.1"
	}
	if !isLoopback(host) {
		return nil, fmt.Errorf("natsbus: server host %q is not a loopback address", host)
	}
	if cfg.Port < 0 || cfg.Port > 65535 || cfg.Cluster.Port < 0 || cfg.Cluster.Port > 65535 {
		return nil, fmt.Errorf("natsbus: server port out of range")
	}
	opts := &server.Options{
		ServerName:            cfg.Name,
		Host:                  host,
		Port:                  cfg.Port,
		DontListen:            cfg.NoListener,
		NoSigs:                true,
		NoLog:                 true,
		JetStream:             true,
		JetStreamMaxStore:     cfg.MaxStore,
		MaxPayload:            1 << 20,
		HTTPPort:              0,
		DisableShortFirstPing: true,
	}
	if opts.Port == 0 {
		opts.Port = server.RANDOM_PORT
	}
	s := &Server{creds: map[string]Credential{}}
	if cfg.App != nil {
		perms, err := Permissions(cfg.App)
		if err != nil {
			return nil, err
		}
		users, err := s.users(perms, cfg.Credentials)
		if err != nil {
			return nil, err
		}
		opts.Nkeys = users
	}
	if cfg.Cluster.Port != 0 {
		if opts.ServerName == "" {
			return nil, fmt.Errorf("natsbus: a clustered server needs a Name")
		}
		opts.Cluster = server.ClusterOpts{Name: cfg.Cluster.Name, Host: host, Port: cfg.Cluster.Port}
		if opts.Cluster.Name == "" {
			opts.Cluster.Name = "troupe"
		}
		for _, r := range cfg.Cluster.Routes {
			u, err := url.Parse(r)
			if err != nil {
				return nil, fmt.Errorf("natsbus: cluster route %q: %w", r, err)
			}
			if !isLoopback(u.Hostname()) {
				return nil, fmt.Errorf("natsbus: cluster route %q is not on loopback", r)
			}
			opts.Routes = append(opts.Routes, u)
		}
	}
	opts.StoreDir = cfg.DataDir
	if opts.StoreDir == "" {
		dir, err := os.MkdirTemp("", "troupe-nats-")
		if err != nil {
			return nil, fmt.Errorf("natsbus: server: %w", err)
		}
		s.tmpDir, opts.StoreDir = dir, dir
	}
	// nats-server reports a port it cannot listen on only to its log and
	// then never gets ready: try the port first, so that the error names
	// it at once.
	if !cfg.NoListener && cfg.Port != 0 {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(cfg.Port)))
		if err != nil {
			s.removeTmp()
			return nil, fmt.Errorf("natsbus: server: port %d on %s is not free (is another application running? choose another port, or 0 for any): %w", cfg.Port, host, err)
		}
		_ = ln.Close()
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		s.removeTmp()
		return nil, fmt.Errorf("natsbus: server: %w", err)
	}
	s.ns = ns
	ns.Start()
	wait := 10 * time.Second
	if !ns.ReadyForConnections(wait) {
		ns.Shutdown()
		ns.WaitForShutdown()
		s.removeTmp()
		return nil, fmt.Errorf("natsbus: server not ready after %v", wait)
	}
	return s, nil
}

// users makes the server's users: one nkey per service with its
// permissions, and AdminUser with all permissions.
func (s *Server) users(perms map[string]Permission, given map[string]Credential) ([]*server.NkeyUser, error) {
	var users []*server.NkeyUser
	for _, name := range append(slices.Sorted(maps.Keys(perms)), AdminUser) {
		seed := given[name].Seed
		if seed == "" {
			var err error
			if seed, err = NewSeed(); err != nil {
				return nil, err
			}
		}
		pub, err := PublicKey(seed)
		if err != nil {
			return nil, fmt.Errorf("natsbus: user %q: %w", name, err)
		}
		s.creds[name] = Credential{User: name, Seed: seed}
		u := &server.NkeyUser{Nkey: pub}
		if perm, ok := perms[name]; ok {
			u.Permissions = ServerPermissions(perm)
		}
		users = append(users, u)
	}
	return users, nil
}

// ServerPermissions returns p as nats-server's permissions, for a server
// embedded in a program of one's own.
func ServerPermissions(p Permission) *server.Permissions {
	sp := &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: p.Publish},
		Subscribe: &server.SubjectPermission{Allow: p.Subscribe},
	}
	if p.AllowResponses {
		sp.Response = &server.ResponsePermission{MaxMsgs: 1, Expires: ResponseExpiry}
	}
	return sp
}

// ClientURL returns the URL clients dial, e.g. "nats://127.0.0.1:4222". It is
// empty if the server has no listener.
func (s *Server) ClientURL() string {
	if s.ns.Addr() == nil {
		return ""
	}
	return s.ns.ClientURL()
}

// ClusterURL returns the URL other members of the cluster route to, or "" if
// the server is not clustered.
func (s *Server) ClusterURL() string {
	a := s.ns.ClusterAddr()
	if a == nil {
		return ""
	}
	return "nats://" + net.JoinHostPort(a.IP.String(), strconv.Itoa(a.Port))
}

// Credentials returns the credential of a NATS user (a service name or
// AdminUser). It has the signature of Config.Credentials. A server without
// users (no ServerConfig.App) returns the empty credential, which connects
// without one, for every user.
func (s *Server) Credentials(user string) (Credential, bool) {
	if len(s.creds) == 0 {
		return Credential{}, true
	}
	c, ok := s.creds[user]
	return c, ok
}

// Users returns every user's credential, to hand to a child process or to a
// restarted server (ServerConfig.Credentials).
func (s *Server) Users() map[string]Credential { return maps.Clone(s.creds) }

// ServerStats counts the messages a server carried.
type ServerStats struct {
	InMsgs, OutMsgs int64
}

// Stats returns the messages the server has received and sent so far (its
// monitoring endpoint's in_msgs and out_msgs).
func (s *Server) Stats() ServerStats {
	v, err := s.ns.Varz(nil)
	if err != nil {
		return ServerStats{}
	}
	return ServerStats{InMsgs: v.InMsgs, OutMsgs: v.OutMsgs}
}

// InProcessConn returns a connection to the server that does not go through
// the network; it makes *Server a nats.InProcessConnProvider.
func (s *Server) InProcessConn() (net.Conn, error) { return s.ns.InProcessConn() }

// Shutdown stops the server, closing its clients' connections, and waits
// until it has stopped or ctx is done. A temporary data directory is removed.
func (s *Server) Shutdown(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		s.ns.Shutdown()
		s.ns.WaitForShutdown()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("natsbus: server shutdown: %w", ctx.Err())
	}
	return s.removeTmp()
}

func (s *Server) removeTmp() error {
	if s.tmpDir == "" {
		return nil
	}
	err := os.RemoveAll(s.tmpDir)
	s.tmpDir = ""
	if err != nil {
		return fmt.Errorf("natsbus: server: %w", err)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

var errClosed = errors.New("natsbus: closed")

// CredentialsFrom returns a Config.Credentials that looks users up in m, for
// example the credentials a parent process hands to a child (Server.Users).
func CredentialsFrom(m map[string]Credential) func(user string) (Credential, bool) {
	m = maps.Clone(m)
	return func(user string) (Credential, bool) {
		c, ok := m[user]
		return c, ok
	}
}
