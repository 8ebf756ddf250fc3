// Package alarm tells operators about trouble: a surge of requests, a rising
// error rate, a process that keeps crashing, a service that cannot keep up.
//
// A [Monitor] owns named alarms. Each alarm is a [Detector], which measures
// one value over a sliding window, and a [Threshold] with hysteresis: the
// alarm is raised when the value goes above High and cleared only when it
// falls below Low, optionally after the value stayed there For (or ClearFor)
// a while. A value that wobbles around a threshold therefore gives one
// notification when the alarm is raised and one when it clears, never one per
// request.
//
// Four detectors come with the package:
//
//   - [Rate]: events per second, for seed 001's surge ("clients cannot get
//     enough of hello world"). Feed it with Observe on the hot path: one
//     atomic add on a counter in a ring of time slots, a few nanoseconds and
//     no allocation.
//   - [ErrorRate]: failed requests / requests, counted only once the window
//     holds MinRequests requests.
//   - [CrashLoop]: the most crashes of any one process within the window.
//   - [Saturation]: seed 001's "the service cannot keep up": for the worst
//     (service, message) pair, the fraction of its requests within the
//     window that were shed, missed their deadline or waited long for their
//     turn, read from the cumulative counts of the places where requests
//     queue ([Load]); its Subject names the pair ("todo todo.list").
//
// A tour:
//
//	m := alarm.New(alarm.Config{
//		Notifiers: []alarm.Notifier{alarm.LogNotifier(logger), webhook},
//		Source:    "hello@node1",
//	})
//	surge, err := m.Rate("hello.surge", alarm.RateConfig{
//		Threshold: alarm.Threshold{High: 10000, Low: 8000}, // requests/s
//		Window:    10 * time.Second,
//		Noun:      "requests",
//	})
//	...
//	registry.MustRegister(m) // troupe_alarm_active{alarm="hello.surge"} and friends
//	err = m.Start()          // evaluate every second
//	defer m.Close(ctx)
//
//	// in the request path:
//	surge.Observe()
//
// The monitor's one goroutine evaluates every alarm each Interval (one
// second by default) and calls the [Notifier]s with an [Event] for each alarm
// raised or cleared. The windows slide as the monitor evaluates, so keep the
// Interval no longer than a window's slot (Window / Buckets). [Monitor.Snapshot]
// returns the state of every alarm for a health endpoint, and the monitor is a
// prometheus.Collector.
//
// [LogNotifier] writes one slog record per event. [Webhook] posts the event as
// JSON to a URL from its own goroutine, retried with exponential backoff a
// bounded number of times; its queue is bounded too, so a dead webhook never
// blocks the monitor nor grows memory: events past the bound are dropped and
// counted.
//
// A detector or notifier that panics is skipped for that evaluation and the
// panic is logged; it never takes the process down.
//
// Time comes from a [Clock]; tests pass a fake one and call
// [Monitor.Evaluate] themselves.
package alarm
