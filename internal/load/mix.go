package load

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A Route is one kind of request of a mix.
type Route struct {
	// Name names the route's row in the report ("hello").
	Name string
	// Method is the HTTP method; Path is appended to the mix's URL
	// ("api/lists/default/todos?filter=active").
	Method, Path string
	// Body is each request's body, sent as application/json; nil for none.
	// A body containing "{n}" gets the request's number in its place.
	Body []byte
	// Weight is the route's share of the requests, relative to the others.
	Weight int
	// Auth sends MixConfig.Token with each request, as an API token
	// (Authorization: Bearer), when there is one.
	Auth bool
}

// TodoMix is issue 17's mix against the demo (`troupe run`): 80% Hello
// (POST /), 10% POST /api/lists/{list}/todos, 10%
// GET /api/lists/{list}/todos?filter=active&limit=LIMIT (limit 0 leaves it
// out, for the service's default page). The todo routes are a user's
// (issue 11): they carry MixConfig.Token, and list is one of that user's.
func TodoMix(list string, limit int) []Route {
	q := url.Values{"filter": {"active"}}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	todos := "api/lists/" + url.PathEscape(list) + "/todos"
	return []Route{
		{Name: "hello", Method: http.MethodPost, Path: "", Body: []byte(`{"type":"Hello"}`), Weight: 80},
		{Name: "create", Method: http.MethodPost, Path: todos, Body: []byte(`{"title":"soak {n}"}`), Weight: 10, Auth: true},
		{Name: "list", Method: http.MethodGet, Path: todos + "?" + q.Encode(), Weight: 10, Auth: true},
	}
}

// Defaults of MixConfig's zero fields.
const (
	DefaultMixConnections = 100 // the wrk run
	DefaultMixDuration    = time.Minute
	DefaultMixTimeout     = 5 * time.Second
	DefaultMixSample      = 10 * time.Second
	DefaultMaxInFlight    = 20000
)

// MixConfig describes one run of a mix. Its zero fields mean the documented
// defaults; URL is required.
type MixConfig struct {
	// URL is the application's base URL, "http://127.0.0.1:8080/".
	URL string
	// Routes is the mix. Default TodoMix("default", 0).
	Routes []Route
	// Rate, if positive, is the requests per second sent whatever the
	// replies (an open loop, as clients on the Internet send them; a
	// request's latency counts from when it was due). Zero is a closed
	// loop: Connections clients, each sending its next request when the
	// reply to the last one came (what wrk does), which measures the
	// capacity.
	Rate float64
	// Connections is the number of clients of a closed loop, each with a
	// connection of its own. An open loop opens as many connections as the
	// requests in flight need (and keeps at least Connections, and 1,024,
	// idle between them). Default 100.
	Connections int
	// Duration is how long the run lasts. Default 1 minute.
	Duration time.Duration
	// Timeout bounds each request on the client's side. Default 5 s.
	Timeout time.Duration
	// MaxInFlight bounds the requests of an open loop in flight at once;
	// past it a due request is not sent and counted as NotSent. Default
	// 20,000.
	MaxInFlight int
	// Metrics is the target's Prometheus endpoint, read every Sample for
	// process_resident_memory_bytes and go_goroutines; Health its /healthz,
	// read as often for the alarms. Defaults URL+"metrics" and
	// URL+"healthz"; "-" reads nothing.
	Metrics, Health string
	// Sample is how often the target is read. Default 10 s.
	Sample time.Duration
	// Budget is the target's budget per request (its gateway's Timeout),
	// for the count of its replies within it. Default 1 s.
	Budget time.Duration
	// Burst, if set, is seed 001's experiment, run once BurstAt into the
	// run beside the mix (its URL defaults to URL).
	Burst   *Config
	BurstAt time.Duration
	// Progress, if set, gets one line per minute.
	Progress io.Writer
	// Token is the API token the routes marked Auth send (the todo
	// app's, made on its tokens page); "" sends none.
	Token string
	// TLS configures HTTPS. Optional.
	TLS *tls.Config
	// Seed makes the choice of routes repeatable. Zero is a fixed seed.
	Seed uint64
}

