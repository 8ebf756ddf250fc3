package alarm_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe/alarm"
)

// loads is a scripted source of loads: the test moves the counts on.
type loads struct {
	mu sync.Mutex
	ls map[string]*alarm.Load // by service/instance/name
}

func (l *loads) add(service, instance, name string, requests, shed, late, delayed uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ls == nil {
		l.ls = map[string]*alarm.Load{}
	}
	k := service + "/" + instance + "/" + name
	x := l.ls[k]
	if x == nil {
		x = &alarm.Load{Service: service, Instance: instance, Name: name}
		l.ls[k] = x
	}
	x.Requests += requests
	x.Shed += shed
	x.Late += late
	x.Delayed += delayed
	x.Waited += time.Duration(requests-shed) * time.Millisecond
}

func (l *loads) reset(service, instance, name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ls[service+"/"+instance+"/"+name] = &alarm.Load{Service: service, Instance: instance, Name: name}
}

func (l *loads) read() []alarm.Load {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []alarm.Load
	for _, x := range l.ls {
		out = append(out, *x)
	}
	return out
}

// TestSaturationRaisedAndCleared: a message whose requests are shed raises
// the alarm, naming the service and the message, while a busy one that is
// served in time does not; the alarm clears once the window holds no more
// trouble; one raised and one cleared notification in all.
func TestSaturationRaisedAndCleared(t *testing.T) {
	clk := newFakeClock()
	rec := &recorder{}
	m := alarm.New(alarm.Config{Clock: clk, Notifiers: []alarm.Notifier{rec}})
	src := &loads{}
	sat, err := m.Saturation("saturation", alarm.SaturationConfig{Loads: src.read})
	if err != nil {
		t.Fatal(err)
	}
	step := func(f func()) {
		f()
		clk.Advance(time.Second)
		m.Evaluate(context.Background())
	}
	quiet := func() {
		src.add("hello", "hello-1", "Hello", 5000, 0, 0, 0)
		src.add("todo", "todo-1", "todo.list", 100, 0, 0, 0)
	}
	for range 5 {
		step(quiet)
	}
	if got := rec.states(); len(got) != 0 {
		t.Fatalf("quiet load: %v, want no event", got)
	}
	// Listings: a third shed at one of two instances, some late at the other.
	for range 5 {
		step(func() {
			src.add("hello", "hello-1", "Hello", 5000, 0, 0, 0)
			src.add("todo", "todo-1", "todo.list", 300, 100, 0, 10)
			src.add("todo", "todo-2", "todo.list", 300, 0, 20, 0)
		})
	}
	if got := rec.states(); len(got) != 1 || got[0] != "raised" {
		t.Fatalf("while listings are shed: %v, want one raised", got)
	}
	ev := rec.events[0]
	if ev.Subject != "todo todo.list" || ev.Kind != "saturation" || !strings.Contains(ev.Message, "todo.list at service todo: of ") || !strings.Contains(ev.Message, " shed, ") {
		t.Errorf("raised event: %+v; want the subject todo todo.list, kind saturation, and a message naming both", ev)
	}
	if st := status(t, m, "saturation"); !st.Active || st.Subject != "todo todo.list" {
		t.Errorf("snapshot while raised: %+v, want active with the subject", st)
	}
	over := sat.Overloaded()
	if len(over) != 1 || over[0].Service != "todo" || over[0].Name != "todo.list" || over[0].Shed == 0 || over[0].Late == 0 {
		t.Errorf("Overloaded: %+v, want todo.list alone, with its shed and late requests", over)
	}
	// Back to a quiet load: the alarm stays up while the window still holds
	// the trouble, then clears once.
	for range 15 {
		step(quiet)
	}
	if got := rec.states(); len(got) != 2 || got[1] != "cleared" {
		t.Fatalf("after the load: %v, want raised then cleared", got)
	}
	if st := status(t, m, "saturation"); st.Active {
		t.Errorf("snapshot after the load: %+v, want inactive", st)
	}
}

// TestSaturationFewRequestsAndRestarts: a pair with fewer than MinRequests
// requests in the window does not count; counts that go down (an instance
// made again) are read as new.
func TestSaturationFewRequestsAndRestarts(t *testing.T) {
	clk := newFakeClock()
	rec := &recorder{}
	m := alarm.New(alarm.Config{Clock: clk, Notifiers: []alarm.Notifier{rec}})
	src := &loads{}
	if _, err := m.Saturation("saturation", alarm.SaturationConfig{Loads: src.read, Window: 3 * time.Second}); err != nil {
		t.Fatal(err)
	}
	step := func(f func()) {
		f()
		clk.Advance(time.Second)
		m.Evaluate(context.Background())
	}
	for range 5 {
		step(func() { src.add("todo", "todo-1", "todo.create", 1, 1, 0, 0) }) // 3 in a window
	}
	if got := rec.states(); len(got) != 0 {
		t.Fatalf("a few requests, all shed: %v, want no event", got)
	}
	src.add("todo", "todo-1", "todo.get", 1000, 0, 0, 0)
	step(func() {})
	step(func() { src.reset("todo", "todo-1", "todo.get"); src.add("todo", "todo-1", "todo.get", 10, 0, 0, 0) })
	if got := rec.states(); len(got) != 0 {
		t.Fatalf("after counts went down: %v, want no event", got)
	}
}

func TestSaturationConfigErrors(t *testing.T) {
	m := alarm.New(alarm.Config{Clock: newFakeClock()})
	read := func() []alarm.Load { return nil }
	for _, tt := range []struct {
		name string
		c    alarm.SaturationConfig
	}{
		{"no loads", alarm.SaturationConfig{}},
		{"negative window", alarm.SaturationConfig{Loads: read, Window: -time.Second}},
		{"negative minimum", alarm.SaturationConfig{Loads: read, MinRequests: -1}},
		{"high above 1", alarm.SaturationConfig{Loads: read, Threshold: alarm.Threshold{High: 2}}},
	} {
		if _, err := m.Saturation(tt.name, tt.c); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}

func status(t *testing.T, m *alarm.Monitor, name string) alarm.Status {
	t.Helper()
	for _, st := range m.Snapshot() {
		if st.Name == name {
			return st
		}
	}
	t.Fatalf("no alarm %q", name)
	return alarm.Status{}
}
