#!/usr/bin/env bash
# bench/run.sh runs every benchmark of issue 13 beside its baseline, in
# interleaved rounds (each side in a process of its own, one after the other,
# round after round), and prints one table of ratios: troupe's median
# [min–max], the baseline's, their ratio and the issue's goal. A full run
# also rewrites the generated section of docs/benchmarks.md. See
# docs/benchmarks.md, "Running the benchmarks", for what each group measures.
#
#   bench/run.sh                      # the full set, 5 rounds (about 17 minutes on 2 cores)
#   QUICK=1 bench/run.sh              # smoke run: 2 short rounds (about 2 minutes)
#   ONLY="service nats" bench/run.sh  # some groups only
#
# Env:
#   ROUNDS=5          rounds per benchmark (QUICK: 2)
#   ONLY="..."        groups to run, in this order: service http nats todo actor
#                     replicas resilience schema memory (default: all)
#   OUT=dir           where binaries, raw outputs, logs and the table go (default: mktemp -d)
#   DOC=file          the document whose generated section is replaced
#                     (default: docs/benchmarks.md for a full run, none for QUICK; DOC= for none)
#   WS_N=10000        idle WebSockets of the memory group (QUICK: 1000)
#   TROUPE_TEST_PG_DSN  PostgreSQL for the todo group (default: .ci/postgres.sh starts the
#                     machine's own and prints it; that needs root)
#
# Needs: go, wrk (apt-get install -y wrk), curl, PostgreSQL (todo group), and a
# file-descriptor limit above WS_N (the script raises the soft limit).
# Exits 1 if a benchmark failed or a row has no data; the table is printed anyway.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

QUICK="${QUICK:-0}"
if [ "$QUICK" = 1 ]; then
	ROUNDS="${ROUNDS:-2}"
	DOC="${DOC-}"
	WS_N="${WS_N:-1000}"
	GO_BENCHTIME=200ms   # micro-benchmarks (testing's -benchtime)
	NATS_RR_N=2000       # request/reply round trips
	NATS_DUR_N=5000      # durable messages
	TODO_N=300           # creates
	REPLICAS_N=2000      # Hellos over the cluster
	WRK_SECS=2
	MEM_SETTLE=2
	ACTOR_ARGS="-n1 300000 -n2 10000 -n3 100000 -n4 20000"
else
	ROUNDS="${ROUNDS:-5}"
	DOC="${DOC-docs/benchmarks.md}"
	WS_N="${WS_N:-10000}"
	GO_BENCHTIME=1s
	NATS_RR_N=20000
	NATS_DUR_N=50000
	TODO_N=3000
	REPLICAS_N=20000
	WRK_SECS=8
	MEM_SETTLE=5
	ACTOR_ARGS=""
fi
ALL_GROUPS="service http nats todo actor replicas resilience schema memory"
ONLY="${ONLY:-$ALL_GROUPS}"
OUT="${OUT:-$(mktemp -d -t troupe-bench-XXXXXX)}"
mkdir -p "$OUT/bin" "$OUT/raw" "$OUT/logs" "$OUT/tmp" "$OUT/extras"
OUT="$(cd "$OUT" && pwd)"
BIN="$OUT/bin"
results="$OUT/results.tsv"
loadf="$OUT/load.tsv"
commands="$OUT/extras/commands.txt"
: >"$results"
: >"$loadf"
: >"$commands"
failures=0
started="$(date +%s)"

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
load1() { cut -d' ' -f1 /proc/loadavg; }
# cpustat and steal: the share of CPU time stolen by the hypervisor during a step.
source "$root/bench/steal.sh"
want() { [[ " $ONLY " == *" $1 "* ]]; }

# Processes this script started, stopped on exit (by their PIDs only).
pids=()
cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
}
trap cleanup EXIT

# stop PID: SIGTERM, wait for it, and forget it.
stop() {
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	local keep=() p
	for p in "${pids[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	pids=("${keep[@]}")
}

