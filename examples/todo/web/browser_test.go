package web_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/troupe-go/troupe/examples/todo/internal/apptest"
	"github.com/troupe-go/troupe/examples/todo/store"
)

// browserPath returns the Chromium to drive, or skips the test when there
// is none, except in CI (CI=true), where a missing browser is a failure.
func browserPath(t *testing.T) string {
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
		t.Fatal("no chromium found (apt-get install chromium); CI=true, so the browser test must run")
	}
	t.Skip("no chromium found (apt-get install chromium); skipping the browser test")
	return ""
}

// artifacts returns the directory screenshots are saved in.
func artifacts(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("TROUPE_ARTIFACTS"); dir != "" {
		dir = filepath.Join(dir, "todo-browser")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.TempDir()
}

// newBrowser starts a headless Chromium with a profile of its own (its own
// cookies: one user) and returns its first tab. Extra flags are added.
func newBrowser(t *testing.T, path string, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("window-size", "900,760"),
		chromedp.UserDataDir(t.TempDir()),
	}, extra...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	tab, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancel)
	if err := chromedp.Do(tab); err != nil { // starts the browser
		t.Fatalf("starting chromium: %v", err)
	}
	return tab
}

// newTab opens another tab in tab's browser, for as long as the test runs.
func newTab(t *testing.T, tab context.Context) context.Context {
	t.Helper()
	tab2, cancel := chromedp.NewContext(tab)
	t.Cleanup(cancel)
	if err := chromedp.Do(tab2); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	return tab2
}

// driver runs steps in tabs: each with a bound, so that a broken page
// fails the test instead of hanging it (a bound, not a timing assertion),
// with the page's state and a screenshot when one fails.
type driver struct {
	t   *testing.T
	dir string
}

// every polls at an interval: requestAnimationFrame, the default, does not
// run in a tab that is not in front.
var every = chromedp.WithPollingInterval(50 * time.Millisecond)

// live waits until the page's live connection is up.
var live = chromedp.Poll[chromedp.Void](`document.getElementById("app")?.dataset.live === "on"`, every)

// itemJS finds the item titled %q.
const itemJS = `[...document.querySelectorAll("li.todo")].find(li => li.querySelector(".title").textContent === %q)`

func (d driver) step(tab context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	d.check(tab, what, chromedp.Do(ctx, actions...))
}

// await is step for actions that only wait, right after one that navigates
// the page without waiting for it (a form's submission): an evaluation that
// the navigation interrupts is made again on the new page, until the step's
// time is up.
func (d driver) await(tab context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	err := chromedp.Do(ctx, actions...)
	for err != nil && ctx.Err() == nil && strings.Contains(err.Error(), "Inspected target navigated or closed") {
		err = chromedp.Do(ctx, actions...)
	}
	d.check(tab, what, err)
}

// check fails the test if a step's actions failed, with the page's state and
// a screenshot.
func (d driver) check(tab context.Context, what string, err error) {
	t := d.t
	t.Helper()
	if err != nil {
		dctx, dcancel := context.WithTimeout(tab, 5*time.Second)
		state, _ := chromedp.Run(dctx, chromedp.Evaluate[string](`JSON.stringify({url: location.href, live: document.getElementById("app")?.dataset, status: document.querySelector(".live")?.textContent, items: [...document.querySelectorAll("li.todo")].map(li => li.textContent.trim())})`))
		dcancel()
		t.Logf("page state: %s", state)
		shot(t, tab, d.dir, "failed-"+strings.ReplaceAll(what, " ", "-"))
		t.Fatalf("%s: %v", what, err)
	}
}

func (d driver) eval(tab context.Context, expr string) string {
	t := d.t
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return s
}

// signUp signs a user up on the sign-up page, which logs them in: the
// browser has their session cookie from then on.
func (d driver) signUp(tab context.Context, base, name string) {
	d.t.Helper()
	d.step(tab, "sign "+name+" up", chromedp.Navigate(base+"/signup"),
		chromedp.SendKeys(chromedp.CSS(`input[name=name]`), name),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "correct horse battery"),
		chromedp.Submit(chromedp.CSS(`form`)))
	d.await(tab, name+"'s page", chromedp.WaitVisible(chromedp.CSS(".userbar .who")),
		chromedp.Poll[chromedp.Void](`document.querySelector(".userbar .who")?.textContent === `+fmt.Sprintf("%q", name), every),
		live)
}

