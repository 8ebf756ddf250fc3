package natsbus

import (
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
)

// The in-process shortcut. Members of one process that share an embedded
// server (Config.Server) reach each other without the server when the
// semantics allow it: an at-most-once envelope whose every receiving service
// has instances in this process and nowhere else, and that no other
// connection would see (a tap's wildcard subscription, say), is delivered to
// one local instance of each service directly, and a reply to a local
// member goes straight to its inbox. Everything the bus checks (permissions,
// deadlines, bulkheads, stats) it checks on both sides as before; durable
// envelopes always go through JetStream, broadcast names through the server.
//
// Whether a name may take the shortcut is decided from the server's own
// subscription table, read every localRefresh: a member of another process
// that starts receiving a name gets its first envelopes within that time.

// localRefresh is how often the shortcut's table is rebuilt from the
// server's subscriptions.
const localRefresh = 100 * time.Millisecond

// localSub is one local member's subscription to a name.
type localSub struct {
	p *port
	d bus.Deliverer
}

// localRoute is, for one name, one local instance set per receiving service.
type localRoute struct {
	services [][]localSub // one entry per receiving service
	next     atomic.Uint32
}

// local is the Transport's shortcut state.
type local struct {
	t    *Transport
	mu   sync.Mutex
	subs map[string]map[string][]localSub // name → service → local subscriptions (OneInstance, not durable)
	// routes holds the names that may take the shortcut now; rebuilt by
	// refresh, and cleared of a name at once when a local member stops
	// receiving it.
	routes atomic.Pointer[map[string]*localRoute]
	// replies holds the local members whose reply subject no other
	// connection subscribes to: replies to them may skip the server.
	replies atomic.Pointer[map[troupe.Member]bool]
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once

	// changes is the fingerprint of what the table was last built from
	// (built): a tick that finds the same one has nothing to rebuild.
	changes uint64
	built   bool
}

// newLocal starts the shortcut for a Transport over an embedded server.
func newLocal(t *Transport) *local {
	l := &local{t: t, subs: map[string]map[string][]localSub{}, stop: make(chan struct{}), done: make(chan struct{})}
	l.routes.Store(&map[string]*localRoute{})
	l.replies.Store(&map[troupe.Member]bool{})
	go l.loop()
	return l
}

func (l *local) loop() {
	defer close(l.done)
	tick := time.NewTicker(localRefresh)
	defer tick.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-tick.C:
			l.refresh()
		}
	}
}

func (l *local) close() {
	l.once.Do(func() { close(l.stop) })
	<-l.done
	l.routes.Store(&map[string]*localRoute{})
	l.replies.Store(&map[troupe.Member]bool{})
}

// add records a local subscription.
func (l *local) add(name string, p *port, d bus.Deliverer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	bySvc := l.subs[name]
	if bySvc == nil {
		bySvc = map[string][]localSub{}
		l.subs[name] = bySvc
	}
	bySvc[p.m.Service] = append(bySvc[p.m.Service], localSub{p: p, d: d})
	l.refreshLocked()
}

// remove forgets every subscription of port p and stops the shortcut for
// its names at once (the next refresh may bring them back).
func (l *local) remove(p *port) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var names []string
	for name, bySvc := range l.subs {
		subs := bySvc[p.m.Service]
		kept := slices.DeleteFunc(slices.Clone(subs), func(s localSub) bool { return s.p == p })
		if len(kept) != len(subs) {
			names = append(names, name)
		}
		if len(kept) == 0 {
			delete(bySvc, p.m.Service)
		} else {
			bySvc[p.m.Service] = kept
		}
	}
	replies := maps.Clone(*l.replies.Load())
	delete(replies, p.m)
	l.replies.Store(&replies)
	if len(names) == 0 {
		return
	}
	old := *l.routes.Load()
	routes := make(map[string]*localRoute, len(old))
	for n, r := range old {
		if !slices.Contains(names, n) {
			routes[n] = r
		}
	}
	l.routes.Store(&routes)
}

// route returns the local route of name, or nil when it must go through the
// server.
func (l *local) route(name string) *localRoute { return (*l.routes.Load())[name] }

// refresh rebuilds the names that may take the shortcut: those whose every
// receiving service has local subscribers, and whose subject no connection
// but this Transport's members subscribes to.
func (l *local) refresh() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.built {
		if n, ok := l.fingerprint(); ok && n == l.changes {
			return // no subscription or member came or went
		}
	}
	l.refreshLocked()
}

