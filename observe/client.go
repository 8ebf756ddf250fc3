package observe

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// A Client asks every node of an application what an operator's tools
// want to know: over NATS (NewClient) the agents of every process and
// machine answer; on the in-process bus (Local) the agents of this process
// do. It is read-only: nothing it asks changes what the services do. Its
// methods are safe for concurrent use.
type Client struct {
	nc     *nats.Conn // nil for a local client
	app    string
	local  []*Agent
	wait   time.Duration // how long a query waits for the first answer
	settle time.Duration // and then for more
}

// NewClient returns a Client that asks over nc, a connection logged in as
// the operator (troupe.OperatorService), whose NATS user may publish the
// observe queries and subscribe to tap frames (natsbus.Permissions).
func NewClient(nc *nats.Conn, app string) *Client {
	return &Client{nc: nc, app: app, wait: 2 * time.Second, settle: 150 * time.Millisecond}
}

// Local returns a Client that asks the agents of this process: a node on
// the in-process bus has no other.
func Local(agents ...*Agent) *Client {
	return &Client{local: agents}
}

// Nodes returns every node's snapshot, ordered by node id. Over NATS it
// waits for the first answer (at most two seconds, or until ctx ends), then
// for more until none came for 150 ms: a node that is slower to answer than
// that is missing from this round, not from the next.
func (c *Client) Nodes(ctx context.Context, opts NodeOptions) ([]Node, error) {
	var out []Node
	if c.nc == nil {
		for _, a := range c.local {
			out = append(out, a.Node(ctx, opts))
		}
		return out, nil
	}
	err := c.gather(ctx, "nodes", nodesRequest(opts), func(data []byte) {
		var n Node
		if json.Unmarshal(data, &n) == nil && n.ID != "" {
			out = append(out, n)
		}
	})
	slices.SortFunc(out, func(x, y Node) int { return strings.Compare(x.ID, y.ID) })
	return out, err
}

// Activity returns the hops the nodes recorded of activity (of every
// recent activity if activity is ""), oldest first, at most limit of the
// newest per node (limit < 1: all). Nodes record only while someone asks
// them to (NodeOptions.Record), and only a sample of the activities under
// heavy traffic (Node.Sampling).
func (c *Client) Activity(ctx context.Context, activity string, limit int) ([]Hop, error) {
	var out []Hop
	if c.nc == nil {
		for _, a := range c.local {
			out = append(out, a.recorded(activity, limit)...)
		}
	} else {
		err := c.gather(ctx, "activity", activityRequest{Activity: activity, Limit: limit}, func(data []byte) {
			var r activityReply
			if json.Unmarshal(data, &r) == nil {
				out = append(out, r.Hops...)
			}
		})
		if err != nil {
			return nil, err
		}
	}
	slices.SortStableFunc(out, func(x, y Hop) int { return x.At.Compare(y.At) })
	return out, nil
}

// A TapFunc receives what a tap sees: the hops of one frame of one node,
// and how many hops that node dropped before them because the tap fell
// behind. It runs on one goroutine at a time.
type TapFunc func(node string, hops []Hop, dropped uint64)

// Tap shows the traffic that f selects, as it flows, until ctx ends: every
// node sends the hops its members see to each, in frames, about ten a
// second. It returns ctx's error, or the first error that stops it. A node
// drops hops rather than slow its traffic when the tap cannot keep up; each
// frame says how many.
func (c *Client) Tap(ctx context.Context, f Filter, each TapFunc) error {
	if err := validFilter(f); err != nil {
		return fmt.Errorf("observe: tap: %w", err)
	}
	session := newSession()
	frames := make(chan tapFrame, 64)
	var lost atomic.Uint64 // hops in frames this side could not keep
	deliver := func(fr tapFrame) error {
		select {
		case frames <- fr:
		default: // the tap fell behind: say so with its next frame
			lost.Add(uint64(len(fr.Hops)) + fr.Dropped)
		}
		return nil
	}
	const lease = 10 * time.Second
	req := tapRequest{Session: session, Filter: f, Lease: lease.Milliseconds()}
	if c.nc == nil {
		for _, a := range c.local {
			if err := a.openTap(req, deliver); err != nil {
				return fmt.Errorf("observe: tap: %w", err)
			}
		}
		defer func() {
			req.Stop = true
			for _, a := range c.local {
				_ = a.openTap(req, nil)
			}
		}()
	} else {
		sub, err := c.nc.Subscribe(TapSubject(c.app, session), func(msg *nats.Msg) {
			var fr tapFrame
			if json.Unmarshal(msg.Data, &fr) == nil {
				_ = deliver(fr)
			}
		})
		if err != nil {
			return fmt.Errorf("observe: tap: %w", err)
		}
		defer func() { _ = sub.Unsubscribe() }()
		if err := c.nc.Flush(); err != nil {
			return fmt.Errorf("observe: tap: %w", err)
		}
		open := func(ctx context.Context) error {
			return c.gather(ctx, "tap", req, func([]byte) {})
		}
		if err := open(ctx); err != nil {
			return err
		}
		defer func() {
			req.Stop = true
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			defer cancel()
			_ = open(sctx)
		}()
		renew := time.NewTicker(lease / 3)
		defer renew.Stop()
		rctx, stopRenew := context.WithCancel(ctx)
		renewed := make(chan struct{})
		defer func() {
			stopRenew()
			<-renewed
		}()
		go func() {
			defer close(renewed)
			ctx := rctx
			for {
				select {
				case <-ctx.Done():
					return
				case <-renew.C:
					_ = open(ctx) // new nodes join the session too
				}
			}
		}()
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case fr := <-frames:
			each(fr.Node, fr.Hops, fr.Dropped+lost.Swap(0))
		}
	}
}

// gather publishes a query and passes every answer to each: until none
// came for c.settle after the first, c.wait without any, or ctx's end.
func (c *Client) gather(ctx context.Context, what string, req any, each func([]byte)) error {
	data, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("observe: %s: %w", what, err)
	}
	inbox := c.nc.NewInbox()
	ch := make(chan *nats.Msg, 256)
	sub, err := c.nc.ChanSubscribe(inbox, ch)
	if err != nil {
		return fmt.Errorf("observe: %s: %w", what, err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := c.nc.PublishRequest(ObserveSubject(c.app, what), inbox, data); err != nil {
		return fmt.Errorf("observe: %s: %w", what, err)
	}
	timer := time.NewTimer(c.wait)
	defer timer.Stop()
	got := 0
	for {
		select {
		case <-ctx.Done():
			if got > 0 {
				return nil
			}
			return fmt.Errorf("observe: %s: %w", what, ctx.Err())
		case <-timer.C:
			if got == 0 {
				return fmt.Errorf("observe: %s: %w", what, errNoNode)
			}
			return nil
		case msg := <-ch:
			if len(msg.Data) == 0 {
				continue // a no-responders status
			}
			got++
			each(msg.Data)
			timer.Reset(c.settle)
		}
	}
}

// errNoNode is the error of a query that no node answered.
var errNoNode = errors.New("no node answered (is the application running, and on this NATS server?)")

// newSession returns a random tap session id.
func newSession() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}
