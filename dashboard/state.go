package dashboard

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/observe"
)

// State is what a page shows, sent once per interval (docs/observe.md).
type State struct {
	App         string           `json:"app"`
	At          time.Time        `json:"at"`
	Error       string           `json:"error,omitempty"` // why the last query failed
	Nodes       []NodeView       `json:"nodes"`
	Services    []ServiceView    `json:"services"`
	Messages    []MessageView    `json:"messages"`
	Alarms      []AlarmView      `json:"alarms"`
	AlarmEvents []AlarmEventView `json:"alarmEvents"`
	Crashes     []CrashView      `json:"crashes"`
	DeadLetters []DeadLetterView `json:"deadLetters"`
	Activities  []ActivityView   `json:"activities"`
	Points      map[string]Point `json:"points"`            // this interval's point of each message's chart
	Missing     []string         `json:"missing,omitempty"` // nodes that did not answer this time
}

// NodeView is one node (process).
type NodeView struct {
	ID        string    `json:"id"`
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	Version   string    `json:"version"`
	Started   time.Time `json:"started"`
	Processes int       `json:"processes"` // outside the instances' trees
	Sampling  float64   `json:"sampling"`
}

// ServiceView is one service and its instances, wherever they run.
type ServiceView struct {
	Name      string         `json:"name"`
	Instances []InstanceView `json:"instances"`
}

// InstanceView is one instance.
type InstanceView struct {
	ID        string           `json:"id"`
	Node      string           `json:"node"`
	Host      string           `json:"host"`
	PID       int              `json:"pid"`
	Started   time.Time        `json:"started"`
	Processes int              `json:"processes"`
	Mailbox   int              `json:"mailbox"`
	Crashes   uint64           `json:"crashes"`
	Restarts  uint64           `json:"restarts"`
	Tree      *observe.Process `json:"tree,omitempty"`
}

// MessageView is the traffic of one message name over the last interval,
// summed over every instance: rates per second, latency percentiles in
// seconds (of the requests that ended in the interval), and totals.
type MessageView struct {
	Name      string             `json:"name"`
	Rate      float64            `json:"rate"`     // sent per second
	Received  float64            `json:"received"` // delivered per second
	Errors    float64            `json:"errors"`   // failed requests per second
	Codes     map[string]float64 `json:"codes,omitempty"`
	P50       float64            `json:"p50"`
	P90       float64            `json:"p90"`
	P99       float64            `json:"p99"`
	Sent      uint64             `json:"sent"` // since the instances started
	Failed    uint64             `json:"failed"`
	InFlight  int64              `json:"inFlight"`
	Receivers []string           `json:"receivers,omitempty"` // services that handle it
}

// Point is one interval of a message's chart.
type Point struct {
	T      int64   `json:"t"` // unix milliseconds
	Rate   float64 `json:"rate"`
	Errors float64 `json:"errors"`
	P50    float64 `json:"p50"`
	P90    float64 `json:"p90"`
	P99    float64 `json:"p99"`
}

// AlarmView is one node's alarm.
type AlarmView struct {
	observe.Alarm
	Node string `json:"node"`
}

// AlarmEventView is one alarm event of one node.
type AlarmEventView struct {
	observe.AlarmEvent
	Node string `json:"node"`
}

// CrashView is one crash report of one node.
type CrashView struct {
	observe.Crash
	Node string `json:"node"`
}

// DeadLetterView is one dead letter of one node.
type DeadLetterView struct {
	observe.DeadLetter
	Node string `json:"node"`
}

// ActivityView is one recently recorded activity.
type ActivityView struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"` // its first message
	From     string    `json:"from"`
	Start    time.Time `json:"start"`
	Took     float64   `json:"took"` // seconds from its first hop to its last
	Hops     int       `json:"hops"` // envelopes
	Services []string  `json:"services"`
	Failed   bool      `json:"failed"`
}

// historyFrame is the charts' history, sent to a page when it opens.
type historyFrame struct {
	Interval float64            `json:"interval"` // seconds
	Series   map[string][]Point `json:"series"`
}

// aggregator turns the nodes' cumulative counters into rates and
// percentiles per interval, and keeps each message's chart.
type aggregator struct {
	mu      sync.Mutex
	size    int
	prev    map[string]observe.Message // by instance and name
	prevAt  time.Time
	series  map[string][]Point
	last    map[string]observe.Node // each node's last snapshot
	missed  map[string]int          // polls each node did not answer
	nBounds int
}

