package observe

import (
	"encoding/json"
	"path"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
)

// onTap is the agent's bus tap: it records sampled hops while recording,
// and offers each hop to the tap sessions whose filter it matches.
func (a *Agent) onTap(ev bus.TapEvent) {
	env := ev.Env
	if env == nil {
		return
	}
	sessions := a.sessions.Load()
	if time.Now().UnixNano() < a.recording.Load() && sampled(env.ActivityID, a.shift.Load()) {
		h := a.hop(ev, false)
		a.ring[a.next.Add(1)%recordRing].Store(h)
	}
	if sessions == nil {
		return
	}
	for _, s := range *sessions {
		if s.match(ev) {
			s.offer(a, ev)
		}
	}
}

// sampled reports whether activity is among those recorded: those whose
// hash has shift low zero bits (all of them for shift 0). IDs end in a
// counter, so their last characters spread evenly.
func sampled(activity string, shift uint32) bool {
	if shift == 0 {
		return true
	}
	var h uint32
	for i := max(0, len(activity)-4); i < len(activity); i++ {
		h = h*31 + uint32(activity[i])
	}
	h ^= h >> 7
	return h&(1<<shift-1) == 0
}

// hop turns a tap event into a Hop; withPayload copies a bounded payload.
func (a *Agent) hop(ev bus.TapEvent, withPayload bool) *Hop {
	env := ev.Env
	at := env.SentAt // what a member sent: when it sent it
	if ev.Kind == bus.TapDelivered || ev.Kind == bus.TapDeadLetter {
		at = time.Now()
	}
	h := &Hop{
		At: at, Node: a.cfg.Node, Event: ev.Kind.String(), Service: ev.Member.Service, Instance: ev.Member.Instance,
		Kind: string(env.Kind), Name: env.Name, ID: env.ID, Activity: env.ActivityID, ResponseTo: env.ResponseTo,
		From: env.Sender.String(), Reason: ev.Reason,
	}
	if ev.Kind == bus.TapReplied {
		h.Took = ev.Took.Seconds()
		if env.Name == troupe.ErrorName {
			if e := env.Err(); e != nil {
				h.Code = string(e.Code)
			}
		}
	}
	if tp := env.Headers[bus.HeaderTraceParent]; len(tp) == 55 {
		h.TraceID = tp[3:35]
	}
	if withPayload && len(env.Payload) > 0 {
		if len(env.Payload) <= MaxTapPayload {
			h.Payload = slices.Clone(env.Payload)
		} else {
			// A cut payload is no longer JSON: it travels as a string.
			cut, _ := json.Marshal(string(env.Payload[:MaxTapPayload]))
			h.Payload, h.Cut = cut, true
		}
	}
	return h
}

// recorded returns the recorded hops of activity (every recorded hop if
// activity is ""), oldest first, at most limit of the newest.
func (a *Agent) recorded(activity string, limit int) []Hop {
	var out []Hop
	// Newest first, so that a limit reads only what it keeps.
	last := a.next.Load()
	for i := uint64(0); i < recordRing; i++ {
		h := a.ring[(last-i)%recordRing].Load()
		if h == nil {
			continue
		}
		if activity == "" || h.Activity == activity {
			out = append(out, *h)
			if limit > 0 && len(out) == limit {
				break
			}
		}
	}
	slices.SortStableFunc(out, func(x, y Hop) int { return x.At.Compare(y.At) })
	return out
}

