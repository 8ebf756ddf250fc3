package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5"

	"github.com/troupe-go/troupe/examples/todo/store/postgres/pgtest"
)

// scaled is the application of TestScaleOut: a three-server NATS cluster
// and two processes each of todo, hello, web and gateway.
type scaled struct {
	t       *testing.T
	demo    string
	cluster *natsCluster
	dsn     string
	procs   map[string][]*proc
	mu      sync.Mutex // guards the gateways' URLs, which change on restart
	// The user whose todos the test makes, its API token and first list.
	user, token, list string
}

func (s *scaled) start(kind string, i int) *proc {
	s.t.Helper()
	args := []string{"-only", kind, "-data", s.t.TempDir(), "-nats", s.cluster.urls(), "-nats-credentials", s.cluster.creds,
		"-nats-replicas", "3", "-addr", "127.0.0.1:0", "-log-level", "warn"}
	var env []string
	if kind == "todo" {
		env = []string{"TROUPE_STORE_DSN=" + s.dsn}
	}
	return startProc(s.t, s.demo, fmt.Sprintf("%s-%d", kind, i), env, args...)
}

// restart stops p (SIGTERM, or SIGKILL when kill) and starts it again with
// the same arguments.
func (s *scaled) restart(t *testing.T, p *proc, kill bool) {
	t.Helper()
	if kill {
		p.kill()
	} else {
		p.stop(t)
	}
	s.mu.Lock()
	p.url = "" // no traffic to it until it is back
	s.mu.Unlock()
	url := p.start(t)
	s.mu.Lock()
	p.url = url
	s.mu.Unlock()
}

func (s *scaled) gateways() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, p := range s.procs["gateway"] {
		if p.url != "" {
			out = append(out, p.url)
		}
	}
	return out
}

// sum adds a metric over the processes of one kind.
func (s *scaled) sum(kind, metric string, labels map[string]string) float64 {
	var total float64
	for _, p := range s.procs[kind] {
		total += p.metric(s.t, metric, labels)
	}
	return total
}