func (a *aggregator) init(size int) {
	a.size = size
	a.prev = map[string]observe.Message{}
	a.series = map[string][]Point{}
	a.last = map[string]observe.Node{}
	a.missed = map[string]int{}
	a.nBounds = len(bus.LatencyBounds()) + 1
}

// keepMissing is how many polls a node may miss before it is shown gone.
const keepMissing = 3

// update folds a poll into the state.
func (a *aggregator) update(now time.Time, nodes []observe.Node, err error, recorded []observe.Hop) State {
	a.mu.Lock()
	defer a.mu.Unlock()
	var missing []string
	if err == nil {
		answered := map[string]bool{}
		for _, n := range nodes {
			a.last[n.ID] = n
			a.missed[n.ID] = 0
			answered[n.ID] = true
		}
		for id := range a.last {
			if !answered[id] {
				a.missed[id]++
				if a.missed[id] > keepMissing {
					delete(a.last, id)
					delete(a.missed, id)
					continue
				}
				missing = append(missing, id)
			}
		}
	}
	all := make([]observe.Node, 0, len(a.last))
	for _, id := range sortedKeys(a.last) {
		all = append(all, a.last[id])
	}
	st := a.build(now, all, true)
	if err != nil {
		st.Error = err.Error()
	}
	slices.Sort(missing)
	st.Missing = missing
	st.Activities = activities(recorded)
	return st
}

// peek builds a state without moving the charts on.
func (a *aggregator) peek(now time.Time, nodes []observe.Node, err error) State {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := a.build(now, nodes, false)
	if err != nil {
		st.Error = err.Error()
	}
	return st
}

func (a *aggregator) historyFrame() historyFrame {
	a.mu.Lock()
	defer a.mu.Unlock()
	h := historyFrame{Series: make(map[string][]Point, len(a.series))}
	for k, v := range a.series {
		h.Series[k] = slices.Clone(v)
	}
	return h
}

// traffic sums one message's deltas over the instances.
type traffic struct {
	sent, received, errors uint64
	codes                  map[string]uint64
	buckets                []uint64
	total, failed          uint64
	inFlight               int64
	receivers              map[string]bool
}

