package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

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
	for range 2 {
		s, err = sqlite.Open(ctx, path)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		got, err := s.Get(ctx, td.ID)
		if err != nil || got != td {
			t.Errorf("Get after reopen: got %+v, %v, want %+v", got, err, td)
		}
		ls, err := s.Lists(ctx)
		if err != nil || len(ls) != 1 {
			t.Errorf("Lists after reopen: got %d lists, %v, want 1", len(ls), err)
		}
		s.Close()
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
