// Command todoserve runs the todo application on its own, the way troupe
// run wires it: the in-process bus, the todo service on an SQLite file, the
// web service and the gateway behind one HTTP listener. It is for load tests
// (wrk) and manual trials until troupe run starts the application.
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

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	todoapp "github.com/troupe-go/troupe/examples/todo"
	"github.com/troupe-go/troupe/examples/todo/store"
	"github.com/troupe-go/troupe/examples/todo/store/sqlite"
	"github.com/troupe-go/troupe/examples/todo/todo"
	"github.com/troupe-go/troupe/examples/todo/web"
	"github.com/troupe-go/troupe/gateway"
	"github.com/troupe-go/troupe/service"
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
	b, err := bus.New(bus.Config{App: app, Logger: log})
	if err != nil {
		return err
	}
	sys := actor.NewSystem(actor.Config{Logger: log})
	todoSvc, err := todo.New(service.Config{}, todo.Options{Store: st, Logger: log})
	if err != nil {
		return err
	}
	webSvc, pages, err := web.New(service.Config{}, web.Options{Logger: log})
	if err != nil {
		return err
	}
	for _, s := range []*service.Service{todoSvc, webSvc} {
		if err := s.Start(ctx, b, sys); err != nil {
			return err
		}
	}
	client, err := b.Join(ctx, troupe.GatewayService, "gateway-1")
	if err != nil {
		return err
	}
	gw, err := gateway.New(gateway.Config{App: app, Bus: client, Logger: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: web.Combine(pages, gw), ReadHeaderTimeout: 5 * time.Second}
	fmt.Printf("todo application on http://%s/\n", ln.Addr())
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	if *baseline != "" {
		bsrv, err := serveSnapshot(*baseline, "http://"+ln.Addr().String()+"/", errc)
		if err != nil {
			return err
		}
		defer bsrv.Close()
	}
	select {
	case err = <-errc:
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return errors.Join(err, pages.Close(sctx), srv.Shutdown(sctx), webSvc.Stop(sctx), todoSvc.Stop(sctx), b.Close(sctx), sys.Shutdown(sctx))
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
