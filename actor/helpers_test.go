package actor_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testTimeout bounds every wait in the tests so that a bug fails a test
// instead of hanging it; no test asserts how long anything takes.
const testTimeout = 10 * time.Second

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// recorder is a slog.Handler that keeps every record.
type recorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	r.records = append(r.records, rec.Clone())
	r.mu.Unlock()
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

// crashes returns the "process crashed" records as attribute maps.
func (r *recorder) crashes() []map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]string
	for _, rec := range r.records {
		if rec.Message != "process crashed" {
			continue
		}
		m := map[string]string{"level": rec.Level.String()}
		rec.Attrs(func(a slog.Attr) bool {
			m[a.Key] = a.Value.String()
			return true
		})
		out = append(out, m)
	}
	return out
}

// count returns how many records have message msg.
func (r *recorder) count(msg string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, rec := range r.records {
		if rec.Message == msg {
			n++
		}
	}
	return n
}

// hasAttr reports whether a record with message msg has attribute key
// with value val.
func (r *recorder) hasAttr(msg, key, val string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range r.records {
		if rec.Message != msg {
			continue
		}
		found := false
		rec.Attrs(func(a slog.Attr) bool {
			if a.Key == key && a.Value.String() == val {
				found = true
				return false
			}
			return true
		})
		if found {
			return true
		}
	}
	return false
}

// newSystem returns a System logging into a recorder; it is shut down when
// the test ends.
func newSystem(t testing.TB) (*actor.System, *recorder) {
	rec := &recorder{}
	sys := actor.NewSystem(actor.Config{Logger: slog.New(rec)})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := sys.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return sys, rec
}

// spawn spawns b or fails the test.
func spawn(t testing.TB, sys *actor.System, b actor.Behavior, opt actor.Options) actor.PID {
	t.Helper()
	pid, err := sys.Spawn(b, opt)
	if err != nil {
		t.Fatalf("spawn: %v", err)
	}
	return pid
}

// watch returns a channel that receives the Down of pid, from a watcher
// process that monitors it.
func watch(t testing.TB, sys *actor.System, pid actor.PID) <-chan actor.Down {
	t.Helper()
	ch := make(chan actor.Down, 1)
	spawn(t, sys, watcher{pid: pid, ch: ch}, actor.Options{})
	return ch
}

type watcher struct {
	pid actor.PID
	ch  chan actor.Down
}

func (w watcher) Init(ctx *actor.Context) error {
	ctx.Monitor(w.pid)
	return nil
}

func (w watcher) Receive(ctx *actor.Context, msg any) {
	if d, ok := msg.(actor.Down); ok {
		w.ch <- d
		ctx.Stop(nil)
	}
}

// waitDown waits for pid to exit and returns its reason.
func waitDown(t testing.TB, ch <-chan actor.Down) error {
	t.Helper()
	select {
	case d := <-ch:
		return d.Reason
	case <-time.After(testTimeout):
		t.Fatal("no Down")
		return nil
	}
}

// recv waits for one value from ch.
func recv[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(testTimeout):
		t.Fatal("nothing received")
		var zero T
		return zero
	}
}

// die tells a worker to exit: with reason, or by panicking if reason is nil.
type die struct{ reason error }

// worker reports its starts on started and obeys die.
type worker struct {
	name    string
	started chan<- string
}

func (w *worker) Init(*actor.Context) error {
	if w.started != nil {
		w.started <- w.name
	}
	return nil
}

func (w *worker) Receive(ctx *actor.Context, msg any) {
	switch m := msg.(type) {
	case die:
		if m.reason == nil {
			panic("worker " + w.name + " told to crash")
		}
		ctx.Stop(m.reason)
	case string:
		ctx.Reply(w.name + ":" + m)
	}
}
