package natsbus

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-go/troupe"
)

// TestNotStoredTimeout: a durable Route that got no storage acknowledgement
// in time is a timeout however the wait ended — its context, its own timer,
// or jetstream's end of the publish's future — and the Error says a retry
// with the same id is safe.
func TestNotStoredTimeout(t *testing.T) {
	for _, cause := range []error{context.DeadlineExceeded, nats.ErrTimeout, jetstream.ErrAsyncPublishTimeout,
		fmt.Errorf("wrapped: %w", jetstream.ErrAsyncPublishTimeout)} {
		var terr *troupe.Error
		if err := notStored("order.place", cause); !errors.As(err, &terr) || terr.Code != troupe.CodeTimeout {
			t.Errorf("notStored(%v) = %v, want a timeout", cause, err)
		}
	}
	var terr *troupe.Error
	if err := notStored("order.place", nats.ErrConnectionClosed); !errors.As(err, &terr) || terr.Code != troupe.CodeUnavailable {
		t.Errorf("notStored(connection closed) = %v, want unavailable", err)
	}
}