// TestBrowserLiveUpdates drives two tabs of a headless Chromium, logged in
// as one user: every change made in the first appears in the second
// without a reload.
func TestBrowserLiveUpdates(t *testing.T) {
	path := browserPath(t)
	a := apptest.Start(t, apptest.Options{})
	d := driver{t: t, dir: artifacts(t)}
	tab1 := newBrowser(t, path)
	tab2 := newTab(t, tab1)
	step, eval := d.step, d.eval
	d.signUp(tab1, a.Server.URL, "ann")

	step(tab2, "open tab 2", chromedp.Navigate(a.Server.URL+"/"), live,
		chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`))

	evil := `<img src=x onerror="window.pwned=1">`
	for _, title := range []string{"buy milk", "write the report", "water the plants", evil} {
		step(tab1, "add "+title,
			chromedp.SendKeys(chromedp.CSS("input.new-title"), title),
			chromedp.Click(chromedp.CSS("form.add button")),
			chromedp.Poll[chromedp.Void](fmt.Sprintf(itemJS, title)+` !== undefined && document.querySelector("input.new-title").value === ""`, every),
		)
		step(tab2, "see "+title+" in tab 2", chromedp.Poll[chromedp.Void](fmt.Sprintf(itemJS, title)+` !== undefined`, every))
	}

	id := eval(tab1, fmt.Sprintf(itemJS, "buy milk")+`.dataset.id`)
	step(tab1, "complete buy milk", chromedp.Click(chromedp.CSS(`li[data-id="`+id+`"] form.toggle button`)))
	step(tab2, "see buy milk completed in tab 2",
		chromedp.Poll[chromedp.Void](`document.querySelector('li[data-id="`+id+`"]')?.classList.contains("completed") && document.querySelector(".completed-count").textContent === "1"`, every))

	id = eval(tab1, fmt.Sprintf(itemJS, "water the plants")+`.dataset.id`)
	step(tab1, "delete water the plants", chromedp.Click(chromedp.CSS(`li[data-id="`+id+`"] form.delete button`)))
	step(tab2, "see water the plants gone in tab 2",
		chromedp.Poll[chromedp.Void](`!document.querySelector('li[data-id="`+id+`"]') && document.querySelector(".total-count").textContent === "3"`, every))

	// An empty title gets its message, in place.
	step(tab1, "add an empty title",
		chromedp.Click(chromedp.CSS("form.add button")),
		chromedp.Poll[chromedp.Void](`!document.querySelector("p.error").hidden && document.querySelector("p.error").textContent.includes("empty")`, every))

	if got := eval(tab2, `String(window.notReloaded === true)`); got != "true" {
		t.Errorf("tab 2 reloaded")
	}
	if got := eval(tab2, `String(window.pwned)`); got != "undefined" {
		t.Errorf("a title ran script in tab 2: window.pwned = %s", got)
	}
	if got := eval(tab2, fmt.Sprintf(itemJS, evil)+`.querySelector(".title").children.length + ""`); got != "0" {
		t.Errorf("the injected title became %s element(s) in tab 2", got)
	}
	got := eval(tab2, `[...document.querySelectorAll("li.todo")].map(li => (li.classList.contains("completed") ? "[x] " : "") + li.querySelector(".title").textContent).join(" | ")`)
	if want := "[x] buy milk | write the report | " + evil; got != want {
		t.Errorf("tab 2 shows %q, want %q", got, want)
	}
	shot(t, tab1, d.dir, "tab1")
	shot(t, tab2, d.dir, "tab2")

	// A dropped connection: tab 2 misses a change, reconnects and catches
	// up, still without a reload.
	step(tab2, "drop tab 2's connection", chromedp.Evaluate[chromedp.Void](`window.todoLive.drop()`),
		chromedp.Poll[chromedp.Void](`document.getElementById("app").dataset.live === "off"`, every))
	step(tab1, "add while tab 2 is away",
		chromedp.SendKeys(chromedp.CSS("input.new-title"), "while you were away"),
		chromedp.Click(chromedp.CSS("form.add button")),
		chromedp.Poll[chromedp.Void](fmt.Sprintf(itemJS, "while you were away")+` !== undefined`, every))
	step(tab2, "tab 2 catches up", live,
		chromedp.Poll[chromedp.Void](fmt.Sprintf(itemJS, "while you were away")+` !== undefined && document.querySelector(".total-count").textContent === "4"`, every))
	if got := eval(tab2, `String(window.notReloaded === true)`); got != "true" {
		t.Errorf("tab 2 reloaded to catch up")
	}
	shot(t, tab2, d.dir, "tab2-caught-up")
}

// logIn logs a user in on the login page: the browser has their session
// cookie from then on.
func (d driver) logIn(tab context.Context, base, name, password string) {
	d.t.Helper()
	d.step(tab, "log "+name+" in", chromedp.Navigate(base+"/login"),
		chromedp.SendKeys(chromedp.CSS(`input[name=name]`), name),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
		chromedp.Submit(chromedp.CSS(`form`)))
	d.await(tab, name+"'s page", chromedp.WaitVisible(chromedp.CSS(".userbar .who")),
		chromedp.Poll[chromedp.Void](`document.querySelector(".userbar .who")?.textContent === `+fmt.Sprintf("%q", name), every),
		live)
}

// TestBrowserPagesFollowLiveUpdates: a list longer than a page, one tab on
// its first page and one on its last; a todo added elsewhere appears on the
// last page only, a todo of the first page completed elsewhere changes
// there only, and both keep the counts of the whole list.
func TestBrowserPagesFollowLiveUpdates(t *testing.T) {
	path := browserPath(t)
	a := apptest.Start(t, apptest.Options{})
	u := a.SignUp(t, "ann")
	ctx := t.Context()
	var first store.Todo
	for i := range store.DefaultLimit + 2 {
		td, err := a.Store.Create(ctx, store.NewTodo{ListID: u.List, Title: fmt.Sprintf("todo %02d", i)})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = td
		}
	}
	d := driver{t: t, dir: artifacts(t)}
	tab1 := newBrowser(t, path)
	tab2 := newTab(t, tab1)
	step := d.step
	d.logIn(tab1, a.Server.URL, "ann", apptest.Password)
	count := `document.querySelectorAll("li.todo").length`
	step(tab1, "open the first page", chromedp.Navigate(a.Server.URL+"/"), live,
		chromedp.Poll[chromedp.Void](count+` === `+fmt.Sprint(store.DefaultLimit), every))
	next, err := chromedp.Run(tab1, chromedp.Evaluate[string](`document.querySelector("a.next-page").href`))
	if err != nil {
		t.Fatalf("the first page has no link to the next: %v", err)
	}
	step(tab2, "open the last page", chromedp.Navigate(next), live,
		chromedp.Poll[chromedp.Void](count+` === 2 && document.getElementById("app").dataset.last === "true"`, every))

	// A new todo belongs to the last page.
	if code, m := call(t, u, "POST", a.Server.URL+"/api/lists/"+u.List+"/todos", `{"title": "newest"}`); code != 201 {
		t.Fatalf("create: %d %v", code, m)
	}
	total := fmt.Sprint(store.DefaultLimit + 3)
	step(tab2, "see the new todo on the last page",
		chromedp.Poll[chromedp.Void](count+` === 3 && document.querySelector("ul.todos").lastElementChild.querySelector(".title").textContent === "newest" && document.querySelector(".total-count").textContent === "`+total+`"`, every))
	step(tab1, "count it on the first page, not show it",
		chromedp.Poll[chromedp.Void](`document.querySelector(".total-count").textContent === "`+total+`"`, every))
	if got, err := chromedp.Run(tab1, chromedp.Evaluate[int](count)); err != nil || got != store.DefaultLimit {
		t.Errorf("the first page shows %d todos (%v), want %d: the new one is not on it", got, err, store.DefaultLimit)
	}

	// A todo of the first page, completed elsewhere.
	if code, m := call(t, u, "PATCH", a.Server.URL+"/api/lists/"+u.List+"/todos/"+first.ID, `{"completed": true}`); code != 200 {
		t.Fatalf("complete: %d %v", code, m)
	}
	step(tab1, "see it completed on the first page",
		chromedp.Poll[chromedp.Void](`document.querySelector('li[data-id="`+first.ID+`"]')?.classList.contains("completed") && document.querySelector(".completed-count").textContent === "1"`, every))
	step(tab2, "count it on the last page, not show it",
		chromedp.Poll[chromedp.Void](`document.querySelector(".completed-count").textContent === "1" && !document.querySelector('li[data-id="`+first.ID+`"]')`, every))
}

// shot saves a screenshot of tab as name.png in dir and logs its path.
func shot(t *testing.T, tab context.Context, dir, name string) {
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