// TestScaleOut runs the demo as Kubernetes would: two OS processes each of
// gateway, hello, web and todo (on PostgreSQL) against a cluster of three
// nats-server processes, with durable streams replicated three times. It
// shows that requests spread over instances, that replies reach only the
// instance that asked, that a browser on each web instance sees the changes
// made through the other, that a SIGKILL of any one process of each kind (and
// of the stream's leader) loses no accepted durable message and fails only
// requests in flight on it, and that a rolling restart of every process
// fails no request.
func TestScaleOut(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 11 processes: not in -short")
	}
	demo, natsBin := binaries(t)
	app := demoApp(t)
	s := &scaled{t: t, demo: demo, cluster: startCluster(t, natsBin, app), dsn: pgtest.DSN(t), procs: map[string][]*proc{}}
	for _, kind := range []string{"todo", "hello", "web", "gateway"} {
		for i := 1; i <= 2; i++ {
			s.procs[kind] = append(s.procs[kind], s.start(kind, i))
		}
	}
	s.user = "scale"
	s.token, s.list = signUpAt(t, s.procs["web"][0].url, s.gateways()[0], s.user)

	t.Run("Spread", func(t *testing.T) {
		const n = 200
		client := &http.Client{Timeout: 10 * time.Second}
		gws := s.gateways()
		for i := range n {
			status, body, err := postJSON(context.Background(), client, gws[i%2]+"/", "", `{"type":"Hello"}`)
			if err != nil || status != http.StatusOK {
				t.Fatalf("Hello %d: %d %s %v", i, status, body, err)
			}
		}
		for _, p := range s.procs["hello"] {
			if got := p.metric(t, "troupe_bus_received_total", map[string]string{"service": "hello", "name": "Hello"}); got == 0 {
				t.Errorf("%s handled no Hello: the instances should share them", p.name)
			}
		}
		if got := s.sum("hello", "troupe_bus_received_total", map[string]string{"service": "hello", "name": "Hello"}); got != n {
			t.Errorf("the hello instances handled %v Hellos in all, want %d: every request once", got, n)
		}
		if got := s.sum("gateway", "troupe_bus_requests_total", map[string]string{"name": "Hello", "code": "ok"}); got != n {
			t.Errorf("the gateways counted %v successful Hellos, want %d", got, n)
		}
		// Each reply went to the gateway instance that asked: none of
		// them got a reply to a request it did not make.
		for _, p := range s.procs["gateway"] {
			if got := p.metric(t, "troupe_bus_dropped_total", map[string]string{"reason": "other"}); got != 0 {
				t.Errorf("%s dropped %v envelopes (replies to requests it did not make)", p.name, got)
			}
			if got := p.metric(t, "troupe_bus_dropped_total", map[string]string{"reason": "late"}); got != 0 {
				t.Errorf("%s dropped %v late replies", p.name, got)
			}
		}
	})

	t.Run("EventsReachEveryWebInstance", func(t *testing.T) {
		client := &http.Client{Timeout: 10 * time.Second}
		const n = 10
		for i := range n {
			status, body, err := postJSON(context.Background(), client, s.gateways()[i%2]+"/api/lists/"+s.list+"/todos", s.token, fmt.Sprintf(`{"title":"event %d"}`, i))
			if err != nil || status != http.StatusCreated {
				t.Fatalf("create %d: %d %s %v", i, status, body, err)
			}
		}
		deadline := time.Now().Add(30 * time.Second)
		for _, p := range s.procs["web"] {
			for {
				got := p.metric(t, "troupe_bus_received_total", map[string]string{"service": "web", "name": "todo.created"})
				if got >= n {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s received %v of the %d todo.created events; its log:\n%s", p.name, got, n, p.logs.String())
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
	})

	t.Run("BrowserOnEachWebInstance", func(t *testing.T) { browsersSeeEachOther(t, s) })

	t.Run("RollingRestart", func(t *testing.T) {
		l := startLoad(s, "rolling", 8, true)
		time.Sleep(500 * time.Millisecond)
		for _, kind := range []string{"todo", "hello", "web", "gateway"} {
			for _, p := range s.procs[kind] {
				t.Logf("%s restart %s", time.Now().Format("15:04:05.000"), p.name)
				s.restart(t, p, false)
				time.Sleep(300 * time.Millisecond) // the new instance takes load before the next one stops
			}
		}
		time.Sleep(500 * time.Millisecond)
		total := l.stop()
		t.Logf("rolling restart of 8 processes under load: %d answered, %d failed, %d retried on the other gateway (a refused connection to a gateway that stopped listening)",
			total.ok, total.failed, total.retried)
		if total.failed != 0 {
			t.Errorf("%d requests failed during the rolling restart, want 0: %v", total.failed, total.failures)
		}
		if total.ok == 0 {
			t.Error("no request was answered")
		}
		s.checkStored(t, total.accepted)
	})

	t.Run("KillOneOfEachKind", func(t *testing.T) {
		l := startLoad(s, "kill", 8, false)
		time.Sleep(time.Second)
		for _, kind := range []string{"hello", "todo", "web", "gateway"} {
			p := s.procs[kind][0]
			before := l.snapshot()
			p.kill()
			time.Sleep(1500 * time.Millisecond)
			after := l.snapshot()
			t.Logf("SIGKILL %s: %d requests failed while it died (%d answered meanwhile)", p.name, after.failed-before.failed, after.ok-before.ok)
			if after.ok == before.ok {
				t.Errorf("after the SIGKILL of %s, the survivors answered nothing", p.name)
			}
		}
		total := l.stop()
		t.Logf("load: %d answered, %d failed, %d retried on the other gateway; %d durable creates accepted", total.ok, total.failed, total.retried, len(total.accepted))
		// At most the requests in flight on each killed process fail: 8
		// workers, one request each at a time.
		if total.failed > 4*8 {
			t.Errorf("%d requests failed; at most the %d in flight on the killed processes may. First failures: %v", total.failed, 4*8, total.failures)
		}
		s.checkStored(t, total.accepted)
		for _, kind := range []string{"hello", "todo", "web", "gateway"} {
			s.restart(t, s.procs[kind][0], true)
		}
	})

	t.Run("KillTheStreamLeader", func(t *testing.T) {
		l := startLoad(s, "leader", 8, false)
		time.Sleep(time.Second)
		leader := s.cluster.streamLeader(app.Name)
		s.cluster.kill(leader)
		t.Logf("SIGKILL nats-server %s, the durable stream's leader", leader.name)
		time.Sleep(3 * time.Second)
		total := l.stop()
		t.Logf("load: %d answered, %d failed, %d retried; %d durable creates accepted", total.ok, total.failed, total.retried, len(total.accepted))
		if total.ok == 0 {
			t.Error("nothing was answered while the leader was gone")
		}
		s.checkStored(t, total.accepted)
		s.cluster.start(leader)
		s.cluster.waitHealthy(leader)
		s.cluster.streamLeader(app.Name) // the stream has a leader again
	})
}

// checkStored waits until every accepted durable create is in the database,
// exactly once (a redelivery after a SIGKILL waits out the ack timeout).
func (s *scaled) checkStored(t *testing.T, accepted []string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	want := map[string]bool{}
	for _, title := range accepted {
		want[title] = true
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		rows, err := conn.Query(ctx, `SELECT title, count(*) FROM todos GROUP BY title`)
		if err != nil {
			t.Fatal(err)
		}
		found, dup := 0, 0
		for rows.Next() {
			var title string
			var n int
			if err := rows.Scan(&title, &n); err != nil {
				t.Fatal(err)
			}
			if want[title] {
				found++
			}
			if n > 1 {
				dup++
			}
		}
		rows.Close()
		if dup > 0 {
			t.Fatalf("%d titles stored more than once", dup)
		}
		if found == len(want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d accepted durable creates are stored", found, len(want))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// load sends Hellos and durable creates through the gateways, as clients
// behind a load balancer would: a request whose connection is refused or
// closed before any answer (a gateway that stopped listening) goes to the
// other gateway; any answer other than success is a failure.
type load struct {
	s      *scaled
	resets bool // retry a request whose connection was closed or reset too
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	counts loadCounts
}

type loadCounts struct {
	ok, failed, retried int
	failures            []string
	accepted            []string
}

func startLoad(s *scaled, phase string, workers int, resets bool) *load {
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{s: s, cancel: cancel, resets: resets}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	for w := range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				path, body, title := "/", `{"type":"Hello"}`, ""
				if i%2 == 1 {
					title = fmt.Sprintf("scale-%s-%d-%d", phase, w, i)
					path, body = "/api/lists/"+s.list+"/todos", `{"title":"`+title+`"}`
				}
				l.one(ctx, client, w+i, path, body, title)
			}
		}()
	}
	return l
}

func (l *load) one(ctx context.Context, client *http.Client, turn int, path, body, title string) {
	gws := l.s.gateways()
	for try := 0; try < 2*len(gws)+2; try++ {
		gws = l.s.gateways()
		if len(gws) == 0 {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		token := "" // a Hello needs no user
		if title != "" {
			token = l.s.token
		}
		status, data, err := postJSON(ctx, client, gws[(turn+try)%len(gws)]+path, token, body)
		if ctx.Err() != nil {
			return
		}
		l.mu.Lock()
		switch {
		case err != nil && noAnswer(err, l.resets):
			l.counts.retried++
			l.mu.Unlock()
			time.Sleep(20 * time.Millisecond)
			continue
		case err == nil && (status == http.StatusOK || status == http.StatusCreated):
			l.counts.ok++
			if title != "" {
				l.counts.accepted = append(l.counts.accepted, title)
			}
		default:
			l.counts.failed++
			if len(l.counts.failures) < 10 {
				l.counts.failures = append(l.counts.failures, fmt.Sprintf("%s %s %q %d %s %v", time.Now().Format("15:04:05.000"), path, title, status, data, err))
			}
		}
		l.mu.Unlock()
		return
	}
	l.mu.Lock()
	l.counts.failed++
	l.counts.failures = append(l.counts.failures, path+": no gateway answered")
	l.mu.Unlock()
}

// noAnswer reports whether err means that no gateway read the request: the
// connection was refused, or the server closed it while idle. With resets,
// a connection closed or reset under the request counts too: right when a
// gateway stops gracefully (it closes only idle connections, and answers
// every request it has read), that is an idle connection closed under a
// request being written. After a SIGKILL it is not: the gateway may have
// sent the request on, so it is a failure (retrying a create would store
// it twice).
func noAnswer(err error, resets bool) bool {
	s := err.Error()
	if strings.Contains(s, "connection refused") || strings.Contains(s, "server closed idle connection") {
		return true
	}
	return resets && (strings.Contains(s, "EOF") || strings.Contains(s, "connection reset"))
}

func (l *load) snapshot() loadCounts {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.counts
	c.accepted = append([]string(nil), c.accepted...)
	return c
}

func (l *load) stop() loadCounts {
	l.cancel()
	l.wg.Wait()
	return l.snapshot()
}

// browsersSeeEachOther opens a headless Chromium on each web instance's
// pages: a todo added through one appears live in the other, both ways.
func browsersSeeEachOther(t *testing.T, s *scaled) {
	path := chromium(t)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	defer cancelAlloc()
	tab1, cancel1 := chromedp.NewContext(allocCtx)
	defer cancel1()
	if err := chromedp.Do(tab1); err != nil { // starts the browser
		t.Fatal(err)
	}
	tab2, cancel2 := chromedp.NewContext(tab1) // a second tab of it
	defer cancel2()
	if err := chromedp.Do(tab2); err != nil {
		t.Fatal(err)
	}
	every := chromedp.WithPollingInterval(50 * time.Millisecond)
	live := chromedp.Poll[chromedp.Void](`document.getElementById("app").dataset.live === "on"`, every)
	item := `[...document.querySelectorAll("li.todo")].find(li => li.querySelector(".title").textContent === %q) !== undefined`
	step := func(tab context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx, cancel := context.WithTimeout(tab, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(ctx, actions...); err != nil {
			dctx, dcancel := context.WithTimeout(tab, 5*time.Second)
			state, _ := chromedp.Run(dctx, chromedp.Evaluate[string](`JSON.stringify({url: location.href, live: document.getElementById("app") && document.getElementById("app").dataset, items: [...document.querySelectorAll("li.todo")].map(li => li.textContent.trim()), body: document.body.innerText.slice(0, 500)})`))
			dcancel()
			shot(t, tab, what)
			t.Fatalf("%s: %v; page: %s", what, err, state)
		}
	}
	web := s.procs["web"]
	// One user in one browser: its session cookie (for 127.0.0.1, whatever
	// the port) reaches both web instances, which share the sessions' store.
	step(tab1, "log in on "+web[0].name, chromedp.Navigate(web[0].url+"/login"),
		chromedp.SendKeys(chromedp.CSS(`input[name=name]`), s.user),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "correct horse battery"),
		chromedp.Submit(chromedp.CSS(`form`)),
		chromedp.WaitVisible(chromedp.CSS(".userbar .who")))
	step(tab1, "open "+web[0].name, chromedp.Navigate(web[0].url+"/"), live)
	step(tab2, "open "+web[1].name, chromedp.Navigate(web[1].url+"/"), live)
	for _, tt := range []struct {
		from, to context.Context
		title    string
	}{{tab1, tab2, "added through web-1"}, {tab2, tab1, "added through web-2"}} {
		step(tt.from, "add "+tt.title,
			chromedp.SendKeys(chromedp.CSS("input.new-title"), tt.title),
			chromedp.Click(chromedp.CSS("form.add button")),
			chromedp.Poll[chromedp.Void](fmt.Sprintf(item, tt.title), every))
		step(tt.to, "see "+tt.title+" on the other instance", chromedp.Poll[chromedp.Void](fmt.Sprintf(item, tt.title), every))
	}
	shot(t, tab1, "web-1")
	shot(t, tab2, "web-2")
}

// chromium finds the browser; under CI=true it must be there.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("TROUPE_CHROMIUM"), "/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium (apt-get install chromium); CI=true, so the browser test must run")
	}
	t.Skip("no chromium on this machine")
	return ""
}

// shot saves a screenshot of tab to $TROUPE_ARTIFACTS/scale, if set.
func shot(t *testing.T, tab context.Context, name string) {
	dir := os.Getenv("TROUPE_ARTIFACTS")
	if dir == "" {
		return
	}
	dir = filepath.Join(dir, "scale")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Log(err)
		return
	}
	ctx, cancel := context.WithTimeout(tab, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".png"), png, 0o644); err != nil {
		t.Log(err)
	}
}
