package sdnotify_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/troupe-go/troupe/internal/sdnotify"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// listen opens a unixgram socket like systemd's and points NOTIFY_SOCKET at
// it. An abstract name is used when abstract is true.
func listen(t *testing.T, abstract bool) *net.UnixConn {
	t.Helper()
	name := filepath.Join(t.TempDir(), "notify.sock")
	if abstract {
		name = fmt.Sprintf("@troupe-sdnotify-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", name)
	return conn
}

func read(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n])
}

func TestNotify(t *testing.T) {
	tests := []struct {
		name string
		send func() error
		want string
	}{
		{"ready", sdnotify.Ready, "READY=1"},
		{"stopping", sdnotify.Stopping, "STOPPING=1"},
		{"status", func() error { return sdnotify.Status("serving 3 services") }, "STATUS=serving 3 services"},
		{"watchdog", sdnotify.WatchdogPing, "WATCHDOG=1"},
		{"raw", func() error { return sdnotify.Notify("READY=1\nSTATUS=up") }, "READY=1\nSTATUS=up"},
	}
	for _, abstract := range []bool{false, true} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/abstract=%v", tt.name, abstract), func(t *testing.T) {
				conn := listen(t, abstract)
				if !sdnotify.Enabled() {
					t.Fatal("Enabled() = false with NOTIFY_SOCKET set")
				}
				if err := tt.send(); err != nil {
					t.Fatal(err)
				}
				if got := read(t, conn); got != tt.want {
					t.Errorf("datagram = %q, want %q", got, tt.want)
				}
			})
		}
	}
}

func TestNoSocket(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	if sdnotify.Enabled() {
		t.Error("Enabled() = true without NOTIFY_SOCKET")
	}
	for name, f := range map[string]func() error{
		"ready": sdnotify.Ready, "stopping": sdnotify.Stopping, "watchdog": sdnotify.WatchdogPing,
		"status": func() error { return sdnotify.Status("x") },
		"loop":   func() error { return sdnotify.Watchdog(context.Background(), nil) },
	} {
		if err := f(); err != nil {
			t.Errorf("%s without NOTIFY_SOCKET = %v, want nil", name, err)
		}
	}
}

func TestBadInput(t *testing.T) {
	tests := []struct {
		name   string
		socket string
		send   func() error
	}{
		{"status with newline", "", func() error { return sdnotify.Status("a\nREADY=1") }},
		{"status with nul", "", func() error { return sdnotify.Status("a\x00b") }},
		{"status too long", "", func() error { return sdnotify.Status(strings.Repeat("x", 1025)) }},
		{"relative socket", "notify.sock", sdnotify.Ready},
		{"vsock socket", "vsock:2:1234", sdnotify.Ready},
		{"missing socket", "/nonexistent/notify.sock", sdnotify.Ready},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := listen(t, false)
			if tt.socket != "" {
				t.Setenv("NOTIFY_SOCKET", tt.socket)
			}
			err := tt.send()
			if err == nil {
				t.Fatal("got nil error, want one")
			}
			if !strings.HasPrefix(err.Error(), "sdnotify: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			// Nothing was sent.
			if err := conn.SetReadDeadline(time.Now()); err != nil {
				t.Fatal(err)
			}
			if _, err := conn.Read(make([]byte, 16)); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("read after refused send = %v, want no datagram", err)
			}
		})
	}
}

func TestWatchdogInterval(t *testing.T) {
	self := strconv.Itoa(os.Getpid())
	tests := []struct {
		name    string
		usec    string
		pid     string
		want    time.Duration
		wantErr bool
	}{
		{"unset", "", "", 0, false},
		{"thirty seconds", "30000000", "", 30 * time.Second, false},
		{"for this process", "500000", self, 500 * time.Millisecond, false},
		{"for another process", "500000", "1", 0, false},
		{"zero", "0", "", 0, true},
		{"negative", "-5", "", 0, true},
		{"not a number", "soon", "", 0, true},
		{"too large", "99999999999999999999", "", 0, true},
		{"bad pid", "500000", "me", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("WATCHDOG_USEC", tt.usec)
			t.Setenv("WATCHDOG_PID", tt.pid)
			got, err := sdnotify.WatchdogInterval()
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("interval = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWatchdog(t *testing.T) {
	conn := listen(t, false)
	t.Setenv("WATCHDOG_USEC", "2000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))

	// A health check that fails every other time: the loop skips pings
	// while unhealthy, so the check runs more often than pings arrive.
	checks := make(chan int, 100)
	n := 0
	healthy := func() error {
		n++
		select {
		case checks <- n:
		default:
		}
		if n%2 == 0 {
			return errors.New("stuck")
		}
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sdnotify.Watchdog(ctx, healthy) }()
	for range 3 {
		if got, want := read(t, conn), "WATCHDOG=1"; got != want {
			t.Errorf("datagram = %q, want %q", got, want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Watchdog = %v, want nil", err)
	}
	if got := len(checks); got < 5 {
		t.Errorf("health checks = %d for 3 pings, want at least 5 (every other one fails)", got)
	}
}

func TestWatchdogDisabled(t *testing.T) {
	listen(t, false)
	t.Setenv("WATCHDOG_USEC", "2000")
	t.Setenv("WATCHDOG_PID", "1") // another process's watchdog
	if err := sdnotify.Watchdog(context.Background(), nil); err != nil {
		t.Errorf("Watchdog for another pid = %v, want nil at once", err)
	}
}
