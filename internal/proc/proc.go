// Package proc supervises operating-system processes: the services of a
// manifest that give a command (any language that speaks the bus protocol).
//
// A Process starts its command, restarts it with exponential backoff when it
// exits (the backoff resets once a run has lasted StableAfter), reports each
// exit to OnExit (the crash-loop alarm listens there), writes every line the
// command prints to Output with a prefix, and on Stop sends SIGTERM, waits up
// to StopTimeout, then kills it.
package proc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Config describes one supervised command.
type Config struct {
	// Name prefixes the command's output lines ("name | line").
	Name string
	// Command is the program and its arguments. Required.
	Command []string
	// Env is added to the command's environment (which is otherwise the
	// parent's).
	Env []string
	// Dir is the working directory; empty means the parent's.
	Dir string
	// Output receives the command's stdout and stderr, line by line,
	// prefixed. Nil discards them.
	Output io.Writer
	// MinBackoff and MaxBackoff bound the wait before a restart; it doubles
	// after each exit that came before StableAfter. Defaults 100 ms, 30 s.
	MinBackoff, MaxBackoff time.Duration
	// StableAfter is how long a run must last for the backoff to reset.
	// Default 10 s.
	StableAfter time.Duration
	// StopTimeout is how long Stop waits after SIGTERM before SIGKILL.
	// Default 10 s.
	StopTimeout time.Duration
	// OnExit is called after each exit of the command that Stop did not
	// ask for, with the error that describes it (nil if it exited with
	// status 0) and the backoff before the restart. Optional; it must not
	// block.
	OnExit func(err error, restartIn time.Duration)
}

// Process is a supervised command.
type Process struct {
	cfg  Config
	stop chan struct{}
	done chan struct{}
	out  *lineWriter

	mu     sync.Mutex
	cmd    *exec.Cmd
	starts int
}

// Start starts the command and its supervision. It returns an error if the
// command cannot be started at all (a missing program, say); later failures
// are restarts.
func Start(cfg Config) (*Process, error) {
	if len(cfg.Command) == 0 {
		return nil, errors.New("proc: empty command")
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 100 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	if cfg.StableAfter <= 0 {
		cfg.StableAfter = 10 * time.Second
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = 10 * time.Second
	}
	p := &Process{cfg: cfg, stop: make(chan struct{}), done: make(chan struct{})}
	p.out = &lineWriter{prefix: cfg.Name + " | ", w: cfg.Output}
	exited, err := p.spawn()
	if err != nil {
		return nil, err
	}
	go p.supervise(exited)
	return p, nil
}

// Starts returns how many times the command has been started.
func (p *Process) Starts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.starts
}

// PID returns the operating-system pid of the current run, or 0.
func (p *Process) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// spawn starts one run; the returned channel yields its exit error.
func (p *Process) spawn() (<-chan error, error) {
	cmd := exec.Command(p.cfg.Command[0], p.cfg.Command[1:]...)
	cmd.Env = append(os.Environ(), p.cfg.Env...)
	cmd.Dir = p.cfg.Dir
	cmd.Stdout = p.out
	cmd.Stderr = p.out
	// Its own process group, so that a Ctrl-C at the terminal reaches
	// troupe only, and troupe stops the children in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("proc %s: start %q: %w", p.cfg.Name, p.cfg.Command[0], err)
	}
	p.mu.Lock()
	p.cmd = cmd
	p.starts++
	p.mu.Unlock()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	return exited, nil
}

func (p *Process) supervise(exited <-chan error) {
	defer close(p.done)
	backoff := p.cfg.MinBackoff
	started := time.Now()
	for {
		select {
		case <-p.stop:
			p.terminate(exited)
			return
		case err := <-exited:
			p.out.flush()
			if time.Since(started) >= p.cfg.StableAfter {
				backoff = p.cfg.MinBackoff
			}
			// Restart after the backoff, and again after each failure to
			// start, doubling it each time.
			for {
				if p.cfg.OnExit != nil {
					p.cfg.OnExit(err, backoff)
				}
				if !p.sleep(backoff) {
					return
				}
				backoff = min(backoff*2, p.cfg.MaxBackoff)
				started = time.Now()
				if exited, err = p.spawn(); err == nil {
					break
				}
			}
		}
	}
}

// sleep waits for d; it reports false if Stop came first.
func (p *Process) sleep(d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-p.stop:
		return false
	case <-timer.C:
		return true
	}
}

// terminate stops the current run: SIGTERM, then SIGKILL after the timeout.
func (p *Process) terminate(exited <-chan error) {
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(p.cfg.StopTimeout)
	defer timer.Stop()
	select {
	case <-exited:
	case <-timer.C:
		_ = cmd.Process.Kill()
		<-exited
	}
	p.out.flush()
}

// Stop stops the command (SIGTERM, then SIGKILL after StopTimeout) and its
// supervision, and waits for both, or for ctx to end.
func (p *Process) Stop(ctx context.Context) error {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("proc %s: stop: %w", p.cfg.Name, ctx.Err())
	}
}

// lineWriter prefixes each complete line written to it; a partial line waits
// for its end (or flush). Lines longer than 64 KiB are cut.
type lineWriter struct {
	prefix string
	w      io.Writer

	mu  sync.Mutex
	buf []byte
}

const maxLine = 64 << 10

func (l *lineWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		chunk := b
		if i >= 0 {
			chunk = b[:i]
		}
		if room := maxLine - len(l.buf); len(chunk) > room {
			l.buf = append(l.buf, chunk[:room]...)
			l.emit()
			b = b[room:]
			continue
		}
		l.buf = append(l.buf, chunk...)
		if i < 0 {
			break
		}
		l.emit()
		b = b[i+1:]
	}
	return n, nil
}

func (l *lineWriter) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.emit()
	}
}

// emit writes the buffered line; l.mu is held.
func (l *lineWriter) emit() {
	if l.w != nil {
		line := make([]byte, 0, len(l.prefix)+len(l.buf)+1)
		line = append(append(append(line, l.prefix...), l.buf...), '\n')
		_, _ = l.w.Write(line)
	}
	l.buf = l.buf[:0]
}