# step GROUP NAME ROUND KIND PREFIX CMD...: runs CMD with its output in
# raw/GROUP.NAME.rROUND.txt, records the load average before and after and
# the time it took, and parses the output into the results (KIND and PREFIX
# as for `report parse`). A failure is counted and the run goes on.
#
# The group functions and what they call run with errexit off (they are
# called in a condition), so they check what matters themselves.
step() {
	local group=$1 name=$2 round=$3 kind=$4 prefix=$5
	shift 5
	local raw="$OUT/raw/$group.${name//\//_}.r$round.txt"
	if [ "$round" = 1 ]; then
		if [ "$1" = gobench ]; then
			quote "$2" -test.run '^$' -test.benchmem "${@:3}" >>"$commands"
		elif declare -F "$1" >/dev/null; then
			printf '%s    # a function of bench/run.sh\n' "$(quote "$@")" >>"$commands"
		else
			quote "$@" >>"$commands"
		fi
	fi
	local before t0 cpu0
	before="$(load1)"
	t0="$(date +%s.%N)"
	cpu0="$(cpustat)"
	log "$group $name round $round/$ROUNDS"
	local rc=0
	"$@" >"$raw" 2>&1 || rc=$?
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$group" "$name" "$round" "$before" "$(load1)" \
		"$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')" "$(steal "$cpu0" "$(cpustat)")" >>"$loadf"
	if [ "$rc" != 0 ]; then
		log "FAILED ($rc): $group $name round $round; its output: $raw"
		tail -n 15 "$raw" >&2
		failures=$((failures + 1))
		return 0
	fi
	if ! "$BIN/report" parse -kind "$kind" -prefix "$prefix" -round "$round" "$raw" >>"$results"; then
		failures=$((failures + 1))
	fi
}

# quote ARGS...: prints the command line as a shell would read it back,
# with $OUT for the run's directory.
quote() {
	local a out=()
	for a in "$@"; do
		a="${a//$OUT/\$OUT}"
		if [[ $a =~ ^(\$OUT)?[A-Za-z0-9_./:=,@%+-]*$ ]]; then
			out+=("$a")
		else
			out+=("'${a//\'/\'\\\'\'}'")
		fi
	done
	printf '%s\n' "${out[*]}"
}

# gobench BINARY ARGS...: a test binary run for benchmarks only.
gobench() {
	local bin=$1
	shift
	"$bin" -test.run '^$' -test.benchmem "$@"
}

# wait_for FILE REGEX SECONDS PID: until a line of FILE matches REGEX;
# fails if PID exits first or the time is up.
wait_for() {
	local file=$1 re=$2 secs=$3 pid=$4 i
	for ((i = 0; i < secs * 10; i++)); do
		if grep -Eq "$re" "$file" 2>/dev/null; then
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			log "process $pid exited; its output:"
			tail -n 20 "$file" >&2
			return 1
		fi
		sleep 0.1
	done
	log "timed out waiting for /$re/ in $file"
	return 1
}

# background LOG CMD...: starts CMD in the background with its output in LOG
# ($! is its PID). LOG is emptied here, before the start, not by the child's
# redirection: a wait_for on LOG right after must not read the last round's.
background() {
	local log=$1
	shift
	: >"$log"
	"$@" >>"$log" 2>&1 &
}

# url_in FILE PREFIX: the first http URL on a line starting with PREFIX.
url_in() { grep -m1 "^$2" "$1" | grep -Eo 'http://[0-9.:]+' | head -n 1; }

# start_demo NAME ARGS...: starts the demo binary from the repository's root
# (so that it runs ./troupe.yaml, as the README's `go run ./examples/demo run`
# does) on free ports; sets demo_pid, demo_url (the gateway) and demo_admin
# (the admin listener: metrics, pprof).
start_demo() {
	local name=$1
	shift
	local data="$OUT/tmp/$name"
	rm -rf "$data"
	mkdir -p "$data"
	background "$OUT/logs/$name.log" "$BIN/troupe" run -addr 127.0.0.1:0 -nats-port 0 -data "$data" "$@"
	demo_pid=$!
	pids+=("$demo_pid")
	wait_for "$OUT/logs/$name.log" '^ready:' 120 "$demo_pid" || return 1
	demo_url="$(url_in "$OUT/logs/$name.log" 'gateway listening on')"
	[ -n "$demo_url" ] || { log "no gateway URL in $OUT/logs/$name.log"; return 1; }
	demo_admin="$(url_in "$OUT/logs/$name.log" 'admin listening on')"
	[ -n "$demo_admin" ] || { log "no admin URL in $OUT/logs/$name.log"; return 1; }
}

