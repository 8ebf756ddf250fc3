package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/actor"
)

// The environment of a command service: everything it needs to join the bus,
// in any language (docs/protocol.md, "Command services").
const (
	EnvApp          = "TROUPE_APP"           // the application's name
	EnvService      = "TROUPE_SERVICE"       // the service's name
	EnvInstance     = "TROUPE_INSTANCE"      // this instance's id
	EnvNATSURL      = "TROUPE_NATS_URL"      // the NATS server or cluster to connect to
	EnvNATSUser     = "TROUPE_NATS_USER"     // the service's NATS user name (the service's name)
	EnvNATSNkey     = "TROUPE_NATS_NKEY"     // the seed of the service's own nkey, to log in with
	EnvNATSPassword = "TROUPE_NATS_PASSWORD" // the password, for a server configured with passwords instead
	EnvNATSReplicas = "TROUPE_NATS_REPLICAS" // copies of the durable streams (the parent's -nats-replicas)
	EnvManifest     = "TROUPE_MANIFEST"      // the manifest's path ("" for a manifest built into the binary)
	EnvTimeout      = "TROUPE_TIMEOUT"       // the request budget, a Go duration ("1s")
	EnvDrain        = "TROUPE_DRAIN"         // the grace time after SIGTERM, a Go duration ("10s")
	EnvDataDir      = "TROUPE_DATA"          // the parent's data directory
	EnvParentPID    = "TROUPE_PARENT_PID"    // the parent's pid: a child exits when its parent is gone
	EnvNotifySocket = "NOTIFY_SOCKET"        // sd_notify(3) socket: send READY=1 once serving
)

// The restart backoff of a command service: it doubles from minBackoff after
// each exit that came before stableAfter, up to maxBackoff. Restarts are
// bounded by it, so the supervisor's intensity (commandIntensity in
// commandPeriod) is a last resort that a crash-looping command never reaches.
const (
	minBackoff       = 100 * time.Millisecond
	maxBackoff       = 30 * time.Second
	stableAfter      = 10 * time.Second
	commandIntensity = 100
	commandPeriod    = time.Minute
)

// command is one command service of the manifest: a supervisor with one
// permanent child process per instance, each of which runs and watches one
// operating-system process.
type command struct {
	n     *Node
	decl  troupe.ServiceDecl
	sup   actor.PID
	insts []*commandInstance
}

// commandInstance is the state of one instance that outlives the actor
// processes that run it: its id, its restart history, its current OS
// process and whether it is ready.
type commandInstance struct {
	c      *command
	id     string
	out    *lineWriter
	notify *notifySocket

	mu       sync.Mutex
	proc     *os.Process
	failures int           // consecutive exits before stableAfter
	ready    chan struct{} // closed when the current run says READY=1
	readyNow bool
}

// startCommand starts decl's instances under a supervisor of their own.
func (n *Node) startCommand(decl troupe.ServiceDecl) error {
	c := &command{n: n, decl: decl}
	var children []actor.ChildSpec
	for range max(decl.Instances, 1) {
		ci := &commandInstance{c: c, id: troupe.NewInstanceID(decl.Name), ready: make(chan struct{})}
		ci.out = &lineWriter{prefix: ci.id + " | ", w: n.cfg.Output}
		ns, err := listenNotify(ci.markReady)
		if err != nil {
			return fmt.Errorf("host: service %s: %w", decl.Name, err)
		}
		ci.notify = ns
		c.insts = append(c.insts, ci)
		children = append(children, actor.ChildSpec{
			Name:    ci.id,
			New:     func(any) actor.Behavior { return &osProcess{ci: ci} },
			Restart: actor.Permanent,
			// Terminate sends SIGTERM, waits the drain time, then kills.
			Shutdown: n.cfg.Drain + 5*time.Second,
		})
	}
	n.commands = append(n.commands, c)
	sup, err := n.sys.StartSupervisor(actor.SupervisorSpec{
		Name:      "command:" + decl.Name,
		Strategy:  actor.OneForOne,
		Intensity: commandIntensity,
		Period:    commandPeriod,
		Children:  children,
	})
	if err != nil {
		return fmt.Errorf("host: service %s: %w", decl.Name, err)
	}
	c.sup = sup
	return nil
}

