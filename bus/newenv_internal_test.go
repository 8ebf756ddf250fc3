package bus

import (
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe"
)

// TestNewIDInSlabs: the IDs the bus makes from its slabs are valid,
// distinct and increasing, from many goroutines at once, and none changes
// after it is handed out, however many are made after it. They increase
// with troupe.NewID's, in whatever order both are made, even from a clock
// reading a second old.
func TestNewIDInSlabs(t *testing.T) {
	const goroutines, each = 8, 1000
	ids := make([][]troupe.ID, goroutines)
	copies := make([][]string, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				now := time.Now()
				if g%2 == 1 {
					now = now.Add(-time.Second)
				}
				id := newID(now)
				if i%3 == 2 {
					id = troupe.NewID()
				}
				ids[g] = append(ids[g], id)
				copies[g] = append(copies[g], string([]byte(id)))
			}
		})
	}
	wg.Wait()
	seen := map[troupe.ID]bool{}
	for g := range goroutines {
		for i, id := range ids[g] {
			if !troupe.ValidID(id) {
				t.Fatalf("newID() = %q, not an ID", id)
			}
			if id != copies[g][i] {
				t.Fatalf("ID %q changed after it was handed out (was %q)", id, copies[g][i])
			}
			if i > 0 && id <= ids[g][i-1] {
				t.Fatalf("goroutine %d: %q after %q, not increasing", g, id, ids[g][i-1])
			}
			if seen[id] {
				t.Fatalf("ID %q made twice", id)
			}
			seen[id] = true
		}
	}
}
