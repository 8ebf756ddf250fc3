package service

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Collector returns a prometheus.Collector of the circuit breakers, retries
// and fallbacks of services (read at each scrape, so services not started
// yet show up once they are), all labelled service, instance (the calling
// instance) and target (the service called):
//
//   - troupe_service_breaker_state{state}: 1 for the breaker's current
//     state ("closed", "open" or "half-open") and 0 for the other two; a
//     target whose breaker is off has no series;
//   - troupe_service_breaker_opened_total: times the breaker opened;
//   - troupe_service_breaker_rejected_total: requests it failed at once;
//   - troupe_service_target_failures_total: attempts that failed by the
//     target's fault (what the breaker counts);
//   - troupe_service_retries_total and troupe_service_retries_denied_total:
//     retries sent, and retries not sent because the budget was spent;
//   - troupe_service_fallbacks_total: replies a fallback gave instead of the
//     target.
//
// Register it once per registry, with every service of the node:
// reg.MustRegister(service.Collector(hello, web)).
func Collector(services ...*Service) prometheus.Collector {
	return &collector{services: services}
}

type collector struct{ services []*Service }

var (
	targetLabels     = []string{"service", "instance", "target"}
	promBreakerState = prometheus.NewDesc("troupe_service_breaker_state",
		"State of the circuit breaker in front of a target: 1 for the current state, 0 for the others.",
		append(targetLabels[:3:3], "state"), nil)
	promCounters = []struct {
		desc *prometheus.Desc
		get  func(*TargetStatus) uint64
	}{
		{prometheus.NewDesc("troupe_service_breaker_opened_total", "Times the circuit breaker in front of a target opened.", targetLabels, nil),
			func(t *TargetStatus) uint64 { return t.Breaker.Opened }},
		{prometheus.NewDesc("troupe_service_breaker_rejected_total", "Requests the open circuit breaker in front of a target failed at once.", targetLabels, nil),
			func(t *TargetStatus) uint64 { return t.Breaker.Rejected }},
		{prometheus.NewDesc("troupe_service_target_failures_total", "Attempts that failed by the target's fault: timeout, unavailable, internal, no instance.", targetLabels, nil),
			func(t *TargetStatus) uint64 { return t.Failures }},
		{prometheus.NewDesc("troupe_service_retries_total", "Retries of idempotent requests sent to a target.", targetLabels, nil),
			func(t *TargetStatus) uint64 { return t.Retries }},
		{prometheus.NewDesc("troupe_service_retries_denied_total", "Retries not sent to a target because its retry budget was spent.", targetLabels, nil),
			func(t *TargetStatus) uint64 { return t.RetriesDenied }},
		{prometheus.NewDesc("troupe_service_fallbacks_total", "Replies that a caller's fallback gave instead of the target.", targetLabels, nil),
			func(t *TargetStatus) uint64 { return t.Fallbacks }},
	}
	breakerStates = []BreakerState{BreakerClosed, BreakerOpen, BreakerHalfOpen}
)

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- promBreakerState
	for _, pc := range promCounters {
		ch <- pc.desc
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.services {
		for _, t := range s.Targets() {
			labels := []string{t.Service, t.Instance, t.Target}
			if t.Breaker.State != BreakerOff {
				for _, st := range breakerStates {
					v := 0.0
					if t.Breaker.State == st {
						v = 1
					}
					ch <- prometheus.MustNewConstMetric(promBreakerState, prometheus.GaugeValue, v, append(labels, string(st))...)
				}
			}
			for _, pc := range promCounters {
				ch <- prometheus.MustNewConstMetric(pc.desc, prometheus.CounterValue, float64(pc.get(&t)), labels...)
			}
		}
	}
}
