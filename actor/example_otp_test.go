package actor_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/troupe-go/troupe/actor"
)

// cache is a worker for the examples: it answers "get" and stops on
// "stop".
type cache struct{}

func (cache) Receive(ctx *actor.Context, msg any) {
	switch msg {
	case "get":
		ctx.Reply("cached")
	case "stop":
		ctx.Stop(nil)
	}
}

func newCache(any) actor.Behavior { return cache{} }

// staticSup starts a one_for_one supervisor with a "db" child.
func staticSup(sys *actor.System) actor.PID {
	sup, err := sys.StartSupervisor(actor.SupervisorSpec{
		Name:     "app",
		Children: []actor.ChildSpec{{Name: "db", New: newCache}},
	})
	if err != nil {
		panic(err)
	}
	return sup
}

func names(cs []actor.ChildInfo) []string {
	var out []string
	for _, c := range cs {
		switch {
		case c.Restarting:
			out = append(out, c.Name+"(restarting)")
		case c.PID.IsZero():
			out = append(out, c.Name+"(stopped)")
		default:
			out = append(out, c.Name)
		}
	}
	return out
}

func ExampleStartChild() {
	sys := actor.NewSystem(actor.Config{Logger: quiet()})
	defer sys.Shutdown(context.Background())
	ctx := context.Background()
	sup := staticSup(sys)

	// On a static supervisor StartChild takes a ChildSpec (OTP's
	// start_child/2 with a child spec).
	pid, err := actor.StartChild(ctx, sup, actor.ChildSpec{Name: "cache", New: newCache})
	fmt.Println(pid.Name(), err)
	_, err = actor.StartChild(ctx, sup, actor.ChildSpec{Name: "cache", New: newCache})
	fmt.Println(errors.Is(err, actor.ErrAlreadyStarted))
	cs, _ := actor.Children(ctx, sup)
	fmt.Println(names(cs))
	// Output:
	// cache <nil>
	// true
	// [db cache]
}

func ExampleTerminateChild() {
	sys := actor.NewSystem(actor.Config{Logger: quiet()})
	defer sys.Shutdown(context.Background())
	ctx := context.Background()
	sup := staticSup(sys)

	// The child is stopped as the supervisor stops children and not
	// restarted; its spec stays for RestartChild.
	fmt.Println(actor.TerminateChild(ctx, sup, "db"))
	cs, _ := actor.Children(ctx, sup)
	fmt.Println(names(cs))
	fmt.Println(errors.Is(actor.TerminateChild(ctx, sup, "nope"), actor.ErrNotFound))
	// Output:
	// <nil>
	// [db(stopped)]
	// true
}

func ExampleTerminateChildPID() {
	sys := actor.NewSystem(actor.Config{Logger: quiet()})
	defer sys.Shutdown(context.Background())
	ctx := context.Background()
	pool, _ := sys.StartSupervisor(actor.SupervisorSpec{
		Name: "pool", Strategy: actor.SimpleOneForOne,
		Children: []actor.ChildSpec{{Name: "conn", New: newCache}},
	})
	a, _ := actor.StartChild(ctx, pool, nil)
	actor.StartChild(ctx, pool, nil)

	fmt.Println(actor.TerminateChildPID(ctx, pool, a), a.Alive())
	n, _ := actor.CountChildren(ctx, pool)
	fmt.Println(n.Active)
	// Output:
	// <nil> false
	// 1
}

func ExampleRestartChild() {
	sys := actor.NewSystem(actor.Config{Logger: quiet()})
	defer sys.Shutdown(context.Background())
	ctx := context.Background()
	sup := staticSup(sys)

	_, err := actor.RestartChild(ctx, sup, "db")
	fmt.Println(errors.Is(err, actor.ErrRunning))
	actor.TerminateChild(ctx, sup, "db")
	pid, err := actor.RestartChild(ctx, sup, "db")
	fmt.Println(pid.Alive(), err)
	// Output:
	// true
	// true <nil>
}

func ExampleDeleteChild() {
	sys := actor.NewSystem(actor.Config{Logger: quiet()})
	defer sys.Shutdown(context.Background())
	ctx := context.Background()
	sup := staticSup(sys)

	fmt.Println(errors.Is(actor.DeleteChild(ctx, sup, "db"), actor.ErrRunning))
	actor.TerminateChild(ctx, sup, "db")
	fmt.Println(actor.DeleteChild(ctx, sup, "db"))
	cs, _ := actor.Children(ctx, sup)
	fmt.Println(len(cs))
	// Output:
	// true
	// <nil>
	// 0
}

