package bus

import (
	"unsafe"

	"github.com/troupe-go/troupe"
)

// envelopeWithID is an envelope the bus makes with room for its ID's
// characters beside it, so that the two cost one allocation.
type envelopeWithID struct {
	troupe.Envelope
	id [26]byte
}

// withNewID returns e in memory of its own with a new ID whose characters
// share that memory. They are written once, before the envelope is handed
// out, and never change. The ID keeps the whole allocation alive (about 300
// bytes) as long as it is kept, so whatever keeps many IDs for long (the
// durable deduplication ring, msg.go) keeps copies of its own.
func withNewID(e troupe.Envelope) *troupe.Envelope {
	p := &envelopeWithID{Envelope: e}
	b := troupe.AppendNewID(p.id[:0])
	p.ID = unsafe.String(unsafe.SliceData(b), len(b))
	return &p.Envelope
}
