// Package ids makes the IDs of troupe.NewID: the root package hands them
// out, and the bus makes its envelopes' IDs here from the clock reading it
// takes for the envelope anyway (one reading of the clock, not two). Every
// ID of a process comes from this package's one clock and sequence, so the
// IDs of a process increase strictly whoever makes them.
package ids

import (
	"crypto/rand"
	"encoding/binary"
	mrand "math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Len is the length of an ID.
const Len = 26

// Alphabet is the Crockford base32 alphabet IDs are written in.
const Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// clock is the last (milliseconds << 16 | sequence) this process gave out:
// the first 64 bits of the last ID. Each new ID takes a value above it.
var clock atomic.Uint64

// gens hands out secure generators: math/rand/v2's ChaCha8 is a
// cryptographically strong generator (its documentation says so), each one
// seeded from crypto/rand and used by one goroutine at a time. It is about
// three times as fast as reading crypto/rand for every ID.
var gens = sync.Pool{New: func() any {
	var seed [32]byte
	// crypto/rand.Read never returns an error (it panics itself when the
	// system's generator fails, since Go 1.24).
	_, _ = rand.Read(seed[:])
	return mrand.NewChaCha8(seed)
}}

// AppendAt appends the Len characters of a new ID made at now to b: 48
// bits of now's Unix milliseconds, a 16-bit sequence within the
// millisecond (so that the IDs of one process increase strictly, even when
// the clock steps back or now is a moment old), and 64 random bits.
func AppendAt(b []byte, now time.Time) []byte {
	bits := newBits(now)
	var out [Len]byte
	encode(&bits, &out)
	return append(b, out[:]...)
}

// newBits returns the 128 bits of a new ID made at now.
func newBits(now time.Time) [16]byte {
	ms := uint64(now.UnixMilli()) << 16
	var v uint64
	for {
		last := clock.Load()
		v = max(ms, last+1)
		if clock.CompareAndSwap(last, v) {
			break
		}
	}
	g := gens.Get().(*mrand.ChaCha8)
	r := g.Uint64()
	gens.Put(g)
	var b [16]byte
	// v's top 48 bits are the milliseconds (the sequence may carry into
	// them after 65,536 IDs in one millisecond: the IDs stay ordered).
	binary.BigEndian.PutUint64(b[0:8], v)
	binary.BigEndian.PutUint64(b[8:16], r)
	return b
}

// encode writes 128 bits as Len Crockford base32 characters, most
// significant first (the first character carries the top 3 bits).
func encode(b *[16]byte, out *[Len]byte) {
	hi := binary.BigEndian.Uint64(b[0:8])
	lo := binary.BigEndian.Uint64(b[8:16])
	for i := Len - 1; i >= 0; i-- {
		out[i] = Alphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
}
