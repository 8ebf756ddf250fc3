package bus

import (
	"runtime"
	"sync/atomic"
)

// A request's caller waits for its reply on a channel. Parking it there and
// waking it again costs a futex call each way, which is most of an
// in-process round trip (a service that answers at once replies within a
// few microseconds; package service's BenchmarkRequest took about twice as
// long with parking). So a caller first yields for a short while, looking
// for the reply between yields, and parks only if the reply has not come.
//
// Yielding costs CPU when the reply is far away (another process, the
// network): replySpin learns, per client, whether it pays. Every reply found
// while yielding restores the full credit; every miss costs one; with no
// credit left, the client parks at once, and tries yielding again once in
// spinProbe requests, so that it notices when its replies become quick.
const (
	spinRounds = 64 // yields before parking
	spinCredit = 8  // misses in a row before a client stops yielding
	spinProbe  = 32 // requests between two tries once it has stopped
)

// replySpin is a client's memory of whether yielding for replies pays.
type replySpin struct {
	credit atomic.Int32 // > 0: yield; <= 0: park, counting down to the next probe
}

func (s *replySpin) init() { s.credit.Store(spinCredit) }

// try reports whether the next wait should yield first.
func (s *replySpin) try() bool {
	c := s.credit.Load()
	if c > 0 {
		return true
	}
	if c <= -spinProbe {
		s.credit.Store(1) // one probe
		return true
	}
	s.credit.Add(-1)
	return false
}

// await yields up to spinRounds times waiting for a signal on ready, and
// reports whether it came (it is consumed), recording the outcome.
func (s *replySpin) await(ready chan struct{}) bool {
	for range spinRounds {
		select {
		case <-ready:
			s.credit.Store(spinCredit)
			return true
		default:
			runtime.Gosched()
		}
	}
	if s.credit.Add(-1) <= 0 {
		s.credit.Store(0)
	}
	return false
}
