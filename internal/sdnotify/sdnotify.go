// Package sdnotify speaks systemd's notify protocol (sd_notify(3)): a service
// started with Type=notify tells systemd when it is ready, what it is doing,
// when it is stopping, and that it is still alive when the unit has a
// watchdog.
//
// systemd passes the address of its socket in $NOTIFY_SOCKET: a file system
// path, or an abstract socket name starting with '@'. Each state is a
// datagram of newline-separated KEY=VALUE assignments. When $NOTIFY_SOCKET is
// unset, because the process does not run under systemd, every function is a
// no-op that returns nil.
//
// A tour:
//
//	// when listening and serving:
//	sdnotify.Ready()
//	// on SIGTERM, before draining:
//	sdnotify.Stopping()
//	sdnotify.Status("draining 12 connections")
//	// with WatchdogSec= in the unit, in a goroutine the program owns:
//	go sdnotify.Watchdog(ctx, healthCheck)
package sdnotify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// maxStatus bounds a status text; systemd keeps short statuses for
// `systemctl status`.
const maxStatus = 1024

// Enabled reports whether the process runs under a service manager that
// listens for notifications ($NOTIFY_SOCKET is set).
func Enabled() bool { return os.Getenv("NOTIFY_SOCKET") != "" }

// Notify sends state, one or more newline-separated KEY=VALUE assignments,
// to the service manager. It returns nil without doing anything when
// $NOTIFY_SOCKET is unset.
func Notify(state string) error {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		return nil
	}
	if addr[0] != '/' && addr[0] != '@' {
		return fmt.Errorf("sdnotify: NOTIFY_SOCKET %q: only unix socket paths and abstract names are supported", addr)
	}
	// Go's net package maps a leading '@' to Linux's abstract namespace.
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sdnotify: %w", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("sdnotify: %w", err)
	}
	return nil
}

// Ready tells the service manager that start-up is finished (READY=1).
// With Type=notify, systemd considers the unit started only then.
func Ready() error { return Notify("READY=1") }

// Stopping tells the service manager that the service is shutting down
// (STOPPING=1).
func Stopping() error { return Notify("STOPPING=1") }

// Status sets the one-line status text that `systemctl status` shows
// (STATUS=...). A text with a newline or longer than 1024 bytes is refused,
// and nothing is sent.
func Status(text string) error {
	if strings.ContainsAny(text, "\n\x00") {
		return errors.New("sdnotify: status must be one line")
	}
	if len(text) > maxStatus {
		return fmt.Errorf("sdnotify: status longer than %d bytes", maxStatus)
	}
	return Notify("STATUS=" + text)
}

// WatchdogPing tells the service manager that the service is alive
// (WATCHDOG=1). With WatchdogSec= in the unit, systemd kills and restarts a
// service that stops pinging.
func WatchdogPing() error { return Notify("WATCHDOG=1") }

// WatchdogInterval returns the watchdog timeout the service manager expects
// pings within, from $WATCHDOG_USEC, or 0 when the watchdog is disabled: the
// variable is unset, or $WATCHDOG_PID names another process.
func WatchdogInterval() (time.Duration, error) {
	usec := os.Getenv("WATCHDOG_USEC")
	if usec == "" {
		return 0, nil
	}
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" {
		p, err := strconv.Atoi(pid)
		if err != nil {
			return 0, fmt.Errorf("sdnotify: WATCHDOG_PID %q: %w", pid, err)
		}
		if p != os.Getpid() {
			return 0, nil
		}
	}
	n, err := strconv.ParseUint(usec, 10, 63)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("sdnotify: WATCHDOG_USEC %q: not a positive number of microseconds", usec)
	}
	if n > uint64(time.Duration(1<<63-1)/time.Microsecond) {
		return 0, fmt.Errorf("sdnotify: WATCHDOG_USEC %q: too large", usec)
	}
	return time.Duration(n) * time.Microsecond, nil
}

// Watchdog pings the service manager at half the watchdog interval until
// ctx ends, and then returns nil. If healthy is not nil, it is called before
// each ping and a ping is skipped when it returns an error, so that systemd
// restarts a service that is running but stuck. Watchdog returns at once when
// the watchdog is disabled or $NOTIFY_SOCKET is unset. The caller owns the
// goroutine it runs in.
func Watchdog(ctx context.Context, healthy func() error) error {
	interval, err := WatchdogInterval()
	if err != nil || interval == 0 || !Enabled() {
		return err
	}
	t := time.NewTicker(max(interval/2, time.Millisecond))
	defer t.Stop()
	for {
		if healthy == nil || healthy() == nil {
			if err := WatchdogPing(); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
