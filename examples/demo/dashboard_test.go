package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// screenshots returns the directory the dashboard's screenshots are saved
// in: TROUPE_ARTIFACTS/dashboard, else the test's temporary directory.
func screenshots(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("TROUPE_ARTIFACTS"); dir != "" {
		dir = filepath.Join(dir, "dashboard")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.TempDir()
}

// traffic posts Hellos and todo requests to the gateway until the test
// ends (bounded: at most a few thousand requests).
func traffic(t *testing.T, gateway string) {
	t.Helper()
	token, _ := signUp(t, gateway, "dash")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		client := &http.Client{Timeout: 5 * time.Second}
		do := func(method, path, body string) {
			req, err := http.NewRequestWithContext(ctx, method, gateway+path, strings.NewReader(body))
			if err != nil {
				return
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			if resp, err := client.Do(req); err == nil {
				resp.Body.Close()
			}
		}
		do("POST", "/api/lists", `{"name":"home"}`)
		for i := 0; i < 5000 && ctx.Err() == nil; i++ {
			do("POST", "/", `{"type":"Hello"}`)
			if i%5 == 0 {
				do("GET", "/api/lists", "")
			}
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
}

// TestDashboard drives the dashboard of a running demo in headless
// Chromium: it finds every service's instance, draws the traffic, shows
// the crash reports of the hello service (which panics on purpose here),
// the supervision trees, an activity's timeline and a live tap. The
// screenshots are the test's artefacts.
func TestDashboard(t *testing.T) {
	path := chromium(t)
	t.Chdir(t.TempDir())
	// A budget of 5 s: signing up hashes a password with argon2id, slow under
	// the race detector on a loaded machine.
	st := startRun(t, "-nats-port", "0", "-addr", "127.0.0.1:0", "-data", t.TempDir(), "-hello-panic-rate", "0.05", "-timeout", "5s")
	if st.admin == "" {
		t.Fatal("run printed no admin URL")
	}
	traffic(t, st.gateway)
	dir := screenshots(t)

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("window-size", "1280,900"),
		chromedp.UserDataDir(t.TempDir()),
	)
	defer cancelAlloc()
	tab, cancelTab := chromedp.NewContext(allocCtx)
	defer cancelTab()
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	every := chromedp.WithPollingInterval(100 * time.Millisecond)
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx, cancel := context.WithTimeout(tab, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(ctx, actions...); err != nil {
			sctx, scancel := context.WithTimeout(tab, 5*time.Second)
			state, _ := chromedp.Run(sctx, chromedp.Evaluate[string](`document.body.dataset.live + " " + document.body.dataset.updates + " " + document.getElementById("error").textContent`))
			scancel()
			t.Logf("page: %s", state)
			dashShot(t, tab, dir, "failed-"+strings.ReplaceAll(what, " ", "-"))
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(expr string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(tab, 20*time.Second)
		defer cancel()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return s
	}

	step("open the dashboard", chromedp.Navigate(st.admin),
		chromedp.Poll[chromedp.Void](`document.body.dataset.live === "on" && Number(document.body.dataset.updates) >= 3`, every))
	// Every service of the demo, found over the bus.
	step("see every service", chromedp.Poll[chromedp.Void](
		`["hello", "web", "todo", "gateway"].every(s => document.querySelector('#instances tr[data-service="' + s + '"]'))`, every))
	// The traffic, with its charts.
	step("see the traffic", chromedp.Poll[chromedp.Void](
		`(() => { const r = document.querySelector('#messages tr[data-name="Hello"]'); return r && Number(r.cells[10].textContent.split(" ")[0]) > 0 && document.querySelectorAll("#charts canvas").length > 0 })()`, every))
	// The hello service's crash reports, with their incident and stack.
	step("see a crash report", chromedp.Poll[chromedp.Void](
		`[...document.querySelectorAll("#crash-list .crash")].some(c => c.textContent.includes("hello") && c.querySelector("pre").textContent.includes("hello.go"))`, every))
	if got := eval(`document.querySelector("#crash-list .crash .head").textContent`); !strings.Contains(got, "incident") {
		t.Errorf("crash headline %q names no incident", got)
	}
	// Each instance's supervision tree.
	step("see the trees", chromedp.Poll[chromedp.Void](
		`document.querySelectorAll("#tree-list .tree").length >= 3 && document.querySelector("#tree-list").textContent.includes("requests")`, every))
	// The alarms, with the crash-loop alarm among them.
	step("see the alarms", chromedp.Poll[chromedp.Void](`!!document.querySelector('#alarm-table tr[data-alarm="crash-loop"]')`, every))
	dashShot(t, tab, dir, "overview")

	// Follow an activity: its timeline shows its hops.
	step("see an activity", chromedp.Poll[chromedp.Void](`!!document.querySelector("#activity-list tr[data-activity]")`, every))
	step("follow it", chromedp.Evaluate[chromedp.Void](`document.querySelector("#activity-list tr[data-activity]").click()`),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll("#timeline .row .bar").length > 0`, every),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("activities").scrollIntoView()`))
	dashView(t, tab, dir, "activity")

	// A live tap of Hello.
	step("tap Hello", chromedp.Evaluate[chromedp.Void](`document.getElementById("tap-name").value = "Hello"; document.getElementById("tap-toggle").click()`),
		chromedp.Poll[chromedp.Void](`[...document.querySelectorAll("#tap-table tbody tr")].some(r => r.cells[4].textContent === "Hello")`, every),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("tap").scrollIntoView()`))
	dashView(t, tab, dir, "tap")

	// The dashboard's own data, for a script.
	resp, err := http.Get(st.admin + "api/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var state struct {
		Services []struct{ Name string } `json:"services"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&state); err != nil || len(state.Services) < 4 {
		t.Errorf("api/state: %v, %d services", err, len(state.Services))
	}
	// A page on another name for this host (DNS rebinding) reads nothing.
	req, _ := http.NewRequest("GET", st.admin+"api/state", nil)
	req.Host = "attacker.example"
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("api/state for another host: %v %v, want 421", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
}

func dashShot(t *testing.T, tab context.Context, dir, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	t.Logf("screenshot: %s", p)
}

// dashView saves a screenshot of what the window shows.
func dashView(t *testing.T, tab context.Context, dir, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	t.Logf("screenshot: %s", p)
}
