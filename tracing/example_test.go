package tracing_test

import (
	"context"
	"log"
	"log/slog"
	"net/http"
	"os"

	"github.com/troupe-go/troupe/service"
	"github.com/troupe-go/troupe/tracing"
)

// A program that runs a service without the host traces it by hand: the
// interceptors on the service, the HTTP wrapper on its front, the log
// handler on its logger. The host does all of this for every node.
func Example() {
	ctx := context.Background()
	tr, err := tracing.New(ctx, tracing.Config{App: "shop"}) // OTEL_EXPORTER_OTLP_ENDPOINT=...
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = tr.Shutdown(ctx) }()
	logger := slog.New(tracing.LogHandler(slog.NewJSONHandler(os.Stderr, nil)))
	cfg := service.Config{Name: "orders", Instance: "orders-1", Logger: logger}
	if mw := tr.Middleware("orders", "orders-1"); mw != nil {
		cfg.Middleware = append(cfg.Middleware, mw)
		cfg.CallMiddleware = append(cfg.CallMiddleware, tr.CallMiddleware("orders", "orders-1"))
	}
	orders := service.New(cfg)
	_ = orders
	var front http.Handler = http.NotFoundHandler()
	_ = http.ListenAndServe("127.0.0.1:8080", tr.HTTP("gateway", "gateway-1", front))
}
