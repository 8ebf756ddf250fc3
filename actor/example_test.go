package actor_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/troupe-go/troupe/actor"
)

// quiet returns a logger that drops everything, so examples print only
// their own output.
func quiet() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelError + 100}))
}

// greeter answers Ask with a greeting and counts the messages it gets.
type greeter struct{ n int }

func (g *greeter) Receive(ctx *actor.Context, msg any) {
	g.n++
	switch m := msg.(type) {
	case string:
		ctx.Reply(fmt.Sprintf("hello, %s (message %d)", m, g.n))
	}
}

func Example() {
	sys := actor.NewSystem(actor.Config{Logger: quiet()})
	defer sys.Shutdown(context.Background())

	pid, err := sys.Spawn(&greeter{}, actor.Options{Name: "greeter"})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = actor.Send(pid, 1) // one-way; never blocks
	reply, err := actor.Ask(context.Background(), pid, "world")
	fmt.Println(reply, err)
	// Output: hello, world (message 2) <nil>
}

// counter crashes on a negative increment.
type counter struct{ n int }

func (c *counter) Receive(ctx *actor.Context, msg any) {
	d := msg.(int)
	if d < 0 {
		panic("negative increment")
	}
	c.n += d
	ctx.Reply(c.n)
}

func ExampleSystem_StartSupervisor() {
	sys := actor.NewSystem(actor.Config{Logger: quiet()})
	defer sys.Shutdown(context.Background())

	_, err := sys.StartSupervisor(actor.SupervisorSpec{
		Name:     "root",
		Strategy: actor.OneForOne,
		Children: []actor.ChildSpec{{
			Name:    "counter",
			New:     func(any) actor.Behavior { return &counter{} },
			Options: actor.Options{Name: "counter"},
		}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	pid, _ := sys.Whereis("counter")
	fmt.Println(actor.Ask(ctx, pid, 2))

	// The crash is reported (to the logger), the asker gets an error with
	// the incident id at once, and the supervisor restarts the counter
	// with fresh state.
	_, err = actor.Ask(ctx, pid, -1)
	var crash *actor.CrashError
	fmt.Println(errors.As(err, &crash), crash.Value)

	for {
		if now, ok := sys.Whereis("counter"); ok && now != pid {
			fmt.Println(actor.Ask(ctx, now, 5))
			break
		}
	}
	// Output:
	// 2 <nil>
	// true negative increment
	// 5 <nil>
}

func ExampleContext_Monitor() {
	sys := actor.NewSystem(actor.Config{Logger: quiet()})
	defer sys.Shutdown(context.Background())

	worker, _ := sys.Spawn(actor.BehaviorFunc(func(ctx *actor.Context, msg any) {
		ctx.Stop(errors.New("out of work"))
	}), actor.Options{})

	downs := make(chan actor.Down, 1)
	watcher, _ := sys.Spawn(actor.BehaviorFunc(func(ctx *actor.Context, msg any) {
		switch m := msg.(type) {
		case actor.PID:
			ctx.Monitor(m)
			ctx.Reply(nil)
		case actor.Down:
			downs <- m
		}
	}), actor.Options{})

	_, _ = actor.Ask(context.Background(), watcher, worker)
	_ = actor.Send(worker, "go")
	d := <-downs
	fmt.Println(d.PID == worker, d.Reason)
	// Output: true out of work
}

func ExampleContext_Link() {
	sys := actor.NewSystem(actor.Config{Logger: quiet()})
	defer sys.Shutdown(context.Background())

	exits := make(chan actor.Exited, 1)
	parent, _ := sys.Spawn(actor.BehaviorFunc(func(ctx *actor.Context, msg any) {
		switch m := msg.(type) {
		case string: // spawn a linked child that crashes on its first message
			child, _ := ctx.Spawn(actor.BehaviorFunc(func(*actor.Context, any) {
				panic("child failed")
			}), actor.Options{Link: true})
			_ = actor.Send(child, "work")
		case actor.Exited:
			exits <- m
		}
	}), actor.Options{TrapExit: true})

	_ = actor.Send(parent, "start")
	e := <-exits
	fmt.Println(errors.Is(e.Reason, actor.ErrCrashed))
	// Output: true
}
