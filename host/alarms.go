package host

import (
	"fmt"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/alarm"
)

// alarms are the node's detectors that other parts feed.
type alarms struct {
	surge       *alarm.Rate
	errorRate   *alarm.ErrorRate
	deadLetters *alarm.Rate
}

// startAlarms starts the alarm monitor with the node's detectors: request
// surge, error rate, crash loop and dead letters.
func (n *Node) startAlarms() (alarms, error) {
	var al alarms
	notifiers := []alarm.Notifier{alarm.LogNotifier(n.log)}
	if url := n.cfg.Alarms.Webhook; url != "" {
		wh, err := alarm.NewWebhook(alarm.WebhookConfig{URL: url, Logger: n.log})
		if err != nil {
			return al, fmt.Errorf("host: alarm webhook: %w", err)
		}
		n.webhook = wh
		notifiers = append(notifiers, wh)
		n.registry.MustRegister(wh)
	}
	n.monitor = alarm.New(alarm.Config{Notifiers: notifiers, Source: n.app.Name, Logger: n.log})
	var err error
	if al.surge, err = n.monitor.Rate("request-surge", alarm.RateConfig{Threshold: alarm.Threshold{High: n.cfg.Alarms.Surge}, Noun: "requests"}); err != nil {
		return al, fmt.Errorf("host: surge alarm: %w", err)
	}
	if al.errorRate, err = n.monitor.ErrorRate("error-rate", alarm.ErrorRateConfig{}); err != nil {
		return al, fmt.Errorf("host: error-rate alarm: %w", err)
	}
	if n.crashLoop, err = n.monitor.CrashLoop("crash-loop", alarm.CrashLoopConfig{}); err != nil {
		return al, fmt.Errorf("host: crash-loop alarm: %w", err)
	}
	// Any durable message that exhausted its attempts raises this alarm.
	if al.deadLetters, err = n.monitor.Rate("dead-letters", alarm.RateConfig{Threshold: alarm.Threshold{High: 1e-9, Low: 1e-10}, Window: time.Minute, Noun: "dead letters"}); err != nil {
		return al, fmt.Errorf("host: dead-letter alarm: %w", err)
	}
	n.registry.MustRegister(n.monitor)
	if err := n.monitor.Start(); err != nil {
		return al, fmt.Errorf("host: alarms: %w", err)
	}
	return al, nil
}

// watchEvents feeds the actor system's crashes to the crash-loop alarm until
// the subscription closes.
func (n *Node) watchEvents() {
	defer close(n.eventsDone)
	for ev := range n.events.C {
		if ev.Kind == actor.Crashed {
			n.crashLoop.Crash(n.crashKey(ev))
		}
	}
}

// deadLettered is the transport's dead-letter hook: it logs the envelope and
// counts it for the alarm.
func (n *Node) deadLettered(al *alarm.Rate) func(env *troupe.Envelope, service, reason string) {
	return func(env *troupe.Envelope, service, reason string) {
		al.Observe()
		n.noteDeadLetter(env, service, reason) // observe.go
		n.log.Error("durable message dead-lettered", "name", env.Name, "id", env.ID, "service", service, "reason", reason)
	}
}

// crashKey names what crashed for the crash-loop alarm: the service whose
// handler crashed, else the supervision tree the process belongs to (a
// service instance's tree is named after the instance's id), else the
// process's name, else its pid.
func (n *Node) crashKey(ev actor.Event) string {
	if ce, ok := ev.Reason.(*actor.CrashError); ok {
		if s := ce.Attr("service"); s != "" {
			return s
		}
		if tree := ce.Tree(); tree != "" {
			return tree // an instance's id: "todo-3kq9v0m2x7cd"
		}
	}
	if name := ev.PID.Name(); name != "" {
		return name
	}
	return ev.PID.String()
}