# sign_up URL NAME: signs a user up on the todo pages at URL as a browser
# does, and sets user_cookie (the session, "todo_session=...") and user_list
# (the id of the user's first list, read through an API token made on the
# tokens page).
sign_up() {
	local url=$1 name=$2 jar="$OUT/tmp/cookies-$2" token
	rm -f "$jar"
	curl -fsS -c "$jar" -b "$jar" -o /dev/null --data-urlencode "name=$name" \
		--data-urlencode "password=correct horse battery" "$url/signup" || return 1
	user_cookie="$(awk '$6 == "todo_session" { print $6 "=" $7 }' "$jar")"
	token="$(curl -fsS -b "$jar" --data-urlencode "name=bench" "$url/tokens" |
		sed -n 's/.*<code class="secret">\([^<]*\)<\/code>.*/\1/p' | head -n 1)"
	user_list="$(curl -fsS -H "Authorization: Bearer $token" "$url/api/lists" |
		grep -Eo '"id": *"[^"]+"' | head -n 1 | sed 's/.*"\([^"]*\)"$/\1/')"
	if [ -z "$user_cookie" ] || [ -z "$token" ] || [ -z "$user_list" ]; then
		log "sign_up: no session, token or list for $name at $url"
		return 1
	fi
}

# start_bare: the bare net/http hello (bench/http/bare); sets bare_pid and bare_url.
start_bare() {
	background "$OUT/logs/bare.log" "$BIN/bare" -addr 127.0.0.1:0
	bare_pid=$!
	pids+=("$bare_pid")
	wait_for "$OUT/logs/bare.log" '^listening on' 30 "$bare_pid" || return 1
	bare_url="$(url_in "$OUT/logs/bare.log" 'listening on')"
}

machine() {
	local commit
	commit="$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
	if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
		commit="$commit (with uncommitted changes)"
	fi
	printf 'date\t%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
	printf 'commit\t%s\n' "$commit"
	printf 'CPU\t%s\n' "$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	printf 'cores\t%s (nproc)\n' "$(nproc)"
	printf 'memory\t%s GiB\n' "$(awk '/^MemTotal/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)"
	printf 'Go\t%s\n' "$(go version | cut -d' ' -f3-)"
	printf 'kernel\t%s\n' "$(uname -sr)"
	printf 'wrk\t%s\n' "$(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)"
}

# ---------------------------------------------------------------- build

log "output in $OUT"
for tool in go wrk curl; do
	command -v "$tool" >/dev/null || { echo "bench/run.sh: $tool not found (wrk: apt-get install -y wrk)" >&2; exit 1; }
done
machine >"$OUT/machine.txt"
printf 'load average at the start\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/machine.txt"
log "building"
(cd bench/tools && GOWORK=off go build -o "$BIN/" ./report ./wsidle ./wsbare)
(cd bench/http && GOWORK=off go build -o "$BIN/" ./bare ./burst)
(cd examples && go build -o "$BIN/troupe" ./demo)
if want service || want resilience; then go test -c -o "$BIN/service.test" ./service/; fi
if want service || want schema; then go test -c -o "$BIN/bus.test" ./bus/; fi
if want nats; then go test -c -o "$BIN/natsbus.test" ./natsbus/; fi
if want todo; then go test -c -o "$BIN/web.test" ./examples/todo/web/; fi
if want replicas; then go test -c -o "$BIN/demo.test" ./examples/demo/; fi

# ---------------------------------------------------------------- groups

group_service() {
	local r
	for r in $(seq 1 "$ROUNDS"); do
		step service Request "$r" gobench service gobench "$BIN/service.test" -test.bench '^BenchmarkRequest$' -test.benchtime "$GO_BENCHTIME"
		step service ActorAsk "$r" gobench service gobench "$BIN/service.test" -test.bench '^BenchmarkActorAsk$' -test.benchtime "$GO_BENCHTIME"
		step service bus-Request "$r" gobench bus gobench "$BIN/bus.test" -test.bench '^BenchmarkRequest$/^serial$' -test.benchtime "$GO_BENCHTIME"
		step service bus-BaselineGoroutine "$r" gobench bus gobench "$BIN/bus.test" -test.bench '^BenchmarkBaselineGoroutine$' -test.benchtime "$GO_BENCHTIME"
	done
}

