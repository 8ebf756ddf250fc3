package load

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// WriteReport writes r as markdown tables, ready for docs/benchmarks.md: the
// routes, the minutes, the target's samples and its alarms. phase names the
// run ("capacity", "soak at 70%").
func (r MixResult) WriteReport(w io.Writer, phase string) {
	loop := "closed loop"
	if r.Rate > 0 {
		loop = fmt.Sprintf("open loop at %.0f requests/s", r.Rate)
	}
	fmt.Fprintf(w, "\n#### %s: %s, %d connections, %s\n\n", phase, loop, r.Connections, r.Duration.Round(time.Second))
	fmt.Fprintln(w, "| route | requests | ok | shed (503) | timeouts (504) | errors | ok/s | p50 | p90 | p99 | max | p99 of 503s |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, rr := range append(append([]RouteResult(nil), r.Routes...), r.Total) {
		fmt.Fprintf(w, "| %s | %d | %d | %d | %d | %d | %.0f | %s | %s | %s | %s | %s |\n",
			rr.Name, rr.Requests, rr.OK, rr.Shed, rr.Timeouts, rr.Errors, rr.OKRate,
			fmtDur(rr.P50), fmtDur(rr.P90), fmtDur(rr.P99), fmtDur(rr.Max), fmtDur(rr.ShedP99))
	}
	if r.NotSent > 0 {
		fmt.Fprintf(w, "\n%d due requests were not sent: the client had %d in flight.\n", r.NotSent, DefaultMaxInFlight)
	}
	for _, rr := range r.Routes {
		if rr.FirstError != "" {
			fmt.Fprintf(w, "\nfirst failure of %s: `%s`\n", rr.Name, strings.ReplaceAll(rr.FirstError, "`", "'"))
		}
	}
	if len(r.Minutes) > 1 {
		fmt.Fprintln(w, "\n| minute | ok/s | p99 | Hello p99 | shed | failed | RSS (MiB) | goroutines |")
		fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|")
		for i, m := range r.Minutes {
			rss, g := r.sampleAt(m.Start + m.Length)
			fmt.Fprintf(w, "| %d | %.0f | %s | %s | %d | %d | %.1f | %.0f |\n", i+1, m.OKRate, fmtDur(m.P99), fmtDur(m.HelloP99), m.Shed, m.Failed, rss/(1<<20), g)
		}
	} else if len(r.Samples) > 0 {
		last := r.Samples[len(r.Samples)-1]
		fmt.Fprintf(w, "\ntarget at the end: RSS %.1f MiB, %.0f goroutines\n", last.RSS/(1<<20), last.Goroutines)
	}
	if all, in, ok := r.ServedInBudget(); ok {
		fmt.Fprintf(w, "\nthe target's gateway answered %.0f requests meanwhile, %.0f (%.2f%%) within the budget, from arrival to reply\n", all, in, 100*in/all)
	}
	if r.Burst != nil {
		fmt.Fprintf(w, "\nseed 001's burst beside the mix: %s. %s\n", r.Burst.String(), r.Burst.Verdict())
	}
	for _, a := range r.Alarms {
		state := "cleared"
		if a.Active {
			state = "raised"
		}
		fmt.Fprintf(w, "\nalarm %s %s at +%s", a.Alarm, state, a.At.Round(time.Second))
		if a.Subject != "" {
			fmt.Fprintf(w, " (%s)", a.Subject)
		}
		if a.Message != "" {
			fmt.Fprintf(w, ": %s", a.Message)
		}
		fmt.Fprintln(w)
	}
	if r.SampleError != "" {
		fmt.Fprintf(w, "\nreading the target failed: %s\n", r.SampleError)
	}
}

// sampleAt returns the last sample taken at or before at.
func (r MixResult) sampleAt(at time.Duration) (rss, goroutines float64) {
	for _, s := range r.Samples {
		if s.At > at {
			break
		}
		rss, goroutines = s.RSS, s.Goroutines
	}
	return rss, goroutines
}

// Check is one criterion of a verdict.
type Check struct {
	Name   string
	OK     bool
	Detail string
}

func (c Check) String() string {
	mark := "PASS"
	if !c.OK {
		mark = "FAIL"
	}
	return fmt.Sprintf("%s  %s: %s", mark, c.Name, c.Detail)
}

