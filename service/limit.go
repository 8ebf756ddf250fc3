package service

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/internal/limit"
)

// Defaults of the receiving side's limits (Config.Limit): each handler of an
// instance handles at most DefaultConcurrency messages at once; at most
// DefaultQueue more wait for their turn, each at most DefaultMaxWait. A
// message that cannot be handled in time is shed: a request is answered at
// once with an unavailable Error ("todo.list at service todo: overloaded,
// shed: ..."), a durable send is handed back for redelivery later, another
// send or publish is dropped and counted.
const (
	DefaultConcurrency = 64
	DefaultQueue       = 256
	DefaultMaxWait     = 100 * time.Millisecond
)

// limitFor returns the limiter of handler name, or nil when its limit is
// off: Config.Limits' entry for name, then Config.Limit, then the defaults,
// field by field.
func (s *Service) limitFor(name string) *limit.Limiter {
	p := limit.Policy(name, s.cfg.Limits, s.cfg.Limit,
		troupe.LimitPolicy{Concurrency: DefaultConcurrency, Queue: DefaultQueue, MaxWait: DefaultMaxWait})
	if p.Off {
		return nil
	}
	return limit.New(limit.Config{
		Who:         fmt.Sprintf("%s at service %s", name, s.cfg.Name),
		Concurrency: p.Concurrency,
		Queue:       p.Queue,
		MaxWait:     p.MaxWait,
	})
}

// shed refuses a message the handler's limit had no room for: a request is
// answered with err, a durable message is handed back for redelivery, any
// other is counted as failed.
func shed(m *bus.Msg, err error, s *Service) {
	te, _ := err.(*troupe.Error)
	if te == nil {
		te = &troupe.Error{Code: troupe.CodeUnavailable, Msg: err.Error(), Err: err}
	}
	j := &job{m: m, log: s.log}
	j.fail(te)
}

// Limits returns the counts of the limits of the instance's handlers, one
// per handler whose limit is on, in the order they were registered.
func (s *Service) Limits() []troupe.LimitStats {
	s.mu.Lock()
	handlers, instance := s.handlers, s.instance
	s.mu.Unlock()
	var out []troupe.LimitStats
	for _, e := range handlers {
		if e.lim == nil {
			continue
		}
		st := e.lim.Stats()
		st.Service, st.Instance, st.Name = s.cfg.Name, instance, e.name
		out = append(out, st)
	}
	return out
}

// LimitCollector returns a prometheus.Collector of the receiving side's
// limits of services (read at each scrape), labelled service, instance and
// name (the message):
//
//   - troupe_service_limit_concurrency: the limit in force;
//   - troupe_service_in_flight and troupe_service_queued: messages being
//     handled, and waiting for their turn;
//   - troupe_service_shed_total: messages shed;
//   - troupe_service_late_total: messages handled past their deadline;
//   - troupe_service_queue_wait_seconds_total: the time handled messages
//     waited for their turn, in all (its rate over the rate of requests is
//     the mean queueing delay).
//
// Register it once per registry: reg.MustRegister(service.LimitCollector(hello, todo)).
func LimitCollector(services ...*Service) prometheus.Collector {
	return &limitCollector{services: services}
}

type limitCollector struct{ services []*Service }

var (
	limitLabels = []string{"service", "instance", "name"}
	limitDescs  = []struct {
		desc *prometheus.Desc
		kind prometheus.ValueType
		get  func(*troupe.LimitStats) float64
	}{
		{prometheus.NewDesc("troupe_service_limit_concurrency", "Messages a handler of an instance handles at once, at most.", limitLabels, nil),
			prometheus.GaugeValue, func(s *troupe.LimitStats) float64 { return float64(s.Concurrency) }},
		{prometheus.NewDesc("troupe_service_in_flight", "Messages a handler of an instance is handling now.", limitLabels, nil),
			prometheus.GaugeValue, func(s *troupe.LimitStats) float64 { return float64(s.InFlight) }},
		{prometheus.NewDesc("troupe_service_queued", "Messages waiting for their turn at a handler of an instance.", limitLabels, nil),
			prometheus.GaugeValue, func(s *troupe.LimitStats) float64 { return float64(s.Queued) }},
		{prometheus.NewDesc("troupe_service_shed_total", "Messages shed by a handler's limit: queue full, waited too long, would miss their deadline.", limitLabels, nil),
			prometheus.CounterValue, func(s *troupe.LimitStats) float64 { return float64(s.Shed) }},
		{prometheus.NewDesc("troupe_service_late_total", "Messages a handler finished after their deadline.", limitLabels, nil),
			prometheus.CounterValue, func(s *troupe.LimitStats) float64 { return float64(s.Late) }},
		{prometheus.NewDesc("troupe_service_queue_wait_seconds_total", "Time the handled messages waited for their turn, in all.", limitLabels, nil),
			prometheus.CounterValue, func(s *troupe.LimitStats) float64 { return s.Waited.Seconds() }},
	}
)

func (c *limitCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range limitDescs {
		ch <- d.desc
	}
}

func (c *limitCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.services {
		for _, st := range s.Limits() {
			for _, d := range limitDescs {
				ch <- prometheus.MustNewConstMetric(d.desc, d.kind, d.get(&st), st.Service, st.Instance, st.Name)
			}
		}
	}
}
