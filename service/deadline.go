package service

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/troupe-go/troupe"
)

// deadlineCtx is a handler's context: its parent bounded by the envelope's
// deadline, as context.WithDeadline would make it, except that the timer that
// closes Done starts only when Done is first asked for (by the handler, or by
// a context derived from it). Most handlers reply before their deadline
// without ever waiting on Done, and so pay for no timer.
type deadlineCtx struct {
	context.Context // the parent
	deadline        time.Time

	once    sync.Once
	started atomic.Bool
	child   context.Context // context.WithDeadline(parent, deadline), once started
	cancel  context.CancelFunc
}

// withDeadline bounds ctx by the envelope's deadline, so a handler's own
// work (a database query, say) stops when the requester stops waiting.
func withDeadline(ctx context.Context, env *troupe.Envelope) (context.Context, func()) {
	if env.Deadline.IsZero() {
		return ctx, func() {}
	}
	c := &deadlineCtx{Context: ctx, deadline: env.Deadline}
	return c, c.stop
}

func (c *deadlineCtx) Deadline() (time.Time, bool) {
	if d, ok := c.Context.Deadline(); ok && d.Before(c.deadline) {
		return d, true
	}
	return c.deadline, true
}

func (c *deadlineCtx) start() context.Context {
	c.once.Do(func() {
		c.child, c.cancel = context.WithDeadline(c.Context, c.deadline)
		c.started.Store(true)
	})
	return c.child
}

func (c *deadlineCtx) Done() <-chan struct{} { return c.start().Done() }

func (c *deadlineCtx) Err() error {
	if c.started.Load() {
		return c.child.Err()
	}
	if err := c.Context.Err(); err != nil {
		return err
	}
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

// stop releases the timer, if one was started.
func (c *deadlineCtx) stop() {
	if c.started.Load() {
		c.cancel()
	}
}
