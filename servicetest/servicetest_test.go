package servicetest_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/host"
	"github.com/troupe-go/troupe/service"
	"github.com/troupe-go/troupe/servicetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
	)
}

type Inc struct {
	By    int  `json:"by"`
	Crash bool `json:"crash,omitempty"`
}

type Count struct {
	Total int `json:"total"`
}

// counter adds to a total on Inc, answers with it, and publishes counted.
var counter = host.Service{
	Name: "counter",
	New: func(_ context.Context, in *host.Instance) (*service.Service, error) {
		s := service.New(in.Config())
		total := 0
		err := service.Handle(s, "Inc", "Count", func(ctx context.Context, inc Inc) (Count, error) {
			if inc.Crash {
				panic("counter: asked to crash")
			}
			total += inc.By // one instance, and the test sends one at a time
			c := Count{Total: total}
			return c, s.Publish(ctx, "counted", c)
		})
		return s, err
	},
}

func app() *troupe.App {
	return &troupe.App{
		Name: "count",
		Services: []troupe.ServiceDecl{
			{Name: "counter", Receives: []string{"Inc"}, Sends: []string{"counted"}},
			{Name: "reader", Sends: []string{"counted"}},
		},
		Routes: []troupe.Route{{Path: "/", Types: []string{"Inc"}}},
	}
}

func TestServicetest(t *testing.T) {
	a := servicetest.Start(t, servicetest.Config{App: app(), Services: []host.Service{counter}, Observe: []string{"counted"}})

	got, err := servicetest.Request[Count](a, "Inc", Inc{By: 2})
	if err != nil || got.Total != 2 {
		t.Fatalf("Inc = %+v, %v; want total 2", got, err)
	}
	if ev := a.Published(t, "counted"); string(ev.Payload) != `{"total":2}` || ev.Sender.Service != "counter" {
		t.Errorf("published %s from %v", ev.Payload, ev.Sender)
	}

	// Through the gateway, seed 001's protocol.
	if status, body := a.Post(t, "/", `{"type":"Inc","by":3}`); status != 200 || body != `{"type":"Count","total":5}` {
		t.Errorf("POST Inc = %d %s", status, body)
	}
	a.Published(t, "counted")

	// As a declared service, with its permissions.
	err = a.As("reader").Send("Inc", Inc{By: 1})
	var te *troupe.Error
	if !errors.As(err, &te) || te.Code != troupe.CodeForbidden {
		t.Errorf("reader sends Inc: %v, want forbidden (reader does not declare it)", err)
	}

	// A crash is an Error with an incident id, and its crash report is in
	// the log under the same id.
	_, err = a.Request("Inc", Inc{Crash: true})
	if !errors.As(err, &te) || te.Code != troupe.CodeInternal || te.Incident == "" {
		t.Fatalf("crashing Inc: %v, want an internal Error with an incident", err)
	}
	report, ok := a.CrashReport(te.Incident)
	if !ok || !strings.Contains(report, "counter: asked to crash") {
		t.Errorf("crash report for %s: %q, %v", te.Incident, report, ok)
	}
	// The service keeps serving.
	if got, err := servicetest.Request[Count](a, "Inc", Inc{By: 1}); err != nil || got.Total != 6 {
		t.Errorf("Inc after the crash = %+v, %v", got, err)
	}
}

// A registration that does not match the manifest fails the test at start;
// Start reports it through the test (here, a recorder).
func TestStartRefusesMismatch(t *testing.T) {
	rec := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		servicetest.Start(rec, servicetest.Config{App: app(), Services: []host.Service{{Name: "stranger", New: counter.New}}})
	}()
	<-done
	if !strings.Contains(rec.fatal, `registers service "stranger"`) {
		t.Errorf("Start's failure %q, want the mismatch named", rec.fatal)
	}
}

// recorder is a testing.TB whose Fatalf records and ends the goroutine.
type recorder struct {
	testing.TB
	fatal string
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.fatal = strings.TrimSpace(fmt.Sprintf(format, args...))
	runtime.Goexit()
}

func (r *recorder) Helper() {}