// MixResult is the outcome of one run.
type MixResult struct {
	Rate        float64       // the open loop's rate, 0 for a closed loop
	Connections int           // the pool
	Duration    time.Duration // how long the run lasted, its requests in flight at the end answered
	Stopped     time.Time     // when it stopped sending
	Routes      []RouteResult // one per route, in the mix's order
	Total       RouteResult   // all routes
	Minutes     []Minute      // one per whole or partial minute of the run, each with the requests due in it
	Samples     []Sample      // the target, every MixConfig.Sample
	Alarms      []AlarmChange // the target's alarms raised and cleared during the run
	NotSent     int           // open loop: due requests not sent, MaxInFlight being reached
	Burst       *Result       // the burst's outcome, if one ran
	SampleError string        // the first failure to read the target, if any
}

// RouteResult counts one route's requests (or all of them).
type RouteResult struct {
	Name     string
	Requests int // answered or failed (not counting those still in flight at the end)
	OK       int // 2xx
	Shed     int // 503: refused at once by a limit
	Timeouts int // 504: no reply within the budget
	Errors   int // any other status, transport errors, client timeouts
	// OKRate is the OK replies per second.
	OKRate float64
	// Latencies of the OK replies.
	P50, P90, P99, Max time.Duration
	// ShedP99 is the 99th percentile latency of the 503s: they must be
	// quick.
	ShedP99 time.Duration
	// FirstError describes the first reply that was neither OK nor shed.
	FirstError string
}

// Minute is one minute of a run.
type Minute struct {
	Start    time.Duration // since the run's start
	Length   time.Duration // a minute, or less for the last
	OKRate   float64       // OK replies per second
	P99      time.Duration // of the OK replies, all routes
	HelloP99 time.Duration // of the OK replies of the route named "hello"
	Shed     int
	Failed   int // timeouts and errors
}

// Sample is the target's state at one time.
type Sample struct {
	At         time.Duration // since the run's start
	RSS        float64       // process_resident_memory_bytes
	Goroutines float64       // go_goroutines
	// Replies and InBudget count the gateway's replies so far, all and
	// those within the budget, from the histogram
	// troupe_gateway_request_duration_seconds (its bucket at the budget,
	// or the largest below it), all routes; zero if the target has none.
	Replies, InBudget float64
}

// AlarmChange is an alarm of the target's /healthz seen raised or cleared.
type AlarmChange struct {
	At      time.Duration
	Alarm   string
	Active  bool
	Subject string
	Message string
}

// Capacity is the highest rate at which the mix, in its proportions, was
// served: for each route its ok replies per second over its share of the
// mix, the least of these. A closed loop's total ok/s overstates it when one
// route sheds (its shed replies come back fast, and the clients go on with
// the others): a soak at 70% of the total would overload that route.
func (r MixResult) Capacity(routes []Route) float64 {
	if routes == nil {
		routes = TodoMix("default", 0)
	}
	sum := 0
	for _, rt := range routes {
		sum += rt.Weight
	}
	c := -1.0
	for i, rr := range r.Routes {
		if i >= len(routes) || sum == 0 {
			break
		}
		share := float64(routes[i].Weight) / float64(sum)
		if v := rr.OKRate / share; c < 0 || v < c {
			c = v
		}
	}
	return max(c, 0)
}

// counts are the counters of one route (or all) over one span.
type counts struct {
	ok, shed, timeouts, errors atomic.Int64
	lat, shedLat               hist
}

func (c *counts) result(name string, d time.Duration) RouteResult {
	r := RouteResult{
		Name:     name,
		OK:       int(c.ok.Load()),
		Shed:     int(c.shed.Load()),
		Timeouts: int(c.timeouts.Load()),
		Errors:   int(c.errors.Load()),
		P50:      c.lat.quantile(0.50),
		P90:      c.lat.quantile(0.90),
		P99:      c.lat.quantile(0.99),
		Max:      c.lat.maximum(),
		ShedP99:  c.shedLat.quantile(0.99),
	}
	r.Requests = r.OK + r.Shed + r.Timeouts + r.Errors
	if d > 0 {
		r.OKRate = float64(r.OK) / d.Seconds()
	}
	return r
}

