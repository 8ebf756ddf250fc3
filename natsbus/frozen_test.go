package natsbus_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/natsbus"
)

// freezer is a TCP proxy to a NATS server that can stop passing bytes while
// keeping its connections open: to the client, a server that froze.
type freezer struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	frozen bool
	conns  []net.Conn
	wg     sync.WaitGroup
}

func newFreezer(t *testing.T, target string) *freezer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{ln: ln, target: target}
	f.wg.Add(1)
	go f.accept()
	t.Cleanup(f.close)
	return f
}

func (f *freezer) url() string { return "nats://" + f.ln.Addr().String() }

func (f *freezer) accept() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		frozen := f.frozen
		f.conns = append(f.conns, c)
		f.mu.Unlock()
		if frozen {
			continue // accepted, never answered
		}
		s, err := net.Dial("tcp", f.target)
		if err != nil {
			c.Close()
			continue
		}
		f.mu.Lock()
		f.conns = append(f.conns, s)
		f.mu.Unlock()
		f.wg.Add(2)
		go f.pipe(c, s)
		go f.pipe(s, c)
	}
}

// pipe copies from src to dst until either closes, holding the bytes while
// frozen.
func (f *freezer) pipe(dst, src net.Conn) {
	defer f.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		for f.isFrozen() {
			time.Sleep(10 * time.Millisecond)
			if f.closed() {
				return
			}
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				_ = dst.Close()
			}
			return
		}
	}
}

func (f *freezer) isFrozen() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.frozen }

func (f *freezer) closed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.conns == nil
}

// freeze stops passing bytes; thaw closes the frozen connections (a server
// that a supervisor restarted) and passes bytes again.
func (f *freezer) freeze() { f.mu.Lock(); f.frozen = true; f.mu.Unlock() }

func (f *freezer) thaw() {
	f.mu.Lock()
	for _, c := range f.conns {
		c.Close()
	}
	f.conns = []net.Conn{}
	f.frozen = false
	f.mu.Unlock()
}

func (f *freezer) close() {
	f.ln.Close()
	f.mu.Lock()
	for _, c := range f.conns {
		c.Close()
	}
	f.conns = nil
	f.frozen = false
	f.mu.Unlock()
	f.wg.Wait()
}

// TestFrozenServer: a server that stops answering is noticed by the pings
// (Transport.Ready fails), a request meanwhile fails as unavailable or a
// timeout, never not_found, and the members come back when it answers again.
func TestFrozenServer(t *testing.T) {
	app := shop()
	srv, err := natsbus.RunServer(natsbus.ServerConfig{App: app, DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	fr := newFreezer(t, srv.ClientURL()[len("nats://"):])
	tr, err := natsbus.New(context.Background(), natsbus.Config{App: app, URL: fr.url(), Credentials: srv.Credentials, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close(context.Background()) })
	b, err := bus.New(bus.Config{App: app, Transport: tr, Logger: quiet, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	stock, err := b.Join(context.Background(), "stock", "s1")
	if err != nil {
		t.Fatal(err)
	}
	if err := stock.Handle("stock.get", bus.HandlerFunc(func(ctx context.Context, m *bus.Msg) { _ = m.Reply(ctx, "stock", 1) })); err != nil {
		t.Fatal(err)
	}
	web, err := b.Join(context.Background(), "web", "w1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := web.Request(context.Background(), "stock.get", nil); err != nil {
		t.Fatalf("request before the freeze: %v", err)
	}
	if err := tr.Ready(); err != nil {
		t.Fatalf("ready before the freeze: %v", err)
	}

	fr.freeze()
	frozenAt := time.Now()
	eventually(t, func() bool { return tr.Ready() != nil })
	t.Logf("the frozen server was noticed after %v (pings every %v)", time.Since(frozenAt).Round(time.Millisecond), natsbus.DefaultPingInterval)
	_, err = web.Request(context.Background(), "stock.get", nil)
	if err == nil || errors.Is(err, troupe.ErrNotFound) {
		t.Errorf("request while frozen: %v, want unavailable or timeout", err)
	}

	fr.thaw()
	eventually(t, func() bool { return tr.Ready() == nil })
	eventually(t, func() bool {
		_, err := web.Request(context.Background(), "stock.get", nil)
		return err == nil
	})
}

// TestCollector lints the transport's series and counts a malformed
// envelope.
func TestCollector(t *testing.T) {
	app := shop()
	srv := runServer(t, natsbus.ServerConfig{App: app})
	tr := newTransport(t, natsbus.Config{Server: srv, App: app})
	stock := join(t, tr, "stock", "s1", newInbox())
	in := newInbox()
	if err := stock.Subscribe("stock.get", bus.OneInstance, in); err != nil {
		t.Fatal(err)
	}
	cred, _ := srv.Credentials("web")
	nc, err := nats.Connect("", nats.InProcessServer(srv), credOption(t, cred))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if err := nc.Publish("troupe.shop.msg.web.stock.get", []byte("{not an envelope")); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(tr.Collector())
	eventually(t, func() bool { return tr.Stats().Malformed == 1 })
	want := `
# HELP troupe_nats_dropped_total Envelopes the NATS transport dropped before they reached the bus.
# TYPE troupe_nats_dropped_total counter
troupe_nats_dropped_total{reason="malformed"} 1
# HELP troupe_nats_members Members joined to the NATS transport, each with a connection of its own.
# TYPE troupe_nats_members gauge
troupe_nats_members 1
# HELP troupe_nats_members_connected Members whose NATS connection is up.
# TYPE troupe_nats_members_connected gauge
troupe_nats_members_connected 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "troupe_nats_dropped_total", "troupe_nats_members", "troupe_nats_members_connected"); err != nil {
		t.Error(err)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}
