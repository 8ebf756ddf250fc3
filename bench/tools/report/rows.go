package main

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// A row of the table: one metric of troupe beside its baseline from the
// same run, and the goal the issue sets for it.
type row struct {
	Group    string // the bench/run.sh group that measures it
	What     string
	Unit     string
	Subject  string // the key of troupe's metric
	Baseline string // the baseline's key; "prefix/*" means the best of the keys under prefix except Subject
	BaseName string // how the table names the baseline (the best peer's own name if empty)
	Lower    bool   // lower is better (times, memory)
	Goals    []goal
}

// A goal bounds a row's median (Ratio false) or its ratio to the
// baseline's median.
type goal struct {
	Ratio bool
	Max   bool // Limit is an upper bound; a lower bound otherwise
	Limit float64
	Unit  string // shown after an absolute limit
}

func (g goal) String() string {
	op := "≥"
	if g.Max {
		op = "≤"
	}
	if g.Ratio {
		return fmt.Sprintf("ratio %s %s×", op, num(g.Limit))
	}
	return strings.TrimSpace(fmt.Sprintf("%s %s %s", op, num(g.Limit), g.Unit))
}

func (g goal) met(value, ratio float64) (met, known bool) {
	v := value
	if g.Ratio {
		v = ratio
	}
	if math.IsNaN(v) {
		return false, false
	}
	if g.Max {
		return v <= g.Limit, true
	}
	return v >= g.Limit, true
}

func ratioAtMost(x float64) goal  { return goal{Ratio: true, Max: true, Limit: x} }
func ratioAtLeast(x float64) goal { return goal{Ratio: true, Limit: x} }
func atMost(x float64, unit string) goal {
	return goal{Max: true, Limit: x, Unit: unit}
}

