// Package cputime measures the CPU time a process uses, for benchmarks: on a
// machine shared with other work, CPU time per operation stays meaningful
// where wall-clock time does not.
package cputime

import (
	"testing"
	"time"
)

// Report reports the process CPU time per operation since start (a value of
// Now) as the benchmark metric cpu-ns/op. It reports nothing where Now is not
// supported.
func Report(b *testing.B, start time.Duration) {
	if n := b.N; n > 0 && start > 0 {
		b.ReportMetric(float64(Now()-start)/float64(n), "cpu-ns/op")
	}
}
