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
// share that memory. They are written
// once, before the envelope is handed out, and never change; a copy of the
// envelope keeps the memory alive as long as it keeps the ID.
func withNewID(e troupe.Envelope) *troupe.Envelope {
	p := &envelopeWithID{Envelope: e}
	b := troupe.AppendNewID(p.id[:0])
	p.ID = unsafe.String(unsafe.SliceData(b), len(b))
	return &p.Envelope
}
