package natsbus

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// pullBatch is how many envelopes one pull request may bring.
const pullBatch = 500

// defaultPullExpiry is Config.PullExpiry's default.
const defaultPullExpiry = 2 * time.Second

// A puller brings one durable consumer's envelopes to a member: one pull
// request at a time (jetstream's Fetch), each lasting at most the
// Transport's PullExpiry on the server, handing every message to deliver
// as it arrives.
//
// It replaces jetstream's Consume for the way it stops. Consume's Drain
// drops its inbox at once, while the server may still be sending to it:
// the consumer's leader can be another server of the cluster, which learns
// a moment later that the inbox has gone, and a message it sends into that
// moment is lost on the way and redelivered only after AckWait (30 s by
// default), long after the request it carries has expired. A puller that
// leaves asks for nothing more and waits for its last request to end,
// with its batch full or the server's word that it expired: the server then
// holds no request of the member's and sends it nothing more, so nothing is
// in flight to it as it goes.
type puller struct {
	cons    jetstream.Consumer
	expiry  time.Duration
	deliver func(jetstream.Msg)
	failed  func(error) // a pull that failed (logged; the puller retries)

	leave   chan struct{}      // closed: ask for nothing more
	abandon context.CancelFunc // ends the request in progress at once
	ctx     context.Context    // ended by abandon
	done    chan struct{}      // closed once the loop has returned
	// reconnected signals a new connection: the request in progress may
	// have died with the old one, so it is abandoned for a new one.
	reconnected chan nats.Status
	nc          *nats.Conn
}

func startPuller(nc *nats.Conn, cons jetstream.Consumer, expiry time.Duration, deliver func(jetstream.Msg), failed func(error)) *puller {
	ctx, cancel := context.WithCancel(context.Background())
	pl := &puller{
		cons: cons, expiry: expiry, deliver: deliver, failed: failed,
		leave: make(chan struct{}), abandon: cancel, ctx: ctx, done: make(chan struct{}),
		reconnected: nc.StatusChanged(nats.CONNECTED), nc: nc,
	}
	go pl.run()
	return pl
}

func (pl *puller) run() {
	defer close(pl.done)
	defer pl.nc.RemoveStatusListener(pl.reconnected)
	wait := 50 * time.Millisecond
	for {
		select {
		case <-pl.leave:
			return
		case <-pl.ctx.Done():
			return
		default:
		}
		err := pl.pull()
		if err == nil {
			wait = 50 * time.Millisecond
			continue
		}
		if pl.ctx.Err() != nil {
			return
		}
		pl.failed(err)
		select { // the server may be electing a leader, or away
		case <-pl.leave:
			return
		case <-pl.ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// pull makes one request and delivers what it brings until it ends.
func (pl *puller) pull() error {
	// The server ends the request at 90 % of the context's time (at most a
	// second before it), so that its word that the request expired comes
	// before the client gives up waiting for it.
	ctx, cancel := context.WithTimeout(pl.ctx, pl.expiry)
	defer cancel()
	batch, err := pl.cons.Fetch(pullBatch, jetstream.FetchContext(ctx))
	if err != nil {
		return err
	}
	msgs := batch.Messages()
	for {
		select {
		case msg, ok := <-msgs:
			if !ok {
				err := batch.Error()
				if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
					return nil // abandoned, or the server's word never came
				}
				return err
			}
			pl.deliver(msg)
		case <-pl.reconnected:
			cancel()
		}
	}
}

// stop asks for nothing more and waits until the request in progress has
// ended and what it brought has been delivered, or until ctx ends; then, or
// right away if abandon, it abandons the request.
func (pl *puller) stop(ctx context.Context, abandon bool) error {
	select {
	case <-pl.leave:
	default:
		close(pl.leave)
	}
	if abandon {
		pl.abandon()
	}
	select {
	case <-pl.done:
		return nil
	case <-ctx.Done():
		pl.abandon()
		<-pl.done
		return ctx.Err()
	}
}