// mixRun is one run in progress.
type mixRun struct {
	cfg    MixConfig
	client *http.Client
	base   string
	start  time.Time
	routes []Route
	cum    []int // cumulative weights

	total    []counts   // per route, whole run
	minMu    sync.Mutex // guards minutes' growth
	minutes  [][]counts // per minute, per route
	firstErr []atomic.Pointer[string]
	seq      atomic.Int64
}

// Mix runs a mix and reports. An invalid config is an error; failed
// requests are not (they are counted).
func Mix(ctx context.Context, cfg MixConfig) (MixResult, error) {
	u, err := url.Parse(cfg.URL)
	if cfg.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return MixResult{}, fmt.Errorf("load: mix: URL %q is not an http or https URL", cfg.URL)
	}
	if cfg.Rate < 0 || cfg.Connections < 0 || cfg.Duration < 0 || cfg.Timeout < 0 || cfg.MaxInFlight < 0 || cfg.Sample < 0 {
		return MixResult{}, errors.New("load: mix: negative Rate, Connections, Duration, Timeout, MaxInFlight or Sample")
	}
	if cfg.Routes == nil {
		cfg.Routes = TodoMix("default", 0)
	}
	if cfg.Connections == 0 {
		cfg.Connections = DefaultMixConnections
	}
	if cfg.Duration == 0 {
		cfg.Duration = DefaultMixDuration
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultMixTimeout
	}
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.Sample == 0 {
		cfg.Sample = DefaultMixSample
	}
	if cfg.Budget <= 0 {
		cfg.Budget = time.Second
	}
	base := strings.TrimSuffix(cfg.URL, "/") + "/"
	if cfg.Metrics == "" {
		cfg.Metrics = base + "metrics"
	}
	if cfg.Health == "" {
		cfg.Health = base + "healthz"
	}
	r := &mixRun{cfg: cfg, base: base}
	sum := 0
	for _, rt := range cfg.Routes {
		if rt.Weight <= 0 || rt.Name == "" {
			return MixResult{}, fmt.Errorf("load: mix: route %q: a name and a positive weight are required", rt.Name)
		}
		sum += rt.Weight
		r.cum = append(r.cum, sum)
	}
	if len(cfg.Routes) == 0 {
		return MixResult{}, errors.New("load: mix: no routes")
	}
	r.routes = cfg.Routes
	r.total = make([]counts, len(cfg.Routes))
	r.firstErr = make([]atomic.Pointer[string], len(cfg.Routes))
	tr := &http.Transport{
		MaxConnsPerHost:     cfg.Connections,
		MaxIdleConnsPerHost: cfg.Connections,
		MaxIdleConns:        cfg.Connections,
		TLSClientConfig:     cfg.TLS,
	}
	if cfg.Rate > 0 {
		// An open loop sends when a request is due, not when a connection
		// is free: a pool that made requests wait would measure the client.
		tr.MaxConnsPerHost = 0
		tr.MaxIdleConnsPerHost = max(cfg.Connections, 1024)
		tr.MaxIdleConns = tr.MaxIdleConnsPerHost
	}
	defer tr.CloseIdleConnections()
	r.client = &http.Client{Transport: tr, Timeout: cfg.Timeout}

	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	res := MixResult{Rate: cfg.Rate, Connections: cfg.Connections}
	var side sync.WaitGroup
	var samples []Sample
	var alarms []AlarmChange
	var sampleErr string
	r.start = time.Now()
	side.Go(func() { samples, alarms, sampleErr = r.watch(ctx) })
	if cfg.Burst != nil {
		side.Go(func() {
			t := time.NewTimer(cfg.BurstAt)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			bc := *cfg.Burst
			if bc.URL == "" {
				bc.URL = base
			}
			// A burst that started runs to its end, even past the mix's.
			b, err := Burst(parent, bc)
			if err == nil {
				res.Burst = &b
			}
		})
	}
	progress := r.progress(ctx)

	end := r.start.Add(cfg.Duration)
	runCtx, stop := context.WithDeadline(ctx, end)
	if cfg.Rate > 0 {
		res.NotSent = r.open(runCtx, end, &res.Stopped)
	} else {
		r.closed(runCtx)
		res.Stopped = time.Now()
	}
	stop()
	res.Duration = time.Since(r.start)
	cancel()
	side.Wait()
	<-progress
	res.Samples, res.Alarms, res.SampleError = samples, alarms, sampleErr

	var all counts
	for i, rt := range r.routes {
		rr := r.total[i].result(rt.Name, res.Duration)
		if p := r.firstErr[i].Load(); p != nil {
			rr.FirstError = *p
		}
		res.Routes = append(res.Routes, rr)
		mergeCounts(&all, &r.total[i])
	}
	res.Total = all.result("all", res.Duration)
	res.Minutes = r.minuteResults(cfg.Duration)
	return res, nil
}