func ExampleGetChildSpec() {
	sys := actor.NewSystem(actor.Config{Logger: quiet()})
	defer sys.Shutdown(context.Background())
	sup := staticSup(sys)

	// The defaults are filled in: a worker's shutdown is 5 s.
	cs, err := actor.GetChildSpec(context.Background(), sup, "db")
	fmt.Println(cs.Name, cs.Restart, cs.Shutdown, err)
	// Output: db permanent 5s <nil>
}

func ExampleCountChildren() {
	sys := actor.NewSystem(actor.Config{Logger: quiet()})
	defer sys.Shutdown(context.Background())
	ctx := context.Background()
	sup := staticSup(sys)
	actor.StartChild(ctx, sup, actor.ChildSpec{Name: "jobs", Supervisor: &actor.SupervisorSpec{Name: "jobs"}})
	actor.TerminateChild(ctx, sup, "db")

	n, _ := actor.CountChildren(ctx, sup)
	fmt.Printf("specs %d, active %d, supervisors %d, workers %d\n", n.Specs, n.Active, n.Supervisors, n.Workers)
	// Output: specs 2, active 1, supervisors 1, workers 1
}

// exited returns a channel that receives pid's Down: a process monitors
// it.
func exited(sys *actor.System, pid actor.PID) <-chan actor.Down {
	ch := make(chan actor.Down, 1)
	sys.Spawn(watcher{pid: pid, ch: ch}, actor.Options{})
	return ch
}

// flaky fails to start while down is set, and crashes on "crash".
type flaky struct{ down *atomic.Bool }

func (f flaky) Init(*actor.Context) error {
	if f.down.Load() {
		return errors.New("database unreachable")
	}
	return nil
}

func (flaky) Receive(ctx *actor.Context, msg any) {
	if msg == "crash" {
		panic("lost connection")
	}
}

// A child whose restart fails is listed as restarting while its
// supervisor retries it through its mailbox (OTP's which_children with
// restarting); TerminateChild stops the retries.
func ExampleChildren_restarting() {
	sys := actor.NewSystem(actor.Config{Logger: quiet()})
	defer sys.Shutdown(context.Background())
	ctx := context.Background()
	var down atomic.Bool
	sup, _ := sys.StartSupervisor(actor.SupervisorSpec{
		Name: "app", Intensity: 1 << 30, Period: time.Minute,
		Children: []actor.ChildSpec{{Name: "db", New: func(any) actor.Behavior { return flaky{&down} }}},
	})
	cs, _ := actor.Children(ctx, sup)
	fmt.Println(names(cs))

	down.Store(true)
	gone := exited(sys, cs[0].PID)
	actor.Send(cs[0].PID, "crash")
	<-gone
	cs, _ = actor.Children(ctx, sup)
	fmt.Println(names(cs))

	actor.TerminateChild(ctx, sup, "db")
	down.Store(false)
	pid, err := actor.RestartChild(ctx, sup, "db")
	fmt.Println(pid.Alive(), err)
	// Output:
	// [db]
	// [db(restarting)]
	// true <nil>
}

func ExampleShutdownError() {
	sys := actor.NewSystem(actor.Config{Logger: quiet()})
	defer sys.Shutdown(context.Background())
	ctx := context.Background()
	sup, _ := sys.StartSupervisor(actor.SupervisorSpec{
		Name: "app",
		Children: []actor.ChildSpec{{Name: "session", Restart: actor.Transient,
			New: func(any) actor.Behavior {
				return actor.BehaviorFunc(func(c *actor.Context, msg any) {
					c.Stop(&actor.ShutdownError{Info: "logged out"}) // {shutdown, logged_out}
				})
			}}},
	})
	reason := &actor.ShutdownError{Info: "logged out"}
	fmt.Println(reason, actor.IsNormal(reason), errors.Is(reason, actor.ReasonShutdown))

	// A transient child stopped with a shutdown reason is not restarted.
	cs, _ := actor.Children(ctx, sup)
	gone := exited(sys, cs[0].PID)
	actor.Send(cs[0].PID, "bye")
	<-gone
	cs, _ = actor.Children(ctx, sup)
	fmt.Println(names(cs))
	// Output:
	// shutdown: logged out true true
	// [session(stopped)]
}

