package alarm

import "github.com/prometheus/client_golang/prometheus"

// metrics are the monitor's Prometheus series. The monitor is the collector,
// so a program registers it once: registry.MustRegister(monitor).
type metrics struct {
	active   *prometheus.GaugeVec
	level    *prometheus.GaugeVec
	raised   *prometheus.CounterVec
	cleared  *prometheus.CounterVec
	failures prometheus.Counter
}

func newMetrics() *metrics {
	return &metrics{
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "troupe_alarm_active",
			Help: "Whether the alarm is raised (1) or not (0).",
		}, []string{"alarm"}),
		level: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "troupe_alarm_level_ratio",
			Help: "The alarm's detector value at the last evaluation divided by the alarm's high threshold: above 1 raises it.",
		}, []string{"alarm"}),
		raised: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "troupe_alarm_raised_total",
			Help: "Times the alarm was raised.",
		}, []string{"alarm"}),
		cleared: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "troupe_alarm_cleared_total",
			Help: "Times the alarm was cleared.",
		}, []string{"alarm"}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "troupe_alarm_notification_failures_total",
			Help: "Notifications that a notifier failed to accept or deliver.",
		}),
	}
}

// init creates the series of a new alarm, so that they exist at zero.
func (m *metrics) init(name string) {
	m.active.WithLabelValues(name).Set(0)
	m.level.WithLabelValues(name).Set(0)
	m.raised.WithLabelValues(name)
	m.cleared.WithLabelValues(name)
}

// observe records an evaluation: the value as a share of the high
// threshold, so that every alarm's level has one unit whatever its
// detector measures (a rate, a ratio, a count).
func (m *metrics) observe(name string, v, high float64, active bool) {
	m.level.WithLabelValues(name).Set(v / high)
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
	return []prometheus.Collector{m.active, m.level, m.raised, m.cleared, m.failures}
}

var _ prometheus.Collector = (*Monitor)(nil)

// Describe implements prometheus.Collector.
func (m *Monitor) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.metrics.collectors() {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector: the troupe_alarm_active and
// troupe_alarm_level_ratio gauges and the troupe_alarm_raised_total and
// troupe_alarm_cleared_total counters labelled with the alarm's name, and
// troupe_alarm_notification_failures_total.
func (m *Monitor) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.metrics.collectors() {
		c.Collect(ch)
	}
}

var (
	webhookEventsDesc = prometheus.NewDesc("troupe_alarm_webhook_events_total",
		"Events the webhook notifier handled, by result: delivered, failed (after its last attempt) or dropped (queue full).",
		[]string{"result"}, nil)
	webhookRetriesDesc = prometheus.NewDesc("troupe_alarm_webhook_retries_total",
		"Webhook delivery attempts after the first.", nil, nil)
)

var _ prometheus.Collector = (*Webhook)(nil)

// Describe implements prometheus.Collector.
func (w *Webhook) Describe(ch chan<- *prometheus.Desc) {
	ch <- webhookEventsDesc
	ch <- webhookRetriesDesc
}

// Collect implements prometheus.Collector: troupe_alarm_webhook_events_total
// by result (delivered, failed, dropped) and troupe_alarm_webhook_retries_total, from
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