func mergeCounts(dst, src *counts) {
	dst.ok.Add(src.ok.Load())
	dst.shed.Add(src.shed.Load())
	dst.timeouts.Add(src.timeouts.Load())
	dst.errors.Add(src.errors.Load())
	dst.lat.merge(&src.lat)
	dst.shedLat.merge(&src.shedLat)
}

// pick chooses a route by weight.
func (r *mixRun) pick(rng *rand.Rand) int {
	n := rng.IntN(r.cum[len(r.cum)-1])
	for i, c := range r.cum {
		if n < c {
			return i
		}
	}
	return len(r.cum) - 1
}

// closed runs Connections clients until ctx ends.
func (r *mixRun) closed(ctx context.Context) {
	var wg sync.WaitGroup
	for w := range r.cfg.Connections {
		rng := rand.New(rand.NewPCG(r.cfg.Seed, uint64(w)+1))
		wg.Go(func() {
			for ctx.Err() == nil {
				i := r.pick(rng)
				r.send(ctx, i, time.Now())
			}
		})
	}
	wg.Wait()
}

// open sends Rate requests per second until end, each in a goroutine of its
// own, and waits for those in flight (at most Timeout). It returns how many
// due requests were not sent.
func (r *mixRun) open(ctx context.Context, end time.Time, stopped *time.Time) int {
	defer func() {
		if stopped.IsZero() {
			*stopped = time.Now()
		}
	}()
	rng := rand.New(rand.NewPCG(r.cfg.Seed, 0))
	interval := time.Duration(float64(time.Second) / r.cfg.Rate)
	tick := time.Millisecond
	tk := time.NewTicker(tick)
	defer tk.Stop()
	var wg sync.WaitGroup
	var inflight atomic.Int64
	notSent := 0
	// Requests stay in flight after the run's end until their replies come,
	// or the client's Timeout: their context is not the run's.
	reqCtx := context.WithoutCancel(ctx)
	next := r.start
	for {
		now := time.Now()
		for !next.After(now) && next.Before(end) {
			due := next
			next = next.Add(interval)
			if inflight.Load() >= int64(r.cfg.MaxInFlight) {
				notSent++
				continue
			}
			i := r.pick(rng)
			inflight.Add(1)
			wg.Go(func() {
				defer inflight.Add(-1)
				r.send(reqCtx, i, due)
			})
		}
		if !next.Before(end) {
			break
		}
		select {
		case <-ctx.Done():
			*stopped = time.Now()
			wg.Wait()
			return notSent
		case <-tk.C:
		}
	}
	*stopped = time.Now()
	wg.Wait()
	return notSent
}

