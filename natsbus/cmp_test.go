package natsbus_test

import (
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/troupe-go/troupe"
)

// cmpEnvelope compares envelopes as the wire carries them: times to the
// nanosecond in UTC, a nil payload as JSON null.
func cmpEnvelope(got, want *troupe.Envelope) string {
	return cmp.Diff(got, want, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) }))
}

func cmpStrings(got, want []string) string { return cmp.Diff(got, want) }