// SoakChecks are issue 17's criteria of a soak at a rate the target can
// serve: throughput flat (the last minute's ok/s at least 0.95× the
// first's), p99 flat (the last minute's at most 1.5× the second's, or 2 ms
// more), RSS and goroutines flat after the warm-up (the first minute, the
// first two of a run of five or more): the most of the last minute at most
// 10% above the most of the minute after the warm-up (goroutines: or 50
// more, as they follow the connections), and no failure: nothing shed, timed
// out or failed.
func SoakChecks(r MixResult) []Check {
	var out []Check
	if len(r.Minutes) < 3 {
		return []Check{{Name: "duration", OK: false, Detail: fmt.Sprintf("%d minutes: a soak needs at least 3 (warm-up, then steady)", len(r.Minutes))}}
	}
	first, second, last := r.Minutes[0], r.Minutes[1], r.Minutes[len(r.Minutes)-1]
	if last.Length < time.Minute && len(r.Minutes) > 3 {
		last = r.Minutes[len(r.Minutes)-2] // a partial last minute says little
	}
	out = append(out, Check{"throughput flat", last.OKRate >= 0.95*first.OKRate,
		fmt.Sprintf("last minute %.0f ok/s, first %.0f (want ≥ 0.95×)", last.OKRate, first.OKRate)})
	out = append(out, Check{"p99 flat", last.P99 <= second.P99*3/2 || last.P99 <= second.P99+2*time.Millisecond,
		fmt.Sprintf("last minute %s, second %s (want ≤ 1.5× or +2 ms)", fmtDur(last.P99), fmtDur(second.P99))})
	warm := time.Minute
	if len(r.Minutes) >= 5 {
		warm = 2 * time.Minute
	}
	end := time.Duration(len(r.Minutes)) * time.Minute
	var rss0, g0, rss1, g1 float64
	for _, s := range r.Samples {
		switch {
		case s.At > warm && s.At <= warm+time.Minute:
			rss0, g0 = max(rss0, s.RSS), max(g0, s.Goroutines)
		}
		if s.At > end-time.Minute && s.At <= end {
			rss1, g1 = max(rss1, s.RSS), max(g1, s.Goroutines)
		}
	}
	if rss0 > 0 && rss1 > 0 {
		out = append(out, Check{"RSS flat", rss1 <= 1.10*rss0,
			fmt.Sprintf("at most %.1f MiB in the last minute, %.1f MiB in the one after the warm-up (want ≤ +10%%)", rss1/(1<<20), rss0/(1<<20))})
		out = append(out, Check{"goroutines flat", g1 <= max(1.10*g0, g0+50),
			fmt.Sprintf("at most %.0f in the last minute, %.0f in the one after the warm-up (want ≤ +10%% or +50)", g1, g0)})
	} else {
		out = append(out, Check{"RSS and goroutines", false, "the target's /metrics was not read (" + r.SampleError + ")"})
	}
	t := r.Total
	out = append(out, Check{"zero errors", t.Shed == 0 && t.Timeouts == 0 && t.Errors == 0 && r.NotSent == 0,
		fmt.Sprintf("%d shed, %d timeouts, %d errors, %d not sent of %d", t.Shed, t.Timeouts, t.Errors, r.NotSent, t.Requests)})
	return out
}

// ServedInBudget returns how many replies the target's gateway gave during
// the run and how many of those within the budget, from its histogram (the
// first and the last sample); ok is false when the target has none.
func (r MixResult) ServedInBudget() (replies, inBudget float64, ok bool) {
	if len(r.Samples) < 2 {
		return 0, 0, false
	}
	a, b := r.Samples[0], r.Samples[len(r.Samples)-1]
	if b.Replies <= a.Replies {
		return 0, 0, false
	}
	return b.Replies - a.Replies, b.InBudget - a.InBudget, true
}