// stop stops the supervisor (each child sends its process SIGTERM and kills
// it after the drain time) and then makes sure no process is left.
func (c *command) stop(ctx context.Context) error {
	var err error
	if !c.sup.IsZero() {
		err = actor.Stop(ctx, c.sup)
	}
	for _, ci := range c.insts {
		ci.mu.Lock()
		if ci.proc != nil {
			_ = ci.proc.Kill()
		}
		ci.mu.Unlock()
		ci.out.flush()
		ci.notify.close()
	}
	if err != nil {
		return fmt.Errorf("host: stop service %s: %w", c.decl.Name, err)
	}
	return nil
}

func (c *command) info() []InstanceInfo {
	var out []InstanceInfo
	for _, ci := range c.insts {
		ci.mu.Lock()
		info := InstanceInfo{Service: c.decl.Name, ID: ci.id, Command: true, Ready: ci.readyNow}
		if ci.proc != nil {
			info.PID = ci.proc.Pid
		}
		ci.mu.Unlock()
		out = append(out, info)
	}
	return out
}

func (c *command) waitReady(ctx context.Context) error {
	for _, ci := range c.insts {
		ci.mu.Lock()
		ready := ci.ready
		ci.mu.Unlock()
		select {
		case <-ready:
		case <-ctx.Done():
			return fmt.Errorf("host: service %s (%s) is not ready: %w", c.decl.Name, ci.id, ctx.Err())
		}
	}
	return nil
}

// markReady is called by the notify socket when the current run says READY=1.
func (ci *commandInstance) markReady() {
	ci.mu.Lock()
	defer ci.mu.Unlock()
	if !ci.readyNow && ci.proc != nil {
		ci.readyNow = true
		close(ci.ready)
		ci.c.n.log.Info("service process ready", "service", ci.c.decl.Name, "instance", ci.id, "pid", ci.proc.Pid)
	}
}

// env is the environment of one run: the parent's, the TROUPE_* contract, and
// the manifest's env for the service.
func (ci *commandInstance) env() ([]string, error) {
	n := ci.c.n
	manifest := ""
	if n.cfg.ManifestFile != "" {
		abs, err := filepath.Abs(n.cfg.ManifestFile)
		if err != nil {
			return nil, err
		}
		manifest = abs
	}
	data, err := filepath.Abs(n.cfg.DataDir)
	if err != nil {
		return nil, err
	}
	cred := n.credentialOf(ci.c.decl.Name)
	env := os.Environ()
	env = append(env,
		EnvApp+"="+n.app.Name,
		EnvService+"="+ci.c.decl.Name,
		EnvInstance+"="+ci.id,
		EnvNATSURL+"="+n.NATSURL(),
		EnvNATSUser+"="+cred.User,
		EnvNATSNkey+"="+cred.Seed,
		EnvNATSPassword+"="+cred.Password,
		EnvNATSReplicas+"="+strconv.Itoa(max(n.cfg.NATS.Replicas, 1)),
		EnvManifest+"="+manifest,
		EnvTimeout+"="+n.cfg.Timeout.String(),
		EnvDrain+"="+n.cfg.Drain.String(),
		EnvDataDir+"="+data,
		EnvParentPID+"="+strconv.Itoa(os.Getpid()),
		EnvNotifySocket+"="+ci.notify.addr,
	)
	for k, v := range ci.c.decl.Env {
		env = append(env, k+"="+v)
	}
	return env, nil
}

// osProcess is the actor process that runs one instance's operating-system
// process: it starts it (after the backoff its restart history asks for),
// exits when the OS process exits, so that its supervisor restarts it, and
// stops the OS process when it is stopped itself.
type osProcess struct {
	ci      *commandInstance
	run     *osRun
	started time.Time
}

// osRun is one run of the OS process; done is closed when it has exited.
type osRun struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

type launch struct{}

type exited struct{ run *osRun }

