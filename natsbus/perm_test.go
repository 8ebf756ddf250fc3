package natsbus_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/natsbus"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestPermissionsGolden(t *testing.T) {
	tests := []struct {
		name string
		app  *troupe.App
	}{
		{"shop", shop()},
		{"gateway-declared", &troupe.App{
			Name: "todo",
			Services: []troupe.ServiceDecl{
				{Name: "gateway", Sends: []string{"todo.list", "todo.add"}},
				{Name: "todos", Sends: []string{"todo.added"}, Receives: []string{"todo.list", "todo.add"}, Durable: []string{"todo.add"}},
				{Name: "audit", Receives: []string{"todo.added"}},
			},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			perms, err := natsbus.Permissions(tt.app)
			if err != nil {
				t.Fatalf("Permissions: %v", err)
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(perms); err != nil {
				t.Fatal(err)
			}
			got := buf.Bytes()
			path := filepath.Join("testdata", "permissions-"+tt.name+".json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(got), string(want)); diff != "" {
				t.Errorf("permissions differ from %s (-got +want):\n%s", path, diff)
			}
		})
	}
}

func TestPermissionsBadInput(t *testing.T) {
	tests := []struct {
		name string
		app  *troupe.App
		want string
	}{
		{"nil", nil, "no application"},
		{"bad app name", &troupe.App{Name: "Shop"}, "application name"},
		{"bad service name", &troupe.App{Name: "a", Services: []troupe.ServiceDecl{{Name: "x.y"}}}, "service name"},
		{"wildcard name", &troupe.App{Name: "a", Services: []troupe.ServiceDecl{{Name: "x", Sends: []string{"a.*"}}}}, "character"},
		{"empty token", &troupe.App{Name: "a", Services: []troupe.ServiceDecl{{Name: "x", Receives: []string{"a..b"}}}}, "empty token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := natsbus.Permissions(tt.app)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Permissions: got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestRawClientPermissions logs in with one service's credentials using
// plain nats.go and checks what the server allows.
func TestRawClientPermissions(t *testing.T) {
	app := shop()
	srv := runServer(t, natsbus.ServerConfig{App: app})
	cred, ok := srv.Credentials("orders")
	if !ok {
		t.Fatal("no credential for orders")
	}
	errs := make(chan error, 10)
	nc, err := nats.Connect(srv.ClientURL(), credOption(t, cred),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { errs <- err }))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()

	tests := []struct {
		name    string
		do      func() error
		refused bool
	}{
		{"publish a declared send", func() error { return nc.Publish("troupe.shop.msg.orders.order.placed", []byte("{}")) }, false},
		{"subscribe to a declared receive", func() error {
			_, err := nc.QueueSubscribe("troupe.shop.msg.*.order.place", "orders", func(*nats.Msg) {})
			return err
		}, false},
		{"publish an undeclared name", func() error { return nc.Publish("troupe.shop.msg.orders.stock.set", []byte("{}")) }, true},
		{"publish a declared send as another service", func() error { return nc.Publish("troupe.shop.msg.web.order.placed", []byte("{}")) }, true},
		{"publish a durable send as another service", func() error { return nc.Publish("troupe.shop.durable.web.order.placed", []byte("{}")) }, true},
		{"subscribe to another service's messages", func() error {
			_, err := nc.Subscribe("troupe.shop.msg.*.stock.get", func(*nats.Msg) {})
			return err
		}, true},
		{"subscribe to everything", func() error {
			_, err := nc.Subscribe(">", func(*nats.Msg) {})
			return err
		}, true},
		{"read another service's replies", func() error {
			_, err := nc.Subscribe("troupe.shop.reply.web.>", func(*nats.Msg) {})
			return err
		}, true},
		{"reply to a requester", func() error { return nc.Publish("troupe.shop.reply.web.w1."+troupe.NewID()+".orders", []byte("{}")) }, false},
		{"answer on a request's reply subject", func() error { return nc.Publish("troupe.shop.reply.web.w1."+troupe.NewID(), []byte("{}")) }, false},
		{"reply in another service's name", func() error { return nc.Publish("troupe.shop.reply.web.w1."+troupe.NewID()+".stock", []byte("{}")) }, true},
		{"reply to a service that sends it nothing", func() error { return nc.Publish("troupe.shop.reply.stock.s1."+troupe.NewID()+".orders", []byte("{}")) }, true},
		{"publish into a stream directly", func() error {
			return nc.Publish("$JS.API.STREAM.MSG.GET.troupe-shop", []byte(`{"seq":1}`))
		}, true},
		{"delete the stream", func() error { return nc.Publish("$JS.API.STREAM.DELETE.troupe-shop", nil) }, true},
		{"ask the system account", func() error { return nc.Publish("$SYS.REQ.SERVER.PING", nil) }, true},
		{"create another service's consumer", func() error {
			return nc.Publish("$JS.API.CONSUMER.CREATE.troupe-shop.stock_order~placed.troupe.shop.durable.*.order.placed", []byte("{}"))
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.do(); err != nil {
				t.Fatalf("client error: %v", err)
			}
			if err := nc.FlushTimeout(5 * time.Second); err != nil {
				t.Fatalf("Flush: %v", err)
			}
			// A refusal arrives asynchronously; wait for it
			// generously. An allowed action is given a short while
			// to be refused.
			wait := 200 * time.Millisecond
			if tt.refused {
				wait = 20 * time.Second
			}
			var got error
			select {
			case got = <-errs:
			case <-time.After(wait):
			}
			if tt.refused && !errors.Is(got, nats.ErrPermissionViolation) {
				t.Errorf("got %v, want a permissions violation", got)
			}
			if !tt.refused && got != nil {
				t.Errorf("got %v, want it allowed", got)
			}
		})
	}
}

// TestUnknownSender checks that a client that is no service of the App
// cannot connect at all.
func TestUnknownSender(t *testing.T) {
	srv := runServer(t, natsbus.ServerConfig{App: shop()})
	web, _ := srv.Credentials("web")
	tests := []struct {
		name string
		opts []nats.Option
	}{
		{"no credentials", nil},
		{"unknown nkey", []nats.Option{credOption(t, natsbus.Credential{Seed: newSeed(t)})}},
		{"a password", []nats.Option{nats.UserInfo("web", "guess")}},
		{"web's public key, signed with another key", []nats.Option{forgedNkey(t, web)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc, err := nats.Connect(srv.ClientURL(), append(tt.opts, nats.MaxReconnects(0))...)
			if err == nil {
				nc.Close()
				t.Fatal("connected")
			}
			if !errors.Is(err, nats.ErrAuthorization) {
				t.Errorf("got %v, want an authorization error", err)
			}
		})
	}
	t.Run("transport without a credential", func(t *testing.T) {
		tr, err := natsbus.New(context.Background(), natsbus.Config{URL: srv.ClientURL(), App: shop(),
			Credentials: natsbus.CredentialsFrom(map[string]natsbus.Credential{"web": web}), Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close(context.Background())
		if _, err := tr.Join(context.Background(), troupe.Member{Service: "stock", Instance: "s1"}, newInbox()); err == nil {
			t.Error("Join as a service without a credential succeeded")
		}
		p, err := tr.Join(context.Background(), troupe.Member{Service: "web", Instance: "w1"}, newInbox())
		if err != nil {
			t.Fatalf("Join as web: %v", err)
		}
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	})
}
