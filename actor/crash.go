package actor

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"runtime/debug"
	"strings"

	"github.com/troupe-go/troupe"
)

// Limits on what a crash report renders.
const (
	maxMessageBytes = 512
	maxStackBytes   = 8 << 10
)

// CrashError describes a panic recovered at a process boundary. It is the
// exit reason of the crashed process, what an Ask to it returns, and what a
// CrashObserver receives. Incident is the id under which the crash report
// was logged. errors.Is(err, ErrCrashed) holds for every CrashError.
type CrashError struct {
	Incident string // unique id, also in the crash report
	PID      PID    // the process that crashed
	Value    any    // the value passed to panic
	// Message names the message being handled, or "" (Init): what its
	// Describe says (a Describer), else its Go type.
	Message string
	// Supervisor is the path of the crashed process's supervisor
	// ("hello-3kq9v0m2x7cd/requests"), or "" for a process outside any
	// supervision tree.
	Supervisor string
	// Stack is the goroutine's stack at the panic, as the crash report
	// shows it: the program's own frames first, the frames of troupe and
	// of the Go runtime folded into one line (see FoldStack).
	Stack string
	// Attrs are the attributes the message's Describe added to the report
	// (the service SDK's: service, instance, name, activity).
	Attrs []slog.Attr
}

// Error describes the crash with its incident id.
func (e *CrashError) Error() string {
	return fmt.Sprintf("actor: process %v crashed: %v (incident %s)", e.PID, e.Value, e.Incident)
}

// Is reports whether target is ErrCrashed.
func (e *CrashError) Is(target error) bool { return target == ErrCrashed }

// Attr returns the value of the attribute key among e.Attrs, or "".
func (e *CrashError) Attr(key string) string {
	for _, a := range e.Attrs {
		if a.Key == key {
			return a.Value.String()
		}
	}
	return ""
}

// Tree returns the name of the supervision tree the crashed process belongs
// to: the first element of its supervisor's path (the service SDK names a
// service instance's tree after the instance's id), or the process's own
// name for a process outside any tree.
func (e *CrashError) Tree() string {
	if e.Supervisor != "" {
		tree, _, _ := strings.Cut(e.Supervisor, "/")
		return tree
	}
	return e.PID.Name()
}

// CrashObserver is implemented by messages whose sender wants to know when
// the receiver crashes while handling them. Crashed is called on the
// crashed process's goroutine, right after the crash report is logged and
// before the process's links and monitors are notified; it must not block.
type CrashObserver interface {
	Crashed(*CrashError)
}

// A Describer is a message that describes itself to crash reports better
// than its Go type and its %+v rendering do: the service SDK's jobs name the
// bus message they carry and the service instance that handles it, instead
// of an internal type.
type Describer interface {
	Describe() Description
}

// Description is what a crash report says of the message being handled.
type Description struct {
	// Type is the report's message_type: what kind of message it is
	// ("request todo.add").
	Type string
	// Text is the report's message: the message rendered (bounded to 512
	// bytes in the report).
	Text string
	// Attrs go into the report's headline before the process: what the
	// message belongs to (service, instance, name, activity).
	Attrs []slog.Attr
}

// crash logs exactly one crash report for a recovered panic and returns
// the error that describes it.
func (p *process) crash(v any, msg any, where string) *CrashError {
	ce := &CrashError{Incident: troupe.NewID(), PID: PID{p}, Value: v}
	var d Description
	if msg != nil {
		if ds, ok := msg.(Describer); ok {
			d = describe(ds)
		}
		if d.Type == "" {
			d.Type = reflect.TypeOf(msg).String()
		}
		if d.Text == "" {
			d.Text = fmt.Sprintf("%+v", msg)
		}
	}
	ce.Message, ce.Attrs = d.Type, d.Attrs
	var restarts int
	if e := p.ext.Load(); e != nil {
		ce.Supervisor, restarts = e.supPath, e.restarts
	}
	stack := debug.Stack()
	if len(stack) > maxStackBytes {
		stack = append(stack[:maxStackBytes:maxStackBytes], "\n..."...)
	}
	ce.Stack = FoldStack(string(stack))
	p.sys.tree(ce.Tree()).crashes.Add(1)
	attrs := make([]slog.Attr, 0, len(d.Attrs)+10)
	attrs = append(attrs, d.Attrs...)
	attrs = append(attrs,
		slog.String("process", p.name),
		slog.String("incident", ce.Incident),
		slog.String("panic", bounded(fmt.Sprint(v), maxMessageBytes)),
		slog.String("message_type", ce.Message),
		slog.String("message", bounded(d.Text, maxMessageBytes)),
		slog.String("supervisor", ce.Supervisor),
		slog.String("pid", PID{p}.String()),
		slog.String("in", where),
		slog.Int("restarts", restarts),
		slog.String("stack", ce.Stack),
	)
	p.sys.log.LogAttrs(context.Background(), slog.LevelError, "process crashed", attrs...)
	return ce
}

// describe calls d.Describe, containing a panic in it: a report is logged
// whatever the message does.
func describe(d Describer) (out Description) {
	defer func() {
		if recover() != nil {
			out = Description{}
		}
	}()
	return d.Describe()
}

// bounded cuts s to at most n bytes, marking the cut.
func bounded(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && s[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
		cut--
	}
	return s[:cut] + "…"
}
