package troupe

import (
	"crypto/rand"
	"time"

	"github.com/troupe-go/troupe/internal/ids"
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

// NewID returns a new ID: 48 bits of Unix milliseconds, a 16-bit sequence
// within the millisecond (so that the IDs of one process increase
// strictly, even when the clock steps back), and 64 random bits. It is
// safe for concurrent use and does not block.
func NewID() ID {
	var out [ids.Len]byte
	return string(ids.AppendAt(out[:0], time.Now()))
}

// AppendNewID appends the 26 characters of a new ID (NewID) to b and
// returns the extended slice: with b's room part of a larger allocation
// (the bus makes its IDs in slabs of eight), an ID costs no allocation of
// its own.
func AppendNewID(b []byte) []byte { return ids.AppendAt(b, time.Now()) }

// ValidID reports whether s has the form of an ID: 26 characters of the
// Crockford base32 alphabet (upper case), the first no greater than '7'.
func ValidID(s string) bool {
	if len(s) != ids.Len || s[0] > '7' {
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
	for i := 0; i < len(ids.Alphabet); i++ {
		t[ids.Alphabet[i]] = true
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
