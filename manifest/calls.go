package manifest

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/troupe-go/troupe"
	"go.yaml.in/yaml/v3"
)

// A service's calls section tunes, per target service, the circuit breaker
// and the retries of its requests to it (troupe.CallPolicy; docs/bus.md,
// "When a service is slow or down"):
//
//	calls:
//	  stock:
//	    breaker: {failures: 5, failure_rate: 0.5, window: 10s, min_requests: 20, open_for: 5s, probes: 3}
//	    retry: {messages: [stock.get], attempts: 3, backoff: 10ms, max_backoff: 200ms, attempt_timeout: 300ms, budget: 0.1}
//	  audit:
//	    breaker: off
var (
	callKeys    = []string{"breaker", "retry"}
	breakerKeys = []string{"failures", "failure_rate", "window", "min_requests", "open_for", "probes"}
	retryKeys   = []string{"messages", "attempts", "backoff", "max_backoff", "attempt_timeout", "budget"}
)

// callCheck is a calls entry to check once every service is known.
type callCheck struct {
	service, target string
	node            *yaml.Node // the target's key
	messages        []posName  // its retry messages
}

// calls reads the calls section of service svc.
func (p *parser) calls(svc string, n *yaml.Node, where string) []troupe.CallPolicy {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s: calls must be a mapping from target service to its breaker and retry, not %s", where, describe(n))
		return nil
	}
	var out []troupe.CallPolicy
	for _, f := range p.fields(n, where+" calls", nil) {
		if err := troupe.ValidServiceName(f.key); err != nil {
			p.errorf(f.k, "%s: calls: target service name %v", where, err)
			continue
		}
		cw := fmt.Sprintf("%s: calls to %s", where, f.key)
		pol := troupe.CallPolicy{Target: f.key}
		check := callCheck{service: svc, target: f.key, node: f.k}
		v := deref(f.v)
		if isNull(v) {
			out = append(out, pol)
			p.callChecks = append(p.callChecks, check)
			continue
		}
		if v.Kind != yaml.MappingNode {
			p.errorf(v, "%s must be a mapping with keys %s, not %s", cw, strings.Join(callKeys, ", "), describe(v))
			continue
		}
		for _, g := range p.fields(v, cw, callKeys) {
			switch g.key {
			case "breaker":
				pol.Breaker = p.breaker(g.v, cw)
			case "retry":
				pol.Retry, check.messages = p.retry(g.v, cw)
			}
		}
		out = append(out, pol)
		p.callChecks = append(p.callChecks, check)
	}
	return out
}

// breaker reads a breaker: off, or a mapping of its settings.
func (p *parser) breaker(n *yaml.Node, where string) troupe.BreakerPolicy {
	var b troupe.BreakerPolicy
	n = deref(n)
	if isNull(n) {
		return b
	}
	if isOff(n) {
		b.Off = true
		return b
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s: breaker must be off or a mapping with keys %s, not %s", where, strings.Join(breakerKeys, ", "), describe(n))
		return b
	}
	where += ": breaker"
	for _, f := range p.fields(n, where, breakerKeys) {
		switch f.key {
		case "failures":
			if isOff(f.v) {
				b.Failures = -1
			} else {
				b.Failures = p.count(f.v, where, f.key, 1, true)
			}
		case "failure_rate":
			if isOff(f.v) {
				b.FailureRate = -1
			} else {
				b.FailureRate = p.fraction(f.v, where, f.key, true)
			}
		case "window":
			b.Window = p.duration(f.v, where, f.key, 10*time.Millisecond)
		case "min_requests":
			b.MinRequests = p.count(f.v, where, f.key, 1, false)
		case "open_for":
			b.OpenFor = p.duration(f.v, where, f.key, time.Millisecond)
		case "probes":
			b.Probes = p.count(f.v, where, f.key, 1, false)
		}
	}
	if b.Failures < 0 && b.FailureRate < 0 {
		p.errorf(n, "%s: failures and failure_rate are both off; write breaker: off instead", where)
	}
	return b
}

