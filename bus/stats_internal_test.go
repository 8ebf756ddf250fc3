package bus

import (
	"testing"
	"time"
)

func TestHistogramQuantiles(t *testing.T) {
	tests := []struct {
		name          string
		observe       []time.Duration
		p50, p90, p99 time.Duration // upper bounds; the estimate must fall in (bound/√2, bound]
	}{
		{"Single", []time.Duration{3 * time.Millisecond}, 3 * time.Millisecond, 3 * time.Millisecond, 3 * time.Millisecond},
		{"Spread", func() []time.Duration {
			var ds []time.Duration
			for i := 1; i <= 100; i++ {
				ds = append(ds, time.Duration(i)*time.Millisecond)
			}
			return ds
		}(), 50 * time.Millisecond, 90 * time.Millisecond, 99 * time.Millisecond},
		{"Overflow", []time.Duration{time.Hour}, bucketBounds[nBuckets-1], bucketBounds[nBuckets-1], bucketBounds[nBuckets-1]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h histogram
			for _, d := range tt.observe {
				h.observe(d)
			}
			l := h.summary()
			if got, want := l.Count, uint64(len(tt.observe)); got != want {
				t.Errorf("count = %d, want %d", got, want)
			}
			for _, q := range []struct {
				name      string
				got, want time.Duration
			}{{"p50", l.P50, tt.p50}, {"p90", l.P90, tt.p90}, {"p99", l.P99, tt.p99}} {
				// Buckets are √2 wide: the estimate is within that factor.
				lo, hi := time.Duration(float64(q.want)/1.5), time.Duration(float64(q.want)*1.5)
				if q.got < lo || q.got > hi {
					t.Errorf("%s = %v, want within [%v, %v]", q.name, q.got, lo, hi)
				}
			}
		})
	}
}

func TestHistogramEmpty(t *testing.T) {
	var h histogram
	if got := h.summary(); got != (Latency{}) {
		t.Errorf("empty summary = %+v, want zero", got)
	}
}
