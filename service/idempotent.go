package service

import (
	"context"
	"strconv"

	"github.com/troupe-go/troupe/bus"
)

// IdempotencyKey returns the id of the message a handler is handling: the same
// on every redelivery of a durable message and on every retry of an
// idempotent request (see Idempotent), and different for every message
// sent. A durable message is delivered at least once, and a retried request
// may arrive twice (its first attempt may have been handled after its
// caller stopped waiting), so such a handler must be idempotent: record the
// key with the handler's effect, in the same transaction, under a unique
// constraint, and treat a second record of the same key as "already done"
// (the todo service's store does exactly this). It returns "" outside a
// handler.
func IdempotencyKey(ctx context.Context) string {
	if env := bus.EnvelopeFrom(ctx); env != nil {
		return env.ID
	}
	return ""
}

// Attempt returns which delivery attempt of the message being handled this
// is, from 1; it is above 1 only for a redelivered durable message or a
// retried request. It returns 0 outside a handler.
func Attempt(ctx context.Context) int {
	env := bus.EnvelopeFrom(ctx)
	if env == nil {
		return 0
	}
	if n, err := strconv.Atoi(env.Headers[bus.HeaderAttempt]); err == nil && n > 1 {
		return n
	}
	return 1
}