// A process whose Init returns ErrIgnore does not start; a supervisor
// keeps its child spec, stopped.
func Example_ignore() {
	sys := actor.NewSystem(actor.Config{Logger: quiet()})
	defer sys.Shutdown(context.Background())
	ctx := context.Background()
	optional := actor.ChildSpec{Name: "metrics", New: func(any) actor.Behavior { return ignorer{} }}
	sup, _ := sys.StartSupervisor(actor.SupervisorSpec{Name: "app", Children: []actor.ChildSpec{optional}})

	cs, _ := actor.Children(ctx, sup)
	fmt.Println(names(cs))
	_, err := sys.Spawn(ignorer{}, actor.Options{})
	fmt.Println(errors.Is(err, actor.ErrIgnore))
	// Output:
	// [metrics(stopped)]
	// true
}

// ignorer is a behaviour that is not needed in this configuration.
type ignorer struct{}

func (ignorer) Init(*actor.Context) error   { return actor.ErrIgnore }
func (ignorer) Receive(*actor.Context, any) {}

// A supervisor's Init callback (OTP's Module:init/1) decides its children
// when it starts, and again each time it is restarted.
func ExampleSupervisorSpec_init() {
	sys := actor.NewSystem(actor.Config{Logger: quiet()})
	defer sys.Shutdown(context.Background())
	shards := 3 // read from a configuration, say
	sup, err := sys.StartSupervisor(actor.SupervisorSpec{
		Name: "shards",
		Init: func(ctx *actor.Context, spec *actor.SupervisorSpec) error {
			spec.Strategy = actor.OneForAll
			for i := range shards {
				spec.Children = append(spec.Children, actor.ChildSpec{Name: fmt.Sprintf("shard%d", i), New: newCache})
			}
			return nil
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	cs, _ := actor.Children(context.Background(), sup)
	fmt.Println(names(cs))
	// Output: [shard0 shard1 shard2]
}

// With AnySignificant, the supervisor shuts itself down when a significant
// child ends by itself: here a job whose worker finished.
func ExampleAutoShutdown() {
	sys := actor.NewSystem(actor.Config{Logger: quiet()})
	defer sys.Shutdown(context.Background())
	job, _ := sys.StartSupervisor(actor.SupervisorSpec{
		Name: "job", AutoShutdown: actor.AnySignificant,
		Children: []actor.ChildSpec{
			{Name: "progress", New: newCache},
			{Name: "work", New: newCache, Restart: actor.Transient, Significant: true},
		},
	})
	gone := exited(sys, job)
	cs, _ := actor.Children(context.Background(), job)
	actor.Send(cs[1].PID, "stop") // the work is done: it exits normally
	fmt.Println((<-gone).Reason)
	// Output: shutdown
}

func ExampleContext_DemonitorFlush() {
	sys := actor.NewSystem(actor.Config{Logger: quiet()})
	defer sys.Shutdown(context.Background())
	target, _ := sys.Spawn(cache{}, actor.Options{})

	got := make(chan string, 2)
	p, _ := sys.Spawn(actor.BehaviorFunc(func(ctx *actor.Context, msg any) {
		switch msg.(type) {
		case string:
			ref := ctx.Monitor(target)
			actor.Stop(context.Background(), target) // its Down is queued now
			ctx.DemonitorFlush(ref)                  // and dropped
			_ = actor.Send(ctx.Self(), struct{}{})
		case actor.Down:
			got <- "down"
		case struct{}:
			got <- "marker"
		}
	}), actor.Options{})
	actor.Send(p, "go")
	fmt.Println(<-got)
	// Output: marker
}

func ExampleContext_SpawnMonitor() {
	sys := actor.NewSystem(actor.Config{Logger: quiet()})
	defer sys.Shutdown(context.Background())
	downs := make(chan actor.Down, 1)
	parent, _ := sys.Spawn(actor.BehaviorFunc(func(ctx *actor.Context, msg any) {
		switch m := msg.(type) {
		case string:
			// The monitor is set before the child can run: a child that
			// exits at once cannot be missed.
			child, _, _ := ctx.SpawnMonitor(actor.BehaviorFunc(func(c *actor.Context, _ any) {
				c.Stop(errors.New("done"))
			}), actor.Options{})
			actor.Send(child, "work")
		case actor.Down:
			downs <- m
		}
	}), actor.Options{})
	actor.Send(parent, "start")
	fmt.Println((<-downs).Reason)
	// Output: done
}

func ExampleContext_MonitorName() {
	sys := actor.NewSystem(actor.Config{Logger: quiet()})
	defer sys.Shutdown(context.Background())
	db, _ := sys.Spawn(cache{}, actor.Options{Name: "db"})
	downs := make(chan actor.Down, 2)
	w, _ := sys.Spawn(actor.BehaviorFunc(func(ctx *actor.Context, msg any) {
		switch m := msg.(type) {
		case string:
			ctx.MonitorName(m)
			ctx.Reply(nil)
		case actor.Down:
			downs <- m
		}
	}), actor.Options{})
	actor.Ask(context.Background(), w, "db")
	actor.Stop(context.Background(), db)
	d := <-downs
	fmt.Println(d.Name, d.PID == db, d.Reason)
	actor.Ask(context.Background(), w, "db") // nobody has the name now
	d = <-downs
	fmt.Println(d.Name, d.PID.IsZero(), d.Reason)
	// Output:
	// db true shutdown
	// db true noproc
}

func ExampleSystem_SendName() {
	sys := actor.NewSystem(actor.Config{Logger: quiet()})
	defer sys.Shutdown(context.Background())
	got := make(chan any, 1)
	sys.Spawn(actor.BehaviorFunc(func(_ *actor.Context, msg any) { got <- msg }), actor.Options{Name: "log"})

	fmt.Println(sys.SendName("log", "hello"), <-got)
	fmt.Println(errors.Is(sys.SendName("nobody", "hello"), actor.ErrNoProcess))
	// Output:
	// <nil> hello
	// true
}

func ExampleSendAfter() {
	sys := actor.NewSystem(actor.Config{Logger: quiet()})
	defer sys.Shutdown(context.Background())
	got := make(chan any, 3)
	pid, _ := sys.Spawn(actor.BehaviorFunc(func(_ *actor.Context, msg any) { got <- msg }), actor.Options{})

	// Timers fire in the order of their deadlines.
	actor.SendAfter(150*time.Millisecond, pid, "third")
	actor.SendAfter(50*time.Millisecond, pid, "first")
	actor.SendAfter(100*time.Millisecond, pid, "second")
	fmt.Println(<-got, <-got, <-got)
	// Output: first second third
}

func ExampleStartTimer() {
	sys := actor.NewSystem(actor.Config{Logger: quiet()})
	defer sys.Shutdown(context.Background())
	got := make(chan actor.Timeout, 1)
	pid, _ := sys.Spawn(actor.BehaviorFunc(func(_ *actor.Context, msg any) {
		if to, ok := msg.(actor.Timeout); ok {
			got <- to
		}
	}), actor.Options{})

	t := actor.StartTimer(time.Millisecond, pid, "retry")
	to := <-got
	fmt.Println(to.Timer == t, to.Msg) // which timer fired
	// Output: true retry
}

func ExampleSystem_SendAfterName() {
	sys := actor.NewSystem(actor.Config{Logger: quiet()})
	defer sys.Shutdown(context.Background())
	got := make(chan any, 1)

	sys.Spawn(actor.BehaviorFunc(func(_ *actor.Context, msg any) { got <- msg }), actor.Options{Name: "reporter"})

	// The name is looked up when the timer fires, so the message goes to
	// whichever process has the name then (a restarted one, say).
	sys.SendAfterName(time.Millisecond, "reporter", "flush")
	fmt.Println(<-got)
	// Output: flush
}

func ExampleTimer_Remaining() {
	sys := actor.NewSystem(actor.Config{Logger: quiet()})
	defer sys.Shutdown(context.Background())
	pid, _ := sys.Spawn(cache{}, actor.Options{})

	t := actor.SendAfter(time.Hour, pid, "expire")
	left, pending := t.Remaining()
	fmt.Println(left > 59*time.Minute, left <= time.Hour, pending)
	t.Cancel()
	_, pending = t.Remaining()
	fmt.Println(pending)
	// Output:
	// true true true
	// false
}
