package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/troupe-go/troupe/examples/todo/internal/apptest"
	"github.com/troupe-go/troupe/examples/todo/todo"
)

// listIDJS is the id of the list named %q in the page's list switcher.
const listIDJS = `[...document.querySelectorAll("a.list-link")].find(a => a.textContent === %q)?.dataset.list`

// TestBrowserTwoUsers drives two headless Chromiums, each with its own
// profile and so its own session: ann's and bob's. Neither sees the other's
// lists, todos or live updates, until ann shares a list with bob by name;
// then both see and change it, live.
func TestBrowserTwoUsers(t *testing.T) {
	path := browserPath(t)
	a := apptest.Start(t, apptest.Options{})
	d := driver{t: t, dir: artifacts(t)}
	ann, bob := newBrowser(t, path), newBrowser(t, path)
	base := a.Server.URL
	d.signUp(ann, base, "ann")
	d.signUp(bob, base, "bob")
	add := func(tab context.Context, who, title string) {
		t.Helper()
		d.step(tab, who+" adds "+title,
			chromedp.SendKeys(chromedp.CSS("input.new-title"), title),
			chromedp.Click(chromedp.CSS("form.add button")),
			chromedp.Poll[chromedp.Void](fmt.Sprintf(itemJS, title)+` !== undefined`, every))
	}
	add(ann, "ann", "ann's own")
	add(bob, "bob", "bob's own")
	annList := d.eval(ann, `document.getElementById("app").dataset.list`)

	// A new list of ann's reaches ann's switcher, live, and not bob's.
	d.step(ann, "ann makes a list",
		chromedp.SendKeys(chromedp.CSS(`form.new-list input[name=name]`), "Private"),
		chromedp.Submit(chromedp.CSS(`form.new-list`)))
	d.await(ann, "ann's private list", chromedp.WaitVisible(chromedp.CSS(".userbar .who")),
		chromedp.Poll[chromedp.Void](`document.querySelector("h1")?.textContent === "Private"`, every), live)
	private := d.eval(ann, `document.getElementById("app").dataset.list`)
	add(ann, "ann", "ann's secret")

	// bob cannot open it, by page, by fetch or by WebSocket.
	if got := d.eval(bob, `fetch("/lists/`+private+`").then(r => String(r.status))`); got != "404" {
		t.Errorf("bob fetches ann's private list: %s, want 404", got)
	}
	if got := d.eval(bob, `new Promise(ok => { const ws = new WebSocket("ws://" + location.host + "/live?list=`+private+`");
		ws.onopen = () => ok("open"); ws.onerror = () => ok("refused"); })`); got != "refused" {
		t.Errorf("bob's WebSocket of ann's private list: %s, want refused", got)
	}

	// ann shares her first list with bob: it appears in bob's switcher
	// live, after the news of ann's private list would have, had it come.
	d.step(ann, "ann goes back to her first list", chromedp.Navigate(base+"/lists/"+annList), live)
	d.step(ann, "ann shares it with bob",
		chromedp.SendKeys(chromedp.CSS(`form.share input[name=user]`), "bob"),
		chromedp.Submit(chromedp.CSS(`form.share`)))
	d.await(ann, "ann's page after sharing", chromedp.WaitVisible(chromedp.CSS(".userbar .who")), live)
	d.step(bob, "bob sees the shared list appear", chromedp.Poll[chromedp.Void](fmt.Sprintf(listIDJS, "Todo")+` !== undefined && `+
		`[...document.querySelectorAll("a.list-link")].length === 2`, every))
	for name, tab := range map[string]context.Context{"bob": bob} {
		page := d.eval(tab, `document.body.innerText`)
		for _, leak := range []string{"Private", "ann's secret", "ann's own"} {
			if strings.Contains(page, leak) {
				t.Errorf("%s's page shows %q", name, leak)
			}
		}
	}
	if got := d.eval(bob, `[...document.querySelectorAll("a.list-link")].map(a => a.dataset.list).includes("`+private+`") + ""`); got != "false" {
		t.Errorf("bob's switcher has ann's private list")
	}

	// Both change the shared list and see each other's changes live.
	d.step(bob, "bob opens the shared list", chromedp.Navigate(base+"/lists/"+annList), live,
		chromedp.Poll[chromedp.Void](fmt.Sprintf(itemJS, "ann's own")+` !== undefined`, every))
	add(bob, "bob", "from bob")
	d.step(ann, "ann sees bob's todo", chromedp.Poll[chromedp.Void](fmt.Sprintf(itemJS, "from bob")+` !== undefined`, every))
	add(ann, "ann", "from ann")
	d.step(bob, "bob sees ann's todo", chromedp.Poll[chromedp.Void](fmt.Sprintf(itemJS, "from ann")+` !== undefined`, every))
	shot(t, ann, d.dir, "ann")
	shot(t, bob, d.dir, "bob")

	// bob's own list never showed ann's changes.
	d.step(bob, "bob's own list", chromedp.Navigate(base+"/"), live)
	if got := d.eval(bob, `[...document.querySelectorAll("li.todo .title")].map(e => e.textContent).join("|")`); got != "bob's own" {
		t.Errorf("bob's own list shows %q, want only his todo", got)
	}
}

