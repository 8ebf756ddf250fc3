package alarm

import "github.com/prometheus/client_golang/prometheus"

// metrics are the monitor's Prometheus series. The monitor is the collector,
// so a program registers it once: registry.MustRegister(monitor).
type metrics struct {
	active   *prometheus.GaugeVec
	value    *prometheus.GaugeVec
	raised   *prometheus.CounterVec
	cleared  *prometheus.CounterVec
	failures prometheus.Counter
}

func newMetrics() *metrics {
	return &metrics{
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "alarm_active",
			Help: "Whether the alarm is raised (1) or not (0).",
		}, []string{"alarm"}),
		value: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "alarm_value",
			Help: "The alarm's detector value at the last evaluation.",
		}, []string{"alarm"}),
		raised: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alarm_raised_total",
			Help: "Times the alarm was raised.",
		}, []string{"alarm"}),
		cleared: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alarm_cleared_total",
			Help: "Times the alarm was cleared.",
		}, []string{"alarm"}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "alarm_notification_failures_total",
			Help: "Notifications that a notifier failed to accept or deliver.",
		}),
	}
}

// init creates the series of a new alarm, so that they exist at zero.
func (m *metrics) init(name string) {
	m.active.WithLabelValues(name).Set(0)
	m.value.WithLabelValues(name).Set(0)
	m.raised.WithLabelValues(name)
	m.cleared.WithLabelValues(name)
}

func (m *metrics) observe(name string, v float64, active bool) {
	m.value.WithLabelValues(name).Set(v)
	a := 0.0
	if active {
		a = 1
	}
	m.active.WithLabelValues(name).Set(a)
}

func (m *metrics) count(name string, s State) {
	if s == Raised {
		m.raised.WithLabelValues(name).Inc()
		return
	}
	m.cleared.WithLabelValues(name).Inc()
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.active, m.value, m.raised, m.cleared, m.failures}
}

var _ prometheus.Collector = (*Monitor)(nil)

// Describe implements prometheus.Collector.
func (m *Monitor) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.metrics.collectors() {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector: alarm_active and alarm_value
// gauges and alarm_raised_total and alarm_cleared_total counters labelled
// with the alarm's name, and alarm_notification_failures_total.
func (m *Monitor) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.metrics.collectors() {
		c.Collect(ch)
	}
}

var (
	webhookEventsDesc = prometheus.NewDesc("alarm_webhook_events_total",
		"Events the webhook notifier handled, by result: delivered, failed (after its last attempt) or dropped (queue full).",
		[]string{"result"}, nil)
	webhookRetriesDesc = prometheus.NewDesc("alarm_webhook_retries_total",
		"Webhook delivery attempts after the first.", nil, nil)
)

var _ prometheus.Collector = (*Webhook)(nil)

// Describe implements prometheus.Collector.
func (w *Webhook) Describe(ch chan<- *prometheus.Desc) {
	ch <- webhookEventsDesc
	ch <- webhookRetriesDesc
}

// Collect implements prometheus.Collector: alarm_webhook_events_total by
// result (delivered, failed, dropped) and alarm_webhook_retries_total, from
// [Webhook.Stats]. Register one webhook per registry, or wrap the registerer
// with prometheus.WrapRegistererWith to tell several apart.
func (w *Webhook) Collect(ch chan<- prometheus.Metric) {
	s := w.Stats()
	for _, r := range []struct {
		result string
		n      uint64
	}{{"delivered", s.Delivered}, {"failed", s.Failed}, {"dropped", s.Dropped}} {
		ch <- prometheus.MustNewConstMetric(webhookEventsDesc, prometheus.CounterValue, float64(r.n), r.result)
	}
	ch <- prometheus.MustNewConstMetric(webhookRetriesDesc, prometheus.CounterValue, float64(s.Retries))
}
