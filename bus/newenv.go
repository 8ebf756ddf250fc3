package bus

import (
	"sync"
	"time"
	"unsafe"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/internal/ids"
)

// The IDs of the envelopes the bus makes are strings over the characters of
// an idSlab, idsPerSlab IDs each, so that an ID costs an allocation only
// once in idsPerSlab. A slab holds no pointers: an ID kept for long (a
// handler's idempotency key in a user's map, say) keeps its slab alive,
// 208 bytes, and never the envelope, payload or value it was made for.
// The characters of an ID are written once, before it is handed out, and a
// full slab is never written again.
const idsPerSlab = 8

type idSlab struct {
	buf [idsPerSlab * 26]byte
	n   int // IDs handed out
}

var idSlabs = sync.Pool{New: func() any { return new(idSlab) }}

// newID returns a new ID (troupe.NewID) made at now, the clock reading of
// the envelope it is for, in a slab's memory.
func newID(now time.Time) troupe.ID {
	s := idSlabs.Get().(*idSlab)
	if s.n == idsPerSlab {
		s = new(idSlab)
	}
	at := s.n * 26
	b := ids.AppendAt(s.buf[at:at:len(s.buf)], now)
	s.n++
	idSlabs.Put(s)
	return unsafe.String(unsafe.SliceData(b), len(b))
}
