package actor

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// askReq is the one-shot reply cell of an Ask. It travels through the
// mailbox in place of the asked message and is recycled after a completed
// round trip; a cell abandoned by a caller whose context ended is left to
// the garbage collector, so a late reply never reaches a new caller.
type askReq struct {
	msg   any
	state atomic.Uint32
	reply any
	err   error
	ch    chan struct{}
}

const (
	askPending   uint32 = iota // no reply yet, caller spinning
	askWaiting                 // no reply yet, caller blocked on ch
	askDone                    // replied
	askAbandoned               // caller gone
)

// Ask polls for the reply askPolls times with a pause (see pause) in
// between (once with one P: oneProc), then askSpin times with a yield in
// between, and then blocks.
const (
	askPolls = 32
	askSpin  = 32
)

var askPool = sync.Pool{New: func() any { return &askReq{ch: make(chan struct{}, 1)} }}

func newAskReq(msg any) *askReq {
	r := askPool.Get().(*askReq)
	r.msg = msg
	return r
}

func releaseAskReq(r *askReq) {
	r.msg, r.reply, r.err = nil, nil, nil
	r.state.Store(askPending)
	askPool.Put(r)
}

// complete stores the outcome. It reports whether a caller was still
// waiting. Only the first call per request has effect.
func (r *askReq) complete(v any, err error) bool {
	s := r.state.Load()
	if s == askDone || s == askAbandoned {
		return false
	}
	r.reply, r.err = v, err
	switch r.state.Swap(askDone) {
	case askWaiting:
		r.ch <- struct{}{}
	case askAbandoned:
		return false
	}
	return true
}

// wait returns the outcome, or ctx's error. The cell is recycled unless
// abandoned.
func (r *askReq) wait(ctx context.Context) (any, error) {
	for i := 0; i < askPolls; i++ {
		if r.state.Load() == askDone {
			return r.take()
		}
		if oneProc.Load() {
			break // no other P to run the asked process meanwhile (oneProc)
		}
		pause(pauseIters)
	}
	for i := 0; i < askSpin; i++ {
		if r.state.Load() == askDone {
			return r.take()
		}
		runtime.Gosched()
	}
	readProcs() // about to block: a slow path (oneProc)
	if r.state.CompareAndSwap(askPending, askWaiting) {
		select {
		case <-r.ch:
		case <-ctx.Done():
			if r.state.CompareAndSwap(askWaiting, askAbandoned) {
				return nil, ctx.Err()
			}
			<-r.ch // completed meanwhile
		}
	}
	return r.take()
}

func (r *askReq) take() (any, error) {
	v, err := r.reply, r.err
	releaseAskReq(r)
	return v, err
}
