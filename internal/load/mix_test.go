package load

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// todoTarget is a stand-in for the demo: Hello answers World, creates are
// shed (503) while shedding is set, the first listing times out (504), and
// /metrics and /healthz say what a node says.
type todoTarget struct {
	*httptest.Server
	shedding atomic.Bool
	alarmOn  atomic.Bool
	lists    atomic.Int64
	mu       sync.Mutex
	titles   map[string]bool
	dupes    int
}

func newTodoTarget(t *testing.T) *todoTarget {
	tt := &todoTarget{titles: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{$}", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"type":"World"}`) })
	mux.HandleFunc("POST /api/lists/default/todos", func(w http.ResponseWriter, r *http.Request) {
		if tt.shedding.Load() {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"type":"Error","code":"unavailable"}`)
			return
		}
		var b struct{ Title string }
		_ = json.NewDecoder(r.Body).Decode(&b)
		tt.mu.Lock()
		if tt.titles[b.Title] {
			tt.dupes++
		}
		tt.titles[b.Title] = true
		tt.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"type":"todo"}`)
	})
	mux.HandleFunc("GET /api/lists/default/todos", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("filter") != "active" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if tt.lists.Add(1) == 1 { // the first one times out
			w.WriteHeader(http.StatusGatewayTimeout)
			fmt.Fprint(w, `{"type":"Error","code":"timeout"}`)
			return
		}
		fmt.Fprint(w, `{"type":"todo.listing","todos":[]}`)
	})
	var scrapes atomic.Int64
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		n := 100 * scrapes.Add(1) // 100 replies between scrapes, one of them slow
		fmt.Fprint(w, "# HELP go_goroutines Number of goroutines.\n# TYPE go_goroutines gauge\ngo_goroutines 42\n"+
			"process_resident_memory_bytes 2.5165824e+07\ntroupe_gateway_shed_total{route=\"POST /\"} 0\n")
		for _, route := range []string{"POST /", "GET /api/lists/{list}/todos"} {
			fmt.Fprintf(w, "troupe_gateway_request_duration_seconds_bucket{route=%q,le=\"0.5\"} %d\n", route, n-n/50)
			fmt.Fprintf(w, "troupe_gateway_request_duration_seconds_bucket{route=%q,le=\"1\"} %d\n", route, n-n/100)
			fmt.Fprintf(w, "troupe_gateway_request_duration_seconds_bucket{route=%q,le=\"2.5\"} %d\n", route, n)
			fmt.Fprintf(w, "troupe_gateway_request_duration_seconds_bucket{route=%q,le=\"+Inf\"} %d\n", route, n)
			fmt.Fprintf(w, "troupe_gateway_request_duration_seconds_count{route=%q} %d\n", route, n)
		}
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"status":"ok","alarms":[{"name":"saturation","active":%v,"subject":"todo todo.create"},{"name":"surge","active":false}]}`, tt.alarmOn.Load())
	})
	tt.Server = httptest.NewServer(mux)
	t.Cleanup(tt.Close)
	return tt
}

func TestMixClosedLoop(t *testing.T) {
	tt := newTodoTarget(t)
	tt.shedding.Store(true)
	tt.alarmOn.Store(true)
	res, err := Mix(t.Context(), MixConfig{URL: tt.URL + "/", Connections: 8, Duration: time.Second, Sample: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]RouteResult{}
	for _, r := range res.Routes {
		byName[r.Name] = r
	}
	hello, create, list := byName["hello"], byName["create"], byName["list"]
	if hello.OK == 0 || hello.Shed+hello.Timeouts+hello.Errors != 0 {
		t.Errorf("hello: %+v, want only OK replies", hello)
	}
	if create.Shed == 0 || create.OK != 0 {
		t.Errorf("create while the target sheds: %+v, want every one counted as shed", create)
	}
	if list.Timeouts == 0 || list.OK == 0 || list.FirstError == "" {
		t.Errorf("list: %+v, want OK replies, timeouts, and the first one described", list)
	}
	if hello.Requests <= create.Requests || hello.Requests <= list.Requests {
		t.Errorf("hello %d, create %d, list %d requests: want hello the most (80%% of the mix)", hello.Requests, create.Requests, list.Requests)
	}
	if got, want := res.Total.Requests, hello.Requests+create.Requests+list.Requests; got != want {
		t.Errorf("total %d, want the sum %d", got, want)
	}
	if hello.P50 == 0 || hello.P99 < hello.P50 || hello.Max < hello.P99 {
		t.Errorf("hello latencies p50 %v p99 %v max %v: want them set and ordered", hello.P50, hello.P99, hello.Max)
	}
	if len(res.Samples) < 2 || res.Samples[0].RSS != 25165824 || res.Samples[0].Goroutines != 42 {
		t.Errorf("samples %+v, want two or more with the target's RSS and goroutines", res.Samples)
	}
	if all, in, ok := res.ServedInBudget(); !ok || all <= 0 || in != all*99/100 {
		t.Errorf("served in budget: %v of %v (%v), want 99%% of them, from the gateway's histogram at le=1", in, all, ok)
	}
	if len(res.Alarms) != 1 || res.Alarms[0].Alarm != "saturation" || !res.Alarms[0].Active || res.Alarms[0].Subject != "todo todo.create" {
		t.Errorf("alarms %+v, want the saturation alarm raised, with its subject", res.Alarms)
	}
	if len(res.Minutes) != 1 || res.Minutes[0].OKRate == 0 || res.Minutes[0].Shed == 0 || res.Minutes[0].HelloP99 == 0 {
		t.Errorf("minutes %+v, want one, with its rate, shed count and Hello p99", res.Minutes)
	}
	var b bytes.Buffer
	res.WriteReport(&b, "capacity")
	for _, want := range []string{"#### capacity: closed loop, 8 connections", "| route | requests | ok | shed (503) |", "| hello | ", "| all | ", "alarm saturation raised at +0s (todo todo.create)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}

// TestMixOpenLoop: at a fixed rate, the requests sent are the rate's (not
// the target's pace), each create with a title of its own, and seed 001's
// burst runs beside.
func TestMixOpenLoop(t *testing.T) {
	tt := newTodoTarget(t)
	res, err := Mix(t.Context(), MixConfig{
		URL: tt.URL, Rate: 400, Duration: 500 * time.Millisecond, Metrics: "-",
		Burst: &Config{N: 100, Concurrency: 10, Body: []byte(`{"type":"Hello"}`), Expect: ExpectType("World"), Duration: time.Minute}, BurstAt: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	// 400/s for half a second: 200 due (the last ticks may fall after the
	// end); never more.
	if n := res.Total.Requests + res.NotSent; n > 200 || n < 150 {
		t.Errorf("%d requests due at 400/s for 0.5 s, want about 200", n)
	}
	if res.Burst == nil || !res.Burst.AllGood || res.Burst.N != 100 {
		t.Errorf("burst beside the mix: %+v, want 100 good", res.Burst)
	}
	tt.mu.Lock()
	defer tt.mu.Unlock()
	if tt.dupes != 0 || len(tt.titles) == 0 {
		t.Errorf("%d titles, %d duplicates: want every create's title its own", len(tt.titles), tt.dupes)
	}
	if res.Samples != nil || res.Alarms != nil {
		t.Errorf("with Metrics \"-\": samples %v, alarms %v, want none read", res.Samples, res.Alarms)
	}
}

func TestMixConfigErrors(t *testing.T) {
	for _, cfg := range []MixConfig{
		{},
		{URL: "ftp://x/"},
		{URL: "http://127.0.0.1:1/", Rate: -1},
		{URL: "http://127.0.0.1:1/", Routes: []Route{{Name: "x"}}},
		{URL: "http://127.0.0.1:1/", Routes: []Route{}},
	} {
		if _, err := Mix(t.Context(), cfg); err == nil {
			t.Errorf("Mix(%+v): no error", cfg)
		}
	}
}

func TestRecovery(t *testing.T) {
	var failing atomic.Bool
	failing.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, `{}`)
	}))
	defer srv.Close()
	time.AfterFunc(100*time.Millisecond, func() { failing.Store(false) })
	_, ok := Recovery(t.Context(), MixConfig{URL: srv.URL}, time.Time{}, 10*time.Second, time.Minute)
	if !ok {
		t.Error("Recovery: not recovered, want recovered once the target answers")
	}
	failing.Store(true)
	if _, ok := Recovery(t.Context(), MixConfig{URL: srv.URL}, time.Time{}, 10*time.Second, 200*time.Millisecond); ok {
		t.Error("Recovery of a target that keeps failing: recovered")
	}
}

func TestChecks(t *testing.T) {
	minute := func(okRate float64, p99 time.Duration) Minute {
		return Minute{Length: time.Minute, OKRate: okRate, P99: p99}
	}
	flat := MixResult{
		Minutes: []Minute{minute(1000, 5*time.Millisecond), minute(1000, 4*time.Millisecond), minute(990, 5*time.Millisecond)},
		Samples: []Sample{{At: 0, RSS: 50 << 20, Goroutines: 100}, {At: time.Minute, RSS: 60 << 20, Goroutines: 120},
			{At: 90 * time.Second, RSS: 62 << 20, Goroutines: 125}, {At: 150 * time.Second, RSS: 63 << 20, Goroutines: 160}},
		Total: RouteResult{Requests: 180000, OK: 180000},
	}
	for _, c := range SoakChecks(flat) {
		if !c.OK {
			t.Errorf("flat soak: %s", c)
		}
	}
	grew := flat
	grew.Minutes = []Minute{minute(1000, 5*time.Millisecond), minute(1000, 4*time.Millisecond), minute(900, 50*time.Millisecond)}
	grew.Samples = append(append([]Sample(nil), flat.Samples...), Sample{At: 210 * time.Second, RSS: 80 << 20, Goroutines: 400})
	grew.Minutes = append(grew.Minutes[:2:2], minute(1000, 4*time.Millisecond), minute(900, 50*time.Millisecond))
	grew.Total.Errors = 1
	failed := map[string]bool{}
	for _, c := range SoakChecks(grew) {
		if !c.OK {
			failed[c.Name] = true
		}
	}
	for _, name := range []string{"throughput flat", "p99 flat", "RSS flat", "goroutines flat", "zero errors"} {
		if !failed[name] {
			t.Errorf("a soak that degrades: %q passed", name)
		}
	}
	over := MixResult{Total: RouteResult{Requests: 1000, OK: 600, Shed: 400, Max: 300 * time.Millisecond, ShedP99: 2 * time.Millisecond}}
	for _, c := range OverloadChecks(over, time.Second, 500*time.Millisecond, true, 5*time.Second) {
		if !c.OK {
			t.Errorf("a good overload: %s", c)
		}
	}
	bad := over
	bad.Total.Shed, bad.Total.Timeouts, bad.Total.ShedP99 = 0, 3, 2*time.Second
	bad.Samples = []Sample{{Replies: 100, InBudget: 100}, {Replies: 300, InBudget: 250}}
	for _, c := range OverloadChecks(bad, time.Second, time.Minute, false, 5*time.Second) {
		if c.OK {
			t.Errorf("a bad overload: %s passed", c)
		}
	}
}

func TestCapacity(t *testing.T) {
	r := MixResult{Routes: []RouteResult{{Name: "hello", OKRate: 2400}, {Name: "create", OKRate: 160}, {Name: "list", OKRate: 275}}}
	if got, want := r.Capacity(nil), 1600.0; got != want {
		t.Errorf("capacity %v, want %v: creates, 160/s at a tenth of the mix", got, want)
	}
}

func TestHistQuantiles(t *testing.T) {
	var h hist
	for i := 1; i <= 1000; i++ {
		h.add(time.Duration(i) * time.Microsecond)
	}
	for _, tt := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Microsecond}, {0.9, 900 * time.Microsecond}, {0.99, 990 * time.Microsecond}, {1, 1000 * time.Microsecond}} {
		got := h.quantile(tt.q)
		if got < tt.want || float64(got) > float64(tt.want)*(1+1.0/16) {
			t.Errorf("quantile(%v) = %v, want %v within 1/16 above", tt.q, got, tt.want)
		}
	}
	if got := h.maximum(); got < time.Millisecond || got > time.Millisecond*17/16 {
		t.Errorf("maximum %v, want 1ms within 1/16", got)
	}
	var empty hist
	if empty.quantile(0.99) != 0 || empty.maximum() != 0 {
		t.Error("an empty histogram has quantiles")
	}
	for _, d := range []time.Duration{0, 1, 31, 32, 33, 63, 64, time.Hour, 1<<63 - 1} {
		b := bucketOf(d)
		if b < 0 || b >= len(h.b) || lowerBound(b) > d || (b+1 < len(h.b) && d > 31 && lowerBound(b+1) <= d) {
			t.Errorf("bucketOf(%d) = %d: bounds [%d, %d)", d, b, lowerBound(b), lowerBound(b+1))
		}
	}
}

// TestFindCapacity: the rate goes up until a step fails; the capacity is the
// last rate that passed.
func TestFindCapacity(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) > 150 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, `{}`)
	}))
	defer srv.Close()
	capacity, steps, err := FindCapacity(t.Context(), MixConfig{URL: srv.URL, Metrics: "-"}, 100, 300*time.Millisecond, time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) < 2 || steps[len(steps)-1].OK || !steps[len(steps)-2].OK {
		t.Fatalf("steps %+v: want some that passed, then one that failed", steps)
	}
	if want := steps[len(steps)-2].Rate; capacity != want {
		t.Errorf("capacity %v, want the last rate that passed, %v", capacity, want)
	}
	var b bytes.Buffer
	WriteSteps(&b, steps)
	if !strings.Contains(b.String(), "| failed: ") || !strings.Contains(b.String(), "| passed |") {
		t.Errorf("steps table:\n%s", b.String())
	}
}

func TestSettleAlarms(t *testing.T) {
	tt := newTodoTarget(t)
	tt.alarmOn.Store(true)
	stopped := time.Now()
	time.AfterFunc(200*time.Millisecond, func() { tt.alarmOn.Store(false) })
	got := SettleAlarms(t.Context(), MixConfig{URL: tt.URL}, stopped, time.Minute)
	if len(got.Cleared) != 1 || got.Cleared[0].Alarm != "saturation" || got.Cleared[0].Subject != "todo todo.create" || len(got.Still) != 0 {
		t.Errorf("settled %+v, want the saturation alarm cleared, with its subject", got)
	}
	var b bytes.Buffer
	got.Write(&b)
	if !strings.Contains(b.String(), "alarm saturation cleared") {
		t.Errorf("report %q", b.String())
	}
	tt.alarmOn.Store(true)
	if got := SettleAlarms(t.Context(), MixConfig{URL: tt.URL}, time.Now(), 100*time.Millisecond); len(got.Still) != 1 {
		t.Errorf("an alarm that stays: %+v, want it still raised", got)
	}
}
