package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/examples/todo/internal/apptest"
	"github.com/troupe-go/troupe/examples/todo/store"
	"github.com/troupe-go/troupe/examples/todo/store/postgres"
	"github.com/troupe-go/troupe/examples/todo/store/postgres/pgtest"
	"github.com/troupe-go/troupe/examples/todo/store/sqlite"
)

// createClients is how many clients BenchmarkCreateConcurrent runs at once.
const createClients = 8

// BenchmarkCreateConcurrent is issue 13's benchmark for a stateful service:
// todos created by exactly createClients concurrent clients, whatever
// GOMAXPROCS is (RunParallel would multiply the clients by it), through
// the whole stack (stack: HTTP → gateway → bus, durable todo.create → todo
// service → store) and into the same kind of store directly (store: the
// baseline), each on a fresh database; store-same calls the store as the
// todo service does (a reference: what the service's semantics cost in
// the database). b.N is the number of creates;
// creates/s is the throughput. To compare the two, run each in a process of
// its own, interleaved, as bench/run.sh does:
//
//	go test -c -o web.test ./examples/todo/web/
//	./web.test -test.run '^$' -test.bench 'CreateConcurrent/postgres/stack$' -test.benchtime 3000x
//	./web.test -test.run '^$' -test.bench 'CreateConcurrent/postgres/store$' -test.benchtime 3000x
//
// postgres needs TROUPE_TEST_PG_DSN (. .ci/postgres.sh) or a local
// PostgreSQL installation (see pgtest).
func BenchmarkCreateConcurrent(b *testing.B) {
	open := map[string]func(b *testing.B) store.Store{
		"sqlite": func(b *testing.B) store.Store {
			st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "todo.db"))
			if err != nil {
				b.Fatal(err)
			}
			return st
		},
		"postgres": func(b *testing.B) store.Store {
			st, err := postgres.Open(context.Background(), pgtest.DSN(b))
			if err != nil {
				b.Fatal(err)
			}
			return st
		},
	}
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend+"/stack", func(b *testing.B) {
			a := apptest.Start(b, apptest.Options{Store: open[backend](b)})
			u := a.SignUp(b, "bench")
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: createClients}}
			defer c.CloseIdleConnections()
			url := a.Server.URL + "/api/lists/" + u.List + "/todos"
			concurrently(b, func() error {
				req, _ := http.NewRequest("POST", url, strings.NewReader(`{"title":"benchmark todo"}`))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+u.Token) // authenticated: one more request on the bus
				res, err := c.Do(req)
				if err != nil {
					return err
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusCreated {
					return fmt.Errorf("status %d", res.StatusCode)
				}
				return nil
			})
		})
		b.Run(backend+"/store", func(b *testing.B) {
			st := open[backend](b)
			defer st.Close()
			concurrently(b, func() error {
				_, err := st.Create(context.Background(), store.NewTodo{ListID: store.DefaultListID, Title: "benchmark todo"})
				return err
			})
		})
		// store-same: the store as the todo service calls it, so what the
		// stack adds is told apart from what its semantics ask of the
		// database: for a user, whose right to the list the statement
		// checks, and with the request's id as the key that makes a
		// redelivered create make nothing (a reference, not the goal's
		// baseline).
		b.Run(backend+"/store-same", func(b *testing.B) {
			st := open[backend](b)
			defer st.Close()
			ctx := context.Background()
			u, err := st.CreateUser(ctx, "bench", "not a hash")
			if err != nil {
				b.Fatal(err)
			}
			l, err := st.CreateListFor(ctx, u.ID, "bench")
			if err != nil {
				b.Fatal(err)
			}
			concurrently(b, func() error {
				_, err := st.Create(ctx, store.NewTodo{ListID: l.ID, Title: "benchmark todo", User: u.ID, IdempotencyKey: troupe.NewID()})
				return err
			})
		})
	}
}

// concurrently calls create b.N times from createClients goroutines, after
// createClients untimed warm-up calls, and reports creates/s.
func concurrently(b *testing.B, create func() error) {
	for range createClients {
		if err := create(); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range createClients {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				if err := create(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
}
