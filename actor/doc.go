// Package actor is troupe's OTP core: processes with mailboxes,
// supervisors, links, monitors, a name registry, crash reports, timers and
// an event stream, with Erlang/OTP's semantics.
//
// # Processes
//
// A process runs a [Behavior]: Receive is called with one message at a
// time. A [System] spawns processes and stops them all on Shutdown:
//
//	sys := actor.NewSystem(actor.Config{})        // zero Config: slog.Default()
//	defer sys.Shutdown(ctx)
//	pid, err := sys.Spawn(&greeter{}, actor.Options{Name: "greeter"})
//	actor.Send(pid, Hello{})                      // one-way, never blocks
//	reply, err := actor.Ask(ctx, pid, "world")    // the receiver calls ctx.Reply
//
// A behaviour may implement [Initializer] (Init runs before Spawn returns,
// on the caller's goroutine; an error or panic makes Spawn fail, and
// [ErrIgnore] makes the process not start) and [Terminator] (Terminate
// runs once, when the process exits). [System.SendName] sends to a
// registered name.
//
// Mailboxes are lock-free queues scheduled on demand: a process owns a
// goroutine only while it has messages, so an idle process costs a couple
// of hundred bytes and no goroutine. The goroutines that run processes are
// reused (a runner that finishes one process takes the next, keeping its
// grown stack) and exit after half a second without work. Messages from
// one sender to one receiver arrive in the order sent. An exit signal that
// ends a process travels in a separate queue that is checked before each
// message, so it overtakes queued user messages. [Options].MailboxSize bounds a mailbox: when it is full, Send
// drops the new message, counts a dead letter and returns [ErrMailboxFull].
//
// [Ask] returns distinct errors: a wrapped ctx.Err() when the context ends,
// [ErrNoProcess] when the receiver is dead or dies before handling the
// message, [ErrNoReply] when it handles the message without replying, and a
// [*CrashError] (errors.Is(err, [ErrCrashed])) at once when it panics while
// handling it.
//
// # Crashes
//
// A panic in Receive or Init is recovered at the process boundary. The
// runtime logs exactly one crash report (level Error, message "process
// crashed") with the process name and pid, its supervisor's path
// ("root/api/workers"), the type and a bounded rendering of the message,
// the panic value, the stack, the restart count and an incident id. The
// process then exits with the [*CrashError] as its reason. A message that
// implements [CrashObserver] is told about the crash (with the same
// incident id) right after the report: the service SDK uses it to answer a
// bus request with an error the client can quote. A message that
// implements [Describer] names itself in the report (the service SDK's
// say "request todo.add", with the service and instance), and the stack is
// folded ([FoldStack]): the program's frames first, troupe's and the Go
// runtime's in one line. [NewTextHandler] writes a report as a block below
// its headline; a JSON handler keeps it one record.
//
// # Observing
//
// [Inspect] tells a process's estimated mailbox length, [Tree] walks a
// supervision tree, [System.Trees] counts processes, waiting messages,
// crashes and restarts per tree, and [Collector] exports them to
// Prometheus, all without a cost to the messages.
//
// # Links, monitors, exits
//
// [Context.Link] ties two processes: when one exits, the other gets an exit
// signal with the same reason and exits too, unless the reason is
// [ReasonNormal]. A process that traps exits ([Options].TrapExit or
// [Context.TrapExit]) gets an [Exited] message instead, in its mailbox in
// order with the messages sent to it, except from its parent (the process
// that spawned it linked), whose exit stops it as OTP's gen_server does;
// [ReasonKill] cannot be trapped. [Exit] and [Context.Exit] send an exit
// signal (OTP exit/2); [Stop] and [System.Shutdown] end a process as
// gen_server:stop does, trapping or not. Reasons compare with errors.Is, so
// a [*ShutdownError] or any error wrapping [ReasonShutdown] is a shutdown
// (OTP's {shutdown, Term}); [IsNormal] reports normal and shutdown.
//
// [Context.Monitor] asks for a [Down] message when a process exits;
// [Context.MonitorName] monitors by registered name and
// [Context.SpawnMonitor] spawns and monitors in one step. Once
// [Context.Unlink] or [Context.Demonitor] returns, no Exited or Down from
// that link or monitor can arrive; Demonitor reports whether the monitor
// was still active (when it was not, its Down is in the mailbox already),
// and [Context.DemonitorFlush] also drops that Down. Links, monitors,
// timers and the registered name are released when a process exits; the
// name is free before any Down is delivered.
//
// # Stopping means stopped
//
// A kill ends a process at once, even one busy in a callback: Go cannot
// preempt a goroutine, so the killer finishes the process itself (its name
// is released, its links and monitors are told, senders see it dead) and
// abandons the goroutine, which runs on until the callback returns and
// then only drains the mailbox. A supervisor kills a child that has not
// stopped within its shutdown time, and reports that it overran, so one
// stuck callback cannot hold a whole tree's shutdown. Init cannot be
// abandoned (it runs on the spawner's goroutine).
//
// # Supervisors
//
// [System.StartSupervisor] starts a tree from a [SupervisorSpec]: children
// start in order and stop in reverse order, each with its shutdown
// timeout. The strategies are [OneForOne], [OneForAll], [RestForOne] and
// [SimpleOneForOne] (children added with [StartChild], or for temporary
// children at a high rate, one per request, say, with [SpawnChild], which
// needs no round trip to the supervisor; they are stopped in parallel);
// children are [Permanent], [Transient] or [Temporary]. A supervisor that
// needs more than Intensity restarts within Period stops its children and
// exits with [ReasonShutdown], escalating to its own supervisor. A child
// whose restart fails is retried through the supervisor's mailbox and
// listed as restarting meanwhile.
//
// OTP's supervisor API: [StartChild] (a [ChildSpec] on a static
// supervisor), [TerminateChild], [TerminateChildPID], [RestartChild],
// [DeleteChild], [GetChildSpec], [Children] (which_children) and
// [CountChildren]. An Init that returns [ErrIgnore] leaves a child stopped;
// [SupervisorSpec].Init is the supervisor's own init callback; significant
// children and [AutoShutdown] let a supervisor shut itself down when its
// significant children end.
//
// # Timers and events
//
// [Context.SendAfter] and [Context.SendInterval] send a message to the
// process later, [SendAfter], [SendInterval] and [StartTimer] to any
// process, [System.SendAfterName] to whichever process has a name when the
// timer fires. A timer aimed at a process is cancelled when that process
// exits. One goroutine runs every timer of a System from a heap, so timers
// fire in the order of their deadlines (and, for equal deadlines, in the
// order they were set); [Timer.Remaining] reads the time left and
// [Timer.Cancel] stops a timer for good. [System.Subscribe] streams
// [Event]s (started, stopped, crashed, restarted, dead letter) through a
// bounded buffer: a subscriber that falls behind loses events, counted by
// [Subscription.Dropped], and never slows the runtime.
// [System.DeadLetters] counts undeliverable messages.
//
// docs/actors.md draws the happy path and each path a crash takes, and
// lists where troupe differs from OTP on purpose.
package actor