// build makes the state of nodes; advance moves the charts on.
func (a *aggregator) build(now time.Time, nodes []observe.Node, advance bool) State {
	st := State{At: now, Nodes: []NodeView{}, Services: []ServiceView{}, Messages: []MessageView{}, Alarms: []AlarmView{},
		AlarmEvents: []AlarmEventView{}, Crashes: []CrashView{}, DeadLetters: []DeadLetterView{}, Activities: []ActivityView{}, Points: map[string]Point{}}
	services := map[string]*ServiceView{}
	msgs := map[string]*traffic{}
	next := map[string]observe.Message{}
	dt := now.Sub(a.prevAt).Seconds()
	first := a.prevAt.IsZero()
	for _, n := range nodes {
		st.Nodes = append(st.Nodes, NodeView{ID: n.ID, Host: n.Host, PID: n.PID, Version: n.Version, Started: n.Started, Processes: n.Processes, Sampling: n.Sampling})
		for _, in := range n.Instances {
			sv := services[in.Service]
			if sv == nil {
				sv = &ServiceView{Name: in.Service}
				services[in.Service] = sv
			}
			sv.Instances = append(sv.Instances, InstanceView{
				ID: in.ID, Node: n.ID, Host: n.Host, PID: n.PID, Started: in.Started, Processes: in.Processes,
				Mailbox: in.Mailbox, Crashes: in.Crashes, Restarts: in.Restarts, Tree: in.Tree,
			})
			for _, m := range in.Messages {
				t := msgs[m.Name]
				if t == nil {
					t = &traffic{codes: map[string]uint64{}, buckets: make([]uint64, a.nBounds), receivers: map[string]bool{}}
					msgs[m.Name] = t
				}
				if m.Receives {
					t.receivers[in.Service] = true
				}
				t.total += m.Sent
				t.failed += m.Errors
				t.inFlight += m.InFlight
				key := in.ID + "\x00" + m.Name
				next[key] = m
				p, seen := a.prev[key]
				if !seen || m.Sent < p.Sent || m.Received < p.Received {
					if first || !seen {
						continue // a baseline, not traffic of this interval
					}
					p = observe.Message{} // counters restarted
				}
				t.sent += m.Sent - p.Sent
				t.received += m.Received - min(p.Received, m.Received)
				t.errors += m.Errors - min(p.Errors, m.Errors)
				for c, v := range m.Codes {
					t.codes[c] += v - min(p.Codes[c], v)
				}
				for i, v := range m.Latency.Buckets {
					if i >= 0 && i < len(t.buckets) {
						t.buckets[i] += v - min(p.Latency.Buckets[i], v)
					}
				}
			}
		}
		for _, al := range n.Alarms {
			st.Alarms = append(st.Alarms, AlarmView{Alarm: al, Node: n.ID})
		}
		for _, e := range n.AlarmEvents {
			st.AlarmEvents = append(st.AlarmEvents, AlarmEventView{AlarmEvent: e, Node: n.ID})
		}
		for _, c := range n.Crashes {
			st.Crashes = append(st.Crashes, CrashView{Crash: c, Node: n.ID})
		}
		for _, d := range n.DeadLetters {
			st.DeadLetters = append(st.DeadLetters, DeadLetterView{DeadLetter: d, Node: n.ID})
		}
	}
	for _, name := range sortedKeys(services) {
		sv := services[name]
		slices.SortFunc(sv.Instances, func(x, y InstanceView) int { return strings.Compare(x.ID, y.ID) })
		st.Services = append(st.Services, *sv)
	}
	per := func(n uint64) float64 {
		if dt <= 0 || first {
			return 0
		}
		return float64(n) / dt
	}
	for _, name := range sortedKeys(msgs) {
		t := msgs[name]
		mv := MessageView{Name: name, Rate: per(t.sent), Received: per(t.received), Errors: per(t.errors),
			Sent: t.total, Failed: t.failed, InFlight: t.inFlight, Receivers: sortedKeys(t.receivers)}
		for c, n := range t.codes {
			if n > 0 {
				if mv.Codes == nil {
					mv.Codes = map[string]float64{}
				}
				mv.Codes[c] = per(n)
			}
		}
		mv.P50 = bus.Quantile(t.buckets, 0.50).Seconds()
		mv.P90 = bus.Quantile(t.buckets, 0.90).Seconds()
		mv.P99 = bus.Quantile(t.buckets, 0.99).Seconds()
		st.Messages = append(st.Messages, mv)
		pt := Point{T: now.UnixMilli(), Rate: mv.Rate, Errors: mv.Errors, P50: mv.P50, P90: mv.P90, P99: mv.P99}
		st.Points[name] = pt
		if advance && !first {
			s := append(a.series[name], pt)
			if len(s) > a.size {
				s = s[len(s)-a.size:]
			}
			a.series[name] = s
		}
	}
	slices.SortFunc(st.AlarmEvents, func(x, y AlarmEventView) int { return y.At.Compare(x.At) })
	slices.SortFunc(st.Crashes, func(x, y CrashView) int { return y.At.Compare(x.At) })
	slices.SortFunc(st.DeadLetters, func(x, y DeadLetterView) int { return y.At.Compare(x.At) })
	slices.SortFunc(st.Alarms, func(x, y AlarmView) int {
		if c := strings.Compare(x.Name, y.Name); c != 0 {
			return c
		}
		return strings.Compare(x.Node, y.Node)
	})
	if advance {
		a.prev, a.prevAt = next, now
	}
	return st
}

// activities groups recorded hops into the most recent activities.
func activities(hops []observe.Hop) []ActivityView {
	type acc struct {
		view     ActivityView
		end      time.Time
		ids      map[string]bool
		services map[string]bool
	}
	by := map[string]*acc{}
	for _, h := range hops {
		a := by[h.Activity]
		if a == nil {
			a = &acc{view: ActivityView{ID: h.Activity, Start: h.At}, ids: map[string]bool{}, services: map[string]bool{}}
			by[h.Activity] = a
		}
		if h.Event == "sent" && (a.view.Name == "" || h.At.Before(a.view.Start) || h.At.Equal(a.view.Start) && h.ID == h.Activity) {
			a.view.Name, a.view.From = h.Name, h.Service
		}
		if h.At.Before(a.view.Start) {
			a.view.Start = h.At
		}
		if h.At.After(a.end) {
			a.end = h.At
		}
		if h.Kind != "reply" {
			a.ids[h.ID] = true
		}
		a.services[h.Service] = true
		if h.Code != "" {
			a.view.Failed = true
		}
	}
	out := make([]ActivityView, 0, len(by))
	for _, a := range by {
		a.view.Hops = len(a.ids)
		a.view.Took = max(0, a.end.Sub(a.view.Start).Seconds())
		a.view.Services = sortedKeys(a.services)
		out = append(out, a.view)
	}
	slices.SortFunc(out, func(x, y ActivityView) int { return y.Start.Compare(x.Start) })
	if len(out) > 25 {
		out = out[:25]
	}
	return out
}

