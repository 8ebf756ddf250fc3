package natsbus

import (
	"fmt"
	"testing"
	"time"

	"github.com/troupe-go/troupe"
)

// TestRawRepliesPrunedOnce: many raw requests in flight at once do not make
// each new one scan all the others for expired entries; the expired ones
// still go once their deadline has passed, and the bound holds.
func TestRawRepliesPrunedOnce(t *testing.T) {
	p := &port{}
	later := time.Now().Add(time.Hour)
	for i := range rawMax + 100 {
		p.rememberRaw(troupe.ID(fmt.Sprintf("live-%d", i)), "_INBOX.x", later)
	}
	if len(p.raw) != rawMax {
		t.Fatalf("%d raw reply subjects kept, want the bound %d", len(p.raw), rawMax)
	}
	if p.rawScans > 1 {
		t.Errorf("%d scans for %d requests none of which had expired, want at most 1", p.rawScans, rawMax+100)
	}
	// Some expire: the next request past the bound's prune point removes
	// them, once.
	q := &port{}
	past := time.Now().Add(-time.Second)
	for i := range rawPrune {
		q.rememberRaw(troupe.ID(fmt.Sprintf("old-%d", i)), "_INBOX.x", past)
	}
	for i := range 100 {
		q.rememberRaw(troupe.ID(fmt.Sprintf("new-%d", i)), "_INBOX.x", later)
	}
	if len(q.raw) != 100 || q.rawScans != 1 {
		t.Errorf("after %d expired and 100 live: %d kept, %d scans; want 100 kept after 1 scan", rawPrune, len(q.raw), q.rawScans)
	}
	if s, ok := q.rawSubject("new-7", true); !ok || s != "_INBOX.x" {
		t.Errorf("rawSubject(new-7) = %q %v", s, ok)
	}
	if _, ok := q.rawSubject("old-7", true); ok {
		t.Error("an expired raw reply subject was still there")
	}
}
