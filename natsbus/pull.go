package natsbus

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// pullBatch is how many envelopes one pull request may bring.
const pullBatch = 500

// defaultPullExpiry is Config.PullExpiry's default.
const defaultPullExpiry = 2 * time.Second

// pullGrace is how long past its expiry a pull request is waited for
// before it is taken as lost with the server that held it (or dropped by
// the consumer's leader, which does so without a word when the inbox's
// interest has not reached it).
const pullGrace = 3 * time.Second

// A puller brings one durable consumer's envelopes to a member. It asks
// with JetStream pull requests ($JS.API.CONSUMER.MSG.NEXT), one at a time,
// each lasting the Transport's PullExpiry on the server, and hands every
// message to deliver as it arrives; all of them come to one inbox, under
// which each request has a reply subject of its own.
//
// It exists, rather than jetstream's Consume or Fetch, for the one thing
// they do not do: never drop an inbox the server may still be sending to.
// Consume's Drain drops its inbox at once, and Fetch drops its own when
// the client's timer ends, a moment before the server expires the request
// (and later, under load, than the server's word that it did). The
// consumer's leader can be another server of the cluster, which learns
// only a moment later that the inbox has gone: a message it sends into that
// moment is lost on the way and redelivered only after AckWait (30 s by
// default), long after the request it carries has expired. Here the inbox
// stays for the member's whole life; a request ends only when its batch
// has come or the server says that it ended (its status comes on the
// request's own subject); and a member that leaves asks for nothing more
// and keeps the inbox until every request it made has ended, so nothing is
// on its way to it as it goes.
type puller struct {
	nc      *nats.Conn
	next    string // the consumer's MSG.NEXT subject
	base    string // the inbox: requests are answered on base.N
	expiry  time.Duration
	deliver func(*nats.Msg)
	failed  func(error) // a request that failed (the puller waits a little, then asks again)
	sub     *nats.Subscription
	conns   chan nats.Status // reconnections

	mu      sync.Mutex
	n       uint64              // requests made
	live    map[string]*pullReq // requests that may be on the server, by reply subject
	cur     *pullReq            // the newest: the messages that come count against it
	leaving bool                // ask for nothing more
	resume  time.Time           // after a failure, ask again only from then
	pause   time.Duration       // the wait after the next failure

	wake    chan struct{} // a request ended, or the puller is to leave (capacity 1)
	gone    chan struct{} // closed to abandon: the inbox goes at once
	done    chan struct{} // closed once the inbox has gone
	goneOne sync.Once
}

// pullReq is one pull request.
type pullReq struct {
	reply string
	left  int       // envelopes it may still bring
	until time.Time // past it, it is taken as lost
}

// The first and the longest wait after a failed pull request.
const (
	pullPause    = 50 * time.Millisecond
	pullPauseMax = time.Second
)

func startPuller(nc *nats.Conn, stream, consumer string, expiry time.Duration, deliver func(*nats.Msg), failed func(error)) (*puller, error) {
	pl := &puller{
		nc: nc, next: "$JS.API.CONSUMER.MSG.NEXT." + stream + "." + consumer, base: nc.NewInbox(),
		expiry: expiry, deliver: deliver, failed: failed,
		live: map[string]*pullReq{}, pause: pullPause,
		wake: make(chan struct{}, 1), gone: make(chan struct{}), done: make(chan struct{}),
	}
	sub, err := nc.Subscribe(pl.base+".*", pl.receive)
	if err != nil {
		return nil, err
	}
	sub.SetPendingLimits(-1, 64<<20)
	// The server has the inbox before the first request names it.
	if err := nc.FlushTimeout(10 * time.Second); err != nil {
		_ = sub.Unsubscribe()
		return nil, err
	}
	pl.sub = sub
	pl.conns = nc.StatusChanged(nats.CONNECTED)
	go pl.run()
	return pl, nil
}

