package alarm_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-go/troupe/alarm"
)

// BenchmarkRateObserve measures the hot-path cost of counting one request.
// BenchmarkAtomicAdd is the bare baseline: one atomic add on one counter.
func BenchmarkRateObserve(b *testing.B) {
	m := alarm.New(alarm.Config{})
	r, err := m.Rate("surge", alarm.RateConfig{Threshold: alarm.Threshold{High: 1}, Window: 10 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r.Observe()
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r.Observe()
			}
		})
	})
}

func BenchmarkErrorRateObserve(b *testing.B) {
	m := alarm.New(alarm.Config{})
	e, err := m.ErrorRate("errors", alarm.ErrorRateConfig{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var i int
	for b.Loop() {
		i++
		e.Observe(i%16 == 0)
	}
}

func BenchmarkAtomicAdd(b *testing.B) {
	var n atomic.Uint64
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			n.Add(1)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				n.Add(1)
			}
		})
	})
}