group_http() {
	local r kind
	start_bare || return 1
	start_demo http-nats || return 1
	local nats_pid=$demo_pid nats_url=$demo_url
	start_demo http-inproc -inproc || return 1
	local inproc_pid=$demo_pid inproc_url=$demo_url
	declare -A urls=([bare]="$bare_url/" [nats]="$nats_url/" [inproc]="$inproc_url/")
	for kind in bare nats inproc; do # warm-up: connections, code paths, JIT-free but cache-warm
		wrk -t1 -c50 -d1s -s bench/http/post.lua "${urls[$kind]}" >/dev/null 2>&1 || true
	done
	for r in $(seq 1 "$ROUNDS"); do
		for kind in bare nats inproc; do
			step http "wrk-$kind" "$r" wrk "http/wrk/$kind" wrk -t1 -c50 -d"${WRK_SECS}s" --latency -s bench/http/post.lua "${urls[$kind]}"
		done
		for kind in bare nats inproc; do
			step http "burst-$kind" "$r" burst "http/burst/$kind" burst "${urls[$kind]}"
		done
	done
	stop "$bare_pid"
	stop "$nats_pid"
	stop "$inproc_pid"
}

# burst URL: seed 001's experiment, 10,000 Hellos at once over 50 connections
# (bench/http/burst). It exits 1 when a request failed or was late: that is a
# result (the table shows the count), not a failed step.
burst() { "$BIN/burst" -url "$1" -n 10000 -conns 50 -d 10s || true; }

group_nats() {
	local r conn side
	for r in $(seq 1 "$ROUNDS"); do
		for conn in inproc tcp; do
			for side in raw natsbus; do
				step nats "RequestReply-$conn-$side" "$r" gobench natsbus gobench "$BIN/natsbus.test" \
					-test.bench "^BenchmarkRequestReply\$/^$conn\$/^$side\$" -test.benchtime "${NATS_RR_N}x"
			done
			for side in raw raw-sync raw-same natsbus; do
				step nats "Durable-$conn-$side" "$r" gobench natsbus gobench "$BIN/natsbus.test" \
					-test.bench "^BenchmarkDurable\$/^$conn\$/^$side\$" -test.benchtime "${NATS_DUR_N}x"
			done
		done
	done
}

group_todo() {
	local r side
	if [ -z "${TROUPE_TEST_PG_DSN:-}" ]; then
		TROUPE_TEST_PG_DSN="$(bash .ci/postgres.sh 2>"$OUT/logs/postgres.log" | sed -n 's/^TROUPE_TEST_PG_DSN=//p')" || true
		export TROUPE_TEST_PG_DSN
	fi
	if [ -z "$TROUPE_TEST_PG_DSN" ]; then
		log "no PostgreSQL (see $OUT/logs/postgres.log): the todo group is skipped"
		failures=$((failures + 1))
		return 0
	fi
	for r in $(seq 1 "$ROUNDS"); do
		for side in stack store store-same; do
			step todo "CreateConcurrent-postgres-$side" "$r" gobench todo gobench "$BIN/web.test" \
				-test.bench "^BenchmarkCreateConcurrent\$/^postgres\$/^$side\$" -test.benchtime "${TODO_N}x"
		done
	done
}

group_actor() {
	log "actor: bench/actorbench/run.sh, $ROUNDS rounds"
	# shellcheck disable=SC2097,SC2098
	if ONLY="" ROUNDS="$ROUNDS" BIN_DIR="$OUT/actor" LOAD_FILE="$loadf" ARGS="$ACTOR_ARGS" \
		bench/actorbench/run.sh >"$OUT/extras/actorbench.txt" 2>"$OUT/logs/actorbench.log"; then
		"$BIN/report" parse -kind actor -prefix actor "$OUT/actor/rounds.txt" >>"$results" || failures=$((failures + 1))
	else
		log "FAILED: bench/actorbench/run.sh; its log: $OUT/logs/actorbench.log"
		failures=$((failures + 1))
	fi
	printf 'ROUNDS=%s ARGS="%s" bench/actorbench/run.sh\n' "$ROUNDS" "$ACTOR_ARGS" >>"$commands"
}