// rows are issue 13's table, in order. The goals are the (and, for
// the actor workloads, issue 2's; for the replicas, issue 10's; for the
// breaker, issue 16's).
var rows = []row{
	{Group: "service", What: "service round trip in process: bus + SDK + actor (Request) vs bare actor Ask", Unit: "ns/op",
		Subject: "service/Request", Baseline: "service/ActorAsk", BaseName: "actor Ask", Lower: true,
		Goals: []goal{atMost(2000, "ns"), ratioAtMost(3)}},
	{Group: "service", What: "the same, allocations", Unit: "allocs/op",
		Subject: "service/Request", Baseline: "service/ActorAsk", BaseName: "actor Ask", Lower: true,
		Goals: []goal{atMost(8, "")}},
	{Group: "service", What: "bus Request alone (handler replies at once) vs goroutine round trip", Unit: "ns/op",
		Subject: "bus/Request/serial", Baseline: "bus/BaselineGoroutine", BaseName: "channels", Lower: true},

	{Group: "http", What: "HTTP hello, default settings (embedded NATS): wrk 50 connections", Unit: "req/s",
		Subject: "http/wrk/nats", Baseline: "http/wrk/bare", BaseName: "bare net/http",
		Goals: []goal{ratioAtLeast(0.85)}},
	{Group: "http", What: "the same, p99 latency", Unit: "p99-ms",
		Subject: "http/wrk/nats", Baseline: "http/wrk/bare", BaseName: "bare net/http", Lower: true,
		Goals: []goal{atMost(10, "ms")}},
	{Group: "http", What: "HTTP hello, 10,000-request burst (seed 001), default settings", Unit: "ms",
		Subject: "http/burst/nats", Baseline: "http/burst/bare", BaseName: "bare net/http", Lower: true,
		Goals: []goal{ratioAtMost(1.2), atMost(1000, "ms")}},
	{Group: "http", What: "the same, replies that came back World", Unit: "ok",
		Subject: "http/burst/nats", Baseline: "http/burst/bare", BaseName: "bare net/http"},
	{Group: "http", What: "HTTP hello with -inproc (reference): wrk 50 connections", Unit: "req/s",
		Subject: "http/wrk/inproc", Baseline: "http/wrk/bare", BaseName: "bare net/http"},
	{Group: "http", What: "the same, p99 latency", Unit: "p99-ms",
		Subject: "http/wrk/inproc", Baseline: "http/wrk/bare", BaseName: "bare net/http", Lower: true},
	{Group: "http", What: "10,000-request burst with -inproc (reference)", Unit: "ms",
		Subject: "http/burst/inproc", Baseline: "http/burst/bare", BaseName: "bare net/http", Lower: true},

	{Group: "nats", What: "natsbus request/reply p50, in process, vs raw nats.go on the same server", Unit: "p50-µs",
		Subject: "natsbus/RequestReply/inproc/natsbus", Baseline: "natsbus/RequestReply/inproc/raw", BaseName: "raw nats.go", Lower: true,
		Goals: []goal{ratioAtMost(1.15)}},
	{Group: "nats", What: "natsbus request/reply p50, over TCP, vs raw nats.go", Unit: "p50-µs",
		Subject: "natsbus/RequestReply/tcp/natsbus", Baseline: "natsbus/RequestReply/tcp/raw", BaseName: "raw nats.go", Lower: true,
		Goals: []goal{ratioAtMost(1.15)}},
	{Group: "nats", What: "durable publish, in process, vs raw JetStream PublishAsync", Unit: "msgs/s",
		Subject: "natsbus/Durable/inproc/natsbus", Baseline: "natsbus/Durable/inproc/raw", BaseName: "raw PublishAsync",
		Goals: []goal{ratioAtLeast(0.8)}},
	{Group: "nats", What: "the same vs raw synchronous js.Publish (reference)", Unit: "msgs/s",
		Subject: "natsbus/Durable/inproc/natsbus", Baseline: "natsbus/Durable/inproc/raw-sync", BaseName: "raw js.Publish"},
	{Group: "nats", What: "the same vs raw PublishAsync of envelope-sized messages with ids to an interest stream, as natsbus asks (reference)", Unit: "msgs/s",
		Subject: "natsbus/Durable/inproc/natsbus", Baseline: "natsbus/Durable/inproc/raw-same", BaseName: "raw PublishAsync, natsbus's stream"},
	{Group: "nats", What: "what natsbus's asks cost the server alone: raw PublishAsync as natsbus asks vs the plain one (reference; the goal's ceiling)", Unit: "msgs/s",
		Subject: "natsbus/Durable/inproc/raw-same", Baseline: "natsbus/Durable/inproc/raw", BaseName: "raw PublishAsync"},
	{Group: "nats", What: "durable publish, over TCP, vs raw JetStream PublishAsync", Unit: "msgs/s",
		Subject: "natsbus/Durable/tcp/natsbus", Baseline: "natsbus/Durable/tcp/raw", BaseName: "raw PublishAsync",
		Goals: []goal{ratioAtLeast(0.8)}},
	{Group: "nats", What: "the same vs raw synchronous js.Publish (reference)", Unit: "msgs/s",
		Subject: "natsbus/Durable/tcp/natsbus", Baseline: "natsbus/Durable/tcp/raw-sync", BaseName: "raw js.Publish"},
	{Group: "nats", What: "the same vs raw PublishAsync of envelope-sized messages with ids to an interest stream, as natsbus asks (reference)", Unit: "msgs/s",
		Subject: "natsbus/Durable/tcp/natsbus", Baseline: "natsbus/Durable/tcp/raw-same", BaseName: "raw PublishAsync, natsbus's stream"},
	{Group: "nats", What: "what natsbus's asks cost the server alone: raw PublishAsync as natsbus asks vs the plain one (reference; the goal's ceiling)", Unit: "msgs/s",
		Subject: "natsbus/Durable/tcp/raw-same", Baseline: "natsbus/Durable/tcp/raw", BaseName: "raw PublishAsync"},

	{Group: "todo", What: "todo creates through the whole stack on PostgreSQL, 8 clients, vs the store alone", Unit: "creates/s",
		Subject: "todo/CreateConcurrent/postgres/stack", Baseline: "todo/CreateConcurrent/postgres/store", BaseName: "store alone",
		Goals: []goal{ratioAtLeast(0.8)}},
	{Group: "todo", What: "the same vs the store called as the todo service calls it: for a user, whose right to the list is checked, with the request's id as idempotency key (reference)", Unit: "creates/s",
		Subject: "todo/CreateConcurrent/postgres/stack", Baseline: "todo/CreateConcurrent/postgres/store-same", BaseName: "store alone, the service's call"},

	{Group: "actor", What: "actor W1: one outside sender to one counter", Unit: "msgs/s",
		Subject: "actor/W1/troupe", Baseline: "actor/W1/*", Goals: []goal{ratioAtLeast(1.3)}},
	{Group: "actor", What: "actor W2: sequential asks from outside", Unit: "us/op",
		Subject: "actor/W2/troupe", Baseline: "actor/W2/*", Lower: true, Goals: []goal{ratioAtMost(0.75)}},
	{Group: "actor", What: "actor W3: four sender/counter pairs", Unit: "msgs/s",
		Subject: "actor/W3/troupe", Baseline: "actor/W3/*", Goals: []goal{ratioAtLeast(1.3)}},
	{Group: "actor", What: "actor W4: spawning idle actors", Unit: "actors/s",
		Subject: "actor/W4.spawn/troupe", Baseline: "actor/W4.spawn/*", Goals: []goal{ratioAtLeast(1.5)}},
	{Group: "actor", What: "actor W4: heap per idle actor", Unit: "B/actor",
		Subject: "actor/W4.heap/troupe", Baseline: "actor/W4.heap/*", Lower: true, Goals: []goal{atMost(200, "B")}},

	{Group: "replicas", What: "NATS messages per request, 4 instances of gateway and hello vs 1", Unit: "msgs/req",
		Subject: "demo/Replicas/instances=4", Baseline: "demo/Replicas/instances=1", BaseName: "1 instance", Lower: true,
		Goals: []goal{ratioAtMost(1.05)}},
	{Group: "replicas", What: "requests per second over the cluster, 4 instances vs 1", Unit: "req/s",
		Subject: "demo/Replicas/instances=4", Baseline: "demo/Replicas/instances=1", BaseName: "1 instance",
		Goals: []goal{ratioAtLeast(0.95)}},
	{Group: "replicas", What: "CPU per request over the cluster (servers, gateways, hellos), 4 instances vs 1", Unit: "cpu-us/req",
		Subject: "demo/Replicas/instances=4", Baseline: "demo/Replicas/instances=1", BaseName: "1 instance", Lower: true},
	{Group: "replicas", What: "the same, the three nats-servers", Unit: "nats-cpu-us/req",
		Subject: "demo/Replicas/instances=4", Baseline: "demo/Replicas/instances=1", BaseName: "1 instance", Lower: true},
	{Group: "replicas", What: "the same, the gateways", Unit: "gateway-cpu-us/req",
		Subject: "demo/Replicas/instances=4", Baseline: "demo/Replicas/instances=1", BaseName: "1 instance", Lower: true},
	{Group: "replicas", What: "the same, the hellos", Unit: "hello-cpu-us/req",
		Subject: "demo/Replicas/instances=4", Baseline: "demo/Replicas/instances=1", BaseName: "1 instance", Lower: true},
	{Group: "replicas", What: "the benchmark's HTTP client (not in the cluster's sum; it shares the cores)", Unit: "client-cpu-us/req",
		Subject: "demo/Replicas/instances=4", Baseline: "demo/Replicas/instances=1", BaseName: "1 instance", Lower: true},

	{Group: "resilience", What: "service calling a service, breaker on and closed vs off", Unit: "ns/op",
		Subject: "service/Call/mode=breaker", Baseline: "service/Call/mode=bare", BaseName: "breaker off", Lower: true,
		Goals: []goal{ratioAtMost(1.05)}},
	{Group: "resilience", What: "the same with retries on (Idempotent; nothing fails)", Unit: "ns/op",
		Subject: "service/Call/mode=retry", Baseline: "service/Call/mode=bare", BaseName: "breaker off", Lower: true},
	{Group: "resilience", What: "the same, allocations with the breaker on", Unit: "allocs/op",
		Subject: "service/Call/mode=breaker", Baseline: "service/Call/mode=bare", BaseName: "breaker off", Lower: true},

	{Group: "schema", What: "bus Request with payload schemas validated vs not", Unit: "ns/op",
		Subject: "bus/Schema/Request/on", Baseline: "bus/Schema/Request/off", BaseName: "validation off", Lower: true},
	{Group: "schema", What: "bus Send with payload schemas validated vs not", Unit: "ns/op",
		Subject: "bus/Schema/Send/on", Baseline: "bus/Schema/Send/off", BaseName: "validation off", Lower: true},

	{Group: "memory", What: "RSS of the idle demo (after start and warm-up)", Unit: "idle-rss-MiB",
		Subject: "memory/demo", Lower: true},
	{Group: "memory", What: "RSS per idle WebSocket on the web service (/live) vs a bare coder/websocket server", Unit: "ws-KiB",
		Subject: "memory/demo", Baseline: "memory/wsbare", BaseName: "bare websocket", Lower: true,
		Goals: []goal{atMost(20, "KiB")}},
	{Group: "memory", What: "the same, Go heap in use per idle WebSocket", Unit: "ws-heap-KiB",
		Subject: "memory/demo", Baseline: "memory/wsbare", BaseName: "bare websocket", Lower: true},
	{Group: "memory", What: "the same, goroutines per idle WebSocket", Unit: "ws-goroutines",
		Subject: "memory/demo", Baseline: "memory/wsbare", BaseName: "bare websocket", Lower: true},
}

