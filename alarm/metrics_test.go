package alarm_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/troupe-go/troupe/alarm"
)

func TestMetrics(t *testing.T) {
	clk := newFakeClock()
	failing := alarm.NotifierFunc(func(context.Context, alarm.Event) error { return alarm.ErrQueueFull })
	m := alarm.New(alarm.Config{Clock: clk, Notifiers: []alarm.Notifier{failing}, Logger: discardLogger()})
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(m); err != nil {
		t.Fatal(err)
	}
	surge, err := m.Rate("surge", alarm.RateConfig{Threshold: alarm.Threshold{High: 10, Low: 5}, Window: time.Second, Buckets: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.CrashLoop("crashloop", alarm.CrashLoopConfig{}); err != nil {
		t.Fatal(err)
	}
	// Raise, clear, raise again: the surge is active, raised twice,
	// cleared once; each of the three notifications failed.
	for _, n := range []uint64{20, 0, 30} {
		surge.ObserveN(n)
		clk.Advance(time.Second)
		m.Evaluate(context.Background())
	}
	want := `
# HELP troupe_alarm_active Whether the alarm is raised (1) or not (0).
# TYPE troupe_alarm_active gauge
troupe_alarm_active{alarm="crashloop"} 0
troupe_alarm_active{alarm="surge"} 1
# HELP troupe_alarm_cleared_total Times the alarm was cleared.
# TYPE troupe_alarm_cleared_total counter
troupe_alarm_cleared_total{alarm="crashloop"} 0
troupe_alarm_cleared_total{alarm="surge"} 1
# HELP troupe_alarm_notification_failures_total Notifications that a notifier failed to accept or deliver.
# TYPE troupe_alarm_notification_failures_total counter
troupe_alarm_notification_failures_total 3
# HELP troupe_alarm_raised_total Times the alarm was raised.
# TYPE troupe_alarm_raised_total counter
troupe_alarm_raised_total{alarm="crashloop"} 0
troupe_alarm_raised_total{alarm="surge"} 2
# HELP troupe_alarm_level_ratio The alarm's detector value at the last evaluation divided by the alarm's high threshold: above 1 raises it.
# TYPE troupe_alarm_level_ratio gauge
troupe_alarm_level_ratio{alarm="crashloop"} 0
troupe_alarm_level_ratio{alarm="surge"} 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) != 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}

func TestWebhookMetrics(t *testing.T) {
	h := newHook(t, 500, 200, 500) // first event: one retry; second: gives up
	w := newWebhook(t, alarm.WebhookConfig{URL: h.srv.URL, Attempts: 2})
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(w); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := w.Notify(context.Background(), testEvent); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP troupe_alarm_webhook_events_total Events the webhook notifier handled, by result: delivered, failed (after its last attempt) or dropped (queue full).
# TYPE troupe_alarm_webhook_events_total counter
troupe_alarm_webhook_events_total{result="delivered"} 1
troupe_alarm_webhook_events_total{result="dropped"} 0
troupe_alarm_webhook_events_total{result="failed"} 1
# HELP troupe_alarm_webhook_retries_total Webhook delivery attempts after the first.
# TYPE troupe_alarm_webhook_retries_total counter
troupe_alarm_webhook_retries_total 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}
