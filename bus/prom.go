package bus

import (
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/troupe-go/troupe"
)

// Collector returns a prometheus.Collector of the bus's counters, read at
// each scrape. Every series is labelled with the member that counted it,
// service and instance, and the message name, so that the sum over the
// instances of every process is what the application's clients sent:
//
//   - troupe_bus_sent_total, troupe_bus_received_total: requests, sends and
//     publishes a member sent; envelopes delivered to its handlers;
//   - troupe_bus_requests_total{code}: requests it made that ended, by
//     outcome ("ok", or the Error's code: timeout, unavailable, ...);
//   - troupe_bus_handler_errors_total, troupe_bus_refusals_total,
//     troupe_bus_dead_letters_total;
//   - troupe_bus_dropped_total{reason}: envelopes dropped as late,
//     expired, or other (malformed, replies to unknown requests);
//   - troupe_bus_in_flight: its requests waiting for their final reply;
//   - troupe_bus_request_duration_seconds: a histogram of its requests'
//     latency, 9 buckets from 64 µs to 4.2 s (a factor of 4 apart), for
//     the names its service sends;
//   - troupe_bus_message_translation{name, service, local}, always 1: the
//     names a service's code uses for the application's names (see
//     Stats.Translated);
//   - troupe_bus_undeclared_refusals_total and
//     troupe_bus_undeclared_dropped_total for names the App does not
//     declare (they get no label, so a sender cannot blow up cardinality).
//
// A member's series are those of the names its service sends (sent,
// requests, in flight, latency) or receives (received, handler errors, dead
// letters), and refusals and drops of both; they end when it leaves. Register the collector once per registry:
// reg.MustRegister(b.Collector()).
func (b *Bus) Collector() prometheus.Collector { return &collector{b: b} }

type collector struct{ b *Bus }

var (
	memberLabels      = []string{"service", "instance", "name"}
	promSent          = prometheus.NewDesc("troupe_bus_sent_total", "Requests, sends and publishes a member accepted for routing.", memberLabels, nil)
	promReceived      = prometheus.NewDesc("troupe_bus_received_total", "Envelopes delivered to a member's handlers.", memberLabels, nil)
	promRequests      = prometheus.NewDesc("troupe_bus_requests_total", "Requests a member made that ended, by outcome: ok or the Error code.", append(slices.Clone(memberLabels), "code"), nil)
	promHandlerErrors = prometheus.NewDesc("troupe_bus_handler_errors_total", "Error replies and failed durable handlers at a member.", memberLabels, nil)
	promRefusals      = prometheus.NewDesc("troupe_bus_refusals_total", "Messages refused at a member: not permitted, no receiver, bad input, bulkhead full.", memberLabels, nil)
	promDead          = prometheus.NewDesc("troupe_bus_dead_letters_total", "Durable deliveries a member gave up after their last attempt.", memberLabels, nil)
	promDropped       = prometheus.NewDesc("troupe_bus_dropped_total", "Envelopes a member dropped: late replies, expired deliveries, other (malformed, replies to unknown requests).", append(slices.Clone(memberLabels), "reason"), nil)
	promInFlight      = prometheus.NewDesc("troupe_bus_in_flight", "Requests of a member waiting for their final reply.", memberLabels, nil)
	promLatency       = prometheus.NewDesc("troupe_bus_request_duration_seconds", "Latency of a member's requests, from sending to the final reply or the error.", memberLabels, nil)

	promUndeclaredRefusals = prometheus.NewDesc("troupe_bus_undeclared_refusals_total", "Refusals of messages whose name the app does not declare.", nil, nil)
	promUndeclaredDropped  = prometheus.NewDesc("troupe_bus_undeclared_dropped_total", "Drops of envelopes whose name the app does not declare.", nil, nil)
	promTranslation        = prometheus.NewDesc("troupe_bus_message_translation", "The name (local) under which a service's code knows the application's message name; always 1.", []string{"name", "service", "local"}, nil)
)

// promBuckets are the histogram's buckets: every fourth bound of the
// internal histogram from 64 µs (2^6 µs) to about 4.2 s (2^22 µs), so that
// the cumulative counts are exact and a member's series stay few.
var promBuckets = func() []int {
	var idx []int
	for i := 12; i <= 44; i += 4 {
		idx = append(idx, i)
	}
	return idx
}()

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{promSent, promReceived, promRequests, promHandlerErrors, promRefusals, promDead,
		promDropped, promInFlight, promLatency, promUndeclaredRefusals, promUndeclaredDropped, promTranslation} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	b := c.b
	b.mu.Lock()
	clients := make([]*Client, 0, len(b.clients))
	for cl := range b.clients {
		clients = append(clients, cl)
	}
	b.mu.Unlock()
	for _, cl := range clients {
		for _, ni := range b.nameList {
			if cl.sp.sends[ni.name] == nil && cl.sp.receives[ni.name] == nil {
				continue
			}
			var t tally
			t.add(&cl.stats[ni.idx])
			collectMember(ch, &t, cl.member, ni.name, cl.sp.sends[ni.name] != nil, cl.sp.receives[ni.name] != nil)
		}
	}
	var u tally
	u.add(b.unknown)
	ch <- prometheus.MustNewConstMetric(promUndeclaredRefusals, prometheus.CounterValue, float64(u.refusals))
	ch <- prometheus.MustNewConstMetric(promUndeclaredDropped, prometheus.CounterValue, float64(u.late+u.expired+u.dropped))
	for n, locals := range b.translated {
		for _, l := range locals {
			service, local, _ := strings.Cut(l, "/")
			ch <- prometheus.MustNewConstMetric(promTranslation, prometheus.GaugeValue, 1, n, service, local)
		}
	}
}

func collectMember(ch chan<- prometheus.Metric, t *tally, m troupe.Member, name string, sends, receives bool) {
	lv := []string{m.Service, m.Instance, name}
	counter := func(d *prometheus.Desc, v uint64, extra ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), append(lv[:3:3], extra...)...)
	}
	counter(promRefusals, t.refusals)
	counter(promDropped, t.late, "late")
	counter(promDropped, t.expired, "expired")
	counter(promDropped, t.dropped, "other")
	if receives {
		counter(promReceived, t.received)
		counter(promHandlerErrors, t.handlerErrors)
		counter(promDead, t.dead)
	}
	if !sends {
		return // it sends nothing of this name: no requests to tell
	}
	counter(promSent, t.sent)
	// Outcomes: ok always, the error codes once they have happened.
	var failed uint64
	for i, n := range t.byCode {
		failed += n
		if n > 0 {
			counter(promRequests, n, string(codes[i]))
		}
	}
	var ended uint64
	for _, n := range t.buckets {
		ended += n
	}
	counter(promRequests, ended-min(failed, ended), "ok")
	ch <- prometheus.MustNewConstMetric(promInFlight, prometheus.GaugeValue, float64(t.inFlight), lv...)
	buckets := make(map[float64]uint64, len(promBuckets))
	var cum uint64
	next := 0
	for i := range nBuckets {
		cum += t.buckets[i]
		if next < len(promBuckets) && i == promBuckets[next] {
			buckets[bucketBounds[i].Seconds()] = cum
			next++
		}
	}
	ch <- prometheus.MustNewConstHistogram(promLatency, ended, float64(t.sum)/1e9, buckets, lv...)
}
