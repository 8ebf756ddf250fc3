package bus_test

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/troupe-go/troupe/bus"
)

func TestCollector(t *testing.T) {
	ctx := context.Background()
	b := newBus(t)
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(b.Collector()); err != nil {
		t.Fatal(err)
	}
	g, err := b.Join(ctx, "greeter", "g1")
	if err != nil {
		t.Fatal(err)
	}
	err = g.Handle("greet", bus.HandlerFunc(func(ctx context.Context, m *bus.Msg) {
		if string(m.Env.Payload) == `"x"` {
			_ = m.ReplyError(ctx, context.Canceled)
			return
		}
		_ = m.Reply(ctx, "greeting", nil)
	}))
	if err != nil {
		t.Fatal(err)
	}
	w, err := b.Join(ctx, "web", "w1")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"a", "b", "x"} {
		_, _ = w.Request(ctx, "greet", p)
	}
	_, _ = w.Request(ctx, "unheard", nil)    // no receiver: a refusal
	_, _ = w.Request(ctx, "undeclared", nil) // not declared at all
	_ = w.Send(ctx, "greet", make(chan int)) // bad payload

	tests := []struct {
		metric string
		want   string
	}{
		{"troupe_bus_sent_total", `
# HELP troupe_bus_sent_total Requests, sends and publishes a member accepted for routing.
# TYPE troupe_bus_sent_total counter
troupe_bus_sent_total{instance="w1",name="greet",service="web"} 3
troupe_bus_sent_total{instance="w1",name="unheard",service="web"} 0
`},
		{"troupe_bus_refusals_total", `
# HELP troupe_bus_refusals_total Messages refused at a member: not permitted, no receiver, bad input, bulkhead full.
# TYPE troupe_bus_refusals_total counter
troupe_bus_refusals_total{instance="g1",name="greet",service="greeter"} 0
troupe_bus_refusals_total{instance="w1",name="greet",service="web"} 1
troupe_bus_refusals_total{instance="w1",name="unheard",service="web"} 1
`},
		{"troupe_bus_requests_total", `
# HELP troupe_bus_requests_total Requests a member made that ended, by outcome: ok or the Error code.
# TYPE troupe_bus_requests_total counter
troupe_bus_requests_total{code="internal",instance="w1",name="greet",service="web"} 1
troupe_bus_requests_total{code="ok",instance="w1",name="greet",service="web"} 2
troupe_bus_requests_total{code="ok",instance="w1",name="unheard",service="web"} 0
`},
		{"troupe_bus_in_flight", `
# HELP troupe_bus_in_flight Requests of a member waiting for their final reply.
# TYPE troupe_bus_in_flight gauge
troupe_bus_in_flight{instance="w1",name="greet",service="web"} 0
troupe_bus_in_flight{instance="w1",name="unheard",service="web"} 0
`},
		{"troupe_bus_received_total", `
# HELP troupe_bus_received_total Envelopes delivered to a member's handlers.
# TYPE troupe_bus_received_total counter
troupe_bus_received_total{instance="g1",name="greet",service="greeter"} 3
`},
		{"troupe_bus_undeclared_refusals_total", `
# HELP troupe_bus_undeclared_refusals_total Refusals of messages whose name the app does not declare.
# TYPE troupe_bus_undeclared_refusals_total counter
troupe_bus_undeclared_refusals_total 1
`},
	}
	for _, tt := range tests {
		t.Run(tt.metric, func(t *testing.T) {
			if err := testutil.GatherAndCompare(reg, strings.NewReader(tt.want), tt.metric); err != nil {
				t.Error(err)
			}
		})
	}
	t.Run("histogram", func(t *testing.T) {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var count uint64
		for _, mf := range mfs {
			if mf.GetName() != "troupe_bus_request_duration_seconds" {
				continue
			}
			for _, m := range mf.GetMetric() {
				labels := map[string]string{}
				for _, l := range m.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				if labels["name"] == "greet" && labels["service"] == "web" {
					count = m.GetHistogram().GetSampleCount()
				}
			}
		}
		if got, want := count, uint64(3); got != want {
			t.Errorf("greet histogram count = %d, want %d", got, want)
		}
	})
	t.Run("lint", func(t *testing.T) {
		problems, err := testutil.GatherAndLint(reg)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}
	})
}