// Timeline is one activity's hops, as the page draws them: one row per
// envelope sent (a request with its reply, a send, a publish), in the order
// they were sent, with times in seconds from the first.
type Timeline struct {
	Activity string    `json:"activity"`
	Start    time.Time `json:"start"`
	Rows     []Row     `json:"rows"`
}

// Row is one envelope of an activity.
type Row struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Kind     string   `json:"kind"`
	From     string   `json:"from"` // service/instance that sent it
	To       []string `json:"to"`   // instances it was delivered to
	Start    float64  `json:"start"`
	End      float64  `json:"end"`             // when its final reply was sent; = Start for one-way
	Reply    string   `json:"reply,omitempty"` // the reply's name
	Code     string   `json:"code,omitempty"`  // an Error reply's code
	TraceID  string   `json:"traceId,omitempty"`
	Reason   string   `json:"reason,omitempty"` // dead letter
	Complete bool     `json:"complete"`         // a request's reply was seen
}

// timeline builds the timeline of an activity's hops.
func timeline(activity string, hops []observe.Hop) Timeline {
	tl := Timeline{Activity: activity, Rows: []Row{}}
	rows := map[string]*Row{}
	var order []string
	start := time.Time{}
	for _, h := range hops {
		if start.IsZero() || h.At.Before(start) {
			start = h.At
		}
	}
	tl.Start = start
	at := func(t time.Time) float64 { return t.Sub(start).Seconds() }
	row := func(id string) *Row {
		r := rows[id]
		if r == nil {
			r = &Row{ID: id}
			rows[id] = r
			order = append(order, id)
		}
		return r
	}
	for _, h := range hops {
		switch h.Event {
		case "sent":
			r := row(h.ID)
			r.Name, r.Kind, r.From, r.Start, r.TraceID = h.Name, h.Kind, h.From, at(h.At), h.TraceID
			if r.End < r.Start {
				r.End = r.Start
			}
		case "delivered":
			r := row(h.ID)
			if r.Name == "" {
				r.Name, r.Kind, r.From, r.Start, r.End = h.Name, h.Kind, h.From, at(h.At), at(h.At)
			}
			to := h.Service + "/" + h.Instance
			if !slices.Contains(r.To, to) {
				r.To = append(r.To, to)
			}
		case "replied":
			r := row(h.ResponseTo)
			r.End = max(r.End, at(h.At))
			r.Reply, r.Code, r.Complete = h.Name, h.Code, true
			to := h.Service + "/" + h.Instance
			if !slices.Contains(r.To, to) {
				r.To = append(r.To, to)
			}
		case "dead_letter":
			r := row(h.ID)
			r.Reason = h.Reason
		}
	}
	for _, id := range order {
		tl.Rows = append(tl.Rows, *rows[id])
	}
	slices.SortStableFunc(tl.Rows, func(x, y Row) int {
		switch {
		case x.Start < y.Start:
			return -1
		case x.Start > y.Start:
			return 1
		}
		return 0
	})
	return tl
}

// A Tracker turns the nodes' snapshots, poll after poll, into States: the
// rates and latency percentiles of each interval (the counters' changes
// since the last poll), and the charts' history. A Dashboard has one;
// troupe top uses one too. Its methods are safe for concurrent use.
type Tracker struct{ agg aggregator }

// NewTracker returns a Tracker that keeps history points per message
// (DefaultHistory if history < 1).
func NewTracker(history int) *Tracker {
	if history < 1 {
		history = DefaultHistory
	}
	t := &Tracker{}
	t.agg.init(history)
	return t
}

// Update folds one poll into the tracker: nodes are the snapshots (err the
// poll's error), recorded the recent hops (for State.Activities). A node
// that misses up to three polls keeps its last snapshot meanwhile.
func (t *Tracker) Update(now time.Time, nodes []observe.Node, err error, recorded []observe.Hop) State {
	return t.agg.update(now, nodes, err, recorded)
}