// result is a row evaluated against a run's samples.
type result struct {
	row
	Subject, Baseline *summary // nil when missing
	BaseName          string
	Ratio             float64 // NaN without a baseline
	RoundRatios       []float64
	Status            string // "met", "not met", "no goal", "no data"
}

// evaluate computes a row's medians, ratio and status from the summaries.
func evaluate(r row, sums map[metric]*summary) result {
	res := result{row: r, Ratio: math.NaN(), BaseName: r.BaseName}
	res.Subject = sums[metric{r.Subject, r.Unit}]
	if r.Baseline != "" {
		key := r.Baseline
		if prefix, ok := strings.CutSuffix(r.Baseline, "/*"); ok {
			key = best(sums, prefix+"/", r.Subject, r.Unit, r.Lower)
			res.BaseName = strings.TrimPrefix(key, prefix+"/")
		}
		res.Baseline = sums[metric{key, r.Unit}]
	}
	if res.Subject == nil || (r.Baseline != "" && res.Baseline == nil) {
		res.Status = "no data"
		return res
	}
	if res.Baseline != nil && res.Baseline.Median != 0 {
		res.Ratio = res.Subject.Median / res.Baseline.Median
		res.RoundRatios = roundRatios(res.Subject, res.Baseline)
	}
	if len(r.Goals) == 0 {
		res.Status = "no goal"
		return res
	}
	res.Status = "met"
	for _, g := range r.Goals {
		met, known := g.met(res.Subject.Median, res.Ratio)
		if !known {
			res.Status = "no data"
			return res
		}
		if !met {
			res.Status = "not met"
		}
	}
	return res
}

// best returns the key under prefix, other than except, whose median in
// unit is best; "" if there is none.
func best(sums map[metric]*summary, prefix, except, unit string, lower bool) string {
	var keys []string
	for m := range sums {
		if m.Unit == unit && strings.HasPrefix(m.Key, prefix) && m.Key != except {
			keys = append(keys, m.Key)
		}
	}
	sort.Strings(keys)
	bestKey := ""
	for _, k := range keys {
		if bestKey == "" {
			bestKey = k
			continue
		}
		v, b := sums[metric{k, unit}].Median, sums[metric{bestKey, unit}].Median
		if (lower && v < b) || (!lower && v > b) {
			bestKey = k
		}
	}
	return bestKey
}
