package natsbus

import "github.com/prometheus/client_golang/prometheus"

// Collector returns a prometheus.Collector of what the Transport dropped and
// of its connections, read at each scrape:
//
//   - troupe_nats_dropped_total{reason="malformed"}: envelopes that did not
//     decode or arrived on the wrong subject (the bus's own counters do not
//     see them: they never became envelopes);
//   - troupe_nats_dead_letters_total: durable envelopes moved to the
//     dead-letter stream;
//   - troupe_nats_async_errors_total: errors NATS reported asynchronously
//     (permission violations, slow consumers);
//   - troupe_nats_members and troupe_nats_members_connected: the members
//     joined, and those whose connection is up now.
func (t *Transport) Collector() prometheus.Collector { return &collector{t: t} }

type collector struct{ t *Transport }

var (
	promDropped   = prometheus.NewDesc("troupe_nats_dropped_total", "Envelopes the NATS transport dropped before they reached the bus.", []string{"reason"}, nil)
	promDead      = prometheus.NewDesc("troupe_nats_dead_letters_total", "Durable envelopes moved to the dead-letter stream.", nil, nil)
	promAsync     = prometheus.NewDesc("troupe_nats_async_errors_total", "Errors NATS reported asynchronously: permission violations, slow consumers.", nil, nil)
	promMembers   = prometheus.NewDesc("troupe_nats_members", "Members joined to the NATS transport, each with a connection of its own.", nil, nil)
	promConnected = prometheus.NewDesc("troupe_nats_members_connected", "Members whose NATS connection is up.", nil, nil)
)

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{promDropped, promDead, promAsync, promMembers, promConnected} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.t.Stats()
	ch <- prometheus.MustNewConstMetric(promDropped, prometheus.CounterValue, float64(s.Malformed), "malformed")
	ch <- prometheus.MustNewConstMetric(promDead, prometheus.CounterValue, float64(s.DeadLetters))
	ch <- prometheus.MustNewConstMetric(promAsync, prometheus.CounterValue, float64(s.AsyncErrors))
	members, connected := c.t.connections()
	ch <- prometheus.MustNewConstMetric(promMembers, prometheus.GaugeValue, float64(members))
	ch <- prometheus.MustNewConstMetric(promConnected, prometheus.GaugeValue, float64(connected))
}

// connections counts the members and those connected.
func (t *Transport) connections() (members, connected int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range t.members {
		if !p.opened.Load() {
			continue
		}
		members++
		if p.nc.IsConnected() {
			connected++
		}
	}
	return members, connected
}
