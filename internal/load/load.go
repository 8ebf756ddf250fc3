package load

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"
)

// Defaults of Config's zero fields.
const (
	DefaultN           = 10000
	DefaultConcurrency = 50 // the livebook's HTTP client pools 50 connections per host
	DefaultDuration    = time.Second
	DefaultBody        = `{"type":"hello"}`
)

// Config describes one burst. Its zero fields mean the documented defaults;
// URL is required.
type Config struct {
	// URL receives the requests, e.g. "http://127.0.0.1:8080/".
	URL string
	// N is the number of requests, all started at once. Default 10,000.
	N int
	// Concurrency is the size of the connection pool: at most this many
	// requests are on the wire at a time. Default 50.
	Concurrency int
	// Method is the HTTP method. Default POST.
	Method string
	// Body is each request's body, sent as application/json. Default
	// {"type":"hello"}, the livebook's request.
	Body []byte
	// Expect reports whether a reply body is the expected one. A reply
	// counts as good if its status is 2xx and Expect returns true.
	// Default ExpectType("world").
	Expect func(body []byte) bool
	// Duration is how long the burst may take: requests not answered by
	// then are cancelled and counted as errors. Default 1 s.
	Duration time.Duration
	// TLS configures HTTPS (trusted roots, say). Optional.
	TLS *tls.Config
}

// Result is the outcome of a burst.
type Result struct {
	N       int           // requests sent
	Good    int           // answered 2xx with the expected body
	Bad     int           // answered, but not as expected
	Errors  int           // not answered: connection errors, cancelled at the duration
	Elapsed time.Duration // from the first request's start to the last reply or the duration
	P50     time.Duration // median latency of the answered requests
	P99     time.Duration // 99th percentile latency of the answered requests
	Max     time.Duration // slowest answered request
	// AllGood is the seed's verdict: every request good within Duration.
	AllGood bool
	// Duration is the duration the burst was held to.
	Duration time.Duration
	// FirstError describes the first error or bad reply, for diagnosis.
	FirstError string
}

// String sums the result up in one line.
func (r Result) String() string {
	return fmt.Sprintf("%d/%d good, %d bad, %d errors in %.1f ms (p50 %.2f ms, p99 %.2f ms, max %.2f ms)",
		r.Good, r.N, r.Bad, r.Errors, ms(r.Elapsed), ms(r.P50), ms(r.P99), ms(r.Max))
}

// Verdict is the seed's conclusion sentence.
func (r Result) Verdict() string {
	if r.AllGood {
		return fmt.Sprintf("The server can handle %d requests per %v.", r.N, r.Duration)
	}
	return fmt.Sprintf("The server cannot handle %d per %v.", r.N, r.Duration)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// ExpectType returns an Expect function that accepts a JSON body whose
// "type" is typ, ignoring white space, as the seed's experiment matches
// replies.
func ExpectType(typ string) func(body []byte) bool {
	want := []byte(fmt.Sprintf(`"type":%q`, typ))
	return func(body []byte) bool {
		if bytes.Contains(body, want) {
			return true
		}
		compact := bytes.Map(func(r rune) rune {
			switch r {
			case ' ', '\t', '\r', '\n':
				return -1
			}
			return r
		}, body)
		return bytes.Contains(compact, want)
	}
}

// Burst runs one burst: it starts cfg.N requests at once through a pool of
// cfg.Concurrency connections, waits for all replies or for cfg.Duration,
// and reports. An invalid Config is an error; failed requests are not
// (they are counted in the Result).
func Burst(ctx context.Context, cfg Config) (Result, error) {
	if cfg.URL == "" {
		return Result{}, errors.New("load: config: URL is required")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Result{}, fmt.Errorf("load: config: URL %q is not an http or https URL", cfg.URL)
	}
	if cfg.N < 0 || cfg.Concurrency < 0 || cfg.Duration < 0 {
		return Result{}, errors.New("load: config: negative N, Concurrency or Duration")
	}
	if cfg.N == 0 {
		cfg.N = DefaultN
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Duration == 0 {
		cfg.Duration = DefaultDuration
	}
	if cfg.Method == "" {
		cfg.Method = http.MethodPost
	}
	if cfg.Body == nil {
		cfg.Body = []byte(DefaultBody)
	}
	if cfg.Expect == nil {
		cfg.Expect = ExpectType("world")
	}
	tr := &http.Transport{
		MaxConnsPerHost:     cfg.Concurrency,
		MaxIdleConnsPerHost: cfg.Concurrency,
		MaxIdleConns:        cfg.Concurrency,
		TLSClientConfig:     cfg.TLS,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}

	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()

	type outcome struct {
		latency time.Duration
		kind    int // 0 good, 1 bad, 2 error
		detail  string
	}
	outcomes := make([]outcome, cfg.N)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range cfg.N {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			kind, detail := request(ctx, client, cfg)
			outcomes[i] = outcome{time.Since(t0), kind, detail}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	r := Result{N: cfg.N, Elapsed: elapsed, Duration: cfg.Duration}
	lat := make([]time.Duration, 0, cfg.N)
	for _, o := range outcomes {
		switch o.kind {
		case 0:
			r.Good++
		case 1:
			r.Bad++
		default:
			r.Errors++
		}
		if o.kind != 2 {
			lat = append(lat, o.latency)
		}
		if o.kind != 0 && r.FirstError == "" {
			r.FirstError = o.detail
		}
	}
	slices.Sort(lat)
	r.P50, r.P99 = percentile(lat, 50), percentile(lat, 99)
	if len(lat) > 0 {
		r.Max = lat[len(lat)-1]
	}
	r.AllGood = r.Good == r.N && elapsed <= cfg.Duration
	return r, nil
}

// request sends one request and classifies its outcome.
func request(ctx context.Context, c *http.Client, cfg Config) (kind int, detail string) {
	req, err := http.NewRequestWithContext(ctx, cfg.Method, cfg.URL, bytes.NewReader(cfg.Body))
	if err != nil {
		return 2, err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 2, err.Error()
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 2, err.Error()
	}
	if resp.StatusCode/100 != 2 || !cfg.Expect(body) {
		return 1, fmt.Sprintf("%s: %.200s", resp.Status, body)
	}
	return 0, ""
}

// percentile returns the p-th percentile of sorted durations (nearest rank).
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	if i < 1 {
		i = 1
	}
	return sorted[i-1]
}
