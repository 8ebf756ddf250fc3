package host

import (
	"errors"
	"os/exec"
	"runtime"
)

// forkRequest asks the node's forker to start one command.
type forkRequest struct {
	cmd  *exec.Cmd
	done chan error
}

// fork starts cmd on the node's forker goroutine. On Linux a child is sent
// SIGTERM when the thread that started it exits (Pdeathsig, see childAttr):
// the forker keeps one thread locked for the node's whole life, so that the
// signal comes when the parent process dies, and not when the Go runtime
// happens to retire a thread.
func (n *Node) fork(cmd *exec.Cmd) error {
	n.forkMu.Lock()
	defer n.forkMu.Unlock()
	if n.forkClosed {
		return errors.New("the node is stopping")
	}
	if n.forks == nil {
		n.forks = make(chan forkRequest)
		n.forkDone = make(chan struct{})
		go n.forker()
	}
	req := forkRequest{cmd: cmd, done: make(chan error, 1)}
	n.forks <- req
	return <-req.done
}

// forker starts the node's commands on one locked thread until stopForker.
func (n *Node) forker() {
	runtime.LockOSThread()
	// Never unlocked: the thread ends with the goroutine, after every
	// child has been stopped.
	defer close(n.forkDone)
	for req := range n.forks {
		req.done <- req.cmd.Start()
	}
}

// stopForker ends the forker; no command runs any more.
func (n *Node) stopForker() {
	n.forkMu.Lock()
	defer n.forkMu.Unlock()
	n.forkClosed = true
	if n.forks != nil {
		close(n.forks)
		<-n.forkDone
	}
}
