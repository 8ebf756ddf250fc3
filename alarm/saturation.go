package alarm

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Defaults of the saturation detector.
const (
	DefaultSaturationWindow      = 10 * time.Second
	DefaultSaturationHigh        = 0.02 // 2% of a name's requests shed, late or delayed
	DefaultSaturationLow         = 0.005
	DefaultSaturationMinRequests = 20
)

// maxSaturationKeys bounds the (service, name) pairs a saturation detector
// tracks; the loads of any more are pooled under "(other)".
const maxSaturationKeys = 1024

// Load is what a saturation detector reads from one place where requests
// wait for their turn: one message name at one instance of a service, or one
// route of a gateway. Counts are cumulative since the place was made; a count
// that goes down means it was made again (an instance restarted).
type Load struct {
	Service  string // the service, or "gateway"
	Instance string // the instance; loads of one service and name are added up over instances
	Name     string // the message name, or the route's pattern

	Requests uint64        // requests that arrived
	Shed     uint64        // refused because they could not be served in time
	Late     uint64        // served, but past their deadline
	Delayed  uint64        // waited long for their turn (more than half the longest wait)
	Waited   time.Duration // the time the served requests waited for their turn, in all
}

// SaturationConfig configures a saturation detector: the alarm of seed 001's
// "the service cannot keep up with the number of requests". Its value is, for
// the worst (service, name) pair, the fraction of the requests of the window
// that were shed, missed their deadline, or waited long for their turn.
type SaturationConfig struct {
	// Threshold as a fraction of requests (default High 0.02, that is 2%;
	// Low defaults to a quarter of High, 0.005).
	Threshold
	// Window is the span the fraction is measured over (default 10s). The
	// detector keeps one reading of the loads per evaluation within it.
	Window time.Duration
	// MinRequests is the number of requests a pair must have had within
	// the window for its fraction to count (default 20).
	MinRequests int
	// Loads reads the current loads. Required. It is called from the
	// monitor's goroutine at each evaluation and must be quick.
	Loads func() []Load
}

// Saturation measures how many requests the places where they queue could
// not serve in time. Its Measurement's Subject names the worst pair:
// "todo todo.list" (the service, then the message) or
// "gateway GET /api/lists/{list}/todos".
type Saturation struct {
	loads  func() []Load
	window time.Duration
	min    uint64

	mu       sync.Mutex
	readings []reading // oldest first; the first is at or before the window's start
	worst    []Overload
}

type loadKey struct{ service, name string }

type reading struct {
	at    time.Time
	loads map[loadKey]Load
}

// Overload is one (service, name) pair's share of trouble over the window,
// as the last Measure saw it.
type Overload struct {
	Service  string        `json:"service"`
	Name     string        `json:"name"`
	Requests uint64        `json:"requests"`
	Shed     uint64        `json:"shed"`
	Late     uint64        `json:"late"`
	Delayed  uint64        `json:"delayed"`
	MeanWait time.Duration `json:"meanWait"` // of the requests served
	Fraction float64       `json:"fraction"` // (shed + late + delayed) / requests, at most 1
}

// Saturation adds an alarm named name on a new saturation detector and
// returns it.
func (m *Monitor) Saturation(name string, c SaturationConfig) (*Saturation, error) {
	if c.Loads == nil {
		return nil, fmt.Errorf("alarm: saturation %q: Loads is required", name)
	}
	win := c.Window
	switch {
	case win == 0:
		win = DefaultSaturationWindow
	case win < 0:
		return nil, fmt.Errorf("alarm: saturation %q: negative window %s", name, win)
	}
	min := c.MinRequests
	switch {
	case min == 0:
		min = DefaultSaturationMinRequests
	case min < 0:
		return nil, fmt.Errorf("alarm: saturation %q: negative minimum requests %d", name, min)
	}
	t := c.Threshold
	if t.High == 0 {
		t.High = DefaultSaturationHigh
	}
	if t.Low == 0 {
		t.Low = t.High / 4 // DefaultSaturationLow for the default High
	}
	if t.High > 1 {
		return nil, fmt.Errorf("alarm: saturation %q: high %v is a fraction and must be at most 1", name, t.High)
	}
	s := &Saturation{loads: c.Loads, window: win, min: uint64(min)}
	if err := m.add(name, s, t); err != nil {
		return nil, err
	}
	return s, nil
}

