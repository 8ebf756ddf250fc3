package web

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/examples/todo/store"
	"github.com/troupe-go/troupe/examples/todo/todo"
	"github.com/troupe-go/troupe/gateway"
)

// hub fans the todo service's events out to the browsers connected to the
// live endpoint, each through a bounded queue: a browser whose queue is full
// is disconnected (it reconnects and catches up), so a slow browser never
// delays the others.
//
// An idle browser costs little more than the WebSocket library's own state
// and two small buffers (smallBuffers): once the connection is accepted the HTTP handler
// returns, freeing its goroutine, the request and net/http's per-request
// buffers; one goroutine per connection reads it (the library answers pings
// and the close; browsers send nothing else); a goroutine that writes runs
// only while there is something to write, to ping or to close; and the
// queue holds no memory while it is empty.
type hub struct {
	queue int
	write time.Duration
	ping  time.Duration

	mu     sync.Mutex
	conns  map[*liveConn]struct{}
	lists  map[string]map[*liveConn]struct{}
	closed bool
	wg     sync.WaitGroup // one per registered connection, until its reader is done
	drops  int            // connections dropped for being slow
}

// liveConn is one browser's connection: its user's, for one list the user
// may see. Its writer (run) is a goroutine that wake starts when there is
// work and that ends when there is none.
type liveConn struct {
	list string
	user string
	kick chan struct{} // closed when the hub drops the connection
	once sync.Once

	ws    *websocket.Conn // nil in the hub's own tests: nothing is written
	write time.Duration   // bounds each write and each ping's pong
	ping  time.Duration   // 0: never

	mu        sync.Mutex
	q         [][]byte // events to write, at most the hub's queue; nil when empty
	running   bool     // a writer runs; after a close or a failed write, none may start
	pingDue   bool
	closeCode websocket.StatusCode // nonzero: close the connection with it
	reason    string
	done      bool // the reader has finished: nothing more is written
	timer     *time.Timer
	writers   sync.WaitGroup
}

func (c *liveConn) drop() {
	c.once.Do(func() {
		close(c.kick)
		c.closeWith(websocket.StatusPolicyViolation, "too slow: reconnect")
	})
}

