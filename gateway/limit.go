package gateway

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/internal/limit"
)

// Defaults of the per-route limits (Config.Limit): each route has at most
// DefaultRouteConcurrency requests on the bus at once; at most
// DefaultRouteQueue more wait for their turn, each at most
// DefaultRouteMaxWait; past that a request is answered 503 with Retry-After
// at once.
//
// The receiving services' limits (service.Config.Limit) shed first when one
// handler is slow. The gateway's are for when the whole node is: with every
// core busy, requests on the bus only take longer each, and past about
// DefaultRouteConcurrency of them on one route (seed 001's experiment has 50
// connections, the wrk run 100 for all routes) the route's next
// requests wait here, where a request that cannot be answered in time is
// shed, instead of on the bus, where it would time out.
const (
	DefaultRouteConcurrency = 64
	DefaultRouteQueue       = 1024
	DefaultRouteMaxWait     = 100 * time.Millisecond
)

// routeLimit returns the limiter of the route with pattern, or nil when its
// limit is off: Config.Limits' entry for the pattern, then Config.Limit, then
// the defaults, field by field.
func (g *Gateway) routeLimit(pattern string) *limit.Limiter {
	p := limit.Policy(pattern, g.cfg.Limits, g.cfg.Limit,
		troupe.LimitPolicy{Concurrency: DefaultRouteConcurrency, Queue: DefaultRouteQueue, MaxWait: DefaultRouteMaxWait})
	if p.Off {
		return nil
	}
	return limit.New(limit.Config{Who: "route " + pattern + " at the gateway", Concurrency: p.Concurrency, Queue: p.Queue, MaxWait: p.MaxWait})
}

// checkLimits refuses a policy with a negative field or one that names no
// route.
func checkLimits(app *troupe.App, p troupe.LimitPolicy, ps []troupe.LimitPolicy) error {
	patterns := map[string]bool{}
	for _, rt := range app.Routes {
		if len(rt.Types) > 0 {
			patterns["POST "+rt.Path] = true
		} else {
			patterns[rt.Method+" "+rt.Path] = true
		}
	}
	for i, lp := range append([]troupe.LimitPolicy{p}, ps...) {
		if lp.Concurrency < 0 || lp.MaxWait < 0 {
			return fmt.Errorf("gateway: config: limit %q: negative Concurrency or MaxWait", lp.Name)
		}
		if i > 0 && !patterns[lp.Name] {
			return fmt.Errorf("gateway: config: limit %q: no route has this pattern (want \"METHOD /path\" as in the manifest, \"POST /path\" for a protocol route)", lp.Name)
		}
	}
	return nil
}

// Limits returns the counts of the routes' limits, one per route whose limit
// is on, in the manifest's order. Service is troupe.GatewayService and Name
// the route's pattern; Instance is left to the caller.
func (g *Gateway) Limits() []troupe.LimitStats {
	var out []troupe.LimitStats
	for _, rt := range g.routes {
		if rt.lim == nil {
			continue
		}
		st := rt.lim.Stats()
		st.Service, st.Name = troupe.GatewayService, rt.pattern
		out = append(out, st)
	}
	return out
}

// limitCollector exports the routes' limits: troupe_gateway_in_flight,
// troupe_gateway_queued and troupe_gateway_shed_total, by route.
type limitCollector struct{ g *Gateway }

var (
	promInFlight = prometheus.NewDesc("troupe_gateway_in_flight", "Requests of a route on the bus now.", []string{"route"}, nil)
	promQueued   = prometheus.NewDesc("troupe_gateway_queued", "Requests of a route waiting for their turn.", []string{"route"}, nil)
	promShed     = prometheus.NewDesc("troupe_gateway_shed_total", "Requests of a route shed by its limit (answered 503 at once).", []string{"route"}, nil)
)

func (c limitCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- promInFlight
	ch <- promQueued
	ch <- promShed
}

func (c limitCollector) Collect(ch chan<- prometheus.Metric) {
	for _, st := range c.g.Limits() {
		ch <- prometheus.MustNewConstMetric(promInFlight, prometheus.GaugeValue, float64(st.InFlight), st.Name)
		ch <- prometheus.MustNewConstMetric(promQueued, prometheus.GaugeValue, float64(st.Queued), st.Name)
		ch <- prometheus.MustNewConstMetric(promShed, prometheus.CounterValue, float64(st.Shed), st.Name)
	}
}
