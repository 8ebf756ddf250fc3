// Package load is seed 001's performance experiment as a library: fire N
// requests at once through a pooled HTTP client and report whether all of
// them came back as expected within a duration.
//
// The seed's livebook posts {"type": "hello"} N times concurrently with an
// HTTP client that keeps a pool of 50 connections per host, waits at most
// the duration for all replies, and concludes "The server can handle N
// requests per D" only if every reply was {"type": "world"}. [Burst] does
// the same and also measures the elapsed time and the latency percentiles,
// so that `troupe bench hello` can compare the gateway with the bare
// net/http baseline in one run.
//
// A tour:
//
//	r, err := load.Burst(ctx, load.Config{URL: "http://127.0.0.1:8080/"}) // 10,000 × {"type":"hello"}
//	fmt.Println(r)           // 10000/10000 good, 0 bad, 0 errors in 312.4 ms (p50 …, p99 …)
//	fmt.Println(r.Verdict()) // The server can handle 10000 requests per 1s.
//
// Config.Body and Config.Expect (see ExpectType) change the request and what
// counts as a good reply; Config.Concurrency the pool; Config.Duration the
// limit.
package load