// send sends one request of route i, due at due, and counts its outcome.
func (r *mixRun) send(ctx context.Context, i int, due time.Time) {
	rt := &r.routes[i]
	var body io.Reader
	if rt.Body != nil {
		b := rt.Body
		if bytes.Contains(b, []byte("{n}")) {
			b = bytes.ReplaceAll(b, []byte("{n}"), []byte(strconv.FormatInt(r.seq.Add(1), 10)))
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, rt.Method, r.base+rt.Path, body)
	if err != nil {
		r.count(i, due, 0, err.Error())
		return
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if rt.Auth && r.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.cfg.Token)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return // the run ended (closed loop): not an outcome
		}
		r.count(i, due, 0, err.Error())
		return
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	resp.Body.Close()
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		r.count(i, due, 0, err.Error())
		return
	}
	detail := ""
	if resp.StatusCode/100 != 2 {
		detail = fmt.Sprintf("%s %s: %s: %.200s", rt.Method, "/"+rt.Path, resp.Status, b)
	}
	r.count(i, due, resp.StatusCode, detail)
}

// count records an outcome: status 0 is a transport error.
func (r *mixRun) count(i int, due time.Time, status int, detail string) {
	now := time.Now()
	d := now.Sub(due)
	// A minute counts the requests due in it, whenever they were answered.
	cs := []*counts{&r.total[i], r.minute(due.Sub(r.start), i)}
	for _, c := range cs {
		switch {
		case status/100 == 2:
			c.ok.Add(1)
			c.lat.add(d)
		case status == http.StatusServiceUnavailable:
			c.shed.Add(1)
			c.shedLat.add(d)
		case status == http.StatusGatewayTimeout:
			c.timeouts.Add(1)
		default:
			c.errors.Add(1)
		}
	}
	if status/100 != 2 && status != http.StatusServiceUnavailable && r.firstErr[i].Load() == nil {
		r.firstErr[i].CompareAndSwap(nil, &detail)
	}
}

// minute returns the counts of route i in the minute at offset at.
func (r *mixRun) minute(at time.Duration, i int) *counts {
	m := int(at / time.Minute)
	r.minMu.Lock()
	for len(r.minutes) <= m {
		r.minutes = append(r.minutes, make([]counts, len(r.routes)))
	}
	c := &r.minutes[m][i]
	r.minMu.Unlock()
	return c
}

func (r *mixRun) minuteResults(total time.Duration) []Minute {
	r.minMu.Lock()
	defer r.minMu.Unlock()
	var out []Minute
	for m, rs := range r.minutes {
		start := time.Duration(m) * time.Minute
		length := min(time.Minute, total-start)
		if length <= 0 {
			break
		}
		var all counts
		mm := Minute{Start: start, Length: length}
		for i := range rs {
			mergeCounts(&all, &rs[i])
			if r.routes[i].Name == "hello" {
				mm.HelloP99 = rs[i].lat.quantile(0.99)
			}
		}
		mm.OKRate = float64(all.ok.Load()) / length.Seconds()
		mm.P99 = all.lat.quantile(0.99)
		mm.Shed = int(all.shed.Load())
		mm.Failed = int(all.timeouts.Load() + all.errors.Load())
		out = append(out, mm)
	}
	return out
}

// progress writes a line at the end of each minute until ctx ends; the
// channel closes when it is done.
func (r *mixRun) progress(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	if r.cfg.Progress == nil {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for m := 0; ; m++ {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			r.minMu.Lock()
			var all counts
			if m < len(r.minutes) {
				for i := range r.minutes[m] {
					mergeCounts(&all, &r.minutes[m][i])
				}
			}
			r.minMu.Unlock()
			fmt.Fprintf(r.cfg.Progress, "minute %d: %.0f ok/s, p99 %s, %d shed, %d failed\n",
				m+1, float64(all.ok.Load())/60, fmtDur(all.lat.quantile(0.99)), all.shed.Load(), all.timeouts.Load()+all.errors.Load())
		}
	}()
	return done
}

