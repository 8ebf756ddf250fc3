package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// A sample is one measured value: one metric of one benchmark in one round.
type sample struct {
	Key   string // what was measured, e.g. "service/Request"
	Unit  string // e.g. "ns/op"
	Round int
	Value float64
}

// String is the sample as a line of the results file: key, round, value
// and unit, separated by tabs.
func (s sample) String() string {
	return fmt.Sprintf("%s\t%d\t%s\t%s", s.Key, s.Round, strconv.FormatFloat(s.Value, 'g', -1, 64), s.Unit)
}

// errNoResults is returned by the parsers when their input held nothing
// they understood: the benchmark did not run.
var errNoResults = errors.New("no results in the input")

// parsers are the kinds of tool output parse understands.
var parsers = map[string]func(r io.Reader, prefix string, round int) ([]sample, error){
	"gobench": parseGoBench,
	"wrk":     parseWrk,
	"burst":   parseBurst,
	"actor":   parseActor,
	"kv":      parseKV,
}

// parseTSV reads a results file written by parse.
func parseTSV(r io.Reader) ([]sample, error) {
	var out []sample
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 4 {
			return nil, fmt.Errorf("results line %d: %d fields, want 4", n, len(f))
		}
		round, err := strconv.Atoi(f[1])
		if err != nil {
			return nil, fmt.Errorf("results line %d: round: %w", n, err)
		}
		v, err := strconv.ParseFloat(f[2], 64)
		if err != nil {
			return nil, fmt.Errorf("results line %d: value: %w", n, err)
		}
		out = append(out, sample{Key: f[0], Round: round, Value: v, Unit: f[3]})
	}
	return out, sc.Err()
}

// procSuffix is the -GOMAXPROCS suffix go test adds to benchmark names.
var procSuffix = regexp.MustCompile(`-\d+$`)

// parseGoBench reads go test -bench output: for each result line
// ("BenchmarkName-2  1000  123 ns/op  4 allocs/op ..."), one sample per
// metric, keyed prefix/Name (without "Benchmark" and the GOMAXPROCS
// suffix).
func parseGoBench(r io.Reader, prefix string, round int) ([]sample, error) {
	var out []sample
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
			continue
		}
		name := procSuffix.ReplaceAllString(strings.TrimPrefix(f[0], "Benchmark"), "")
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			out = append(out, sample{Key: join(prefix, name), Unit: f[i+1], Round: round, Value: v})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errNoResults
	}
	return out, nil
}

// parseWrk reads wrk's report (run with --latency): requests per second
// (req/s), the latency percentiles in milliseconds (p50-ms, p75-ms, p90-ms,
// p99-ms) and the errors (non-2xx/3xx responses plus socket errors).
func parseWrk(r io.Reader, prefix string, round int) ([]sample, error) {
	var out []sample
	errs := 0.0
	sawRate := false
	inDist := false
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		f := strings.Fields(line)
		switch {
		case strings.HasPrefix(line, "Latency Distribution"):
			inDist = true
		case inDist && len(f) == 2 && strings.HasSuffix(f[0], "%"):
			d, err := wrkDuration(f[1])
			if err != nil {
				return nil, fmt.Errorf("wrk: %q: %w", line, err)
			}
			out = append(out, sample{Key: prefix, Unit: "p" + strings.TrimSuffix(f[0], "%") + "-ms", Round: round, Value: d})
		case strings.HasPrefix(line, "Non-2xx or 3xx responses:") && len(f) == 5:
			inDist = false
			n, err := strconv.ParseFloat(f[4], 64)
			if err != nil {
				return nil, fmt.Errorf("wrk: %q: %w", line, err)
			}
			errs += n
		case strings.HasPrefix(line, "Socket errors:"):
			inDist = false
			for _, part := range strings.Split(strings.TrimPrefix(line, "Socket errors:"), ",") {
				kv := strings.Fields(part)
				if len(kv) != 2 {
					return nil, fmt.Errorf("wrk: %q: malformed", line)
				}
				n, err := strconv.ParseFloat(kv[1], 64)
				if err != nil {
					return nil, fmt.Errorf("wrk: %q: %w", line, err)
				}
				errs += n
			}
		case strings.HasPrefix(line, "Requests/sec:") && len(f) == 2:
			inDist = false
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return nil, fmt.Errorf("wrk: %q: %w", line, err)
			}
			out = append(out, sample{Key: prefix, Unit: "req/s", Round: round, Value: v})
			sawRate = true
		default:
			if inDist && !strings.HasSuffix(f0(f), "%") {
				inDist = false
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if !sawRate {
		return nil, errNoResults
	}
	return append(out, sample{Key: prefix, Unit: "errors", Round: round, Value: errs}), nil
}

func f0(f []string) string {
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// wrkDuration converts one of wrk's durations ("850.00us", "1.20ms",
// "1.02s", "2.00m") to milliseconds.
func wrkDuration(s string) (float64, error) {
	for _, u := range []struct {
		suffix string
		ms     float64
	}{{"us", 1e-3}, {"ms", 1}, {"s", 1e3}, {"m", 60e3}} {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, err
			}
			return v * u.ms, nil
		}
	}
	return 0, fmt.Errorf("unknown duration %q", s)
}

// burstLine is the result line of bench/http/burst.
var burstLine = regexp.MustCompile(`^(\d+)/(\d+) worlds in ([0-9.]+) ms`)

// parseBurst reads bench/http/burst's output: the time all requests took
// (ms) and how many came back with the expected reply (ok).
func parseBurst(r io.Reader, prefix string, round int) ([]sample, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m := burstLine.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		ok, _ := strconv.ParseFloat(m[1], 64)
		ms, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			return nil, fmt.Errorf("burst: %q: %w", m[0], err)
		}
		return []sample{
			{Key: prefix, Unit: "ms", Round: round, Value: ms},
			{Key: prefix, Unit: "ok", Round: round, Value: ok},
		}, nil
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return nil, errNoResults
}

// parseActor reads the per-round results of bench/actorbench/run.sh
// ("round framework workload value unit"), keyed
// prefix/workload/framework; the round comes from the line.
func parseActor(r io.Reader, prefix string, _ int) ([]sample, error) {
	var out []sample
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 5 {
			continue
		}
		round, err := strconv.Atoi(f[0])
		if err != nil {
			continue
		}
		v, err := strconv.ParseFloat(f[3], 64)
		if err != nil {
			continue
		}
		out = append(out, sample{Key: join(prefix, f[2], f[1]), Unit: f[4], Round: round, Value: v})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errNoResults
	}
	return out, nil
}

// parseKV reads lines of "key value unit", keyed prefix/key; other lines
// are ignored.
func parseKV(r io.Reader, prefix string, round int) ([]sample, error) {
	var out []sample
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			continue
		}
		out = append(out, sample{Key: join(prefix, f[0]), Unit: f[2], Round: round, Value: v})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errNoResults
	}
	return out, nil
}

// join joins non-empty key parts with "/".
func join(parts ...string) string {
	var kept []string
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, "/")
}
