package alarm_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/troupe-go/troupe/alarm"
)

// manualClock is a Clock that moves only when told to, so the example's
// output does not depend on the real time.
type manualClock struct{ now time.Time }

func (c *manualClock) Now() time.Time                                { return c.now }
func (c *manualClock) Tick(time.Duration) (<-chan time.Time, func()) { return nil, func() {} }
func (c *manualClock) advance(d time.Duration)                       { c.now = c.now.Add(d) }

func Example() {
	clock := &manualClock{now: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // keep the output stable
			}
			return a
		},
	}))
	m := alarm.New(alarm.Config{
		Clock:     clock,
		Notifiers: []alarm.Notifier{alarm.LogNotifier(logger)},
	})
	surge, err := m.Rate("hello.surge", alarm.RateConfig{
		Threshold: alarm.Threshold{High: 100, Low: 80}, // requests per second
		Window:    time.Second,
		Buckets:   1,
		Noun:      "requests",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// Requests per second: a surge that wobbles around the threshold, then
	// ends. The monitor's goroutine would evaluate every second; here the
	// example does it.
	for _, n := range []int{50, 150, 90, 120, 95, 30} {
		for range n {
			surge.Observe()
		}
		clock.advance(time.Second)
		m.Evaluate(context.Background())
	}
	for _, s := range m.Snapshot() {
		fmt.Printf("%s active=%v value=%v\n", s.Name, s.Active, s.Value)
	}
	// Output:
	// level=WARN msg="alarm hello.surge raised: 150 requests in the last 1s (150/s), above 100" alarm=hello.surge state=raised value=150 threshold=100 kind=rate
	// level=INFO msg="alarm hello.surge cleared: 30 requests in the last 1s (30/s), below 80" alarm=hello.surge state=cleared value=30 threshold=80 kind=rate
	// hello.surge active=false value=30
}
