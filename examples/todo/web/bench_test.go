package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/troupe-go/troupe/examples/todo/internal/apptest"
	"github.com/troupe-go/troupe/examples/todo/store"
	"github.com/troupe-go/troupe/examples/todo/store/postgres"
	"github.com/troupe-go/troupe/examples/todo/store/postgres/pgtest"
	"github.com/troupe-go/troupe/examples/todo/todo"
	"github.com/troupe-go/troupe/examples/todo/web"
)

// fill puts n todos into list, straight into the store.
func fill(tb testing.TB, a *apptest.App, list string, n int) {
	tb.Helper()
	for i := range n {
		td, err := a.Store.Create(context.Background(), store.NewTodo{ListID: list, Title: fmt.Sprintf("todo number %d <with> some & text", i)})
		if err != nil {
			tb.Fatal(err)
		}
		if i%3 == 0 {
			done := true
			if _, err := a.Store.Update(context.Background(), td.ID, store.Patch{Completed: &done}); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

func fetch(b *testing.B, c *http.Client, u string) int {
	res, err := c.Get(u)
	if err != nil {
		b.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		b.Fatalf("status %d", res.StatusCode)
	}
	return int(n)
}

// BenchmarkHomePage1000 renders the home page of a list with 1,000 todos:
// HTTP → web → bus (todo.list, list.all) → todo → SQLite → html/template.
// The baseline serves the same bytes from memory with a bare net/http
// handler through the same client.
func BenchmarkHomePage1000(b *testing.B) {
	a := apptest.Start(b, apptest.Options{})
	u := a.SignUp(b, "bench")
	fill(b, a, u.List, 1000)
	jar, _ := cookiejar.New(nil)
	base, _ := url.Parse(a.Server.URL)
	jar.SetCookies(base, []*http.Cookie{u.Cookie()}) // the page of a logged-in user
	c := &http.Client{Jar: jar, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer c.CloseIdleConnections()
	res, err := c.Get(a.Server.URL + "/")
	if err != nil {
		b.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	b.Run("todo", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				fetch(b, c, a.Server.URL+"/")
			}
		})
	})
	b.Run("baseline-static", func(b *testing.B) {
		bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write(page)
		}))
		defer bare.Close()
		b.SetBytes(int64(len(page)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				fetch(b, c, bare.URL)
			}
		})
	})
}

// BenchmarkCreateTodo creates todos through the REST API: HTTP → gateway →
// bus (durable todo.create) → todo service → SQLite, with 8 clients per
// CPU. The baseline calls the store directly.
func BenchmarkCreateTodo(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			opt := apptest.Options{}
			if backend == "postgres" {
				st, err := postgres.Open(context.Background(), pgtest.DSN(b))
				if err != nil {
					b.Fatal(err)
				}
				opt.Store = st
			}
			benchmarkCreate(b, apptest.Start(b, opt))
		})
	}
}

// benchmarkCreate creates todos through gateway → bus → todo → store, and
// then straight into the store (the baseline), 8 at a time.
func benchmarkCreate(b *testing.B, a *apptest.App) {
	u := a.SignUp(b, "bench")
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer c.CloseIdleConnections()
	b.Run("gateway", func(b *testing.B) {
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req, _ := http.NewRequest("POST", a.Server.URL+"/api/lists/"+u.List+"/todos", strings.NewReader(`{"title":"benchmark todo"}`))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+u.Token) // authenticated: one more request on the bus
				res, err := c.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusCreated {
					b.Fatalf("status %d", res.StatusCode)
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
	})
	b.Run("baseline-store", func(b *testing.B) {
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := a.Store.Create(context.Background(), store.NewTodo{ListID: u.List, Title: "benchmark todo"}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
	})
}

// BenchmarkFanOut1000 connects 1,000 WebSocket clients to one list and
// measures, per change, the time from the todo's creation in the store
// (its CreatedAt) to each client having read the event: p50, p99 and max
// over all deliveries. One op is one change delivered to all clients.
func BenchmarkFanOut1000(b *testing.B) {
	const clients = 1000
	a := apptest.Start(b, apptest.Options{Web: webOptsForBench()})
	u := a.SignUp(b, "bench")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var (
		mu    sync.Mutex
		lat   []time.Duration
		got   = make(chan struct{}, clients*4)
		wg    sync.WaitGroup
		conns []*websocket.Conn
	)
	dialer := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 0}}
	for range clients {
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(a.Server.URL, "http")+"/live?list="+url.QueryEscape(u.List), &websocket.DialOptions{HTTPClient: dialer,
			HTTPHeader: http.Header{"Cookie": {u.Cookie().String()}, "Origin": {a.Server.URL}}})
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
		if _, _, err := c.Read(ctx); err != nil { // the state message
			b.Fatal(err)
		}
		wg.Go(func() {
			for {
				_, msg, err := c.Read(ctx)
				if err != nil {
					return
				}
				now := time.Now()
				var ev todo.Event
				if json.Unmarshal(msg, &ev) != nil || ev.Todo == nil {
					continue
				}
				mu.Lock()
				lat = append(lat, now.Sub(ev.Todo.CreatedAt))
				mu.Unlock()
				got <- struct{}{}
			}
		})
	}
	defer func() {
		for _, c := range conns {
			c.CloseNow()
		}
		cancel()
		wg.Wait()
	}()

	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := a.Client.Request(u.Ctx(ctx), todo.MsgCreate, todo.CreateTodo{List: u.List, Title: fmt.Sprint("fan-out ", i)}); err != nil {
			b.Fatal(err)
		}
		for range clients {
			select {
			case <-got:
			case <-time.After(30 * time.Second):
				n, drops := a.Pages.LiveConns()
				b.Fatalf("an event did not reach every client (connections %d, dropped %d)", n, drops)
			}
		}
	}
	b.StopTimer()
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(q(1), "max-ms")
	if _, drops := a.Pages.LiveConns(); drops > 0 {
		b.Errorf("%d slow clients were dropped", drops)
	}
}

func webOptsForBench() web.Options { return web.Options{PingInterval: -1} }