// OverloadChecks are issue 17's criteria of a run above capacity: requests
// are shed, and counted; none is answered 504, the target's gateway answered
// every request within the budget (its own histogram, from arrival to
// reply, when /metrics has it); as the client saw them too (from when each
// was due, so this includes the client's own delays on a shared machine),
// the p99s of the ok replies and of the 503s are within the budget; and the
// target recovered within recoverWithin once the load stopped (recovered,
// from Recovery).
func OverloadChecks(r MixResult, budget time.Duration, recovered time.Duration, recoveredOK bool, recoverWithin time.Duration) []Check {
	t := r.Total
	out := []Check{
		{"shed counted", t.Shed > 0, fmt.Sprintf("%d of %d requests shed (503)", t.Shed, t.Requests)},
		{"no timeout", t.Timeouts == 0, fmt.Sprintf("%d answered 504 (a request the gateway accepted and could not answer within %s)", t.Timeouts, budget)},
	}
	if all, in, ok := r.ServedInBudget(); ok {
		out = append(out, Check{"within budget at the gateway", in >= all,
			fmt.Sprintf("%.0f of %.0f replies within %s, from arrival to reply (troupe_gateway_request_duration_seconds)", in, all, budget)})
	}
	out = append(out,
		Check{"within budget at the client", t.P99 < budget && t.ShedP99 < budget,
			fmt.Sprintf("p99 %s of the ok replies, %s of the 503s, slowest ok %s, from when each was due (want p99s < %s)", fmtDur(t.P99), fmtDur(t.ShedP99), fmtDur(t.Max), budget)},
		Check{"recovers", recoveredOK && recovered <= recoverWithin, fmt.Sprintf("back to normal %s after the load stopped (want ≤ %s)", recovered.Round(10*time.Millisecond), recoverWithin)},
	)
	return out
}

