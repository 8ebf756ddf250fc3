package alarm_test

import (
	"context"
	"fmt"
	"time"

	"github.com/troupe-go/troupe/alarm"
)

func ExampleMonitor_Saturation() {
	clock := &manualClock{now: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	m := alarm.New(alarm.Config{Clock: clock})
	// The cumulative counts of the places where requests queue; a node
	// reads them from its services' and its gateway's limits.
	listing := alarm.Load{Service: "todo", Instance: "todo-1", Name: "todo.list"}
	if _, err := m.Saturation("saturation", alarm.SaturationConfig{
		Loads: func() []alarm.Load { return []alarm.Load{listing} },
	}); err != nil {
		fmt.Println(err)
		return
	}
	// Ten seconds of 500 listings a second, a fifth of them shed; then
	// twenty quiet ones.
	for i := range 30 {
		if i < 10 {
			listing.Requests += 500
			listing.Shed += 100
			listing.Waited += 400 * 40 * time.Millisecond
		}
		clock.advance(time.Second)
		m.Evaluate(context.Background())
		if s := m.Snapshot()[0]; i == 9 || i == 29 {
			fmt.Printf("active=%v subject=%q\n%s\n", s.Active, s.Subject, s.Message)
		}
	}
	// Output:
	// active=true subject="todo todo.list"
	// todo.list at service todo: of 4500 requests in the last 9s, 900 shed, 0 late, 0 delayed (20%); mean wait 40ms
	// active=false subject=""
	// every request was served in time in the last 10s
}
