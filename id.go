package troupe

import (
	"crypto/rand"
	"encoding/binary"
	mrand "math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// An ID is a 26-character identifier in the form of a ULID (Crockford base32
// of 48 bits of Unix milliseconds followed by 80 more bits). IDs sort by
// creation time as strings, and within one process strictly in the order
// they were made. Messages and activities are identified by IDs.
//
// An ID made by NewID cannot be guessed from the IDs seen before it: its
// last 64 bits come from a cryptographically secure generator. This matters
// because the id of a request routes its replies (docs/protocol.md,
// "Identity"): a process that cannot guess a pending request's id cannot
// answer it.
type ID = string

// idClock is the last (milliseconds << 16 | sequence) this process gave
// out: the first 64 bits of the last ID. Each NewID takes a value above it.
var idClock atomic.Uint64

// idRand hands out secure generators: math/rand/v2's ChaCha8 is a
// cryptographically strong generator (its documentation says so), each one
// seeded from crypto/rand and used by one goroutine at a time. It is about
// three times as fast as reading crypto/rand for every ID.
var idRand = sync.Pool{New: func() any {
	var seed [32]byte
	// crypto/rand.Read never returns an error (it panics itself when the
	// system's generator fails, since Go 1.24).
	_, _ = rand.Read(seed[:])
	return mrand.NewChaCha8(seed)
}}

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewID returns a new ID: 48 bits of Unix milliseconds, a 16-bit sequence
// within the millisecond (so that the IDs of one process increase
// strictly, even when the clock steps back), and 64 random bits. It is
// safe for concurrent use and does not block.
func NewID() ID {
	b := newIDBits(time.Now())
	var out [idLen]byte
	encodeID(&b, &out)
	return string(out[:])
}

// AppendNewID appends the 26 characters of a new ID (NewID) to b and
// returns the extended slice: with b's room part of a larger allocation
// (the bus makes its IDs in slabs of eight), an ID costs no allocation of
// its own.
func AppendNewID(b []byte) []byte {
	bits := newIDBits(time.Now())
	var out [idLen]byte
	encodeID(&bits, &out)
	return append(b, out[:]...)
}

// idLen is the length of an ID.
const idLen = 26

// newIDBits returns the 128 bits of a new ID made at now.
func newIDBits(now time.Time) [16]byte {
	ms := uint64(now.UnixMilli()) << 16
	var v uint64
	for {
		last := idClock.Load()
		v = max(ms, last+1)
		if idClock.CompareAndSwap(last, v) {
			break
		}
	}
	g := idRand.Get().(*mrand.ChaCha8)
	r := g.Uint64()
	idRand.Put(g)
	var b [16]byte
	// v's top 48 bits are the milliseconds (the sequence may carry into
	// them after 65,536 IDs in one millisecond: the IDs stay ordered).
	binary.BigEndian.PutUint64(b[0:8], v)
	binary.BigEndian.PutUint64(b[8:16], r)
	return b
}

// encodeID writes 128 bits as 26 Crockford base32 characters, most
// significant first (the first character carries the top 3 bits).
func encodeID(b *[16]byte, out *[idLen]byte) {
	hi := binary.BigEndian.Uint64(b[0:8])
	lo := binary.BigEndian.Uint64(b[8:16])
	for i := idLen - 1; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
}

// ValidID reports whether s has the form of an ID: 26 characters of the
// Crockford base32 alphabet (upper case), the first no greater than '7'.
func ValidID(s string) bool {
	if len(s) != idLen || s[0] > '7' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !idChar[s[i]] {
			return false
		}
	}
	return true
}

// idChar tells the bytes of the Crockford alphabet.
var idChar = func() (t [256]bool) {
	for i := 0; i < len(crockford); i++ {
		t[crockford[i]] = true
	}
	return t
}()

// instanceAlphabet spells instance suffixes: lower-case Crockford base32, so
// that an instance id is a valid service name (ValidServiceName).
const instanceAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// instanceSuffixLen is the length of the random part of an instance id: 60
// bits, so that ids of instances started anywhere do not collide.
const instanceSuffixLen = 12

// NewInstanceID returns a new id for an instance of service: the service's
// name (cut to leave room), a '-' and 12 random characters, such as
// "hello-3kq9v0m2x7cd". Ids are unique across processes and machines, and
// valid wherever ValidServiceName is required (NATS subjects, user names).
func NewInstanceID(service string) string {
	var b [instanceSuffixLen]byte
	_, _ = rand.Read(b[:])
	prefix := service
	if max := MaxServiceLen - instanceSuffixLen - 1; len(prefix) > max {
		prefix = prefix[:max]
	}
	out := make([]byte, 0, len(prefix)+1+instanceSuffixLen)
	out = append(append(out, prefix...), '-')
	for _, c := range b {
		out = append(out, instanceAlphabet[c&31])
	}
	return string(out)
}