// retry reads a retry mapping, and the names it retries with their nodes.
func (p *parser) retry(n *yaml.Node, where string) (troupe.RetryPolicy, []posName) {
	var r troupe.RetryPolicy
	n = deref(n)
	if isNull(n) {
		return r, nil
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s: retry must be a mapping with keys %s, not %s", where, strings.Join(retryKeys, ", "), describe(n))
		return r, nil
	}
	where += ": retry"
	var msgs []posName
	for _, f := range p.fields(n, where, retryKeys) {
		switch f.key {
		case "messages":
			msgs = p.names(f.v, where, "messages")
			for _, m := range msgs {
				r.Messages = append(r.Messages, m.name)
			}
		case "attempts":
			r.Attempts = p.count(f.v, where, f.key, 1, false)
		case "backoff":
			r.Backoff = p.duration(f.v, where, f.key, 0)
		case "max_backoff":
			r.MaxBackoff = p.duration(f.v, where, f.key, 0)
		case "attempt_timeout":
			r.AttemptTimeout = p.duration(f.v, where, f.key, time.Millisecond)
		case "budget":
			r.Budget = p.fraction(f.v, where, f.key, false)
		}
	}
	if r.Backoff > 0 && r.MaxBackoff > 0 && r.MaxBackoff < r.Backoff {
		p.errorf(n, "%s: max_backoff %v is shorter than backoff %v", where, r.MaxBackoff, r.Backoff)
	}
	return r, msgs
}

// maxCount bounds the whole numbers of a calls section.
const maxCount = 1 << 20

// count reads a whole number from least to maxCount; off says that the
// key may also be off, for the error message.
func (p *parser) count(n *yaml.Node, where, key string, least int, off bool) int {
	n = deref(n)
	var i int
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&i) != nil || i < least || i > maxCount {
		p.errorf(n, "%s: %s must be %sa whole number from %d to %d, not %s", where, key, orOff(off), least, maxCount, describe(n))
		return 0
	}
	return i
}

// fraction reads a number above 0 and at most 1.
func (p *parser) fraction(n *yaml.Node, where, key string, off bool) float64 {
	n = deref(n)
	var f float64
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!float" && n.Tag != "!!int") || n.Decode(&f) != nil || math.IsNaN(f) || !(f > 0 && f <= 1) {
		p.errorf(n, "%s: %s must be %sa fraction above 0 and at most 1, such as 0.5, not %s", where, key, orOff(off), describe(n))
		return 0
	}
	return f
}

func orOff(off bool) string {
	if off {
		return "off or "
	}
	return ""
}

// duration reads a Go duration ("250ms", "10s") of at least least (and
// above zero), at most a day.
func (p *parser) duration(n *yaml.Node, where, key string, least time.Duration) time.Duration {
	n = deref(n)
	bad := func() time.Duration {
		p.errorf(n, "%s: %s must be a duration from %v to 24h, such as 250ms or 10s, not %s", where, key, max(least, time.Nanosecond), describe(n))
		return 0
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		return bad()
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil || d <= 0 || d < least || d > 24*time.Hour {
		return bad()
	}
	return d
}

// isOff reports whether n says off: the word off or false.
func isOff(n *yaml.Node) bool {
	n = deref(n)
	return n.Kind == yaml.ScalarNode && (n.Value == "off" || n.Tag == "!!bool" && n.Value == "false")
}

// checkCalls checks every calls entry against the services: its target is
// a declared service (the caller itself included) that alone receives
// something the caller sends; the names it retries are requests that the caller sends
// and the target alone receives, and that are not durable.
func (p *parser) checkCalls(app *troupe.App) {
	for _, c := range p.callChecks {
		caller := app.Service(c.service)
		where := fmt.Sprintf("service %q: calls to %s", c.service, c.target)
		if app.Service(c.target) == nil {
			p.errorf(c.node, "%s: no service %q is declared", where, c.target)
			continue
		}
		alone := func(name string) bool { return slices.Equal(app.Receivers(name), []string{c.target}) }
		if caller == nil || !slices.ContainsFunc(caller.Sends, alone) {
			p.errorf(c.node, "%s: %s sends nothing that %s alone receives", where, c.service, c.target)
			continue
		}
		for _, m := range c.messages {
			switch {
			case caller == nil || !slices.Contains(caller.Sends, m.name):
				p.errorf(m.node, "%s: retry message %q is not in the sends of %s", where, m.name, c.service)
			case !alone(m.name):
				p.errorf(m.node, "%s: retry message %q is not received by %s alone", where, m.name, c.target)
			case app.IsDurable(m.name):
				p.errorf(m.node, "%s: retry message %q is durable: the bus redelivers it, its caller does not retry it", where, m.name)
			}
		}
	}
}
