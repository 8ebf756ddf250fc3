package service_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/manifest"
	"github.com/troupe-go/troupe/service"
)

// TestPolicyPrecedence checks which policy wins for a target: the
// manifest's calls entry, then Config.Targets, then Config.Breaker, field by
// field.
func TestPolicyPrecedence(t *testing.T) {
	tests := []struct {
		name     string
		manifest []troupe.CallPolicy
		cfg      service.Config
		opensAt  int // the failure that opens the breaker; 0: never (off)
	}{
		{"defaults", nil, service.Config{}, service.DefaultBreakerFailures},
		{"service-wide", nil, service.Config{Breaker: troupe.BreakerPolicy{Failures: 4}}, 4},
		{"per target beats service-wide", nil, service.Config{
			Breaker: troupe.BreakerPolicy{Failures: 4},
			Targets: []troupe.CallPolicy{{Target: "stock", Breaker: troupe.BreakerPolicy{Failures: 3}}},
		}, 3},
		{"manifest beats Go", []troupe.CallPolicy{{Target: "stock", Breaker: troupe.BreakerPolicy{Failures: 2}}}, service.Config{
			Targets: []troupe.CallPolicy{{Target: "stock", Breaker: troupe.BreakerPolicy{Failures: 3}}},
		}, 2},
		{"off anywhere is off", []troupe.CallPolicy{{Target: "stock", Breaker: troupe.BreakerPolicy{Failures: 2}}}, service.Config{
			Breaker: troupe.BreakerPolicy{Off: true},
		}, 0},
		{"a manifest entry for another target", []troupe.CallPolicy{{Target: "pricing", Breaker: troupe.BreakerPolicy{Failures: 1}}}, service.Config{}, service.DefaultBreakerFailures},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := shopApp()
			app.Services[0].Calls = tt.manifest
			r := newRig(t, "inproc", app)
			st := newStock()
			st.behave(func(context.Context, int64) error { return errors.New("broken") })
			r.start(service.Config{Name: "stock"}, st.setup)
			tt.cfg.Name = "web"
			web := r.start(tt.cfg, nil)
			for i := 0; i < 10; i++ {
				_, _, _ = get(web, 5*time.Second)
			}
			want := int64(tt.opensAt)
			if tt.opensAt == 0 {
				want = 10
			}
			if got := st.received.Load(); got != want {
				t.Errorf("target received %d, want %d", got, want)
			}
		})
	}
}

