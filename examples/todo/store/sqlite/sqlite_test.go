package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/examples/todo/store"
	"github.com/troupe-go/troupe/examples/todo/store/sqlite"
	"github.com/troupe-go/troupe/examples/todo/store/storetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func open(t testing.TB) store.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "todo.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store { return open(b) })
}

// TestReopen checks that the migrations run once: data survives a reopen
// and the default list is not made twice.
func TestReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "todo.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	td, err := s.Create(ctx, store.NewTodo{ListID: store.DefaultListID, Title: "survive"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	td.ListSeq = 0 // Get does not say
	for range 2 {
		s, err = sqlite.Open(ctx, path)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		got, err := s.Get(ctx, td.ID)
		if err != nil || got != td {
			t.Errorf("Get after reopen: got %+v, %v, want %+v", got, err, td)
		}
		ls, err := s.Lists(ctx, store.Page{})
		if err != nil || len(ls.Lists) != 1 {
			t.Errorf("Lists after reopen: got %d lists, %v, want 1", len(ls.Lists), err)
		}
		s.Close()
	}
}

// TestUpgradeCounts opens a database made by the first migration alone,
// with todos in it: the second one must count them once, and keep counting.
func TestUpgradeCounts(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "todo.db")
	init, err := os.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`,
		string(init),
		`INSERT INTO schema_migrations (version, name, applied_at) VALUES (1, '0001_init.sql', 0)`,
		`INSERT INTO todos (id, list_id, title, completed, created_at, updated_at) VALUES
			('a', 'default', 'a', 0, 0, 0), ('b', 'default', 'b', 1, 0, 0), ('c', 'default', 'c', 1, 0, 0)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
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
	dir := t.TempDir()
	notADB := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(notADB, []byte("this is not an SQLite database, not even a little bit"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		code troupe.Code
	}{
		{"empty", "", troupe.CodeBadRequest},
		{"query", filepath.Join(dir, "a.db?mode=ro"), troupe.CodeBadRequest},
		{"memory", ":memory:", troupe.CodeBadRequest},
		{"missing directory", filepath.Join(dir, "no", "such", "dir", "todo.db"), troupe.CodeUnavailable},
		{"not a database", notADB, troupe.CodeUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := sqlite.Open(t.Context(), tt.path)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q): no error", tt.path)
			}
			if got, want := troupe.CodeOf(err), tt.code; got != want {
				t.Errorf("Open(%q): code %s (%v), want %s", tt.path, got, err, want)
			}
		})
	}
}

// BenchmarkBaseline is the bare database under BenchmarkStore: the same
// schema and pragmas, plain statements through database/sql, no validation,
// no transaction, no idempotency bookkeeping.
func BenchmarkBaseline(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "todo.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	s.Close()
	db, err := sql.Open("sqlite", path+"?_busy_timeout=5000&_foreign_keys=1&_journal_mode=WAL&_synchronous=FULL")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	insert := func() error {
		now := time.Now().UnixMicro()
		_, err := db.ExecContext(ctx, `INSERT INTO todos (id, list_id, title, completed, created_at, updated_at, version)
			VALUES (?, 'default', 'benchmark todo', 0, ?, ?, 1)`, troupe.NewID(), now, now)
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
		if _, err := db.ExecContext(ctx, `DELETE FROM todos`); err != nil {
			b.Fatal(err)
		}
		for range 1000 {
			if err := insert(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		for b.Loop() {
			rows, err := db.QueryContext(ctx, `SELECT id, list_id, title, completed, created_at, updated_at, version
				FROM todos WHERE list_id = 'default' ORDER BY seq`)
			if err != nil {
				b.Fatal(err)
			}
			var todos []store.Todo
			for rows.Next() {
				var t store.Todo
				var c, u int64
				if err := rows.Scan(&t.ID, &t.ListID, &t.Title, &t.Completed, &c, &u, &t.Version); err != nil {
					b.Fatal(err)
				}
				t.CreatedAt, t.UpdatedAt = time.UnixMicro(c), time.UnixMicro(u)
				todos = append(todos, t)
			}
			rows.Close()
			if len(todos) != 1000 {
				b.Fatalf("got %d todos", len(todos))
			}
		}
	})
}

// TestCheckpointsInTheBackground: the writes reach the database file while
// the store is open, copied there by the store's own checkpoints (a commit
// never checkpoints: automatic checkpoints are off).
func TestCheckpointsInTheBackground(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "todo.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	size := func() int64 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()
	title := strings.Repeat("x", store.MaxTitleRunes)
	const n = 1000 // 500 KB of titles
	for range n {
		if _, err := s.Create(ctx, store.NewTodo{ListID: store.DefaultListID, Title: title}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * sqlite.CheckpointInterval)
	for size() < before+n*store.MaxTitleRunes {
		if time.Now().After(deadline) {
			t.Fatalf("database file %d bytes (%d before %d writes of %d bytes): the writes are still only in the log", size(), before, n, store.MaxTitleRunes)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
