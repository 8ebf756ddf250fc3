package host

import (
	"fmt"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/alarm"
	"github.com/troupe-go/troupe/service"
)

// watchSaturation exports the limits of the node's services (the receiving
// side) to /metrics, and raises the saturation alarm when one of them, or
// one of the gateway's routes, cannot serve its requests in time (see
// alarm.Saturation: shed, late or long-waiting requests over a window). The
// alarm's subject names the service and the message ("todo todo.list"), or
// the gateway and the route.
func (n *Node) watchSaturation() error {
	if svcs := n.services(); len(svcs) > 0 {
		n.registry.MustRegister(service.LimitCollector(svcs...))
	}
	_, err := n.monitor.Saturation("saturation", alarm.SaturationConfig{
		Threshold: alarm.Threshold{High: n.cfg.Alarms.Saturation},
		Window:    n.cfg.Alarms.SaturationWindow,
		Loads:     n.loads,
	})
	if err != nil {
		return fmt.Errorf("host: saturation alarm: %w", err)
	}
	return nil
}

// Limits returns the counts of the limits in the node's process: those of
// its services' handlers (one per message and instance) and those of the
// gateway's routes (Service troupe.GatewayService, Name the route's pattern).
func (n *Node) Limits() []troupe.LimitStats {
	var out []troupe.LimitStats
	for _, s := range n.services() {
		out = append(out, s.Limits()...)
	}
	if n.gw != nil {
		for _, st := range n.gw.Limits() {
			st.Instance = n.gatewayID
			out = append(out, st)
		}
	}
	return out
}

// loads are the node's limits as the saturation alarm reads them.
func (n *Node) loads() []alarm.Load {
	limits := n.Limits()
	out := make([]alarm.Load, len(limits))
	for i, st := range limits {
		out[i] = alarm.Load{
			Service: st.Service, Instance: st.Instance, Name: st.Name,
			Requests: st.Arrived, Shed: st.Shed, Late: st.Late, Delayed: st.Delayed, Waited: st.Waited,
		}
	}
	return out
}
