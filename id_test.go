package troupe_test

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// idTime decodes the Unix milliseconds in the first 10 characters of an ID
// (48 bits, after the 2 padding bits of the first character).
func idTime(t *testing.T, id troupe.ID) time.Time {
	t.Helper()
	var ms uint64
	for i := 0; i < 10; i++ {
		v := strings.IndexByte(crockford, id[i])
		if v < 0 {
			t.Fatalf("ID %q has %q outside the alphabet", id, id[i])
		}
		ms = ms<<5 | uint64(v)
	}
	return time.UnixMilli(int64(ms))
}

func TestNewIDForm(t *testing.T) {
	before := time.Now().Truncate(time.Millisecond)
	id := troupe.NewID()
	after := time.Now()
	if got, want := len(id), 26; got != want {
		t.Errorf("len(NewID()) = %d, want %d", got, want)
	}
	if !troupe.ValidID(id) {
		t.Errorf("ValidID(%q) = false, want true", id)
	}
	if got := idTime(t, id); got.Before(before) || got.After(after) {
		t.Errorf("NewID() %q encodes time %v, want between %v and %v", id, got, before, after)
	}
}

// TestAppendNewID: the characters appended are an ID of the present time,
// after what b held, in b's own room when it has some, and later than the
// IDs made before it.
func TestAppendNewID(t *testing.T) {
	prev := troupe.NewID()
	before := time.Now().Truncate(time.Millisecond)
	b := make([]byte, 0, 64)
	b = append(b, "id="...)
	out := troupe.AppendNewID(b)
	after := time.Now()
	if &out[0] != &b[:1][0] {
		t.Error("AppendNewID took new memory although b had room")
	}
	if !strings.HasPrefix(string(out), "id=") {
		t.Fatalf("AppendNewID lost b's contents: %q", out)
	}
	id := string(out[3:])
	if !troupe.ValidID(id) {
		t.Fatalf("ValidID(%q) = false", id)
	}
	if got := idTime(t, id); got.Before(before) || got.After(after) {
		t.Errorf("ID %q encodes time %v, want between %v and %v", id, got, before, after)
	}
	if next := troupe.NewID(); !(prev < id && id < next) {
		t.Errorf("IDs out of order: %q, then %q, then %q", prev, id, next)
	}
}

func TestNewIDUniqueConcurrently(t *testing.T) {
	const goroutines, each = 8, 5000
	ids := make([][]troupe.ID, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for range each {
				ids[g] = append(ids[g], troupe.NewID())
			}
		})
	}
	wg.Wait()
	seen := make(map[troupe.ID]bool, goroutines*each)
	for g := range ids {
		// Each goroutine sees its own IDs in strictly increasing order.
		if !slices.IsSorted(ids[g]) {
			t.Errorf("goroutine %d: IDs are not in increasing order", g)
		}
		for _, id := range ids[g] {
			if seen[id] {
				t.Fatalf("NewID returned %q twice", id)
			}
			seen[id] = true
		}
	}
}

func TestNewIDMonotonic(t *testing.T) {
	prev := troupe.NewID()
	for i := range 100000 {
		id := troupe.NewID()
		if id <= prev {
			t.Fatalf("call %d: NewID() = %q, not greater than the previous %q", i, id, prev)
		}
		prev = id
	}
}

func TestNewIDSortsByTime(t *testing.T) {
	a := troupe.NewID()
	// Wait for the clock to move on by at least one millisecond; this only
	// makes the two IDs' times differ and asserts nothing about durations.
	for start := time.Now(); time.Since(start) < 2*time.Millisecond; {
		time.Sleep(time.Millisecond)
	}
	b := troupe.NewID()
	ta, tb := idTime(t, a), idTime(t, b)
	if !ta.Before(tb) {
		t.Fatalf("times %v and %v of IDs made 2ms apart are not ordered", ta, tb)
	}
	if a >= b {
		t.Errorf("ID %q made at %v does not sort before %q made at %v", a, ta, b, tb)
	}
}

func TestValidID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"01ARZ3NDEKTSV4RRFFQ69G5FAV", true}, // the ULID spec's example
		{"7ZZZZZZZZZZZZZZZZZZZZZZZZZ", true}, // the largest ULID
		{"00000000000000000000000000", true},
		{"", false},
		{"01ARZ3NDEKTSV4RRFFQ69G5FA", false},   // 25 characters
		{"01ARZ3NDEKTSV4RRFFQ69G5FAVX", false}, // 27 characters
		{"01arz3ndektsv4rrffq69g5fav", false},  // lower case
		{"8ZZZZZZZZZZZZZZZZZZZZZZZZZ", false},  // overflows 128 bits
		{"01ARZ3NDEKTSV4RRFFQ69G5FAI", false},  // I is not in the alphabet
		{"01ARZ3NDEKTSV4RRFFQ69G5FAL", false},  // nor L
		{"01ARZ3NDEKTSV4RRFFQ69G5FAO", false},  // nor O
		{"01ARZ3NDEKTSV4RRFFQ69G5FAU", false},  // nor U
		{"01ARZ3NDEKTSV4RRFFQ69G5FA-", false},
		{"01ARZ3NDEKTSV4RRFFQ69G5FA\x00", false},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			if got := troupe.ValidID(tt.id); got != tt.want {
				t.Errorf("ValidID(%q) = %v, want %v", tt.id, got, tt.want)
			}
		})
	}
}

func BenchmarkNewID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		troupe.NewID()
	}
}

func BenchmarkNewIDParallel(b *testing.B) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			troupe.NewID()
		}
	})
}

// BenchmarkBaselineTimeNow is the floor under NewID: reading the clock.
func BenchmarkBaselineTimeNow(b *testing.B) {
	for b.Loop() {
		time.Now()
	}
}

// decodeID returns the 128 bits of an ID as two halves.
func decodeID(t *testing.T, id troupe.ID) (hi, lo uint64) {
	t.Helper()
	for i := 0; i < len(id); i++ {
		v := uint64(strings.IndexByte(crockford, id[i]))
		hi = hi<<5 | lo>>59
		lo = lo<<5 | v
	}
	return hi, lo
}

// TestNewIDUnguessable checks that seeing one ID tells nothing about the
// next one's last 64 bits (the ids of requests route their replies): IDs
// made one after the other do not differ by a small step, as a counter's
// would.
func TestNewIDUnguessable(t *testing.T) {
	_, prev := decodeID(t, troupe.NewID())
	close := 0
	for range 1000 {
		_, lo := decodeID(t, troupe.NewID())
		d := lo - prev
		if lo < prev {
			d = prev - lo
		}
		if d < 1<<40 {
			close++
		}
		prev = lo
	}
	// For 64 random bits, the chance of one such pair is 2^-23.
	if close > 0 {
		t.Errorf("%d of 1000 consecutive IDs have random parts within 2^40 of the previous one; want none", close)
	}
}