// match reports whether a tap event passes the filter.
func (f *Filter) match(ev bus.TapEvent) bool {
	env := ev.Env
	if f.Activity != "" && env.ActivityID != f.Activity {
		return false
	}
	if len(f.Services) > 0 && !slices.Contains(f.Services, ev.Member.Service) && !slices.Contains(f.Services, env.Sender.Service) {
		return false
	}
	if len(f.Names) > 0 {
		ok := false
		for _, p := range f.Names {
			if p == env.Name {
				ok = true
				break
			}
			if m, err := path.Match(p, env.Name); err == nil && m {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// match reports whether the session shows ev: a request, send or publish
// that passes its filter, or a reply to a request it showed.
func (s *session) match(ev bus.TapEvent) bool {
	env := ev.Env
	if env.Kind == troupe.KindReply {
		if len(s.filter.Names) == 0 && len(s.filter.Services) == 0 {
			return s.filter.match(ev)
		}
		s.mu.Lock()
		_, ok := s.shown[env.ResponseTo]
		s.mu.Unlock()
		return ok || (len(s.filter.Names) == 0 && s.filter.match(ev))
	}
	if !s.filter.match(ev) {
		return false
	}
	if env.Kind == troupe.KindRequest {
		s.mu.Lock()
		if s.shown == nil {
			s.shown = make(map[troupe.ID]struct{}, 256)
		}
		if _, ok := s.shown[env.ID]; !ok {
			if old := s.ring[s.at]; old != "" {
				delete(s.shown, old)
			}
			s.ring[s.at] = env.ID
			s.at = (s.at + 1) % len(s.ring)
			s.shown[env.ID] = struct{}{}
		}
		s.mu.Unlock()
	}
	return true
}

// validFilter reports whether every pattern of f is well-formed.
func validFilter(f Filter) error {
	for _, p := range f.Names {
		if _, err := path.Match(p, ""); err != nil {
			return err
		}
	}
	return nil
}

// session is one tap: the hops matching its filter go, in frames, to send.
type session struct {
	id      string
	filter  Filter
	expires atomic.Int64 // unix nanos
	q       chan *Hop
	dropped atomic.Uint64
	send    func(tapFrame) error
	stop    chan struct{}

	mu    sync.Mutex
	shown map[troupe.ID]struct{} // requests shown: their replies are shown too
	ring  [1024]troupe.ID        // the same, oldest first, to forget them
	at    int
	once  sync.Once
	done  chan struct{}
}

// offer queues a hop without ever blocking: a full queue drops it.
func (s *session) offer(a *Agent, ev bus.TapEvent) {
	select {
	case s.q <- a.hop(ev, true):
	default:
		s.dropped.Add(1)
	}
}

func (s *session) end() { s.once.Do(func() { close(s.stop) }) }

// flush sends the queued hops in frames until the session ends.
func (s *session) flush(node string) {
	defer close(s.done)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	batch := make([]Hop, 0, tapBatch)
	sendBatch := func() bool {
		n := s.dropped.Swap(0)
		if len(batch) == 0 && n == 0 {
			return true
		}
		// In process a delivery (and its reply) can be seen before the
		// send that made it returns: show them in the order they happened.
		slices.SortStableFunc(batch, func(x, y Hop) int { return x.At.Compare(y.At) })
		err := s.send(tapFrame{Node: node, Hops: batch, Dropped: n})
		batch = make([]Hop, 0, tapBatch)
		return err == nil
	}
	for {
		select {
		case <-s.stop:
			return
		case h := <-s.q:
			batch = append(batch, *h)
			if len(batch) == tapBatch && !sendBatch() {
				s.end()
				return
			}
		case <-t.C:
			if !sendBatch() {
				s.end()
				return
			}
		}
	}
}

// openTap starts or renews the session req.Session, whose frames go to
// send.
func (a *Agent) openTap(req tapRequest, send func(tapFrame) error) error {
	if err := validFilter(req.Filter); err != nil {
		return err
	}
	lease := time.Duration(req.Lease) * time.Millisecond
	if lease <= 0 || lease > time.Minute {
		lease = 10 * time.Second
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return errConnClosed
	}
	for i, s := range a.sessList {
		if s.id != req.Session {
			continue
		}
		if req.Stop {
			s.end()
			a.sessList = slices.Delete(a.sessList, i, i+1)
			a.publishSessions()
			a.retap()
			return nil
		}
		s.expires.Store(time.Now().Add(lease).UnixNano())
		return nil
	}
	if req.Stop {
		return nil
	}
	s := &session{id: req.Session, filter: req.Filter, q: make(chan *Hop, tapQueue), send: send, stop: make(chan struct{}), done: make(chan struct{})}
	s.expires.Store(time.Now().Add(lease).UnixNano())
	a.sessList = append(a.sessList, s)
	a.publishSessions()
	a.retap()
	a.done.Add(1)
	go func() {
		defer a.done.Done()
		s.flush(a.cfg.Node)
	}()
	return nil
}