// fingerprint sums what the table is built from and may change without a
// local subscription's add or remove: how many subscriptions the server
// has made and removed, in every account (read without walking them: a
// change in any of them changes the sum), and the local members that are
// open, with their connections' client ids.
func (l *local) fingerprint() (uint64, bool) {
	srv := l.t.cfg.Server
	if srv == nil {
		return 0, false
	}
	sz, err := srv.ns.Subsz(&server.SubszOptions{})
	if err != nil || sz.SublistStats == nil {
		return 0, false
	}
	n := sz.NumInserts + sz.NumRemoves
	l.t.mu.Lock()
	for _, p := range l.t.members {
		if !p.opened.Load() {
			continue
		}
		if id, err := p.nc.GetClientID(); err == nil {
			n += 1<<40 + id*0x9e3779b97f4a7c15 // one open member, and which connection
		}
	}
	l.t.mu.Unlock()
	return n, true
}

// refreshLocked is refresh with l.mu held.
func (l *local) refreshLocked() {
	t := l.t
	srv := t.cfg.Server
	if srv == nil || t.cfg.App == nil {
		return
	}
	// Taken before the table is read: a change while it is built is seen
	// by the next tick.
	l.changes, l.built = l.fingerprint()
	cids := map[uint64]bool{}
	var members []troupe.Member
	t.mu.Lock()
	for m, p := range t.members {
		if !p.opened.Load() {
			continue
		}
		if id, err := p.nc.GetClientID(); err == nil {
			cids[id] = true
			members = append(members, m)
		}
	}
	t.mu.Unlock()
	decls := services(t.cfg.App)
	replies := map[troupe.Member]bool{}
	for _, m := range members {
		// Literal subjects under the member's reply wildcard: the
		// request's own, and each replier's (identity.go).
		only := onlyLocal(srv.ns, t.subj.requestReply(m, zeroID), cids)
		for _, d := range decls {
			only = only && onlyLocal(srv.ns, t.subj.reply(m, zeroID, d.Name), cids)
		}
		if only {
			replies[m] = true
		}
	}
	l.replies.Store(&replies)
	routes := map[string]*localRoute{}
	for name, bySvc := range l.subs {
		if t.isDurable(name) {
			continue
		}
		receivers := t.cfg.App.Receivers(name)
		r := &localRoute{}
		ok := len(receivers) > 0
		for _, svc := range receivers {
			if len(bySvc[svc]) == 0 || t.cfg.App.Broadcasts(svc, name) {
				ok = false
				break
			}
			r.services = append(r.services, slices.Clone(bySvc[svc]))
		}
		// The subject of name under each sender's token: nobody else
		// may listen to any of them.
		for _, d := range decls {
			if ok && slices.Contains(d.Sends, name) {
				ok = onlyLocal(srv.ns, t.subj.msg(d.Name, name), cids)
			}
		}
		if !ok {
			continue
		}
		if old := (*l.routes.Load())[name]; old != nil {
			r.next.Store(old.next.Load())
		}
		routes[name] = r
	}
	l.routes.Store(&routes)
}

// onlyLocal reports whether every subscription of the server that matches
// subject belongs to one of the connections cids.
func onlyLocal(ns *server.Server, subject string, cids map[uint64]bool) bool {
	sz, err := ns.Subsz(&server.SubszOptions{Subscriptions: true, Test: subject, Limit: 1 << 16})
	if err != nil {
		return false
	}
	if sz.Total > len(sz.Subs) {
		return false // more than we looked at: be safe
	}
	for _, s := range sz.Subs {
		if !cids[s.Cid] {
			return false
		}
	}
	return true
}

// deliver hands env to one local instance of each receiving service, on the
// sender's goroutine, as the in-process transport does. An instance that is
// closing is passed over for another; if none of a single receiving
// service's instances takes env, deliver reports false and the caller sends
// it through the server instead (with several services, those already
// served would get it twice: an at-most-once envelope is dropped then).
func (r *localRoute) deliver(env *troupe.Envelope) bool {
	n := r.next.Add(1)
	for _, subs := range r.services {
		delivered := false
		for i := range subs {
			s := subs[(int(n)+i)%len(subs)]
			if s.p.enter() {
				s.d.Deliver(env, nil)
				s.p.leave()
				delivered = true
				break
			}
		}
		if !delivered && len(r.services) == 1 {
			return false
		}
	}
	return true
}

// localInbox returns the inbox of member m if it is joined to this
// Transport and no other connection watches its replies, for a reply that
// need not cross the server.
func (t *Transport) localInbox(m troupe.Member) (*port, bus.Deliverer) {
	if t.local == nil || !(*t.local.replies.Load())[m] {
		return nil, nil
	}
	t.mu.Lock()
	p := t.members[m]
	t.mu.Unlock()
	if p == nil || !p.opened.Load() || p.inbox == nil {
		return nil, nil
	}
	return p, p.inbox
}
