package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/goleak"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/examples/todo/store"
	"github.com/troupe-go/troupe/examples/todo/store/postgres"
	"github.com/troupe-go/troupe/examples/todo/store/postgres/pgtest"
	"github.com/troupe-go/troupe/examples/todo/store/storetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func open(t testing.TB, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) {
	srv := pgtest.New(t)
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, srv.DSN(t)) })
}

func BenchmarkStore(b *testing.B) {
	srv := pgtest.New(b)
	storetest.Bench(b, func(b *testing.B) store.Store { return open(b, srv.DSN(b)) })
}

// TestReopen checks that the migrations run once, even when several
// instances open a new database at the same time.
func TestReopen(t *testing.T) {
	ctx := t.Context()
	dsn := pgtest.DSN(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			s, err := postgres.Open(ctx, dsn)
			if err == nil {
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent Open: %v", err)
	}
	s := open(t, dsn)
	td, err := s.Create(ctx, store.NewTodo{ListID: store.DefaultListID, Title: "survive"})
	if err != nil {
		t.Fatal(err)
	}
	epoch := s.Epoch()
	td.ListSeq = 0 // Get does not say
	s.Close()
	s = open(t, dsn)
	if s.Epoch() != epoch {
		t.Errorf("epoch after reopen %q, want %q: the numbering is the database's", s.Epoch(), epoch)
	}
	got, err := s.Get(ctx, td.ID)
	if err != nil || got != td {
		t.Errorf("Get after reopen: got %+v, %v, want %+v", got, err, td)
	}
	ls, err := s.Lists(ctx, store.Page{})
	if err != nil || len(ls.Lists) != 1 {
		t.Errorf("Lists after reopen: got %d lists, %v, want 1", len(ls.Lists), err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var versions []int64
	rows, _ := conn.Query(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	versions, err = pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(versions), "[1 2 3 4]"; got != want {
		t.Errorf("schema_migrations: got %s, want %s", got, want)
	}
}

// TestUpgradeCounts opens a database made by the first migration alone,
// with todos in it: the second one must count them once, and keep counting.
func TestUpgradeCounts(t *testing.T) {
	ctx := t.Context()
	dsn := pgtest.DSN(t)
	init, err := os.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, q := range []string{
		`CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
		string(init),
		`INSERT INTO schema_migrations (version, name) VALUES (1, '0001_init.sql')`,
		`INSERT INTO todos (id, list_id, title, completed, created_at, updated_at) VALUES
			('a', 'default', 'a', false, now(), now()), ('b', 'default', 'b', true, now(), now()), ('c', 'default', 'c', true, now(), now())`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	s := open(t, dsn)
	l, err := s.List(ctx, store.DefaultListID, store.FilterAll, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := l.Counts, (store.Counts{Active: 1, Completed: 2, Total: 3}); got != want {
		t.Errorf("counts after the upgrade: got %+v, want %+v", got, want)
	}
	if _, err := s.Create(ctx, store.NewTodo{ListID: store.DefaultListID, Title: "d"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	l, err = s.List(ctx, store.DefaultListID, store.FilterAll, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := l.Counts, (store.Counts{Active: 2, Completed: 1, Total: 3}); got != want {
		t.Errorf("counts after a create and a delete: got %+v, want %+v", got, want)
	}
}

func TestOpenErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := l.Addr().(*net.TCPAddr).Port
	l.Close()
	tests := []struct {
		name string
		dsn  string
		code troupe.Code
	}{
		{"closed port", fmt.Sprintf("postgres://troupe:troupe@127.0.0.1:%d/todo?sslmode=disable&connect_timeout=5", closedPort), troupe.CodeUnavailable},
		{"malformed", "postgres://troupe:secret@127.0.0.1:notaport/todo", troupe.CodeBadRequest},
		{"unknown parameter value", "postgres://127.0.0.1/todo?sslmode=maybe", troupe.CodeBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := postgres.Open(t.Context(), tt.dsn)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q): no error", tt.dsn)
			}
			if got, want := troupe.CodeOf(err), tt.code; got != want {
				t.Errorf("Open(%q): code %s (%v), want %s", tt.dsn, got, err, want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error message leaks the password: %v", err)
			}
		})
	}
}

// TestServerDown cuts the store off from its server with a loopback proxy
// between them: calls fail with unavailable, nothing panics, and once the
// server is back the store works again with every accepted write in place.
func TestServerDown(t *testing.T) {
	ctx := t.Context()
	dsn := pgtest.DSN(t)
	p := newProxy(t, dsn)
	s := open(t, p.dsn)
	before, err := s.Create(ctx, store.NewTodo{ListID: store.DefaultListID, Title: "accepted"})
	if err != nil {
		t.Fatal(err)
	}

	p.stop()
	_, err = s.Create(ctx, store.NewTodo{ListID: store.DefaultListID, Title: "while down", IdempotencyKey: "k1"})
	if got, want := troupe.CodeOf(err), troupe.CodeUnavailable; got != want {
		t.Errorf("Create while down: code %s (%v), want %s", got, err, want)
	}
	for name, call := range map[string]func() error{
		"Get":    func() error { _, err := s.Get(ctx, before.ID); return err },
		"List":   func() error { _, err := s.List(ctx, store.DefaultListID, store.FilterAll, store.Page{}); return err },
		"Update": func() error { _, err := s.Update(ctx, before.ID, store.Patch{Completed: new(true)}); return err },
		"Lists":  func() error { _, err := s.Lists(ctx, store.Page{}); return err },
	} {
		if got, want := troupe.CodeOf(call()), troupe.CodeUnavailable; got != want {
			t.Errorf("%s while down: code %s, want %s", name, got, want)
		}
	}

	p.start()
	got, err := s.Get(ctx, before.ID)
	if err != nil {
		t.Fatalf("Get after the server is back: %v", err)
	}
	if before.ListSeq = 0; got != before {
		t.Errorf("Get after the server is back: got %+v, want %+v", got, before)
	}
	// The create that failed left nothing behind: its key is free.
	td, err := s.Create(ctx, store.NewTodo{ListID: store.DefaultListID, Title: "after", IdempotencyKey: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := td.Title, "after"; got != want {
		t.Errorf("Create with the key of a failed create: title %q, want %q", got, want)
	}
}

// proxy forwards TCP connections from a loopback port to a PostgreSQL
// server, and can be stopped (closing every connection) and started again
// on the same port.
type proxy struct {
	t      *testing.T
	target string
	addr   string
	dsn    string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

func newProxy(t *testing.T, dsn string) *proxy {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, target: net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port)), addr: "127.0.0.1:0", conns: map[net.Conn]bool{}}
	p.start()
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		p.dsn = dsn + " host=127.0.0.1 port=" + p.addr[strings.LastIndex(p.addr, ":")+1:]
	} else {
		u.Host = p.addr
		p.dsn = u.String()
	}
	t.Cleanup(p.stop)
	return p
}

func (p *proxy) start() {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Go(func() { p.serve(c) })
		}
	})
}

func (p *proxy) serve(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.ln == nil { // stopped meanwhile
		p.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	p.conns[c], p.conns[up] = true, true
	p.mu.Unlock()
	var wg sync.WaitGroup
	pipe := func(dst, src net.Conn) {
		io.Copy(dst, src)
		dst.Close()
		src.Close()
	}
	wg.Go(func() { pipe(up, c) })
	wg.Go(func() { pipe(c, up) })
	wg.Wait()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

// stop closes the listener and every connection, and waits until the
// proxy's goroutines have ended.
func (p *proxy) stop() {
	p.mu.Lock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// BenchmarkBaseline is the bare database under BenchmarkStore: the same
// schema, plain statements through pgxpool, no validation, no transaction,
// no idempotency bookkeeping.
func BenchmarkBaseline(b *testing.B) {
	ctx := context.Background()
	dsn := pgtest.DSN(b)
	s, err := postgres.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	s.Close()
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	insert := func() error {
		now := time.Now()
		_, err := pool.Exec(ctx, `INSERT INTO todos (id, list_id, title, completed, created_at, updated_at, version)
			VALUES ($1, 'default', 'benchmark todo', FALSE, $2, $2, 1)`, troupe.NewID(), now)
		return err
	}
	b.Run("Insert", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := insert(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Select1000", func(b *testing.B) {
		if _, err := pool.Exec(ctx, `DELETE FROM todos`); err != nil {
			b.Fatal(err)
		}
		for range 1000 {
			if err := insert(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		for b.Loop() {
			rows, _ := pool.Query(ctx, `SELECT id, list_id, title, completed, created_at, updated_at, version
				FROM todos WHERE list_id = 'default' ORDER BY seq`)
			todos, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Todo, error) {
				var t store.Todo
				err := row.Scan(&t.ID, &t.ListID, &t.Title, &t.Completed, &t.CreatedAt, &t.UpdatedAt, &t.Version)
				return t, err
			})
			if err != nil {
				b.Fatal(err)
			}
			if len(todos) != 1000 {
				b.Fatalf("got %d todos", len(todos))
			}
		}
	})
}
