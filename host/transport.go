package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/natsbus"
)

// DefaultNATSPort is the embedded NATS server's client port when
// NATSConfig.Port is zero.
const DefaultNATSPort = 4222

// CredentialsFile is where a node keeps its embedded NATS server's
// credentials (each service's nkey seed) under its data directory, so that a
// restarted server keeps its keys and other processes on the same machine
// (run -only, send) can log in. It is readable by its owner only.
func CredentialsFile(dataDir string) string {
	return filepath.Join(dataDir, "nats", "credentials.json")
}

// URLFile is where a node writes its embedded NATS server's client URL under
// its data directory, for run -only and send. A node removes it again when it
// stops, if it still holds its URL.
func URLFile(dataDir string) string { return filepath.Join(dataDir, "nats", "url") }

// ReadCredentials reads NATS credentials by user: a JSON file (user name to
// credential, as CredentialsFile holds them), or a directory of nkey seed
// files named USER.nk, such as a Kubernetes Secret per service mounted
// together (docs/operations.md, "Credentials"). A missing file is no error:
// it returns nil.
func ReadCredentials(path string) (map[string]natsbus.Credential, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("nats credentials: %w", err)
	}
	if fi.IsDir() {
		return readSeeds(path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("nats credentials: %w", err)
	}
	var m map[string]natsbus.Credential
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("nats credentials %s: %w", path, err)
	}
	return m, nil
}

// readSeeds reads the USER.nk files of dir: each holds a user nkey seed
// (SU...) on a line of its own, as nk -gen user writes it.
func readSeeds(dir string) (map[string]natsbus.Credential, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.nk"))
	if err != nil {
		return nil, fmt.Errorf("nats credentials: %w", err)
	}
	m := map[string]natsbus.Credential{}
	for _, f := range files {
		user := strings.TrimSuffix(filepath.Base(f), ".nk")
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("nats credentials: %w", err)
		}
		seed := ""
		for line := range strings.Lines(string(data)) {
			if line = strings.TrimSpace(line); strings.HasPrefix(line, "SU") {
				seed = line
				break
			}
		}
		if _, err := natsbus.PublicKey(seed); err != nil {
			return nil, fmt.Errorf("nats credentials %s: no user nkey seed (SU...) in it", f)
		}
		m[user] = natsbus.Credential{User: user, Seed: seed}
	}
	return m, nil
}

// writeFile writes data to path atomically, readable by its owner only.
func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// credentialsPath is NATSConfig.Credentials or the data directory's file.
func (n *Node) credentialsPath() string {
	if n.cfg.NATS.Credentials != "" {
		return n.cfg.NATS.Credentials
	}
	return CredentialsFile(n.cfg.DataDir)
}

// startTransport starts the node's transport: nothing on the in-process bus
// (the bus makes its own), else an embedded nats-server unless NATS.URL names
// one, and the NATS transport over it.
func (n *Node) startTransport(ctx context.Context, onDeadLetter func(env *troupe.Envelope, service, reason string)) error {
	cfg := n.cfg
	if cfg.InProc {
		return nil
	}
	tcfg := natsbus.Config{App: n.app, Logger: n.log, OnDeadLetter: onDeadLetter, Replicas: cfg.NATS.Replicas}
	if cfg.NATS.URL == "" {
		path := CredentialsFile(cfg.DataDir)
		prev, err := ReadCredentials(path)
		if err != nil {
			return fmt.Errorf("host: %w", err)
		}
		port := cfg.NATS.Port
		switch {
		case port == 0:
			port = DefaultNATSPort
		case port < 0:
			port = 0
		}
		srv, err := natsbus.RunServer(natsbus.ServerConfig{
			App:         n.app,
			Credentials: prev,
			Port:        port,
			DataDir:     filepath.Join(cfg.DataDir, "nats", "jetstream"),
		})
		if err != nil {
			return fmt.Errorf("host: embedded nats: %w", err)
		}
		n.natsServer = srv
		// Written only now that this node's server runs: a second node
		// that fails to start never overwrites the first one's files.
		data, err := json.MarshalIndent(srv.Users(), "", "  ")
		if err != nil {
			return err
		}
		if err := writeFile(path, data); err != nil {
			return fmt.Errorf("host: nats credentials: %w", err)
		}
		n.urlFile = URLFile(cfg.DataDir)
		if err := writeFile(n.urlFile, []byte(srv.ClientURL()+"\n")); err != nil {
			return fmt.Errorf("host: nats url: %w", err)
		}
		fmt.Fprintf(cfg.Stdout, "nats listening on %s (credentials in %s)\n", srv.ClientURL(), path)
		tcfg.Server = srv
	} else {
		tcfg.URL = cfg.NATS.URL
		creds := cfg.credentials
		if creds == nil {
			var err error
			if creds, err = ReadCredentials(n.credentialsPath()); err != nil {
				return fmt.Errorf("host: %w", err)
			}
		}
		if creds == nil && cfg.NATS.Credentials != "" {
			return fmt.Errorf("host: nats credentials %s: no such file", cfg.NATS.Credentials)
		}
		if creds != nil {
			tcfg.Credentials = natsbus.CredentialsFrom(creds)
		}
	}
	t, err := natsbus.New(ctx, tcfg)
	if err != nil {
		return fmt.Errorf("host: nats transport: %w", err)
	}
	n.transport = t
	return nil
}

// forgetURL removes the NATS URL file if it still holds this node's URL, so
// that send reports that nothing runs instead of failing to connect.
func (n *Node) forgetURL() {
	if n.urlFile == "" {
		return
	}
	data, err := os.ReadFile(n.urlFile)
	if err == nil && strings.TrimSpace(string(data)) == n.natsServer.ClientURL() {
		_ = os.Remove(n.urlFile)
	}
}

// credentialOf returns the NATS credential of a service for a child process.
func (n *Node) credentialOf(service string) natsbus.Credential {
	if n.natsServer != nil {
		c, _ := n.natsServer.Credentials(service)
		return c
	}
	creds, err := ReadCredentials(n.credentialsPath())
	if err != nil || creds == nil {
		return natsbus.Credential{}
	}
	return creds[service]
}