// Kind returns "saturation".
func (s *Saturation) Kind() string { return "saturation" }

// Measure implements [Detector]: it reads the loads, and the value is the
// largest fraction of a pair's requests within the window that were shed,
// late or delayed.
func (s *Saturation) Measure(now time.Time) Measurement {
	cur := reading{at: now, loads: map[loadKey]Load{}}
	for _, l := range s.loads() {
		k := loadKey{l.Service, l.Name}
		if _, ok := cur.loads[k]; !ok && len(cur.loads) >= maxSaturationKeys {
			k = loadKey{"(other)", "(other)"}
		}
		sum := cur.loads[k]
		sum.Service, sum.Name = k.service, k.name
		sum.Requests += l.Requests
		sum.Shed += l.Shed
		sum.Late += l.Late
		sum.Delayed += l.Delayed
		sum.Waited += l.Waited
		cur.loads[k] = sum
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	// Keep the newest reading at or before the window's start as the base,
	// and every one after it.
	start := now.Add(-s.window)
	for len(s.readings) > 1 && !s.readings[1].at.After(start) {
		s.readings = s.readings[1:]
	}
	if len(s.readings) > 0 && now.Before(s.readings[len(s.readings)-1].at) {
		s.readings = nil // the clock went back: start over
	}
	var base map[loadKey]Load
	if len(s.readings) > 0 {
		base = s.readings[0].loads
	}
	s.readings = append(s.readings, cur)

	var all []Overload
	for k, l := range cur.loads {
		b, ok := base[k]
		if !ok || l.Requests < b.Requests {
			b = Load{} // new, or made again since
		}
		o := Overload{
			Service:  k.service,
			Name:     k.name,
			Requests: l.Requests - b.Requests,
			Shed:     sub(l.Shed, b.Shed),
			Late:     sub(l.Late, b.Late),
			Delayed:  sub(l.Delayed, b.Delayed),
		}
		if served := o.Requests - min(o.Requests, o.Shed); served > 0 && l.Waited > b.Waited {
			o.MeanWait = (l.Waited - b.Waited) / time.Duration(served)
		}
		if o.Requests >= s.min {
			o.Fraction = min(1, float64(o.Shed+o.Late+o.Delayed)/float64(o.Requests))
		}
		all = append(all, o)
	}
	slices.SortFunc(all, func(a, b Overload) int {
		switch {
		case a.Fraction != b.Fraction:
			if a.Fraction > b.Fraction {
				return -1
			}
			return 1
		case a.Service != b.Service:
			return strings.Compare(a.Service, b.Service)
		}
		return strings.Compare(a.Name, b.Name)
	})
	s.worst = s.worst[:0]
	for _, o := range all {
		if o.Fraction > 0 {
			s.worst = append(s.worst, o)
		}
	}
	win := now.Sub(s.readings[0].at)
	if len(s.readings) == 1 || win > s.window {
		win = s.window
	}
	if len(s.worst) == 0 {
		return Measurement{Text: fmt.Sprintf("every request was served in time in the last %s", win.Round(time.Second))}
	}
	w := s.worst[0]
	m := Measurement{
		Value:   w.Fraction,
		Subject: w.Service + " " + w.Name,
		Text:    describe(w, win),
	}
	if n := len(s.worst) - 1; n > 0 {
		m.Text += fmt.Sprintf("; %d more saturated", n)
	}
	return m
}

// Overloaded returns the pairs that had trouble within the window at the
// last Measure, the worst first.
func (s *Saturation) Overloaded() []Overload {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.worst)
}

func describe(o Overload, win time.Duration) string {
	where := fmt.Sprintf("%s at service %s", o.Name, o.Service)
	if o.Service == "gateway" {
		where = fmt.Sprintf("route %s at the gateway", o.Name)
	}
	return fmt.Sprintf("%s: of %d requests in the last %s, %d shed, %d late, %d delayed (%s%%); mean wait %s",
		where, o.Requests, win.Round(time.Second), o.Shed, o.Late, o.Delayed, formatFloat(100*o.Fraction), o.MeanWait.Round(time.Microsecond))
}

func sub(a, b uint64) uint64 {
	if a < b {
		return a
	}
	return a - b
}