# replicas BENCHTIME: BenchmarkReplicas, both sizes in one process (they
# share its three-server cluster), 1 then 4; from its package directory,
# where it builds the demo and nats-server.
replicas() { (cd examples/demo && "$BIN/demo.test" -test.run '^$' -test.bench '^BenchmarkReplicas$' -test.benchtime "$1"); }

group_replicas() {
	local r
	for r in $(seq 1 "$ROUNDS"); do
		step replicas Replicas "$r" gobench demo replicas "${REPLICAS_N}x"
	done
}

group_resilience() {
	local r mode
	: >"$OUT/raw/call.txt"
	for r in $(seq 1 "$ROUNDS"); do
		for mode in bare breaker retry; do
			step resilience "Call-$mode" "$r" gobench service gobench "$BIN/service.test" \
				-test.bench "^BenchmarkCall\$/^mode=$mode\$" -test.benchtime "$GO_BENCHTIME"
			grep '^Benchmark' "$OUT/raw/resilience.Call-$mode.r$r.txt" >>"$OUT/raw/call.txt" || true
		done
	done
	# benchstat's view of the same runs (it needs the module proxy the first time).
	if ! (cd "$OUT" && GOWORK=off go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da \
		-col /mode raw/call.txt >"$OUT/extras/benchstat-call.txt" 2>"$OUT/logs/benchstat.log"); then
		log "benchstat unavailable (see $OUT/logs/benchstat.log); the table has the same runs"
		rm -f "$OUT/extras/benchstat-call.txt"
	fi
}

group_schema() {
	local r op mode
	for r in $(seq 1 "$ROUNDS"); do
		for op in Request Send; do
			for mode in off on; do
				step schema "Schema-$op-$mode" "$r" gobench bus gobench "$BIN/bus.test" \
					-test.bench "^BenchmarkSchema\$/^$op\$/^$mode\$" -test.benchtime "$GO_BENCHTIME"
			done
		done
	done
}

# rss PID: resident set size in KiB.
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# metric URL NAME: one series of a Prometheus text page.
metric() { curl -fsS "$1/metrics" | awk -v n="$2" '$1 == n { printf "%.0f\n", $2 }'; }

# measure_ws NAME PID METRICS WSURL [WSIDLE ARGS...]: the server's RSS,
# goroutines and heap (from METRICS/metrics) before and with WS_N idle
# WebSockets (bench/tools/wsidle, given the ARGS); prints kv lines.
measure_ws() {
	local name=$1 pid=$2 url=$3 wsurl=$4
	shift 4
	local rss0 rss1 g0 g1 h0 h1 ws_pid
	sleep "$MEM_SETTLE"
	rss0="$(rss "$pid")"
	g0="$(metric "$url" go_goroutines)"
	h0="$(metric "$url" go_memstats_heap_inuse_bytes)"
	background "$OUT/logs/wsidle-$name.log" "$BIN/wsidle" -url "$wsurl" -n "$WS_N" "$@"
	ws_pid=$!
	pids+=("$ws_pid")
	if ! wait_for "$OUT/logs/wsidle-$name.log" '^open ' 600 "$ws_pid"; then
		stop "$ws_pid"
		return 1
	fi
	sleep "$MEM_SETTLE"
	rss1="$(rss "$pid")"
	g1="$(metric "$url" go_goroutines)"
	h1="$(metric "$url" go_memstats_heap_inuse_bytes)"
	stop "$ws_pid"
	if [ -z "$rss0" ] || [ -z "$rss1" ] || [ -z "$g0" ] || [ -z "$g1" ] || [ -z "$h0" ] || [ -z "$h1" ]; then
		log "memory: $name: a reading is missing (rss $rss0 $rss1, goroutines $g0 $g1, heap $h0 $h1)"
		return 1
	fi
	awk -v n="$name" -v N="$WS_N" -v r0="$rss0" -v r1="$rss1" -v g0="$g0" -v g1="$g1" -v h0="$h0" -v h1="$h1" 'BEGIN {
		printf "%s %.2f idle-rss-MiB\n", n, r0 / 1024
		printf "%s %.2f ws-rss-MiB\n", n, r1 / 1024
		printf "%s %.2f ws-KiB\n", n, (r1 - r0) / N
		printf "%s %.2f ws-heap-KiB\n", n, (h1 - h0) / 1024 / N
		printf "%s %.3f ws-goroutines\n", n, (g1 - g0) / N
	}'
}

