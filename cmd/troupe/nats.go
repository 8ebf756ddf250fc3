package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/natsbus"
)

// credentialsFile is where troupe run keeps the embedded NATS server's
// per-service credentials, so that a restarted server keeps its passwords
// and `troupe run -only` and `troupe send` on the same machine can log in.
func credentialsFile(dataDir string) string {
	return filepath.Join(dataDir, "nats", "credentials.json")
}

// readCredentials reads a credentials file; a missing file is no error.
func readCredentials(path string) (map[string]natsbus.Credential, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("nats credentials: %w", err)
	}
	var m map[string]natsbus.Credential
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("nats credentials %s: %w", path, err)
	}
	return m, nil
}

// writeCredentials writes a credentials file readable by its owner only.
func writeCredentials(path string, m map[string]natsbus.Credential) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("nats credentials: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("nats credentials: %w", err)
	}
	return os.Rename(tmp, path)
}

// startTransport starts the bus's transport: nothing for -inproc (the bus
// makes its own), an embedded nats-server unless -nats names one, and the
// NATS transport over it.
func (a *application) startTransport(ctx context.Context, onDeadLetter func(env *troupe.Envelope, service, reason string)) (bus.Transport, error) {
	o := a.opts
	if o.inproc {
		return nil, nil
	}
	cfg := natsbus.Config{App: a.app, Logger: a.log, OnDeadLetter: onDeadLetter, Replicas: o.natsReplicas}
	if o.natsURL == "" {
		path := credentialsFile(o.dataDir)
		prev, err := readCredentials(path)
		if err != nil {
			return nil, err
		}
		srv, err := natsbus.RunServer(natsbus.ServerConfig{
			App:         a.app,
			Credentials: prev,
			Port:        o.natsPort,
			DataDir:     filepath.Join(o.dataDir, "nats", "jetstream"),
		})
		if err != nil {
			return nil, fmt.Errorf("embedded nats: %w", err)
		}
		a.natsServer = srv
		if err := writeCredentials(path, srv.Users()); err != nil {
			return nil, err
		}
		if err := os.WriteFile(natsURLFile(o.dataDir), []byte(srv.ClientURL()+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("nats url: %w", err)
		}
		fmt.Fprintf(a.stdout, "nats listening on %s (credentials in %s)\n", srv.ClientURL(), path)
		cfg.Server = srv
	} else {
		cfg.URL = o.natsURL
		path := o.natsCreds
		if path == "" {
			path = credentialsFile(o.dataDir)
		}
		creds, err := readCredentials(path)
		if err != nil {
			return nil, err
		}
		if creds == nil && o.natsCreds != "" {
			return nil, fmt.Errorf("nats credentials %s: no such file", o.natsCreds)
		}
		if creds != nil {
			cfg.Credentials = natsbus.CredentialsFrom(creds)
		}
	}
	t, err := natsbus.New(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("nats transport: %w", err)
	}
	a.transport = t
	return t, nil
}
