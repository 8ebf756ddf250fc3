// Command wsidle opens many idle WebSocket connections and holds them, so
// that the memory a server spends per idle client can be measured from
// outside (bench/run.sh reads the server's RSS before and after).
//
//	wsidle -url ws://127.0.0.1:8080/live?list=default -n 10000
//
// Each connection is dialled (at most -c at a time, each dial retried a few
// times on a loaded machine), waits for the server's first message (the
// todo web service sends the list's state first: after it, the server's
// per-connection state is complete), and then reads and discards what comes,
// which also answers the server's pings. When every connection is open it
// prints "open N" on stdout; it holds them until SIGINT or SIGTERM, and
// then closes them. It exits 1 if a connection
// cannot be opened or drops while held.
//
// An endpoint that wants a signed-in user (the todo web service's /live)
// takes the session with -cookie ("todo_session=...") and, because it checks
// the upgrade's Origin against its allowed hosts, -origin (the page's origin,
// "http://127.0.0.1:8080").
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"
)

func main() {
	url := flag.String("url", "ws://127.0.0.1:8080/live?list=default", "the WebSocket endpoint")
	n := flag.Int("n", 10000, "connections")
	conc := flag.Int("c", 64, "dials at a time")
	first := flag.Bool("first", true, "wait for the server's first message on each connection")
	timeout := flag.Duration("timeout", 5*time.Minute, "time to open every connection")
	cookie := flag.String("cookie", "", "a Cookie header for every connection (a signed-in user's session)")
	origin := flag.String("origin", "", "an Origin header for every connection (the page's origin)")
	flag.Parse()
	header := http.Header{}
	if *cookie != "" {
		header.Set("Cookie", *cookie)
	}
	if *origin != "" {
		header.Set("Origin", *origin)
	}
	if err := run(*url, header, *n, *conc, *first, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "wsidle:", err)
		os.Exit(1)
	}
}

func run(url string, header http.Header, n, conc int, first bool, timeout time.Duration) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	client := &http.Client{Transport: &http.Transport{
		DialContext:       (&net.Dialer{Timeout: 30 * time.Second}).DialContext,
		DisableKeepAlives: true,
	}}
	conns := make([]*websocket.Conn, n)
	var (
		next    atomic.Int64
		dropped atomic.Int64
		wg      sync.WaitGroup
		readers sync.WaitGroup
		errOnce sync.Once
		dialErr error
	)
	holdCtx, cancelHold := context.WithCancel(ctx)
	defer cancelHold()
	openCtx, cancelOpen := context.WithTimeout(ctx, timeout)
	defer cancelOpen()
	start := time.Now()
	for range min(conc, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				c, err := dial(openCtx, client, url, header, first)
				if err != nil {
					errOnce.Do(func() {
						dialErr = fmt.Errorf("connection %d of %d: %w", i+1, n, err)
						cancelOpen() // the others fail with it
					})
					return
				}
				conns[i] = c
				readers.Go(func() {
					for {
						if _, _, err := c.Read(holdCtx); err != nil {
							if holdCtx.Err() == nil {
								dropped.Add(1)
							}
							return
						}
					}
				})
			}
		})
	}
	wg.Wait()
	defer func() {
		cancelHold()
		for _, c := range conns {
			if c != nil {
				c.CloseNow()
			}
		}
		readers.Wait()
	}()
	if dialErr != nil {
		return dialErr
	}
	fmt.Printf("open %d in %.1f s\n", n, time.Since(start).Seconds())
	<-ctx.Done()
	if d := dropped.Load(); d > 0 {
		return fmt.Errorf("%d of %d connections dropped while held", d, n)
	}
	return nil
}

// dial opens one connection, retrying up to three times (a listen queue
// that overflows on a loaded machine refuses a few), and reads the first
// message if first is set.
func dial(ctx context.Context, client *http.Client, url string, header http.Header, first bool) (*websocket.Conn, error) {
	var err error
	for attempt := range 4 {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return nil, errors.Join(err, ctx.Err())
			case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
			}
		}
		var c *websocket.Conn
		c, _, err = websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: client, HTTPHeader: header})
		if err != nil {
			continue
		}
		if first {
			if _, _, err = c.Read(ctx); err != nil {
				c.CloseNow()
				continue
			}
		}
		return c, nil
	}
	return nil, err
}
