package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/troupe-go/troupe/examples/todo/store"
	"github.com/troupe-go/troupe/examples/todo/todo"
)

// hub fans the todo service's events out to the browsers connected to the
// live endpoint, each through a bounded queue: a browser whose queue is full
// is disconnected (it reconnects and catches up), so a slow browser never
// delays the others.
type hub struct {
	queue int
	write time.Duration
	ping  time.Duration

	mu     sync.Mutex
	conns  map[*liveConn]struct{}
	lists  map[string]map[*liveConn]struct{}
	closed bool
	done   chan struct{} // closed by Close: every connection ends
	wg     sync.WaitGroup
	drops  int // connections dropped for being slow
}

// liveConn is one browser's connection.
type liveConn struct {
	list string
	q    chan []byte
	kick chan struct{} // closed when the hub drops the connection
	once sync.Once
}

func (c *liveConn) drop() { c.once.Do(func() { close(c.kick) }) }

func newHub(queue int, write, ping time.Duration) *hub {
	return &hub{
		queue: queue, write: write, ping: ping,
		conns: map[*liveConn]struct{}{},
		lists: map[string]map[*liveConn]struct{}{},
		done:  make(chan struct{}),
	}
}

// add registers a connection for list; it returns false after close.
func (h *hub) add(c *liveConn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.conns[c] = struct{}{}
	m := h.lists[c.list]
	if m == nil {
		m = map[*liveConn]struct{}{}
		h.lists[c.list] = m
	}
	m[c] = struct{}{}
	h.wg.Add(1)
	return true
}

func (h *hub) remove(c *liveConn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.conns, c)
	if m := h.lists[c.list]; m != nil {
		delete(m, c)
		if len(m) == 0 {
			delete(h.lists, c.list)
		}
	}
}

// offer queues msg for c or, if c's queue is full, drops c. h.mu is held.
func (h *hub) offer(c *liveConn, msg []byte) {
	select {
	case <-c.kick:
		return // dropped already, on its way out
	default:
	}
	select {
	case c.q <- msg:
	default:
		h.drops++
		c.drop()
	}
}

// publish sends an event to the connections that follow its list (every
// connection for a new list, so that list switchers can show it).
func (h *hub) publish(ev todo.Event) error {
	msg, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if ev.Kind == todo.KindListCreated {
		for c := range h.conns {
			h.offer(c, msg)
		}
		return nil
	}
	for c := range h.lists[ev.List] {
		h.offer(c, msg)
	}
	return nil
}

// count returns the number of connections and of those dropped for being
// slow.
func (h *hub) count() (conns, drops int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns), h.drops
}

// close disconnects every browser and waits until their handlers returned.
func (h *hub) close(ctx context.Context) error {
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		close(h.done)
	}
	h.mu.Unlock()
	ch := make(chan struct{})
	go func() { h.wg.Wait(); close(ch) }()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stateMsg tells a browser the epoch and sequence number of its list as the
// service has it now; a browser that is behind asks for the page again.
type stateMsg struct {
	Kind  string `json:"kind"` // "state"
	List  string `json:"list"`
	Epoch string `json:"epoch"`
	Seq   uint64 `json:"seq"`
}

// serveLive is GET /live?list=ID: a WebSocket that carries the list's events
// as JSON text messages, starting with a state message.
func (wb *Handler) serveLive(w http.ResponseWriter, r *http.Request) {
	list := r.URL.Query().Get("list")
	if list == "" {
		list = store.DefaultListID
	}
	if !store.ValidID(list) {
		http.Error(w, "web: live: invalid list id", http.StatusBadRequest)
		return
	}
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return // Accept has answered
	}
	defer ws.CloseNow()
	ws.SetReadLimit(1 << 10)
	c := &liveConn{list: list, q: make(chan []byte, wb.hub.queue), kick: make(chan struct{})}
	if !wb.hub.add(c) {
		ws.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	defer wb.hub.wg.Done()
	defer wb.hub.remove(c)

	// Registered first, then asked: every change after the listing's state
	// is in the queue, so the browser can tell whether it missed any.
	ctx, cancel := context.WithCancel(ws.CloseRead(r.Context()))
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Add(1)
	go func() {
		defer wg.Done()
		wb.sendState(ctx, c)
	}()

	var tick <-chan time.Time
	if wb.hub.ping > 0 {
		t := time.NewTicker(wb.hub.ping)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case msg := <-c.q:
			wctx, cancel := context.WithTimeout(ctx, wb.hub.write)
			err := ws.Write(wctx, websocket.MessageText, msg)
			cancel()
			if err != nil {
				return
			}
		case <-tick:
			pctx, cancel := context.WithTimeout(ctx, wb.hub.write)
			err := ws.Ping(pctx)
			cancel()
			if err != nil {
				return
			}
		case <-c.kick:
			ws.Close(websocket.StatusPolicyViolation, "too slow: reconnect")
			return
		case <-wb.hub.done:
			ws.Close(websocket.StatusGoingAway, "server shutting down")
			return
		case <-ctx.Done():
			return
		}
	}
}

// sendState asks the todo service for the list's state and queues it.
func (wb *Handler) sendState(ctx context.Context, c *liveConn) {
	ctx, cancel := context.WithTimeout(ctx, wb.timeout)
	defer cancel()
	// One todo is the least a listing reads: the state costs the same
	// whatever the size of the list.
	st, err := todo.List.Call(ctx, wb.svc, todo.ListTodos{List: c.list, Limit: 1})
	var msg []byte
	if err != nil {
		msg, _ = json.Marshal(map[string]string{"kind": "error", "error": err.Error()})
	} else {
		msg, _ = json.Marshal(stateMsg{Kind: "state", List: c.list, Epoch: st.Epoch, Seq: st.Seq})
	}
	wb.hub.mu.Lock()
	defer wb.hub.mu.Unlock()
	if _, ok := wb.hub.conns[c]; ok && !errors.Is(ctx.Err(), context.Canceled) {
		wb.hub.offer(c, msg)
	}
}
