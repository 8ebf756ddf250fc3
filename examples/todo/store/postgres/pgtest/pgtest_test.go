package pgtest

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestWithDatabase(t *testing.T) {
	tests := []struct{ dsn, want string }{
		{"postgres://u:p@127.0.0.1:5432/postgres?sslmode=disable", "postgres://u:p@127.0.0.1:5432/db1?sslmode=disable"},
		{"postgresql://u@127.0.0.1", "postgresql://u@127.0.0.1/db1"},
		{"host=127.0.0.1 user=u dbname=postgres", "host=127.0.0.1 user=u dbname=postgres dbname=db1"},
	}
	for _, tt := range tests {
		got, err := withDatabase(tt.dsn, "db1")
		if err != nil || got != tt.want {
			t.Errorf("withDatabase(%q): got %q, %v, want %q", tt.dsn, got, err, tt.want)
		}
	}
}

// checkDatabase connects to dsn and checks it is an empty database of its own.
func checkDatabase(t *testing.T, dsn string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect %s: %v", dsn, err)
	}
	defer conn.Close(ctx)
	var name string
	var tables int
	if err := conn.QueryRow(ctx, `SELECT current_database(), (SELECT count(*) FROM pg_tables WHERE schemaname = 'public')`).Scan(&name, &tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Errorf("database %s has %d tables, want 0", name, tables)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE t (x int)`); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestDSN(t *testing.T) {
	srv := New(t)
	var a, b string
	t.Run("a", func(t *testing.T) { a = checkDatabase(t, srv.DSN(t)) })
	t.Run("b", func(t *testing.T) { b = checkDatabase(t, srv.DSN(t)) })
	if a == b {
		t.Errorf("two tests got the same database %q", a)
	}
	// The databases are dropped when their tests end.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, srv.admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname IN ($1, $2)`, a, b).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d test databases left behind", n)
	}
}

// TestThrowawayServer starts a server from the machine's binaries even when
// $TROUPE_TEST_PG_DSN is set, so both ways are tested where both exist.
func TestThrowawayServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL server")
	}
	t.Setenv(EnvDSN, "")
	if _, err := findBinaries(); err != nil {
		t.Skip("no PostgreSQL binaries on this machine")
	}
	checkDatabase(t, DSN(t))
}

func TestFindBinaries(t *testing.T) {
	bin, err := findBinaries()
	if err != nil {
		t.Skip(err)
	}
	if _, err := os.Stat(bin + "/pg_ctl"); err != nil {
		t.Errorf("findBinaries = %s, which has no pg_ctl: %v", bin, err)
	}
}

// TestUnavailable checks that a missing server skips a test, except in CI,
// where it fails it. It runs TestHelperUnavailable in a child process.
func TestUnavailable(t *testing.T) {
	tests := []struct {
		ci       string
		wantFail bool
		wantOut  string
	}{
		{ci: "", wantFail: false, wantOut: "--- SKIP: TestHelperUnavailable"},
		{ci: "false", wantFail: false, wantOut: "--- SKIP: TestHelperUnavailable"},
		{ci: "true", wantFail: true, wantOut: "--- FAIL: TestHelperUnavailable"},
	}
	for _, tt := range tests {
		t.Run("CI="+tt.ci, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperUnavailable$", "-test.v")
			cmd.Env = append(os.Environ(), "PGTEST_HELPER=1", "CI="+tt.ci)
			out, err := cmd.CombinedOutput()
			if got := err != nil; got != tt.wantFail {
				t.Errorf("child failed: got %v (%v), want %v\n%s", got, err, tt.wantFail, out)
			}
			if !strings.Contains(string(out), tt.wantOut) || !strings.Contains(string(out), "pgtest: no PostgreSQL: ") {
				t.Errorf("child output does not contain %q and the reason:\n%s", tt.wantOut, out)
			}
		})
	}
}

func TestHelperUnavailable(t *testing.T) {
	if os.Getenv("PGTEST_HELPER") != "1" {
		t.Skip("run by TestUnavailable")
	}
	unavailable(t, "test")
	t.Error("unavailable returned")
}