// Recovery measures how long the target takes to be back to normal once a
// load stopped at since (a MixResult's Stopped; zero means now): it sends
// one request of each route every 50 ms until ten rounds in a row are all
// answered 2xx, each within fast, and returns the time from since to the
// first of those rounds. It gives up after within (ok false).
func Recovery(ctx context.Context, cfg MixConfig, since time.Time, fast, within time.Duration) (took time.Duration, ok bool) {
	routes := cfg.Routes
	if routes == nil {
		routes = TodoMix("default", 0)
	}
	base := strings.TrimSuffix(cfg.URL, "/") + "/"
	tr := &http.Transport{TLSClientConfig: cfg.TLS}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: within}
	r := &mixRun{cfg: cfg, base: base, routes: routes, client: c}
	start := time.Now()
	if since.IsZero() || since.After(start) {
		since = start
	}
	var streak time.Time
	good := 0
	for time.Since(start) < within && ctx.Err() == nil {
		round := time.Now()
		all := true
		for i := range routes {
			t0 := time.Now()
			status := r.probe(ctx, i)
			if status/100 != 2 || time.Since(t0) > fast {
				all = false
			}
		}
		if all {
			if good == 0 {
				streak = round
			}
			good++
			if good == 10 {
				return streak.Sub(since), true
			}
		} else {
			good = 0
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(since), false
}

// probe sends one request of route i and returns its status (0 on a
// transport error).
func (r *mixRun) probe(ctx context.Context, i int) int {
	rt := &r.routes[i]
	var body io.Reader
	if rt.Body != nil {
		body = strings.NewReader(strings.ReplaceAll(string(rt.Body), "{n}", "probe"))
	}
	req, err := http.NewRequestWithContext(ctx, rt.Method, r.base+rt.Path, body)
	if err != nil {
		return 0
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// Step is one rate tried by FindCapacity.
type Step struct {
	Rate   float64
	Result MixResult
	OK     bool
	Why    string // why the step failed
}

// FindCapacity finds the highest rate at which the mix is served well: it
// runs the mix in an open loop for step at a time, from start up by 15% a
// step, until a step sheds, times out or fails more than 0.1% of its
// requests, leaves any unsent, or has a p99 above budget/10; the capacity is
// the last rate that passed. If start itself fails, it halves the rate until
// one passes (five steps at most; 0 if none did). It stops after 20 steps.
func FindCapacity(ctx context.Context, cfg MixConfig, start float64, step, budget time.Duration, progress io.Writer) (float64, []Step, error) {
	var steps []Step
	capacity := 0.0
	rate := start
	for range 20 {
		c := cfg
		c.Rate, c.Duration, c.Burst = rate, step, nil
		res, err := Mix(ctx, c)
		if err != nil {
			return 0, steps, err
		}
		t := res.Total
		st := Step{Rate: rate, Result: res, OK: true}
		switch bad := t.Shed + t.Timeouts + t.Errors; {
		case res.NotSent > 0:
			st.OK, st.Why = false, fmt.Sprintf("%d not sent", res.NotSent)
		case float64(bad) > 0.001*float64(t.Requests):
			st.OK, st.Why = false, fmt.Sprintf("%d of %d shed, timed out or failed", bad, t.Requests)
		case t.P99 > budget/10:
			st.OK, st.Why = false, fmt.Sprintf("p99 %s above %s", fmtDur(t.P99), budget/10)
		}
		steps = append(steps, st)
		if progress != nil {
			verdict := "ok"
			if !st.OK {
				verdict = st.Why
			}
			fmt.Fprintf(progress, "capacity: %.0f/s for %s: %.0f ok/s, p99 %s: %s\n", rate, step, t.OKRate, fmtDur(t.P99), verdict)
		}
		if ctx.Err() != nil {
			break
		}
		if !st.OK {
			if capacity > 0 || len(steps) >= 5 {
				break
			}
			rate /= 2 // the first rate was too much already: go down
		} else {
			capacity = rate
			rate *= 1.15
		}
		// The queues drain between steps.
		if err := sleep(ctx, min(5*time.Second, step/3)); err != nil {
			return capacity, steps, err
		}
	}
	return capacity, steps, ctx.Err()
}

// WriteSteps writes FindCapacity's steps as a markdown table.
func WriteSteps(w io.Writer, steps []Step) {
	fmt.Fprintln(w, "\n#### capacity: open loop, 15% more per step")
	fmt.Fprintln(w, "\n| rate (/s) | ok/s | p50 | p99 | Hello p99 | shed | timeouts | errors | step |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, st := range steps {
		t := st.Result.Total
		var hello time.Duration
		for _, rr := range st.Result.Routes {
			if rr.Name == "hello" {
				hello = rr.P99
			}
		}
		verdict := "passed"
		if !st.OK {
			verdict = "failed: " + st.Why
		}
		fmt.Fprintf(w, "| %.0f | %.0f | %s | %s | %s | %d | %d | %d | %s |\n", st.Rate, t.OKRate, fmtDur(t.P50), fmtDur(t.P99), fmtDur(hello), t.Shed, t.Timeouts, t.Errors, verdict)
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Settled is what SettleAlarms saw: the alarms cleared after a load (At
// counts from the load's end), and those still raised when it gave up.
type Settled struct {
	Cleared, Still []AlarmChange
}

// SettleAlarms reads the target's /healthz (cfg.Health, default URL+"healthz")
// every second after a load that stopped at since, until none of its alarms
// is raised or within has passed.
func SettleAlarms(ctx context.Context, cfg MixConfig, since time.Time, within time.Duration) Settled {
	var cleared, still []AlarmChange
	u := cfg.Health
	if u == "" {
		u = strings.TrimSuffix(cfg.URL, "/") + "/healthz"
	}
	if u == "-" || cfg.Metrics == "-" {
		return Settled{}
	}
	tr := &http.Transport{TLSClientConfig: cfg.TLS}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	var active map[string]alarmStatus
	deadline := time.Now().Add(within)
	for {
		sts, err := readAlarms(ctx, c, u)
		if err == nil {
			now := map[string]alarmStatus{}
			for _, st := range sts {
				if st.Active {
					now[st.Name] = st
				}
			}
			for name, st := range active {
				if _, ok := now[name]; !ok {
					cleared = append(cleared, AlarmChange{At: time.Since(since), Alarm: name, Subject: st.Subject})
				}
			}
			active = now
			if len(active) == 0 {
				return Settled{Cleared: cleared}
			}
		}
		if time.Now().After(deadline) || sleep(ctx, time.Second) != nil {
			break
		}
	}
	for _, st := range active {
		still = append(still, AlarmChange{At: time.Since(since), Alarm: st.Name, Active: true, Subject: st.Subject, Message: st.Message})
	}
	return Settled{Cleared: cleared, Still: still}
}

// Write writes what SettleAlarms saw.
func (s Settled) Write(w io.Writer) {
	for _, a := range s.Cleared {
		fmt.Fprintf(w, "\nalarm %s cleared %s after the load stopped", a.Alarm, a.At.Round(time.Second))
		if a.Subject != "" {
			fmt.Fprintf(w, " (it named %s)", a.Subject)
		}
		fmt.Fprintln(w)
	}
	for _, a := range s.Still {
		fmt.Fprintf(w, "\nalarm %s still raised %s after the load stopped: %s\n", a.Alarm, a.At.Round(time.Second), a.Message)
	}
}
