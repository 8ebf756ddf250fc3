package main

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParsers(t *testing.T) {
	tests := []struct {
		name, kind, prefix, in string
		round                  int
		want                   []sample
	}{
		{
			name: "gobench", kind: "gobench", prefix: "natsbus", round: 3,
			in: "goos: linux\nBenchmarkRequestReply/inproc/raw-2   \t   20000\t     30512 ns/op\t 28.90 cpu-ns/op\t 16.6 p50-µs\n" +
				"BenchmarkRequest-2 100000 1843 ns/op 2101 B/op 31 allocs/op\nPASS\nok  \tx\t1.2s\n",
			want: []sample{
				{"natsbus/RequestReply/inproc/raw", "ns/op", 3, 30512},
				{"natsbus/RequestReply/inproc/raw", "cpu-ns/op", 3, 28.9},
				{"natsbus/RequestReply/inproc/raw", "p50-µs", 3, 16.6},
				{"natsbus/Request", "ns/op", 3, 1843},
				{"natsbus/Request", "B/op", 3, 2101},
				{"natsbus/Request", "allocs/op", 3, 31},
			},
		},
		{
			name: "gobench sub-benchmark ending in a number", kind: "gobench", prefix: "demo", round: 1,
			in: "BenchmarkReplicas/instances=4-2  20000  51234 ns/op  9.000 msgs/req  19520 req/s\n",
			want: []sample{
				{"demo/Replicas/instances=4", "ns/op", 1, 51234},
				{"demo/Replicas/instances=4", "msgs/req", 1, 9},
				{"demo/Replicas/instances=4", "req/s", 1, 19520},
			},
		},
		{
			name: "wrk", kind: "wrk", prefix: "http/wrk/bare", round: 2,
			in: `Running 8s test @ http://127.0.0.1:18082/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.23ms  500.00us  20.00ms   90.00%
    Req/Sec    33.00k     2.00k   36.00k    70.00%
  Latency Distribution
     50%  850.00us
     75%    1.20ms
     90%    2.00ms
     99%    1.02s
  264000 requests in 8.00s, 30.00MB read
  Non-2xx or 3xx responses: 5
  Socket errors: connect 0, read 1, write 0, timeout 12
Requests/sec:  33000.12
Transfer/sec:      3.75MB
`,
			want: []sample{
				{"http/wrk/bare", "p50-ms", 2, 0.85},
				{"http/wrk/bare", "p75-ms", 2, 1.2},
				{"http/wrk/bare", "p90-ms", 2, 2},
				{"http/wrk/bare", "p99-ms", 2, 1020},
				{"http/wrk/bare", "req/s", 2, 33000.12},
				{"http/wrk/bare", "errors", 2, 18},
			},
		},
		{
			name: "burst", kind: "burst", prefix: "http/burst/nats", round: 1,
			in:   "9999/10000 worlds in 658 ms\nThe server cannot handle 10000 per 10s.\n",
			want: []sample{{"http/burst/nats", "ms", 1, 658}, {"http/burst/nats", "ok", 1, 9999}},
		},
		{
			name: "actor", kind: "actor", prefix: "actor",
			in:   "1 troupe W1 9196846 msgs/s\n# comment\n2 hollywood W4.heap 27948 B/actor\n",
			want: []sample{{"actor/W1/troupe", "msgs/s", 1, 9196846}, {"actor/W4.heap/hollywood", "B/actor", 2, 27948}},
		},
		{
			name: "kv", kind: "kv", prefix: "memory", round: 4,
			in:   "demo 35.2 idle-rss-MiB\nnot a result\ndemo 24.5 ws-KiB\n",
			want: []sample{{"memory/demo", "idle-rss-MiB", 4, 35.2}, {"memory/demo", "ws-KiB", 4, 24.5}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsers[tt.kind](strings.NewReader(tt.in), tt.prefix, tt.round)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) < 1e-9 })); diff != "" {
				t.Errorf("samples (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParsersWithoutResults(t *testing.T) {
	for kind, p := range parsers {
		if _, err := p(strings.NewReader("FAIL\nexit status 1\n"), "x", 1); !errors.Is(err, errNoResults) {
			t.Errorf("%s on a failed run: got %v, want errNoResults", kind, err)
		}
	}
}

func TestResultsRoundTrip(t *testing.T) {
	want := []sample{{"service/Request", "ns/op", 1, 1843.5}, {"memory/demo", "ws-KiB", 2, 24}}
	var b bytes.Buffer
	for _, s := range want {
		b.WriteString(s.String() + "\n")
	}
	got, err := parseTSV(&b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("samples (-want +got):\n%s", diff)
	}
}

func TestEvaluate(t *testing.T) {
	var samples []sample
	add := func(key, unit string, vs ...float64) {
		for i, v := range vs {
			samples = append(samples, sample{Key: key, Unit: unit, Round: i + 1, Value: v})
		}
	}
	add("service/Request", "ns/op", 1900, 2100, 1800, 1850, 5000)
	add("service/ActorAsk", "ns/op", 500, 600, 700, 650, 550)
	add("actor/W2/troupe", "us/op", 1.5, 1.7, 1.6)
	add("actor/W2/hollywood", "us/op", 4, 4.2, 3.8)
	add("actor/W2/protoactor", "us/op", 9, 9.5, 8)
	sums := summarize(samples)
	tests := []struct {
		name                     string
		row                      row
		wantStatus, wantBaseName string
		wantRatio                float64
		wantRounds               []float64
	}{
		{
			name: "absolute and ratio goals, both met",
			row: row{Subject: "service/Request", Baseline: "service/ActorAsk", BaseName: "actor Ask", Unit: "ns/op", Lower: true,
				Goals: []goal{atMost(2000, "ns"), ratioAtMost(3.5)}},
			wantStatus: "met", wantBaseName: "actor Ask", wantRatio: 1900.0 / 600,
			wantRounds: []float64{1800.0 / 700, 1850.0 / 650, 1900.0 / 500, 2100.0 / 600, 5000.0 / 550},
		},
		{
			name:       "one goal missed",
			row:        row{Subject: "service/Request", Baseline: "service/ActorAsk", Unit: "ns/op", Lower: true, Goals: []goal{ratioAtMost(3)}},
			wantStatus: "not met", wantRatio: 1900.0 / 600,
			wantRounds: []float64{1800.0 / 700, 1850.0 / 650, 1900.0 / 500, 2100.0 / 600, 5000.0 / 550},
		},
		{
			name:       "the best peer is the fastest",
			row:        row{Subject: "actor/W2/troupe", Baseline: "actor/W2/*", Unit: "us/op", Lower: true, Goals: []goal{ratioAtMost(0.75)}},
			wantStatus: "met", wantBaseName: "hollywood", wantRatio: 1.6 / 4,
			wantRounds: []float64{1.5 / 4, 1.7 / 4.2, 1.6 / 3.8},
		},
		{
			name:       "missing baseline",
			row:        row{Subject: "service/Request", Baseline: "service/Nothing", Unit: "ns/op", Goals: []goal{ratioAtMost(3)}},
			wantStatus: "no data", wantRatio: math.NaN(),
		},
		{
			name:       "no goal",
			row:        row{Subject: "service/Request", Unit: "ns/op"},
			wantStatus: "no goal", wantRatio: math.NaN(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := evaluate(tt.row, sums)
			if got.Status != tt.wantStatus {
				t.Errorf("status %q, want %q", got.Status, tt.wantStatus)
			}
			if got.BaseName != tt.wantBaseName {
				t.Errorf("baseline %q, want %q", got.BaseName, tt.wantBaseName)
			}
			approx := cmp.Comparer(func(a, b float64) bool {
				return (math.IsNaN(a) && math.IsNaN(b)) || math.Abs(a-b) < 1e-9
			})
			if !cmp.Equal(got.Ratio, tt.wantRatio, approx) {
				t.Errorf("ratio %v, want %v", got.Ratio, tt.wantRatio)
			}
			slices.Sort(tt.wantRounds) // as the table shows their range
			if diff := cmp.Diff(tt.wantRounds, got.RoundRatios, approx); diff != "" {
				t.Errorf("per-round ratios (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNum(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{math.NaN(), "—"}, {1234567.4, "1,234,567"}, {-4321, "-4,321"}, {512.4, "512"}, {31, "31"},
		{16.64, "16.6"}, {1.234, "1.23"}, {0.5123, "0.512"},
	}
	for _, tt := range tests {
		if got := num(tt.in); got != tt.want {
			t.Errorf("num(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSplice(t *testing.T) {
	doc := "# Benchmarks\n\nintro\n\n" + beginMarker + "\nold table\n" + endMarker + "\n\n## history\n"
	got, err := splice([]byte(doc), []byte("new table\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := "# Benchmarks\n\nintro\n\n" + beginMarker + "\nnew table\n\n" + endMarker + "\n\n## history\n"
	if string(got) != want {
		t.Errorf("spliced:\n%s\nwant:\n%s", got, want)
	}
	if _, err := splice([]byte("# no markers\n"), []byte("x")); err == nil {
		t.Error("splice into a document without markers: no error")
	}
	// The end marker quoted before the section does not end it.
	quoted := "see " + endMarker + "\n" + beginMarker + "\nold\n" + endMarker + "\n"
	got, err = splice([]byte(quoted), []byte("new\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "see " + endMarker + "\n" + beginMarker + "\nnew\n\n" + endMarker + "\n"; string(got) != want {
		t.Errorf("spliced:\n%s\nwant:\n%s", got, want)
	}
}

// TestTable runs the table subcommand on a small run: it writes the
// section into the document and fails on rows without data.
func TestTable(t *testing.T) {
	dir := t.TempDir()
	var res bytes.Buffer
	for r := 1; r <= 5; r++ {
		for _, s := range []sample{
			{"service/Request", "ns/op", r, 1800 + float64(r)}, {"service/ActorAsk", "ns/op", r, 600},
			{"service/Request", "allocs/op", r, 7}, {"service/ActorAsk", "allocs/op", r, 1},
		} {
			res.WriteString(s.String() + "\n")
		}
	}
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	results := write("results.tsv", res.String())
	load := write("load.tsv", "service\tRequest\t1\t1.10\t1.30\t2.5\t0.4\nservice\tActorAsk\t1\t1.30\t1.20\t2.0\n")
	machine := write("machine.txt", "CPU\tAMD EPYC\ncores\t2\n")
	doc := write("benchmarks.md", "# B\n\n"+beginMarker+"\n"+endMarker+"\n")
	var out bytes.Buffer
	err := run([]string{"table", "-results", results, "-load", load, "-machine", machine, "-groups", "service", "-doc", doc}, nil, &out)
	if err == nil || !strings.Contains(err.Error(), "bus Request alone") {
		t.Errorf("table with a missing row: got %v, want an error naming it", err)
	}
	for _, want := range []string{
		"- CPU: AMD EPYC",
		"Load average (1 min) before each step 1.10–1.30, after each step 1.20–1.30; 2 steps, 5s. CPU time stolen by the hypervisor during a step: median 0.4 % [0.4–0.4] (1 of the 2 steps).",
		"| service round trip in process: bus + SDK + actor (Request) vs bare actor Ask | ns/op | 1,803 [1,801–1,805] | actor Ask | 600 [600–600] | 3.00× [3.00–3.01] | ≤ 2,000 ns, ratio ≤ 3× | **not met** |",
		"| the same, allocations | allocs/op | 7 [7–7] | actor Ask | 1 [1–1] | 7.00× [7.00–7.00] | ≤ 8 | met |",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	got, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got), "| the same, allocations |") {
		t.Errorf("document not updated:\n%s", got)
	}
}

// TestParseLoad reads the load file's lines with and without the share of
// CPU time stolen by the hypervisor, and refuses a share that is not one.
func TestParseLoad(t *testing.T) {
	steps, err := parseLoad(strings.NewReader("http\twrk-bare\t1\t0.50\t1.20\t8.1\t3.5\nactor\tp-w\t2\t1\t1\t4\n\nnats\tx\t1\t1\t1\t1\t-1\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []loadStep{
		{Group: "http", Step: "wrk-bare", Round: 1, Before: 0.5, After: 1.2, Seconds: 8.1, Steal: 3.5},
		{Group: "actor", Step: "p-w", Round: 2, Before: 1, After: 1, Seconds: 4, Steal: -1},
		{Group: "nats", Step: "x", Round: 1, Before: 1, After: 1, Seconds: 1, Steal: -1},
	}
	if !slices.Equal(steps, want) {
		t.Errorf("parseLoad = %+v, want %+v", steps, want)
	}
	if got := loadLine(steps[:1]); !strings.HasSuffix(got, "CPU time stolen by the hypervisor during a step: median 3.5 % [3.5–3.5].") {
		t.Errorf("loadLine = %q", got)
	}
	for _, bad := range []string{"a\tb\t1\t1\t1\t1\t101\n", "a\tb\t1\t1\t1\t1\t-2\n", "a\tb\t1\t1\t1\t1\tx\n", "a\tb\t1\t1\t1\t1\t1\t1\n"} {
		if _, err := parseLoad(strings.NewReader(bad)); err == nil {
			t.Errorf("parseLoad(%q) accepted", bad)
		}
	}
}
