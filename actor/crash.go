package actor

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"runtime/debug"

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
	Message  string // the type of the message being handled, or "" (Init)
}

// Error describes the crash with its incident id.
func (e *CrashError) Error() string {
	return fmt.Sprintf("actor: process %v crashed: %v (incident %s)", e.PID, e.Value, e.Incident)
}

// Is reports whether target is ErrCrashed.
func (e *CrashError) Is(target error) bool { return target == ErrCrashed }

// CrashObserver is implemented by messages whose sender wants to know when
// the receiver crashes while handling them. Crashed is called on the
// crashed process's goroutine, right after the crash report is logged and
// before the process's links and monitors are notified; it must not block.
type CrashObserver interface {
	Crashed(*CrashError)
}

// crash logs exactly one crash report for a recovered panic and returns
// the error that describes it.
func (p *process) crash(v any, msg any, where string) *CrashError {
	ce := &CrashError{Incident: troupe.NewID(), PID: PID{p}, Value: v}
	if msg != nil {
		ce.Message = reflect.TypeOf(msg).String()
	}
	var supPath string
	var restarts int
	if e := p.ext.Load(); e != nil {
		supPath, restarts = e.supPath, e.restarts
	}
	stack := debug.Stack()
	if len(stack) > maxStackBytes {
		stack = append(stack[:maxStackBytes:maxStackBytes], "\n..."...)
	}
	rendered := ""
	if msg != nil {
		rendered = bounded(fmt.Sprintf("%+v", msg), maxMessageBytes)
	}
	p.sys.log.LogAttrs(context.Background(), slog.LevelError, "process crashed",
		slog.String("process", p.name),
		slog.String("pid", PID{p}.String()),
		slog.String("supervisor", supPath),
		slog.String("in", where),
		slog.String("message_type", ce.Message),
		slog.String("message", rendered),
		slog.String("panic", bounded(fmt.Sprint(v), maxMessageBytes)),
		slog.String("stack", string(stack)),
		slog.Int("restarts", restarts),
		slog.String("incident", ce.Incident),
	)
	return ce
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
