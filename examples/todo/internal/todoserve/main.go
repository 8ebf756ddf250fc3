// Command todoserve runs the todo application on its own, as the demo does
// but without hello, for load tests: a node on the in-process bus with the
// todo service on an SQLite file, the web service and the gateway behind one
// HTTP listener, and optionally a bare net/http handler serving a snapshot of
// the home page (the load test's baseline).
//
//	go run ./examples/todo/internal/todoserve -addr 127.0.0.1:8081 -fill 1000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	todoapp "github.com/troupe-go/troupe/examples/todo"
	"github.com/troupe-go/troupe/examples/todo/store"
	"github.com/troupe-go/troupe/examples/todo/store/sqlite"
	"github.com/troupe-go/troupe/host"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "todoserve:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	addr := flag.String("addr", "127.0.0.1:8081", "listen address")
	data := flag.String("data", "", "data directory (default: a temporary one)")
	fill := flag.Int("fill", 0, "todos to put into the default list at start")
	baseline := flag.String("baseline-addr", "", "if set, also serve a snapshot of the home page from memory here, with a bare net/http handler (a load test's baseline)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	dir := *data
	if dir == "" {
		tmp, err := os.MkdirTemp("", "todoserve")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	app, err := todoapp.App()
	if err != nil {
		return err
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, "todo.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	for i := range *fill {
		if _, err := st.Create(ctx, store.NewTodo{ListID: store.DefaultListID, Title: fmt.Sprintf("todo number %d", i)}); err != nil {
			return err
		}
	}
	n, err := host.Start(ctx, host.Config{
		App:      app,
		Services: todoapp.ServicesWith(todoapp.Options{Store: st}),
		DataDir:  dir,
		InProc:   true,
		HTTP:     host.HTTPConfig{Addr: *addr},
		Logger:   log,
	})
	if err != nil {
		return err
	}
	fmt.Printf("todo application on %s\n", n.URL())
	errc := make(chan error, 1)
	if *baseline != "" {
		bsrv, err := serveSnapshot(*baseline, n.URL(), errc)
		if err != nil {
			return errors.Join(err, n.Shutdown(context.WithoutCancel(ctx)))
		}
		defer bsrv.Close()
	}
	select {
	case err = <-errc:
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return errors.Join(err, n.Shutdown(sctx))
}

// serveSnapshot serves the page at u, fetched once, from memory at addr.
func serveSnapshot(addr, u string, errc chan<- error) (*http.Server, error) {
	res, err := http.Get(u)
	if err != nil {
		return nil, err
	}
	page, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page)
	})}
	fmt.Printf("baseline snapshot on http://%s/\n", ln.Addr())
	go func() { errc <- srv.Serve(ln) }()
	return srv, nil
}
