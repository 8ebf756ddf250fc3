package service

import (
	"fmt"
	"strings"
	"time"

	"github.com/troupe-go/troupe/alarm"
)

// BreakerDetector returns an alarm.Detector of the circuit breakers of
// services: its value is how many are not closed (open or half-open), and
// counts as well every breaker that opened since the last Measure, so that
// one which opened and closed again between two evaluations still raises
// the alarm once. Its Subject lists them ("web/web-1→todo open"). Services
// not started, or stopped, count for nothing.
//
// Add it to a node's monitor with a threshold of one half both ways:
//
//	m.Add("breakers", service.BreakerDetector(web, hello), alarm.Threshold{High: 0.5, Low: 0.5})
//
// The alarm is then raised when a breaker opens and cleared once every
// breaker has closed again; a half-open breaker keeps it raised. That is
// the hysteresis: the breaker itself waits OpenFor and needs all its probes
// to succeed before it closes.
func BreakerDetector(services ...*Service) alarm.Detector {
	return &breakerDetector{services: services}
}

type breakerDetector struct{ services []*Service }

// Kind returns "circuit_breaker".
func (d *breakerDetector) Kind() string { return "circuit_breaker" }

// Measure counts the breakers that are not closed, or opened since the
// last Measure.
func (d *breakerDetector) Measure(time.Time) alarm.Measurement {
	var names []string
	for _, s := range d.services {
		s.mu.Lock()
		targets, running := s.targets, s.state == started
		s.mu.Unlock()
		if !running {
			continue // a stopped service's breakers no longer guard anything
		}
		for _, t := range targets {
			if t.br == nil {
				continue
			}
			tripped := t.br.tripped.Swap(false)
			st := stateOf(t.br.cb.State())
			if st == BreakerClosed && !tripped {
				continue
			}
			if st == BreakerClosed {
				st = "opened and closed"
			}
			names = append(names, fmt.Sprintf("%s→%s %s", t.caller, t.name, st))
		}
	}
	m := alarm.Measurement{Value: float64(len(names)), Subject: strings.Join(names, ", ")}
	switch len(names) {
	case 0:
		m.Text = "every circuit breaker is closed"
	case 1:
		m.Text = "1 circuit breaker is not closed: " + m.Subject
	default:
		m.Text = fmt.Sprintf("%d circuit breakers are not closed: %s", len(names), m.Subject)
	}
	return m
}
