package host

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/troupe-go/troupe/internal/load"
)

// benchMixCmd is `bench mix`: issue 17's mixed load against a running
// application, once (a closed loop measures the capacity, an open loop holds
// a rate), or as a soak: the capacity, then 70% of it for -duration, then
// 150% for -overload, then the recovery.
func (p Program) benchMixCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := p.newFlagSet("bench mix", "", "The mixed load of issue 17 against a running application (start it with\n"+
		"`run` first, in another process, so that its memory and goroutines are its own):\n"+
		"80% Hello (POST /), 10% POST /api/lists/LIST/todos, 10%\n"+
		"GET /api/lists/LIST/todos?filter=active. It reports per route the requests, the\n"+
		"replies ok, shed (503) and failed, the throughput and the latency percentiles\n"+
		"(Hello's on its own row), per minute the throughput, the p99s and the target's\n"+
		"RSS and goroutines (read from its /metrics), and the alarms its /healthz raised\n"+
		"and cleared, as markdown tables for docs/benchmarks.md.\n\n"+
		"Without -rate it runs a closed loop of -c clients (what wrk does); with -rate, an\n"+
		"open loop at that rate. With -soak it finds the capacity (unless -capacity is\n"+
		"given): a closed loop for -capacity-for gives a first estimate (the least, over\n"+
		"the routes, of a route's ok/s over its share of the mix), then an open loop goes\n"+
		"up from it by 15% each -capacity-step while the mix is served with at most 0.1%\n"+
		"shed or failed and a p99 within a tenth of -budget. It then holds 70% of it for -duration and\n"+
		"checks that throughput, p99, RSS and goroutines stay flat with no error, then\n"+
		"sends 150% of it for -overload and checks that requests are shed at once, the\n"+
		"accepted ones answered within -budget, and that the target is back to normal\n"+
		"within -recover once the load stops. Exit status 1 if a check fails.", stdout, stderr)
	var (
		url          = fs.String("url", "http://127.0.0.1:8080/", "the application's URL")
		conns        = fs.Int("c", load.DefaultMixConnections, "connections (and clients of a closed loop)")
		duration     = fs.Duration("duration", time.Minute, "the run's length (with -soak: the steady phase's; the issue asks for 10m)")
		rate         = fs.Float64("rate", 0, "requests per second, an open loop (default: a closed loop)")
		list         = fs.String("list", "default", "the list the todo requests go to: one of -token's user")
		token        = fs.String("token", "", "the API token the todo requests carry (make one on the todo app's tokens page, /tokens)")
		metrics      = fs.String("metrics", "", "the target's Prometheus endpoint, on its admin listener (the node prints \"admin listening on URL\"; default: -url's /metrics)")
		limit        = fs.Int("limit", 0, "the page size of the listings (default: the service's, 50)")
		soak         = fs.Bool("soak", false, "run the soak: capacity, 70% for -duration, 150% for -overload, recovery")
		capacity     = fs.Float64("capacity", 0, "with -soak: the capacity in requests/s, instead of measuring it")
		capacityFor  = fs.Duration("capacity-for", 30*time.Second, "with -soak: how long the closed loop that estimates the capacity runs")
		capacityStep = fs.Duration("capacity-step", 15*time.Second, "with -soak: how long each rate of the capacity search runs")
		steadyAt     = fs.Float64("steady", 0.7, "with -soak: the steady phase's share of the capacity")
		overAt       = fs.Float64("overload-at", 1.5, "with -soak: the overload's share of the capacity")
		overload     = fs.Duration("overload", 2*time.Minute, "with -soak: the overload's length")
		budget       = fs.Duration("budget", time.Second, "the requests' budget (the node's -timeout)")
		recoverIn    = fs.Duration("recover", 5*time.Second, "with -soak: the longest the target may take to be back to normal")
		burstAt      = fs.Duration("burst-at", 0, "run seed 001's burst (-burst-n Hellos within 1 s, 50 connections) this far into the run (0: none; with -soak: into the steady phase)")
		burstN       = fs.Int("burst-n", load.DefaultN, "the burst's requests")
		burstIn      = fs.Duration("burst-duration", load.DefaultDuration, "the time all of the burst's replies must arrive within")
		sample       = fs.Duration("sample", load.DefaultMixSample, "how often the target's /metrics and /healthz are read")
		settle       = fs.Duration("settle", time.Minute, "after the load, how long to wait for the target's alarms to clear (and report when they did)")
		label        = fs.String("label", "", "the name of the run in the summary row (the store, say: SQLite)")
		out          = fs.String("out", "", "also write the report to this file")
	)
	if err := parse(fs, args, stdout); err != nil {
		return done(err)
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	w := stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return fmt.Errorf("bench mix: %w", err)
		}
		defer f.Close()
		w = io.MultiWriter(stdout, f)
	}
	cfg := load.MixConfig{
		URL:         *url,
		Routes:      load.TodoMix(*list, *limit),
		Connections: *conns,
		Sample:      *sample,
		Progress:    stderr,
		Timeout:     *budget + 4*time.Second,
		Budget:      *budget,
		Token:       *token,
		Metrics:     *metrics,
	}
	burst := func(c *load.MixConfig) {
		if *burstAt > 0 {
			c.Burst = &load.Config{N: *burstN, Duration: *burstIn, Body: []byte(`{"type":"Hello"}`), Expect: load.ExpectType("World")}
			c.BurstAt = *burstAt
		}
	}
	failed := false
	report := func(name string, res load.MixResult, checks []load.Check) {
		res.WriteReport(w, name)
		if len(checks) > 0 {
			fmt.Fprintln(w)
		}
		for _, c := range checks {
			fmt.Fprintf(w, "    %s\n", c)
			failed = failed || !c.OK
		}
		if res.Burst != nil && !res.Burst.AllGood {
			failed = true
		}
	}

	if !*soak {
		c := cfg
		c.Rate, c.Duration = *rate, *duration
		burst(&c)
		name := "capacity"
		if *rate > 0 {
			name = fmt.Sprintf("open loop at %.0f/s", *rate)
		}
		fmt.Fprintf(stderr, "%s against %s for %s\n", name, *url, *duration)
		res, err := load.Mix(ctx, c)
		if err != nil {
			return fmt.Errorf("bench mix: %w", err)
		}
		report(name, res, nil)
		load.SettleAlarms(ctx, c, res.Stopped, *settle).Write(w)
		if failed {
			return exitStatus(1)
		}
		return nil
	}

	// The soak. The capacity: a closed loop gives a first estimate, from
	// which an open loop goes up until the mix is no longer served well.
	capRate := *capacity
	if capRate <= 0 {
		c := cfg
		c.Duration = *capacityFor
		fmt.Fprintf(stderr, "estimating the capacity against %s for %s (closed loop, %d clients)\n", *url, *capacityFor, *conns)
		capRes, err := load.Mix(ctx, c)
		if err != nil {
			return fmt.Errorf("bench mix: %w", err)
		}
		report("closed loop", capRes, nil)
		est := capRes.Capacity(cfg.Routes)
		if est <= 0 {
			return fmt.Errorf("bench mix: the closed loop had a route with no ok reply")
		}
		fmt.Fprintf(w, "\nthe closed loop served the mix at %.0f requests/s (the route served least for its share sets it)\n", est)
		if err := pause(ctx, min(10*time.Second, *capacityFor)); err != nil {
			return err
		}
		found, steps, err := load.FindCapacity(ctx, cfg, est, *capacityStep, *budget, stderr)
		load.WriteSteps(w, steps)
		if err != nil {
			return fmt.Errorf("bench mix: %w", err)
		}
		if found <= 0 {
			return fmt.Errorf("bench mix: no rate down to %.0f/s served the mix well", steps[len(steps)-1].Rate)
		}
		capRate = found
		fmt.Fprintf(w, "\ncapacity: %.0f requests/s, the highest rate served with no more than 0.1%% shed or failed and a p99 within %s\n", capRate, *budget/10)
		// The target's queues drain before the steady phase (durable
		// creates of the last, overloaded step may still be delivered).
		if err := pause(ctx, min(30*time.Second, 2**capacityStep)); err != nil {
			return err
		}
	}
	steady := cfg
	steady.Rate, steady.Duration = *steadyAt*capRate, *duration
	burst(&steady)
	fmt.Fprintf(stderr, "steady: %.0f requests/s (%.0f%% of %.0f) for %s\n", steady.Rate, 100**steadyAt, capRate, *duration)
	steadyRes, err := load.Mix(ctx, steady)
	if err != nil {
		return fmt.Errorf("bench mix: %w", err)
	}
	report(fmt.Sprintf("steady at %.0f%% of the capacity", 100**steadyAt), steadyRes, load.SoakChecks(steadyRes))

	over := cfg
	over.Rate, over.Duration = *overAt*capRate, *overload
	fmt.Fprintf(stderr, "overload: %.0f requests/s (%.0f%% of %.0f) for %s\n", over.Rate, 100**overAt, capRate, *overload)
	overRes, err := load.Mix(ctx, over)
	if err != nil {
		return fmt.Errorf("bench mix: %w", err)
	}
	took, ok := load.Recovery(ctx, cfg, overRes.Stopped, 100*time.Millisecond, time.Minute)
	report(fmt.Sprintf("overload at %.0f%% of the capacity", 100**overAt), overRes, load.OverloadChecks(overRes, *budget, took, ok, *recoverIn))
	load.SettleAlarms(ctx, cfg, overRes.Stopped, *settle).Write(w)

	writeSummary(w, *label, capRate, steadyRes, overRes, took, ok)
	if failed {
		return exitStatus(1)
	}
	return nil
}