func newHub(queue int, write, ping time.Duration) *hub {
	return &hub{
		queue: queue, write: write, ping: ping,
		conns: map[*liveConn]struct{}{},
		lists: map[string]map[*liveConn]struct{}{},
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
	c.mu.Lock()
	full := len(c.q) >= h.queue
	if !full {
		c.q = append(c.q, msg)
	}
	c.mu.Unlock()
	if full {
		h.drops++
		c.drop()
		return
	}
	c.wake()
}

// publish sends an event to the connections that follow its list, or, for
// a new or newly shared list, to every connection of the user it is for (so
// that their list switchers show it). A connection was opened by a user who
// may see its list (serveLive); no other user's browser hears of it.
func (h *hub) publish(ev todo.Event) error {
	msg, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if ev.Kind == todo.KindListCreated || ev.Kind == todo.KindListShared {
		for c := range h.conns {
			if ev.User != "" && c.user == ev.User {
				h.offer(c, msg)
			}
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

// close disconnects every browser and waits until their connections are
// closed.
func (h *hub) close(ctx context.Context) error {
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		for c := range h.conns {
			c.closeWith(websocket.StatusGoingAway, "server shutting down")
		}
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
// as JSON text messages, starting with a state message. It needs a session
// (the pages' middleware) whose user may see the list: another user's list
// is not found, before any upgrade. The handler returns once the connection
// is registered; readLive and the connection's writer serve it from then on.
func (wb *Handler) serveLive(w http.ResponseWriter, r *http.Request) {
	list := r.URL.Query().Get("list")
	if !store.ValidID(list) {
		http.Error(w, "web: live: invalid list id", http.StatusBadRequest)
		return
	}
	p := principal(r)
	if p == nil {
		http.Error(w, "web: live: log in first", http.StatusUnauthorized)
		return
	}
	actx, cancel := context.WithTimeout(r.Context(), wb.timeout)
	// Whether the user may see the list; one todo is the least a listing
	// reads.
	_, err := todo.List.Call(actx, wb.svc, todo.ListTodos{List: list, Limit: 1})
	cancel()
	if err != nil {
		code := troupe.CodeOf(err)
		http.Error(w, "web: live: "+errMsg(err), gateway.StatusOf(code))
		return
	}
	// The Origin is checked by Accept (it must be this page's host) and,
	// before, by the node's protection against other hosts and origins.
	ws, err := websocket.Accept(smallBuffers{w}, r, nil)
	if err != nil {
		return // Accept has answered
	}
	ws.SetReadLimit(1 << 10)
	c := &liveConn{list: list, user: p.ID, kick: make(chan struct{}), ws: ws, write: wb.hub.write, ping: wb.hub.ping}
	if !wb.hub.add(c) {
		ws.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	// Registered first, then asked: every change after the listing's state
	// is in the queue, so the browser can tell whether it missed any. The
	// request's context ends when this handler returns; its values stay.
	wb.hub.wg.Add(1) // the connection's own count is held: this Add cannot race with Wait
	go func() {
		defer wb.hub.wg.Done()
		wb.sendState(context.WithoutCancel(r.Context()), c)
	}()
	go wb.readLive(c)
}

// readLive reads the browser's side of the connection until it closes: the
// library answers pings and close frames and hands pongs to Ping; a data
// message, which browsers do not send here, closes the connection. It then
// waits for the writer and unregisters the connection.
func (wb *Handler) readLive(c *liveConn) {
	defer wb.hub.wg.Done()
	defer wb.hub.remove(c)
	c.startPings()
	for {
		if _, _, err := c.ws.Read(context.Background()); err != nil {
			break
		}
		c.closeWith(websocket.StatusPolicyViolation, "unexpected data message")
	}
	c.finish()
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
	if _, ok := wb.hub.conns[c]; ok {
		wb.hub.offer(c, msg)
	}
}

// wake starts the writer unless one runs (or none may).
func (c *liveConn) wake() {
	if c.claim() {
		go c.run()
	}
}

// claim makes the caller the writer, who then calls run.
func (c *liveConn) claim() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ws == nil || c.running || c.done {
		return false
	}
	c.running = true
	c.writers.Add(1)
	return true
}

// closeWith has the writer close the connection with code (the first
// reason given wins).
func (c *liveConn) closeWith(code websocket.StatusCode, reason string) {
	c.mu.Lock()
	if c.closeCode == 0 {
		c.closeCode, c.reason = code, reason
	}
	c.mu.Unlock()
	c.wake()
}

// startPings arms the ping timer; its callback's goroutine becomes the
// writer, or leaves the ping to the one that runs.
func (c *liveConn) startPings() {
	if c.ping <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.timer = time.AfterFunc(c.ping, func() {
		c.mu.Lock()
		c.pingDue = true
		c.mu.Unlock()
		if c.claim() {
			c.run()
		}
	})
}

// run is the writer: the close first, then the queued events in order, then
// a due ping. It returns when there is nothing left to do, or after the
// close or a failed write, which end the connection (the reader sees it).
func (c *liveConn) run() {
	defer c.writers.Done()
	for {
		c.mu.Lock()
		switch {
		case c.closeCode != 0:
			code, reason := c.closeCode, c.reason
			c.mu.Unlock()
			c.ws.Close(code, reason)
			return // running stays set: nothing is written after the close
		case len(c.q) > 0:
			msg := c.q[0]
			c.q[0] = nil
			c.q = c.q[1:]
			if len(c.q) == 0 {
				c.q = nil // an idle connection holds no queue
			}
			c.mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), c.write)
			err := c.ws.Write(ctx, websocket.MessageText, msg)
			cancel()
			if err != nil {
				c.ws.CloseNow()
				return
			}
		case c.pingDue:
			c.pingDue = false
			c.mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), c.write)
			err := c.ws.Ping(ctx)
			cancel()
			if err != nil {
				c.ws.CloseNow()
				return
			}
			c.mu.Lock()
			if !c.done {
				c.timer.Reset(c.ping)
			}
			c.mu.Unlock()
		default:
			c.running = false
			c.mu.Unlock()
			return
		}
	}
}

// finish is called by the reader once the connection is closed: no writer
// starts after it, the one that runs (whose writes now fail at once) is
// waited for, and the ping timer is stopped.
func (c *liveConn) finish() {
	c.mu.Lock()
	c.done = true
	if c.timer != nil {
		c.timer.Stop()
	}
	c.mu.Unlock()
	c.ws.CloseNow()
	c.writers.Wait()
}