var (
	_ actor.Initializer = (*osProcess)(nil)
	_ actor.Terminator  = (*osProcess)(nil)
)

func (p *osProcess) Init(ctx *actor.Context) error {
	p.ci.mu.Lock()
	failures := p.ci.failures
	p.ci.mu.Unlock()
	if failures == 0 {
		return actor.Send(ctx.Self(), launch{})
	}
	ctx.SendAfter(backoff(failures), launch{})
	return nil
}

// backoff is the wait before the restart that follows n consecutive early
// exits.
func backoff(n int) time.Duration {
	d := minBackoff
	for i := 1; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

func (p *osProcess) Receive(ctx *actor.Context, msg any) {
	switch m := msg.(type) {
	case launch:
		if err := p.launch(ctx); err != nil {
			p.exit(ctx, err)
		}
	case exited:
		if m.run == p.run {
			p.ci.out.flush()
			p.exit(ctx, m.run.err)
		}
	}
}

// launch starts one run of the command.
func (p *osProcess) launch(ctx *actor.Context) error {
	ci := p.ci
	decl := ci.c.decl
	env, err := ci.env()
	if err != nil {
		return err
	}
	cmd := exec.Command(decl.Command[0], decl.Command[1:]...)
	cmd.Env = env
	cmd.Stdout = ci.out
	cmd.Stderr = ci.out
	cmd.SysProcAttr = childAttr()
	if err := ci.c.n.fork(cmd); err != nil {
		return fmt.Errorf("start %q: %w", decl.Command[0], err)
	}
	run := &osRun{cmd: cmd, done: make(chan struct{})}
	p.run, p.started = run, time.Now()
	ci.mu.Lock()
	ci.proc = cmd.Process
	ci.readyNow = false
	select {
	case <-ci.ready:
		ci.ready = make(chan struct{}) // the last run's readiness is not this one's
	default:
	}
	ci.mu.Unlock()
	ci.c.n.log.Info("service process started", "service", decl.Name, "instance", ci.id, "pid", cmd.Process.Pid)
	self := ctx.Self()
	go func() {
		run.err = cmd.Wait()
		close(run.done)
		_ = actor.Send(self, exited{run})
	}()
	return nil
}

// exit reports one exit of the OS process and ends this actor process with
// an abnormal reason, so that the supervisor restarts it.
func (p *osProcess) exit(ctx *actor.Context, err error) {
	ci := p.ci
	n := ci.c.n
	ci.mu.Lock()
	ci.proc = nil
	ci.readyNow = false
	if !p.started.IsZero() && time.Since(p.started) >= stableAfter {
		ci.failures = 0
	}
	ci.failures++
	restartIn := backoff(ci.failures)
	ci.mu.Unlock()
	if err == nil {
		err = errors.New("exited with status 0")
	}
	n.crashLoop.Crash(ci.c.decl.Name)
	n.log.Error("service process exited; restarting", "service", ci.c.decl.Name, "instance", ci.id, "err", err.Error(), "restart_in", restartIn)
	p.run = nil
	ctx.Stop(&ExitError{Service: ci.c.decl.Name, Instance: ci.id, Err: err})
}

// Terminate stops a running OS process: SIGTERM, then SIGKILL after the
// node's drain time.
func (p *osProcess) Terminate(_ *actor.Context, _ error) {
	run := p.run
	if run == nil {
		return
	}
	_ = run.cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(p.ci.c.n.cfg.Drain)
	defer timer.Stop()
	select {
	case <-run.done:
	case <-timer.C:
		_ = run.cmd.Process.Kill()
		<-run.done
	}
	p.ci.out.flush()
	p.ci.mu.Lock()
	if p.ci.proc == run.cmd.Process {
		p.ci.proc = nil
		p.ci.readyNow = false
	}
	p.ci.mu.Unlock()
}

// ExitError is the exit reason of the actor process that ran a command
// service's OS process when that process exited on its own.
type ExitError struct {
	Service  string
	Instance string
	Err      error
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("service %s (%s): process %v", e.Service, e.Instance, e.Err)
}

func (e *ExitError) Unwrap() error { return e.Err }
