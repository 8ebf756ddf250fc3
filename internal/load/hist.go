package load

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// hist is a latency histogram safe for concurrent use: 64 powers of two of
// nanoseconds, each split into 16 linear sub-buckets, so a percentile is
// known within 1/16 (about 6%) of its value; recording is one atomic add.
type hist struct {
	b [64 * 16]atomic.Uint64
}

func bucketOf(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	n := uint64(d)
	e := bits.Len64(n) // 2^(e-1) <= n < 2^e
	if e <= 5 {
		return int(n) // below 32 ns: exact
	}
	sub := (n >> (e - 5)) & 15 // the 4 bits after the leading one
	return e*16 + int(sub)
}

// lowerBound is the smallest duration of bucket i.
func lowerBound(i int) time.Duration {
	switch {
	case i < 32:
		return time.Duration(i)
	case i < 6*16: // no bucket: 32 ns and more start at 6*16
		return 32
	}
	e, sub := i/16, uint64(i%16)
	return time.Duration((16 + sub) << (e - 5))
}

func (h *hist) add(d time.Duration) { h.b[bucketOf(d)].Add(1) }

// merge adds o's counts to h.
func (h *hist) merge(o *hist) {
	for i := range o.b {
		if v := o.b[i].Load(); v != 0 {
			h.b[i].Add(v)
		}
	}
}

func (h *hist) count() uint64 {
	var n uint64
	for i := range h.b {
		n += h.b[i].Load()
	}
	return n
}

// quantile returns the q-th quantile (0 < q <= 1) as the upper end of its
// bucket, or 0 for an empty histogram.
func (h *hist) quantile(q float64) time.Duration {
	n := h.count()
	if n == 0 {
		return 0
	}
	rank := uint64(q*float64(n) + 0.999999)
	rank = max(rank, 1)
	var seen uint64
	for i := range h.b {
		seen += h.b[i].Load()
		if seen >= rank {
			return lowerBound(i+1) - 1
		}
	}
	return lowerBound(len(h.b)) - 1
}

// maximum returns the upper end of the highest bucket with a count.
func (h *hist) maximum() time.Duration {
	for i := len(h.b) - 1; i >= 0; i-- {
		if h.b[i].Load() != 0 {
			return lowerBound(i+1) - 1
		}
	}
	return 0
}