# mem_demo: a fresh demo at the default settings, warmed up (pages, the
# hello burst, a live connection), then measure_ws on its /live endpoint as
# a signed-up user.
mem_demo() {
	start_demo "memory-demo" || return 1
	sign_up "$demo_url" "bench" || return 1
	local live="${demo_url/http:/ws:}/live?list=$user_list"
	local as=(-cookie "$user_cookie" -origin "$demo_url")
	"$BIN/burst" -url "$demo_url/" -n 2000 -conns 50 -d 10s >/dev/null || true
	local i
	for i in $(seq 1 20); do
		curl -fsS -o /dev/null "$demo_url/" || return 1
	done
	"$BIN/wsidle" -url "$live" -n 50 "${as[@]}" >/dev/null 2>&1 &
	local warm=$!
	sleep 1
	stop "$warm"
	local rc=0
	measure_ws demo "$demo_pid" "$demo_admin" "$live" "${as[@]}" || rc=1
	stop "$demo_pid"
	return $rc
}

# mem_wsbare: the same on bench/tools/wsbare.
mem_wsbare() {
	background "$OUT/logs/wsbare.log" "$BIN/wsbare" -addr 127.0.0.1:0
	local pid=$!
	pids+=("$pid")
	wait_for "$OUT/logs/wsbare.log" '^listening on' 30 "$pid" || return 1
	local url
	url="$(url_in "$OUT/logs/wsbare.log" 'listening on')"
	"$BIN/wsidle" -url "${url/http:/ws:}/live" -n 50 >/dev/null 2>&1 &
	local warm=$!
	sleep 1
	stop "$warm"
	local rc=0
	measure_ws wsbare "$pid" "$url" "${url/http:/ws:}/live" || rc=1
	stop "$pid"
	return $rc
}

group_memory() {
	local need=$((WS_N + 1024)) r
	if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need" ]; then
		ulimit -n "$need" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
	fi
	if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need" ]; then
		log "memory: the open-files limit is $(ulimit -n), below $need: raise it (ulimit -Hn as root) or set WS_N"
		failures=$((failures + 1))
		return 0
	fi
	for r in $(seq 1 "$ROUNDS"); do
		step memory demo "$r" kv memory mem_demo
		step memory wsbare "$r" kv memory mem_wsbare
	done
}

groups_run=()
for g in $ALL_GROUPS; do
	if want "$g"; then
		log "== $g"
		if ! "group_$g"; then
			log "FAILED: the $g group could not run; see above"
			failures=$((failures + 1))
		fi
		groups_run+=("$g")
	fi
done

# ---------------------------------------------------------------- table

elapsed=$(($(date +%s) - started))
printf 'load average at the end\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/machine.txt"
printf 'run\t%d rounds, %d min %d s%s\n' "$ROUNDS" $((elapsed / 60)) $((elapsed % 60)) \
	"$([ "$QUICK" = 1 ] && echo ', QUICK=1 (a smoke run: not results)')" >>"$OUT/machine.txt"
title="bench/run.sh, $(date -u '+%Y-%m-%d')"
[ "$QUICK" = 1 ] && title="$title (QUICK smoke run)"
table_args=(table -results "$results" -load "$loadf" -machine "$OUT/machine.txt" -groups "${groups_run[*]}"
	-rounds "$ROUNDS" -title "$title" -md "$OUT/table.md"
	-extra "benchstat of the resilience group (each mode in its own process per round)=$OUT/extras/benchstat-call.txt"
	-extra "bench/actorbench/run.sh's own table=$OUT/extras/actorbench.txt"
	-extra "The commands of round 1 (\$OUT is the run's output directory)=$commands")
if [ -n "$DOC" ]; then
	table_args+=(-doc "$DOC")
fi
echo
rc=0
"$BIN/report" "${table_args[@]}" || rc=$?
echo
log "raw outputs, logs and table.md in $OUT"
if [ "$failures" -gt 0 ] || [ "$rc" != 0 ]; then
	log "$failures failed steps; see above"
	exit 1
fi
