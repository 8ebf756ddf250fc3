package bus

import "testing"

// TestReplySpin: a client yields while its replies come during the yields,
// stops after spinCredit misses in a row, and tries again once every
// spinProbe requests; one reply found while yielding restores the credit.
func TestReplySpin(t *testing.T) {
	var s replySpin
	s.init()
	never := make(chan struct{}) // a reply that does not come in time
	for i := range spinCredit {
		if !s.try() {
			t.Fatalf("miss %d: try = false, want true while credit is left", i)
		}
		if s.await(never) {
			t.Fatal("await = true with no signal")
		}
	}
	for i := range spinProbe {
		if s.try() {
			t.Fatalf("request %d after %d misses: try = true, want false until the probe", i, spinCredit)
		}
	}
	if !s.try() {
		t.Fatalf("request %d: try = false, want the probe", spinProbe)
	}
	quick := make(chan struct{}, 1)
	quick <- struct{}{}
	if !s.await(quick) {
		t.Fatal("await = false with a signal waiting")
	}
	if len(quick) != 0 {
		t.Error("await left the signal in the channel")
	}
	for i := range spinCredit - 1 {
		if !s.try() {
			t.Fatalf("after a hit, miss %d: try = false, want the full credit back", i)
		}
		s.await(never)
	}
	if !s.try() {
		t.Error("after a hit and 7 misses: try = false, want true")
	}
}
