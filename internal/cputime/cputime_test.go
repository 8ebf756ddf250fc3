package cputime

import (
	"runtime"
	"testing"
	"time"
)

func TestNowGrowsWithWork(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("no process CPU time here")
	}
	start := Now()
	if start <= 0 {
		t.Fatalf("Now() = %v, want a positive CPU time", start)
	}
	// Spin until the process has used a measurable amount of CPU.
	deadline := time.Now().Add(10 * time.Second)
	x := 0
	for Now()-start < 10*time.Millisecond {
		if time.Now().After(deadline) {
			t.Fatal("10 s of spinning used less than 10 ms of CPU")
		}
		for i := 0; i < 1e5; i++ {
			x += i
		}
	}
	_ = x
}