// watch reads the target's metrics and health every Sample until ctx ends.
func (r *mixRun) watch(ctx context.Context) (samples []Sample, alarms []AlarmChange, firstErr string) {
	if r.cfg.Metrics == "-" {
		return nil, nil, ""
	}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: r.cfg.TLS}}
	defer c.CloseIdleConnections()
	active := map[string]bool{}
	read := func() {
		at := time.Since(r.start)
		s, err := readMetrics(ctx, c, r.cfg.Metrics, r.cfg.Budget)
		if err != nil {
			if firstErr == "" && ctx.Err() == nil {
				firstErr = err.Error()
			}
		} else {
			s.At = at
			samples = append(samples, s)
		}
		sts, err := readAlarms(ctx, c, r.cfg.Health)
		if err != nil {
			if firstErr == "" && ctx.Err() == nil {
				firstErr = err.Error()
			}
			return
		}
		for _, st := range sts {
			if st.Active != active[st.Name] {
				active[st.Name] = st.Active
				alarms = append(alarms, AlarmChange{At: at, Alarm: st.Name, Active: st.Active, Subject: st.Subject, Message: st.Message})
			}
		}
	}
	read()
	t := time.NewTicker(r.cfg.Sample)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			// One last reading, after the load, with a context of its own.
			lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			ctx = lctx
			read()
			cancel()
			return samples, alarms, firstErr
		case <-t.C:
			read()
		}
	}
}

// readMetrics reads process_resident_memory_bytes, go_goroutines and the
// gateway's latency histogram from a Prometheus text endpoint.
func readMetrics(ctx context.Context, c *http.Client, u string, budget time.Duration) (Sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return Sample{}, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return Sample{}, fmt.Errorf("load: metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Sample{}, fmt.Errorf("load: metrics: %s", resp.Status)
	}
	var s Sample
	found := 0
	inBudget := map[string]struct {
		le, count float64
	}{} // by route: the largest bucket at most the budget
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, gatewayHist+"_count{"); ok {
			if i := strings.LastIndexByte(rest, ' '); i >= 0 {
				if f, err := strconv.ParseFloat(rest[i+1:], 64); err == nil {
					s.Replies += f
				}
			}
			continue
		}
		if rest, ok := strings.CutPrefix(line, gatewayHist+"_bucket{"); ok {
			// route="...",le="0.5"} 123
			j := strings.Index(rest, `le="`)
			i := strings.LastIndexByte(rest, ' ')
			if j < 0 || i < j {
				continue
			}
			leStr, _, _ := strings.Cut(rest[j+4:], `"`)
			le, err1 := strconv.ParseFloat(leStr, 64)
			n, err2 := strconv.ParseFloat(rest[i+1:], 64)
			if err1 != nil || err2 != nil || le > budget.Seconds() {
				continue
			}
			route := rest[:j]
			if b, ok := inBudget[route]; !ok || le > b.le {
				inBudget[route] = struct{ le, count float64 }{le, n}
			}
			continue
		}
		for name, dst := range map[string]*float64{"process_resident_memory_bytes": &s.RSS, "go_goroutines": &s.Goroutines} {
			if v, ok := strings.CutPrefix(line, name+" "); ok {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					*dst = f
					found++
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return Sample{}, fmt.Errorf("load: metrics: %w", err)
	}
	for _, b := range inBudget {
		s.InBudget += b.count
	}
	if found < 2 {
		return Sample{}, errors.New("load: metrics: no process_resident_memory_bytes or go_goroutines")
	}
	return s, nil
}

// gatewayHist is the gateway's latency histogram (gateway.Config.Registerer).
const gatewayHist = "troupe_gateway_request_duration_seconds"

// alarmStatus is an alarm as /healthz shows it.
type alarmStatus struct {
	Name    string `json:"name"`
	Active  bool   `json:"active"`
	Subject string `json:"subject"`
	Message string `json:"message"`
}

func readAlarms(ctx context.Context, c *http.Client, u string) ([]alarmStatus, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("load: health: %w", err)
	}
	defer resp.Body.Close()
	var h struct {
		Alarms []alarmStatus `json:"alarms"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&h); err != nil {
		return nil, fmt.Errorf("load: health: %w", err)
	}
	return h.Alarms, nil
}

func fmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/1e3)
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	case d < time.Second:
		return fmt.Sprintf("%.0f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}
