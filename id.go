package troupe

import (
	"crypto/rand"
	"encoding/binary"
	"sync/atomic"
	"time"
)

// An ID is a 26-character identifier in the form of a ULID (Crockford base32
// of 48 bits of Unix milliseconds followed by 80 bits that make it unique).
// IDs sort by creation time as strings, and within one process strictly in
// the order they were made. Messages and activities are identified by IDs.
type ID = string

// idNode makes IDs from different processes differ; idSeq makes IDs from one
// process differ and increase.
var (
	idNode uint16
	idSeq  atomic.Uint64
)

func init() {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand never fails on supported platforms (it panics
		// itself since Go 1.24); keep a time-derived fallback anyway.
		binary.BigEndian.PutUint64(b[2:], uint64(time.Now().UnixNano()))
	}
	idNode = binary.BigEndian.Uint16(b[:2])
	// Start the sequence at a random point with room for 2^62 IDs.
	idSeq.Store(binary.BigEndian.Uint64(b[2:]) >> 2)
}

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewID returns a new ID. It is safe for concurrent use and does not block.
func NewID() ID {
	var b [16]byte
	ms := uint64(time.Now().UnixMilli())
	b[0] = byte(ms >> 40)
	b[1] = byte(ms >> 32)
	b[2] = byte(ms >> 24)
	b[3] = byte(ms >> 16)
	b[4] = byte(ms >> 8)
	b[5] = byte(ms)
	binary.BigEndian.PutUint16(b[6:8], idNode)
	binary.BigEndian.PutUint64(b[8:16], idSeq.Add(1))
	return encodeID(&b)
}

// encodeID writes 128 bits as 26 Crockford base32 characters, most
// significant first (the first character carries the top 3 bits).
func encodeID(b *[16]byte) string {
	hi := binary.BigEndian.Uint64(b[0:8])
	lo := binary.BigEndian.Uint64(b[8:16])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// ValidID reports whether s has the form of an ID: 26 characters of the
// Crockford base32 alphabet (upper case), the first no greater than '7'.
func ValidID(s string) bool {
	if len(s) != 26 || s[0] > '7' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' && c != 'I' && c != 'L' && c != 'O' && c != 'U') {
			return false
		}
	}
	return true
}

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