// TestBrowserCrossSite: a page on another origin that ann visits while she
// is logged in (the same machine, another port: the browser sends her
// SameSite=Lax cookie along) posts a form, and a typeless "no-cors" fetch,
// to the application. Nothing is made.
func TestBrowserCrossSite(t *testing.T) {
	path := browserPath(t)
	a := apptest.Start(t, apptest.Options{})
	d := driver{t: t, dir: artifacts(t)}
	ann := newBrowser(t, path)
	d.signUp(ann, a.Server.URL, "ann")
	list := d.eval(ann, `document.getElementById("app").dataset.list`)
	target := a.Server.URL + "/lists/" + url.PathEscape(list) + "/todos"
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><body>
<iframe name="sink"></iframe>
<form id="f" method="post" action="%[1]s" target="sink"><input name="title" value="forged by a form"></form>
<script>
document.getElementById("f").submit();
fetch("%[1]s", {method: "POST", mode: "no-cors", credentials: "include", body: new Blob(["title=forged by fetch"])})
  .finally(() => { document.body.dataset.done = "yes"; });
fetch("%[2]s/api/lists/%[3]s/todos", {method: "POST", mode: "no-cors", credentials: "include", body: new Blob(['{"title":"forged through the API"}'])});
</script></body>`, target, a.Server.URL, url.PathEscape(list))
	}))
	t.Cleanup(evil.Close)
	d.step(ann, "ann visits the other site", chromedp.Navigate(evil.URL+"/"),
		chromedp.Poll[chromedp.Void](`document.body.dataset.done === "yes"`, every))
	// The iframe's form post has been answered once the frame loaded; give
	// the requests a generous while (a bound, not a timing assertion).
	time.Sleep(500 * time.Millisecond)
	// Back on the application, ann's list: she is still logged in (the
	// requests did carry her cookie) and nothing was added.
	d.step(ann, "ann back on her list", chromedp.Navigate(a.Server.URL+"/lists/"+list), live)
	if got := d.eval(ann, `[...document.querySelectorAll("li.todo .title")].map(e => e.textContent).join("|")`); got != "" {
		t.Errorf("another site made todos: %q", got)
	}
}

// TestBrowserRebinding: a page on a domain that resolves to the
// application's address (DNS rebinding: the browser thinks it is on the
// attacker's site, and same-origin rules let the page read what it loads)
// gets nothing from the application: the Host header names no host it
// answers for.
func TestBrowserRebinding(t *testing.T) {
	path := browserPath(t)
	a := apptest.Start(t, apptest.Options{})
	d := driver{t: t, dir: artifacts(t)}
	port := a.Server.URL[strings.LastIndexByte(a.Server.URL, ':')+1:]
	tab := newBrowser(t, path, chromedp.Flag("host-resolver-rules", "MAP rebind.test 127.0.0.1"))
	d.step(tab, "open the rebound name", chromedp.Navigate("http://rebind.test:"+port+"/login"))
	if got := d.eval(tab, `document.body.innerText`); !strings.Contains(got, "is not served here") {
		t.Errorf("the application answered a rebound name: %.200q", got)
	}
	if got := d.eval(tab, `fetch("/signup", {method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: "name=eve&password=correct+horse+battery"}).then(r => String(r.status))`); got != "421" {
		t.Errorf("a form post through the rebound name: %s, want 421", got)
	}
	if _, err := a.Client.Request(context.Background(), todo.MsgLogin, todo.Credentials{Name: "eve", Password: "correct horse battery"}); err == nil {
		t.Error("the rebound page signed eve up")
	}
}