// TestPolicyErrors checks that Start refuses a policy that cannot work.
func TestPolicyErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  service.Config
		want string
	}{
		{"rate above 1", service.Config{Breaker: troupe.BreakerPolicy{FailureRate: 1.5}}, "failure rate 1.5 is above 1"},
		{"no rule", service.Config{Breaker: troupe.BreakerPolicy{Failures: -1, FailureRate: -1}}, "both rules are off"},
		{"short window", service.Config{Breaker: troupe.BreakerPolicy{Window: time.Millisecond}}, "shorter than 10ms"},
		{"negative probes", service.Config{Breaker: troupe.BreakerPolicy{Probes: -1}}, "negative probes"},
		{"no attempt", service.Config{Retry: troupe.RetryPolicy{Attempts: -1}}, "want 1 or more"},
		{"budget above 1", service.Config{Retry: troupe.RetryPolicy{Budget: 2}}, "budget 2"},
		{"backoff above its max", service.Config{Retry: troupe.RetryPolicy{Backoff: time.Second, MaxBackoff: time.Millisecond}}, "max backoff"},
		{"unknown target", service.Config{Targets: []troupe.CallPolicy{{Target: "nobody"}}}, `calls to "nobody"`},
		{"a name sent to another target", service.Config{Targets: []troupe.CallPolicy{{Target: "pricing", Retry: troupe.RetryPolicy{Messages: []string{"stock.get"}}}}}, `"stock.get" is not a request it sends to pricing alone`},
		{"a name with several receivers", service.Config{Retry: troupe.RetryPolicy{Messages: []string{"quote"}}}, `"quote" is not a request it sends to one service alone`},
		{"two entries for a target", service.Config{Targets: []troupe.CallPolicy{{Target: "stock"}, {Target: "stock"}}}, "more than one policy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, "inproc", shopApp())
			tt.cfg.Name = "web"
			tt.cfg.Logger = quiet
			s := service.New(tt.cfg)
			err := s.Start(context.Background(), r.bus, r.sys)
			if err == nil {
				_ = s.Stop(context.Background())
				t.Fatalf("Start succeeded, want an error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestCollector checks the Prometheus series of the breakers, retries and
// fallbacks.
func TestCollector(t *testing.T) {
	r := newRig(t, "inproc", shopApp())
	web := r.start(service.Config{Name: "web", Instance: "web-1", Breaker: troupe.BreakerPolicy{Failures: 2, OpenFor: time.Hour}}, nil)
	for i := 0; i < 3; i++ {
		_, _, _ = get(web, time.Second, service.Fallback(Item{}))
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(service.Collector(web))
	want := `
# HELP troupe_service_breaker_rejected_total Requests the open circuit breaker in front of a target failed at once.
# TYPE troupe_service_breaker_rejected_total counter
troupe_service_breaker_rejected_total{instance="web-1",service="web",target="pricing"} 0
troupe_service_breaker_rejected_total{instance="web-1",service="web",target="stock"} 1
# HELP troupe_service_breaker_state State of the circuit breaker in front of a target: 1 for the current state, 0 for the others.
# TYPE troupe_service_breaker_state gauge
troupe_service_breaker_state{instance="web-1",service="web",state="closed",target="pricing"} 1
troupe_service_breaker_state{instance="web-1",service="web",state="closed",target="stock"} 0
troupe_service_breaker_state{instance="web-1",service="web",state="half-open",target="pricing"} 0
troupe_service_breaker_state{instance="web-1",service="web",state="half-open",target="stock"} 0
troupe_service_breaker_state{instance="web-1",service="web",state="open",target="pricing"} 0
troupe_service_breaker_state{instance="web-1",service="web",state="open",target="stock"} 1
# HELP troupe_service_fallbacks_total Replies that a caller's fallback gave instead of the target.
# TYPE troupe_service_fallbacks_total counter
troupe_service_fallbacks_total{instance="web-1",service="web",target="pricing"} 0
troupe_service_fallbacks_total{instance="web-1",service="web",target="stock"} 3
# HELP troupe_service_target_failures_total Attempts that failed by the target's fault: timeout, unavailable, internal, no instance.
# TYPE troupe_service_target_failures_total counter
troupe_service_target_failures_total{instance="web-1",service="web",target="pricing"} 0
troupe_service_target_failures_total{instance="web-1",service="web",target="stock"} 2
`
	names := []string{"troupe_service_breaker_state", "troupe_service_breaker_rejected_total", "troupe_service_fallbacks_total", "troupe_service_target_failures_total"}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	// web calls stock and pricing (stock.changed): 3 states and 6
	// counters each.
	if n, err := testutil.GatherAndCount(reg); err != nil || n != 2*(3+6) {
		t.Errorf("%d series, %v; want %d", n, err, 2*(3+6))
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) != 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}

// TestPolicyFromTheManifest checks that a calls section read from YAML is
// what the service applies.
func TestPolicyFromTheManifest(t *testing.T) {
	app, err := manifest.Parse("troupe.yaml", []byte(`
app: resil
services:
  web:
    sends: [stock.get]
    calls:
      stock:
        breaker: {failures: 2, failure_rate: off, open_for: 1h}
        retry: {messages: [stock.get], attempts: 2, backoff: 1ms}
  stock:
    receives: [stock.get]
`))
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, "inproc", app)
	st := newStock()
	st.behave(func(context.Context, int64) error { return troupe.Errorf(troupe.CodeUnavailable, "down") })
	r.start(service.Config{Name: "stock"}, st.setup)
	web := r.start(service.Config{Name: "web"}, nil)
	// The first request and its retry open the breaker.
	if _, _, err := get(web, 5*time.Second); !errors.Is(err, troupe.ErrUnavailable) || isOpen(err) {
		t.Fatalf("err = %v, want the target's unavailable", err)
	}
	if _, _, err := get(web, 5*time.Second); !isOpen(err) {
		t.Fatalf("err = %v, want the breaker open", err)
	}
	if ts := breakerOf(t, web, "stock"); st.received.Load() != 2 || ts.Retries != 1 {
		t.Errorf("target received %d, %d retries; want 2 attempts, 1 a retry", st.received.Load(), ts.Retries)
	}
}
