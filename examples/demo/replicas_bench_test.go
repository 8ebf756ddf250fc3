package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkReplicas measures what adding instances costs the NATS cluster:
// the messages its three servers carry per request (the sum of their
// monitoring endpoint's in and out counts over the run) and the requests per
// second over the whole cluster, with the gateway and hello at 1 and at 4
// instances each (separate processes), and the CPU time all of them (the
// servers, the gateways and the hellos, not the benchmark's client) spent
// per request: on a machine with fewer cores than processes the requests per
// second fall as processes are added whatever they cost, and the CPU per
// request says whether the instances themselves cost more (it is also
// reported per kind of process: nats, gateway, hello, and the benchmark's
// own client, which shares the machine). Every process connects to the same
// server of the cluster, so that the count does not depend on which server
// each happened to pick (a request that crosses a route between servers is
// counted at both). b.N is the number of Hello requests, sent by 64 clients
// over every gateway in turn. Run both sizes in one run,
// interleaved, with -count:
//
//	go test -run '^$' -bench Replicas -benchtime 20000x -count 5 ./examples/demo/
func BenchmarkReplicas(b *testing.B) {
	demo, natsBin := binaries(b)
	app := demoApp(b)
	cluster := startCluster(b, natsBin, app)
	for _, n := range []int{1, 4} {
		b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) {
			common := []string{"-nats", cluster.servers[0].url(), "-nats-credentials", cluster.creds, "-nats-replicas", "3",
				"-addr", "127.0.0.1:0", "-log-level", "error"}
			var gateways, hellos []*proc
			for i := range n {
				hello := startProc(b, demo, fmt.Sprintf("hello-%d", i), nil, append([]string{"-only", "hello", "-data", b.TempDir()}, common...)...)
				gateway := startProc(b, demo, fmt.Sprintf("gateway-%d", i), nil, append([]string{"-only", "gateway", "-data", b.TempDir()}, common...)...)
				gateways = append(gateways, gateway)
				hellos = append(hellos, hello)
			}
			client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			send := func(total int) (failed int64) {
				var next, fails atomic.Int64
				var wg sync.WaitGroup
				for w := range 64 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							i := next.Add(1)
							if i > int64(total) {
								return
							}
							status, _, err := postJSON(context.Background(), client, gateways[(int(i)+w)%len(gateways)].url+"/", "", `{"type":"Hello"}`)
							if err != nil || status != http.StatusOK {
								fails.Add(1)
							}
						}
					}()
				}
				wg.Wait()
				return fails.Load()
			}
			send(500) // warm up: connections, subscriptions' interest
			// The CPU time of each kind of process, and of this one
			// (the client).
			kinds := [][]int{cluster.pids(), procPids(gateways), procPids(hellos), {os.Getpid()}}
			names := []string{"nats", "gateway", "hello", "client"}
			cpu := func() (out []time.Duration) {
				for _, pids := range kinds {
					out = append(out, cpuTime(b, pids))
				}
				return out
			}
			in0, out0 := cluster.msgs(b)
			cpu0 := cpu()
			b.ResetTimer()
			start := time.Now()
			failed := send(b.N)
			elapsed := time.Since(start)
			b.StopTimer()
			in1, out1 := cluster.msgs(b)
			cpu1 := cpu()
			if failed > 0 {
				b.Errorf("%d of %d requests failed", failed, b.N)
			}
			perReq := func(d time.Duration) float64 { return d.Seconds() * 1e6 / float64(b.N) }
			var sum time.Duration // the servers, gateways and hellos
			for i, name := range names {
				d := cpu1[i] - cpu0[i]
				b.ReportMetric(perReq(d), name+"-cpu-us/req")
				if name != "client" {
					sum += d
				}
			}
			b.ReportMetric(float64(in1-in0+out1-out0)/float64(b.N), "msgs/req")
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
			b.ReportMetric(perReq(sum), "cpu-us/req")
			for _, g := range gateways {
				g.kill()
			}
		})
	}
}

// msgs sums the in and out message counts of the cluster's servers.
func (c *natsCluster) msgs(tb testing.TB) (in, out int64) {
	tb.Helper()
	for _, s := range c.servers {
		i, o, ok := s.varz()
		if !ok {
			tb.Fatalf("nats-server %s: no /varz", s.name)
		}
		in, out = in+i, out+o
	}
	return in, out
}

// procPids returns the process ids of procs.
func procPids(procs []*proc) (out []int) {
	for _, p := range procs {
		out = append(out, p.cmd.Process.Pid)
	}
	return out
}

// pids returns the process ids of the cluster's servers.
func (c *natsCluster) pids() []int {
	var out []int
	for _, s := range c.servers {
		out = append(out, s.cmd.Process.Pid)
	}
	return out
}

// cpuTime returns the user and system CPU time the processes pids have
// used so far, from /proc/PID/stat (fields 14 and 15, in clock ticks of
// 1/100 s, which is USER_HZ on Linux).
func cpuTime(tb testing.TB, pids []int) time.Duration {
	tb.Helper()
	var ticks int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			tb.Fatalf("cpu time of process %d: %v", pid, err)
		}
		// The command name (field 2) is in parentheses and may hold
		// spaces: the fields that follow start after the last ')'.
		rest := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(rest) < 13 {
			tb.Fatalf("cpu time of process %d: short /proc/%d/stat", pid, pid)
		}
		for _, f := range rest[11:13] { // utime, stime: fields 14 and 15
			n, err := strconv.ParseInt(f, 10, 64)
			if err != nil {
				tb.Fatalf("cpu time of process %d: %v", pid, err)
			}
			ticks += n
		}
	}
	return time.Duration(ticks) * (time.Second / 100)
}
