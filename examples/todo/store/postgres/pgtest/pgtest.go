// Package pgtest gives tests a real PostgreSQL database of their own.
//
//	func TestSomething(t *testing.T) {
//		dsn := pgtest.DSN(t) // a fresh, empty database, dropped when t ends
//		...
//	}
//
// The server comes from, in this order:
//
//  1. $TROUPE_TEST_PG_DSN, a DSN of a role that may CREATE DATABASE (CI sets it
//     with .ci/postgres.sh);
//  2. a throwaway server started from the machine's PostgreSQL binaries
//     (/usr/lib/postgresql/*/bin): initdb into a temporary directory, pg_ctl
//     start on a free loopback port with its unix socket in that directory,
//     stopped and removed when the test ends. initdb refuses to run as root,
//     so as root the server runs as the postgres OS user (through runuser);
//  3. none: the test is skipped, unless CI=true, when it fails instead, so a
//     CI run never passes by skipping the PostgreSQL tests.
//
// Each call of [DSN] or [Server.DSN] creates a database with a random name and
// drops it (WITH FORCE) when its test ends.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvDSN is the environment variable that names an existing server.
const EnvDSN = "TROUPE_TEST_PG_DSN"

// Server is a PostgreSQL server that tests can create databases in.
type Server struct {
	admin string // a DSN of a role that may create databases
}

// DSN returns the DSN of a fresh database for t, on a server it gets as the
// package documentation describes.
func DSN(t testing.TB) string {
	t.Helper()
	return New(t).DSN(t)
}

// New returns a server for t: the one $TROUPE_TEST_PG_DSN names, or a
// throwaway one that is stopped when t ends. If there is neither, New skips
// t, or fails it when $CI is "true".
func New(t testing.TB) *Server {
	t.Helper()
	if dsn := os.Getenv(EnvDSN); dsn != "" {
		return &Server{admin: dsn}
	}
	bin, err := findBinaries()
	if err != nil {
		unavailable(t, err.Error())
	}
	var runAs *user.User
	if os.Geteuid() == 0 {
		runAs, err = user.Lookup("postgres")
		if err != nil {
			unavailable(t, "running as root, and no postgres user to run initdb as: "+err.Error())
		}
		if _, err := exec.LookPath("runuser"); err != nil {
			unavailable(t, "running as root, and no runuser to run initdb as postgres")
		}
	}
	return start(t, bin, runAs)
}

// unavailable skips t, or fails it in CI.
func unavailable(t testing.TB, why string) {
	t.Helper()
	msg := "pgtest: no PostgreSQL: " + why + " (set " + EnvDSN + ", e.g. with .ci/postgres.sh)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// findBinaries returns the bin directory of the newest PostgreSQL installed.
func findBinaries() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	var found []string
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			found = append(found, d)
		}
	}
	if len(found) == 0 {
		return "", fmt.Errorf("no /usr/lib/postgresql/*/bin/initdb")
	}
	sort.Slice(found, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(found[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(found[j])))
		return vi < vj
	})
	return found[len(found)-1], nil
}

// start runs initdb and pg_ctl start in a new temporary directory, as runAs
// if it is not nil, and stops the server when t ends.
func start(t testing.TB, bin string, runAs *user.User) *Server {
	t.Helper()
	// Not t.TempDir: its parents are private to root, and the server may run
	// as another user.
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if runAs != nil {
		uid, _ := strconv.Atoi(runAs.Uid)
		gid, _ := strconv.Atoi(runAs.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatalf("pgtest: %v", err)
		}
	}
	run := func(name string, args ...string) error {
		path := filepath.Join(bin, name)
		var cmd *exec.Cmd
		if runAs != nil {
			cmd = exec.Command("runuser", append([]string{"-u", runAs.Username, "--", path}, args...)...)
		} else {
			cmd = exec.Command(path, args...)
		}
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
		}
		return nil
	}
	data := filepath.Join(dir, "data")
	if err := run("initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c synchronous_commit=off -c full_page_writes=off", port, dir)
	if err := run("pg_ctl", "-D", data, "-l", filepath.Join(dir, "log"), "-o", opts, "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		t.Fatalf("pgtest: %v\n%s", err, log)
	}
	t.Cleanup(func() {
		if err := run("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return &Server{admin: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// DSN creates a database with a random name and returns its DSN. The
// database is dropped when t ends.
func (s *Server) DSN(t testing.TB) string {
	t.Helper()
	var b [8]byte
	rand.Read(b[:])
	name := "troupe_test_" + hex.EncodeToString(b[:])
	if err := s.exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := s.exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	dsn, err := withDatabase(s.admin, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return dsn
}

// exec runs one statement on the server's admin connection.
func (s *Server) exec(sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.admin)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}

// withDatabase returns dsn with its database replaced by name. dsn is a URL
// (postgres://...) or keyword/value pairs (host=... dbname=...).
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("%s: %w", EnvDSN, err)
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	return dsn + " dbname=" + name, nil
}