// receive handles what comes to the inbox: an envelope, or a request's
// status (on the request's own subject).
func (pl *puller) receive(msg *nats.Msg) {
	if status := msg.Header.Get("Status"); status != "" && len(msg.Data) == 0 {
		if status == "100" {
			return // a heartbeat: no request asks for them
		}
		usual := status == "408" || status == "404" // expired, or nothing to bring
		pl.mu.Lock()
		if r := pl.live[msg.Subject]; r != nil {
			pl.end(r, usual)
		}
		pl.mu.Unlock()
		if !usual {
			pl.failed(fmt.Errorf("natsbus: pull request: %s %s", status, msg.Header.Get("Description")))
		}
		return
	}
	// Handed on before it is counted: once the last of a batch is
	// counted, a leaving puller may drop the inbox.
	pl.deliver(msg)
	pl.mu.Lock()
	if r := pl.cur; r != nil {
		if r.left--; r.left <= 0 {
			pl.end(r, true) // its batch has come: the server holds it no more
		}
	}
	pl.mu.Unlock()
}

// end forgets a request that has ended, well or not. pl.mu is held.
func (pl *puller) end(r *pullReq, well bool) {
	delete(pl.live, r.reply)
	if pl.cur == r {
		pl.cur = nil
	}
	if well {
		pl.pause = pullPause
	} else {
		pl.resume = time.Now().Add(pl.pause)
		pl.pause = min(2*pl.pause, pullPauseMax)
	}
	select {
	case pl.wake <- struct{}{}:
	default:
	}
}

func (pl *puller) run() {
	defer close(pl.done)
	defer pl.nc.RemoveStatusListener(pl.conns)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := time.Now()
		pl.mu.Lock()
		if pl.leaving && len(pl.live) == 0 {
			pl.mu.Unlock()
			_ = pl.sub.Unsubscribe()
			return
		}
		var ask *pullReq
		if !pl.leaving && pl.cur == nil && !now.Before(pl.resume) {
			pl.n++
			ask = &pullReq{reply: fmt.Sprintf("%s.%d", pl.base, pl.n), left: pullBatch, until: now.Add(pl.expiry + pullGrace)}
			pl.live[ask.reply], pl.cur = ask, ask
		}
		var first time.Time // when the loop must look again
		if !pl.leaving && pl.cur == nil {
			first = pl.resume
		}
		for _, r := range pl.live {
			if first.IsZero() || r.until.Before(first) {
				first = r.until
			}
		}
		pl.mu.Unlock()
		if ask != nil {
			if err := pl.ask(ask); err != nil {
				pl.mu.Lock()
				pl.end(ask, false) // it never reached the server
				pl.mu.Unlock()
				pl.failed(err)
				continue
			}
		}
		timer.Reset(max(time.Until(first), time.Millisecond))
		select {
		case <-pl.gone:
			_ = pl.sub.Unsubscribe()
			return
		case <-pl.wake:
		case <-pl.conns:
			// The request in progress may have died with the old
			// connection's server: ask again at once. The old one is
			// still waited for (its status, or its time) before the
			// inbox may go.
			pl.mu.Lock()
			pl.cur, pl.resume = nil, time.Time{}
			pl.mu.Unlock()
		case <-timer.C:
			now := time.Now()
			pl.mu.Lock()
			for _, r := range pl.live {
				if now.After(r.until) {
					pl.end(r, false) // lost with the server that held it
				}
			}
			pl.mu.Unlock()
		}
	}
}

// ask sends the pull request r.
func (pl *puller) ask(r *pullReq) error {
	req, _ := json.Marshal(struct {
		Batch   int           `json:"batch"`
		Expires time.Duration `json:"expires"`
	}{pullBatch, pl.expiry})
	if err := pl.nc.PublishRequest(pl.next, r.reply, req); err != nil {
		return fmt.Errorf("natsbus: pull request: %w", err)
	}
	return nil
}

// leave asks for nothing more; the inbox goes once every request made has
// ended and what they brought has been delivered (wait).
func (pl *puller) leave() {
	pl.mu.Lock()
	pl.leaving = true
	pl.mu.Unlock()
	select {
	case pl.wake <- struct{}{}:
	default:
	}
}

// wait waits until the inbox has gone after leave, or until ctx ends, when
// it abandons the requests still on the server.
func (pl *puller) wait(ctx context.Context) error {
	select {
	case <-pl.done:
		return nil
	case <-ctx.Done():
		pl.abandon()
		return ctx.Err()
	}
}

// abandon drops the inbox at once (what is on its way to it is redelivered
// after AckWait) and returns once it has gone.
func (pl *puller) abandon() {
	pl.goneOne.Do(func() { close(pl.gone) })
	<-pl.done
}
