package bus

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Collector returns a prometheus.Collector of the bus's counters, read at
// each scrape:
//
//   - troupe_bus_message_<counter>{name} and
//     troupe_bus_service_<counter>{service} for the counters sent_total,
//     received_total, errors_total, handler_errors_total, refusals_total,
//     late_replies_total, expired_total, dropped_total, dead_letters_total
//     and the gauge in_flight;
//   - troupe_bus_message_request_duration_seconds{name} and
//     troupe_bus_service_request_duration_seconds{service}, histograms of
//     request latency;
//   - troupe_bus_message_translation{name, service, local}, always 1: the
//     names a service's code uses for the application's names (see
//     Stats.Translated);
//   - troupe_bus_undeclared_refusals_total and
//     troupe_bus_undeclared_dropped_total for names the App does not
//     declare (they get no label, so a sender cannot blow up cardinality).
//
// Register it once per registry: reg.MustRegister(b.Collector()).
func (b *Bus) Collector() prometheus.Collector { return &collector{b: b} }

type collector struct{ b *Bus }

type promCounter struct {
	suffix string
	help   string
	gauge  bool
	get    func(*Counters) float64
}

var promCounters = []promCounter{
	{"sent_total", "Requests, sends and publishes accepted for routing.", false, func(c *Counters) float64 { return float64(c.Sent) }},
	{"received_total", "Envelopes delivered to a handler.", false, func(c *Counters) float64 { return float64(c.Received) }},
	{"errors_total", "Requests that ended with an Error reply, a timeout or a routing failure.", false, func(c *Counters) float64 { return float64(c.Errors) }},
	{"handler_errors_total", "Error replies and failed durable handlers on the receiving side.", false, func(c *Counters) float64 { return float64(c.HandlerErrors) }},
	{"refusals_total", "Messages refused: not permitted, no receiver, bad input, bulkhead full.", false, func(c *Counters) float64 { return float64(c.Refusals) }},
	{"in_flight", "Requests waiting for their final reply.", true, func(c *Counters) float64 { return float64(c.InFlight) }},
	{"late_replies_total", "Replies dropped because they arrived after the deadline.", false, func(c *Counters) float64 { return float64(c.LateReplies) }},
	{"expired_total", "Envelopes dropped on delivery because their deadline had passed.", false, func(c *Counters) float64 { return float64(c.Expired) }},
	{"dropped_total", "Other dropped envelopes: malformed, replies to unknown requests.", false, func(c *Counters) float64 { return float64(c.Dropped) }},
	{"dead_letters_total", "Durable deliveries given up after their last attempt.", false, func(c *Counters) float64 { return float64(c.DeadLetters) }},
}

type promDescs struct {
	counters []*prometheus.Desc
	latency  *prometheus.Desc
}

func newPromDescs(scope, label string) promDescs {
	var d promDescs
	for _, pc := range promCounters {
		d.counters = append(d.counters, prometheus.NewDesc("troupe_bus_"+scope+"_"+pc.suffix, pc.help, []string{label}, nil))
	}
	d.latency = prometheus.NewDesc("troupe_bus_"+scope+"_request_duration_seconds", "Latency of requests, from sending to the final reply or the error.", []string{label}, nil)
	return d
}

var (
	promMessage             = newPromDescs("message", "name")
	promService             = newPromDescs("service", "service")
	promUndeclaredRefusals  = prometheus.NewDesc("troupe_bus_undeclared_refusals_total", "Refusals of messages whose name the app does not declare.", nil, nil)
	promUndeclaredDropped   = prometheus.NewDesc("troupe_bus_undeclared_dropped_total", "Drops of envelopes whose name the app does not declare.", nil, nil)
	promTranslation         = prometheus.NewDesc("troupe_bus_message_translation", "The name (local) under which a service's code knows the application's message name; always 1.", []string{"name", "service", "local"}, nil)
	promBucketBoundsSeconds = func() []float64 {
		out := make([]float64, nBuckets)
		for i, d := range bucketBounds {
			out[i] = d.Seconds()
		}
		return out
	}()
)

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []promDescs{promMessage, promService} {
		for _, cd := range d.counters {
			ch <- cd
		}
		ch <- d.latency
	}
	ch <- promUndeclaredRefusals
	ch <- promUndeclaredDropped
	ch <- promTranslation
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	b := c.b
	for n, ni := range b.names {
		collectCounters(ch, &promMessage, ni.stats, n)
	}
	for n, sp := range b.services {
		collectCounters(ch, &promService, sp.stats, n)
	}
	u := b.unknown.snapshot()
	ch <- prometheus.MustNewConstMetric(promUndeclaredRefusals, prometheus.CounterValue, float64(u.Refusals))
	ch <- prometheus.MustNewConstMetric(promUndeclaredDropped, prometheus.CounterValue, float64(u.LateReplies+u.Expired+u.Dropped))
	for n, locals := range b.translated {
		for _, l := range locals {
			service, local, _ := strings.Cut(l, "/")
			ch <- prometheus.MustNewConstMetric(promTranslation, prometheus.GaugeValue, 1, n, service, local)
		}
	}
}

func collectCounters(ch chan<- prometheus.Metric, d *promDescs, c *counters, label string) {
	s := c.snapshot()
	for i, pc := range promCounters {
		vt := prometheus.CounterValue
		if pc.gauge {
			vt = prometheus.GaugeValue
		}
		m, err := prometheus.NewConstMetric(d.counters[i], vt, pc.get(&s), label)
		if err != nil {
			m = prometheus.NewInvalidMetric(d.counters[i], err)
		}
		ch <- m
	}
	counts, total := c.latency.buckets()
	buckets := make(map[float64]uint64, nBuckets)
	var cum uint64
	for i := range nBuckets {
		cum += counts[i]
		buckets[promBucketBoundsSeconds[i]] = cum
	}
	m, err := prometheus.NewConstHistogram(d.latency, total, c.latency.sumDuration().Seconds(), buckets, label)
	if err != nil {
		m = prometheus.NewInvalidMetric(d.latency, err)
	}
	ch <- m
}