// writeSummary writes the soak's one-row summary, for docs/benchmarks.md.
func writeSummary(w io.Writer, label string, capRate float64, steady, over load.MixResult, took time.Duration, recovered bool) {
	hello := func(r load.MixResult) load.RouteResult {
		for _, rr := range r.Routes {
			if rr.Name == "hello" {
				return rr
			}
		}
		return load.RouteResult{}
	}
	first, last := load.Minute{}, load.Minute{}
	if n := len(steady.Minutes); n > 0 {
		first, last = steady.Minutes[0], steady.Minutes[n-1]
		if last.Length < time.Minute && n > 1 {
			last = steady.Minutes[n-2]
		}
	}
	rss := func(r load.MixResult) (lo, hi float64) {
		for _, s := range r.Samples {
			if lo == 0 || s.RSS < lo {
				lo = s.RSS
			}
			hi = max(hi, s.RSS)
		}
		return lo / (1 << 20), hi / (1 << 20)
	}
	gor := func(r load.MixResult) (lo, hi float64) {
		for _, s := range r.Samples {
			if lo == 0 || s.Goroutines < lo {
				lo = s.Goroutines
			}
			hi = max(hi, s.Goroutines)
		}
		return lo, hi
	}
	rlo, rhi := rss(steady)
	glo, ghi := gor(steady)
	rec := took.Round(10 * time.Millisecond).String()
	if !recovered {
		rec = "not within " + rec
	}
	st, ov := steady.Total, over.Total
	fmt.Fprintf(w, "\n#### summary\n\n")
	fmt.Fprintln(w, "| run | capacity (ok/s) | steady rate | ok/s first → last minute | p99 first → last minute | Hello p99 | RSS (MiB) | goroutines | steady failures | overload rate | shed | slowest ok | 504s | recovery |")
	fmt.Fprintln(w, "|---|---:|---:|---|---|---:|---|---|---:|---:|---:|---:|---:|---:|")
	fmt.Fprintf(w, "| %s | %.0f | %.0f/s | %.0f → %.0f | %s → %s | %s | %.0f–%.0f | %.0f–%.0f | %d | %.0f/s | %d of %d | %s | %d | %s |\n",
		strings.TrimSpace(label+" "), capRate, steady.Rate, first.OKRate, last.OKRate, durString(first.P99), durString(last.P99), durString(hello(steady).P99),
		rlo, rhi, glo, ghi, st.Shed+st.Timeouts+st.Errors+steady.NotSent, over.Rate, ov.Shed, ov.Requests, durString(ov.Max), ov.Timeouts, rec)
}

func durString(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/1e3)
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	}
	return d.Round(time.Millisecond).String()
}

// pause waits d, or until ctx ends.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
