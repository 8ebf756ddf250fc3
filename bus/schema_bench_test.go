package bus_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/internal/cputime"
)

// schemaPayload is a small request like the todo app's todo.create.
var schemaPayload = json.RawMessage(`{"list":"default","title":"buy milk"}`)

// schemaBus is the bus of the schema benchmarks: echo and note carry a
// schema, checked if validate is true (MessageDecl.NoValidate otherwise).
func schemaBus(b *testing.B, validate bool) (*bus.Client, *bus.Client) {
	b.Helper()
	payload := json.RawMessage(`{"type":"object","required":["list","title"],"additionalProperties":false,
		"properties":{"list":{"type":"string","minLength":1},"title":{"type":"string","maxLength":500}}}`)
	app := &troupe.App{
		Name: "bench",
		Services: []troupe.ServiceDecl{
			{Name: "client", Sends: []string{"echo", "note"}},
			{Name: "server", Receives: []string{"echo", "note"}},
		},
		Messages: []troupe.MessageDecl{
			{Name: "echo", Payload: payload, Replies: []string{"echoed"}, NoValidate: !validate},
			{Name: "echoed", Payload: payload, NoValidate: !validate},
			{Name: "note", Payload: payload, NoValidate: !validate},
		},
	}
	bb, err := bus.New(bus.Config{App: app, Logger: slog.New(slog.DiscardHandler), Timeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = bb.Close(context.Background()) })
	s := benchJoin(b, bb, "server", "s1")
	if err := s.Handle("echo", bus.HandlerFunc(func(ctx context.Context, m *bus.Msg) {
		_ = m.Reply(ctx, "echoed", m.Env.Payload)
	})); err != nil {
		b.Fatal(err)
	}
	if err := s.Handle("note", bus.HandlerFunc(func(context.Context, *bus.Msg) {})); err != nil {
		b.Fatal(err)
	}
	return benchJoin(b, bb, "client", "c1"), s
}

// BenchmarkSchema measures Request (a round trip: the request and the
// reply are each checked once, when sent; the receiving side trusts what
// its own bus checked in the same call, schema.go) and Send (checked once)
// with payload validation on and off, over the in-process transport. "off"
// is the same-run baseline: the same schemas with validate: false.
func BenchmarkSchema(b *testing.B) {
	for _, mode := range []struct {
		name     string
		validate bool
	}{{"off", false}, {"on", true}} {
		b.Run("Request/"+mode.name, func(b *testing.B) {
			c, _ := schemaBus(b, mode.validate)
			ctx := context.Background()
			b.ReportAllocs()
			start := cputime.Now()
			for b.Loop() {
				if _, err := c.Request(ctx, "echo", schemaPayload); err != nil {
					b.Fatal(err)
				}
			}
			cputime.Report(b, start)
		})
		b.Run("Send/"+mode.name, func(b *testing.B) {
			c, _ := schemaBus(b, mode.validate)
			ctx := context.Background()
			b.ReportAllocs()
			start := cputime.Now()
			for b.Loop() {
				if err := c.Send(ctx, "note", schemaPayload); err != nil {
					b.Fatal(err)
				}
			}
			cputime.Report(b, start)
		})
	}
}
