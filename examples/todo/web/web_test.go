package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/troupe-go/troupe/examples/todo/internal/apptest"
	"github.com/troupe-go/troupe/examples/todo/store"
	"github.com/troupe-go/troupe/examples/todo/todo"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// noRedirect is a client that reports redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// browser is an HTTP client logged in as u (nil: anonymous) that reports
// redirects instead of following them.
func browser(t *testing.T, a *apptest.App, u *apptest.User) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	if u != nil {
		base, _ := url.Parse(a.Server.URL)
		jar.SetCookies(base, []*http.Cookie{u.Cookie()})
	}
	return &http.Client{Jar: jar, CheckRedirect: noRedirect.CheckRedirect, Timeout: 30 * time.Second}
}

// login signs ann up and returns her and her browser.
func login(t *testing.T, a *apptest.App, name string) (*apptest.User, *http.Client) {
	t.Helper()
	u := a.SignUp(t, name)
	return u, browser(t, a, u)
}

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func postForm(t *testing.T, c *http.Client, u string, v url.Values) (*http.Response, string) {
	t.Helper()
	res, err := c.PostForm(u, v)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// items returns the titles (as rendered) of the todos on a page, with "[x]"
// before the completed ones.
func items(page string) []string {
	re := regexp.MustCompile(`(?s)<li class="todo( completed)?" data-id="[^"]+".*?<span class="title">(.*?)</span>`)
	var out []string
	for _, m := range re.FindAllStringSubmatch(page, -1) {
		s := m[2]
		if m[1] != "" {
			s = "[x] " + s
		}
		out = append(out, s)
	}
	return out
}

// counts returns the counts line of a page.
func counts(page string) string {
	re := regexp.MustCompile(`active-count">(\d+)</b> left · <b class="completed-count">(\d+)</b> done · <b class="total-count">(\d+)`)
	m := re.FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return m[1] + " left, " + m[2] + " done, " + m[3] + " total"
}

// idOf returns the id of the todo titled title on a page.
func idOf(t *testing.T, page, title string) string {
	t.Helper()
	re := regexp.MustCompile(`(?s)data-id="([^"]+)"[^>]*>\s*<form class="toggle"[^<]*<input[^>]*>\s*<button[^>]*></button>\s*</form>\s*<span class="title">` + regexp.QuoteMeta(title) + `</span>`)
	m := re.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no todo %q on the page", title)
	}
	return m[1]
}

// TestPagesWithoutScript drives the application as a browser without
// JavaScript does: form posts, redirects, links.
func TestPagesWithoutScript(t *testing.T) {
	a := apptest.Start(t, apptest.Options{})
	u, c := login(t, a, "ann")
	base := a.Server.URL
	post := func(path string, v url.Values) {
		t.Helper()
		res, body := postForm(t, c, base+path, v)
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("POST %s: status %d, want 303: %s", path, res.StatusCode, body)
		}
	}
	for _, title := range []string{"milk", "bread", "eggs"} {
		post("/lists/"+u.List+"/todos", url.Values{"title": {title}})
	}
	_, page := get(t, c, base+"/")
	post("/lists/"+u.List+"/todos/"+idOf(t, page, "bread")+"/complete", url.Values{"completed": {"true"}})
	post("/lists/"+u.List+"/todos/"+idOf(t, page, "eggs")+"/edit", url.Values{"title": {"free-range eggs"}})
	post("/lists/"+u.List+"/todos/"+idOf(t, page, "milk")+"/complete", url.Values{"completed": {"true"}, "filter": {"active"}})

	for _, tt := range []struct {
		path       string
		wantItems  []string
		wantCounts string
	}{
		{"/", []string{"[x] milk", "[x] bread", "free-range eggs"}, "1 left, 2 done, 3 total"},
		{"/?filter=active", []string{"free-range eggs"}, "1 left, 2 done, 3 total"},
		{"/?filter=completed", []string{"[x] milk", "[x] bread"}, "1 left, 2 done, 3 total"},
		{"/lists/" + u.List, []string{"[x] milk", "[x] bread", "free-range eggs"}, "1 left, 2 done, 3 total"},
	} {
		t.Run(tt.path, func(t *testing.T) {
			code, page := get(t, c, base+tt.path)
			if code != http.StatusOK {
				t.Fatalf("status %d", code)
			}
			if diff := cmp.Diff(tt.wantItems, items(page)); diff != "" {
				t.Errorf("items (-want +got):\n%s", diff)
			}
			if got := counts(page); got != tt.wantCounts {
				t.Errorf("counts %q, want %q", got, tt.wantCounts)
			}
		})
	}

	// The edit form without script.
	_, page = get(t, c, base+"/")
	id := idOf(t, page, "milk")
	_, edit := get(t, c, base+"/?edit="+id)
	if !strings.Contains(edit, `class="edit-form" method="post" action="/lists/`+u.List+`/todos/`+id+`/edit"`) {
		t.Errorf("?edit= shows no edit form")
	}

	// Reopen, delete, clear completed.
	post("/lists/"+u.List+"/todos/"+id+"/complete", url.Values{"completed": {"false"}})
	post("/lists/"+u.List+"/todos/"+idOf(t, page, "free-range eggs")+"/delete", nil)
	post("/lists/"+u.List+"/clear", nil)
	_, page = get(t, c, base+"/")
	if diff := cmp.Diff([]string{"milk"}, items(page)); diff != "" {
		t.Errorf("after clear (-want +got):\n%s", diff)
	}
	if got, want := counts(page), "1 left, 0 done, 1 total"; got != want {
		t.Errorf("counts %q, want %q", got, want)
	}

	// A second list, with its own todos and a switcher entry.
	res, body := postForm(t, c, base+"/lists", url.Values{"name": {"Groceries"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("new list: %d %s", res.StatusCode, body)
	}
	loc := res.Header.Get("Location")
	if !strings.HasPrefix(loc, "/lists/") {
		t.Fatalf("new list redirects to %q", loc)
	}
	post(loc+"/todos", url.Values{"title": {"apples"}})
	_, page = get(t, c, base+loc)
	if diff := cmp.Diff([]string{"apples"}, items(page)); diff != "" {
		t.Errorf("second list (-want +got):\n%s", diff)
	}
	if !strings.Contains(page, `data-list="`+u.List+`">Todo</a>`) || !strings.Contains(page, `current" href="`+loc+`" data-list=`) {
		t.Errorf("list switcher missing or wrong")
	}
	_, page = get(t, c, base+"/")
	if diff := cmp.Diff([]string{"milk"}, items(page)); diff != "" {
		t.Errorf("default list after adding to another (-want +got):\n%s", diff)
	}
}

func TestValidationMessagesOnThePage(t *testing.T) {
	a := apptest.Start(t, apptest.Options{})
	u, c := login(t, a, "ann")
	long := strings.Repeat("é", store.MaxTitleRunes+1)
	for _, tt := range []struct {
		name, title, wantMsg string
	}{
		{"empty", "   ", "title: must not be empty"},
		{"too long", long, "500"},
		{"control characters", "a\x00b", "title:"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, page := postForm(t, c, a.Server.URL+"/lists/"+u.List+"/todos", url.Values{"title": {tt.title}})
			if res.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", res.StatusCode)
			}
			re := regexp.MustCompile(`<p class="error" role="alert">([^<]*)</p>`)
			m := re.FindStringSubmatch(page)
			if m == nil || !strings.Contains(m[1], tt.wantMsg) {
				t.Errorf("message %q, want one with %q", m, tt.wantMsg)
			}
			if len(items(page)) != 0 {
				t.Errorf("a todo was made: %v", items(page))
			}
		})
	}
	// The script gets the message as JSON.
	req, _ := http.NewRequest("POST", a.Server.URL+"/lists/"+u.List+"/todos", strings.NewReader("title="))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Requested-With", "fetch")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var e struct{ Error string }
	if err := json.NewDecoder(res.Body).Decode(&e); err != nil || res.StatusCode != 400 || !strings.Contains(e.Error, "empty") {
		t.Errorf("script: status %d, %+v, %v", res.StatusCode, e, err)
	}
}

func TestBadInput(t *testing.T) {
	a := apptest.Start(t, apptest.Options{})
	u, c := login(t, a, "ann")
	base := a.Server.URL
	for _, tt := range []struct {
		name, method, path, ctype, body string
		wantStatus                      int
		wantText                        string
	}{
		{"oversized form", "POST", "/lists/" + u.List + "/todos", "application/x-www-form-urlencoded", "title=" + strings.Repeat("a", 20<<10), 400, "larger than"},
		{"malformed form", "POST", "/lists/" + u.List + "/todos", "application/x-www-form-urlencoded", "title=%zz", 400, "form"},
		{"json to a form", "POST", "/lists/" + u.List + "/todos", "application/json", `{"title":"x"}`, 400, "Content-Type"},
		{"no content type", "POST", "/lists/" + u.List + "/todos", "", "title=x", 400, "Content-Type"},
		{"unknown list page", "GET", "/lists/nope", "", "", 404, "nope"},
		{"unknown list add", "POST", "/lists/nope/todos", "application/x-www-form-urlencoded", "title=x", 404, "nope"},
		{"unknown todo", "POST", "/lists/" + u.List + "/todos/nope/delete", "application/x-www-form-urlencoded", "", 404, "nope"},
		{"bad completed", "POST", "/lists/" + u.List + "/todos/nope/complete", "application/x-www-form-urlencoded", "completed=maybe", 400, "completed"},
		{"bad filter", "GET", "/?filter=some", "", "", 400, "filter"},
		{"list id too long", "GET", "/lists/" + strings.Repeat("x", 300), "", "", 404, ""},
		{"empty list name", "POST", "/lists", "application/x-www-form-urlencoded", "name=", 400, "name"},
		{"wrong method", "DELETE", "/lists/" + u.List, "", "", 405, ""},
		{"live with a bad list", "GET", "/live?list=" + strings.Repeat("x", 300), "", "", 400, "list"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, base+tt.path, strings.NewReader(tt.body))
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			res, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d: %.300s", res.StatusCode, tt.wantStatus, b)
			}
			if !strings.Contains(string(b), tt.wantText) {
				t.Errorf("body does not say %q: %.300s", tt.wantText, b)
			}
		})
	}
	_, page := get(t, c, base+"/")
	if got := items(page); len(got) != 0 {
		t.Errorf("bad input changed the list: %v", got)
	}
}

func TestStoreDownGivesAnErrorPage(t *testing.T) {
	a := apptest.Start(t, apptest.Options{})
	u, c := login(t, a, "ann")
	if err := a.Store.Close(); err != nil {
		t.Fatal(err)
	}
	code, page := get(t, c, a.Server.URL+"/")
	if code != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", code)
	}
	if !strings.Contains(page, "The todo service is unavailable") {
		t.Errorf("no clear message: %.500s", page)
	}
	res, body := postForm(t, c, a.Server.URL+"/lists/"+u.List+"/todos", url.Values{"title": {"x"}})
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("add: status %d, want 503: %.300s", res.StatusCode, body)
	}
	// The services keep serving: assets still come.
	if code, _ := get(t, c, a.Server.URL+"/static/app.css"); code != 200 {
		t.Errorf("asset: status %d", code)
	}
}

func TestScriptInjectionIsEscapedEverywhere(t *testing.T) {
	a := apptest.Start(t, apptest.Options{})
	u, c := login(t, a, "ann")
	ws := dial(t, u, a.Server.URL, u.List)
	state := readMsg(t, ws)
	if state["kind"] != "state" {
		t.Fatalf("first message %v, want state", state)
	}
	evil := `<script>alert("x")</script><img src=x onerror=alert(1)>`
	res, _ := postForm(t, c, a.Server.URL+"/lists/"+u.List+"/todos", url.Values{"title": {evil}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("add: %d", res.StatusCode)
	}
	_, raw, err := ws.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ev todo.Event
	if err := json.Unmarshal(raw, &ev); err != nil || ev.Todo == nil || ev.Todo.Title != evil {
		t.Fatalf("live event %s: %v", raw, err)
	}
	_, page := get(t, c, a.Server.URL+"/")
	_, editPage := get(t, c, a.Server.URL+"/?edit="+ev.Todo.ID)
	_, badPage := func() (*http.Response, string) {
		return postForm(t, c, a.Server.URL+"/lists/"+u.List+"/todos", url.Values{"title": {evil + strings.Repeat("x", 600)}})
	}()
	restRes := a.Do(t, u, "GET", "/api/lists/"+u.List+"/todos", "")
	rest, _ := io.ReadAll(restRes.Body)
	restRes.Body.Close()
	for name, out := range map[string]string{"page": page, "edit page": editPage, "validation page": badPage, "live event": string(raw), "REST": string(rest)} {
		if strings.Contains(out, "<script>alert") || strings.Contains(out, "<img src=x") {
			t.Errorf("%s carries the title unescaped", name)
		}
	}
	if !strings.Contains(page, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
		t.Errorf("page does not show the escaped title")
	}
}

// dial opens the live WebSocket of list as u's browser does.
func dial(t *testing.T, u *apptest.User, base, list string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h := http.Header{"Cookie": {u.Cookie().String()}, "Origin": {base}}
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/live?list="+url.QueryEscape(list), &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// readMsg reads one live message, waiting at most 10 s (a bound for a hung
// test, not a timing assertion).
func readMsg(t *testing.T, c *websocket.Conn) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("live message %s: %v", b, err)
	}
	return m
}

// readChange reads the next live message that is not the news of a new list
// (which every follower hears: the creation of a list early in a test may
// reach a follower after its state, on a loaded machine).
func readChange(t *testing.T, c *websocket.Conn) map[string]any {
	t.Helper()
	for {
		if m := readMsg(t, c); m["kind"] != todo.KindListCreated {
			return m
		}
	}
}

func TestLiveUpdatesReachEveryFollowerAndCatchUp(t *testing.T) {
	a := apptest.Start(t, apptest.Options{})
	u, c := login(t, a, "ann")
	other := func() string {
		res, _ := postForm(t, c, a.Server.URL+"/lists", url.Values{"name": {"Other"}})
		return strings.TrimPrefix(res.Header.Get("Location"), "/lists/")
	}()
	c1 := dial(t, u, a.Server.URL, u.List)
	c2 := dial(t, u, a.Server.URL, u.List)
	c3 := dial(t, u, a.Server.URL, other)
	for _, c := range []*websocket.Conn{c1, c2, c3} {
		if m := readChange(t, c); m["kind"] != "state" {
			t.Fatalf("first message %v", m)
		}
	}
	postForm(t, c, a.Server.URL+"/lists/"+u.List+"/todos", url.Values{"title": {"shared"}})
	for i, c := range []*websocket.Conn{c1, c2} {
		m := readChange(t, c)
		if m["kind"] != "created" || m["seq"] != 1.0 || m["todo"].(map[string]any)["title"] != "shared" {
			t.Errorf("follower %d got %v", i+1, m)
		}
	}
	// The follower of the other list hears only about its list.
	postForm(t, c, a.Server.URL+"/lists/"+other+"/todos", url.Values{"title": {"elsewhere"}})
	if m := readChange(t, c3); m["kind"] != "created" || m["list"] != other {
		t.Errorf("other list's follower got %v", m)
	}

	// A dropped connection misses changes; on reconnecting, its state
	// message says so.
	epoch := ""
	c1.Close(websocket.StatusNormalClosure, "")
	for _, title := range []string{"while away 1", "while away 2"} {
		postForm(t, c, a.Server.URL+"/lists/"+u.List+"/todos", url.Values{"title": {title}})
	}
	for range 2 {
		m := readChange(t, c2)
		epoch = m["epoch"].(string)
	}
	again := dial(t, u, a.Server.URL, u.List)
	m := readMsg(t, again)
	if diff := cmp.Diff(map[string]any{"kind": "state", "list": u.List, "epoch": epoch, "seq": 3.0}, m); diff != "" {
		t.Errorf("state after reconnecting (-want +got):\n%s", diff)
	}

	// A new list is announced to every follower, for the list switchers.
	postForm(t, c, a.Server.URL+"/lists", url.Values{"name": {"Third"}})
	for i, c := range []*websocket.Conn{again, c3} {
		m := readMsg(t, c)
		info, _ := m["listInfo"].(map[string]any)
		for m["kind"] == "list" && info["name"] == "Other" { // late news of the first new list
			m = readMsg(t, c)
			info, _ = m["listInfo"].(map[string]any)
		}
		if m["kind"] != "list" || info["name"] != "Third" {
			t.Errorf("follower %d got %v, want the new list", i, m)
		}
	}
}

func TestCloseDisconnectsBrowsers(t *testing.T) {
	a := apptest.Start(t, apptest.Options{})
	u := a.SignUp(t, "ann")
	c := dial(t, u, a.Server.URL, u.List)
	readMsg(t, c)
	if n, _ := a.Pages.LiveConns(); n != 1 {
		t.Errorf("live connections %d, want 1", n)
	}
	// Read while closing, so that the close handshake is answered.
	read := make(chan error, 1)
	go func() {
		_, _, err := c.Read(context.Background())
		read <- err
	}()
	if err := a.Pages.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	err := <-read
	if got := websocket.CloseStatus(err); got != websocket.StatusGoingAway {
		t.Errorf("close status %v (%v), want going away", got, err)
	}
	if n, _ := a.Pages.LiveConns(); n != 0 {
		t.Errorf("live connections after close %d, want 0", n)
	}
}

func TestAssets(t *testing.T) {
	a := apptest.Start(t, apptest.Options{})
	c := browser(t, a, nil) // no session needed
	for _, tt := range []struct{ path, wantType, wantText string }{
		{"/static/app.css", "text/css", ".todo"},
		{"/static/app.js", "javascript", "new WebSocket"},
		{"/api/openapi.json", "application/json", `"openapi": "3.1.0"`},
		{"/asyncapi.json", "application/json", `"asyncapi": "3.0.0"`},
	} {
		t.Run(tt.path, func(t *testing.T) {
			res, err := c.Get(a.Server.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Type"), tt.wantType) || !bytes.Contains(b, []byte(tt.wantText)) {
				t.Errorf("status %d, type %q, body has %q: %v", res.StatusCode, res.Header.Get("Content-Type"), tt.wantText, bytes.Contains(b, []byte(tt.wantText)))
			}
		})
	}
}

// FuzzFormPost posts arbitrary form bodies to the add and complete
// endpoints: every answer is a redirect or a 4xx page, never a 5xx or a
// crash.
func FuzzFormPost(f *testing.F) {
	for _, s := range []string{"title=milk", "title=", "title=%zz", "completed=true", "completed=%00", "title=a&title=b", "=&&=", strings.Repeat("a=b&", 100)} {
		f.Add(s, false)
		f.Add(s, true)
	}
	a := apptest.Start(f, apptest.Options{})
	u := a.SignUp(f, "ann")
	c := &http.Client{CheckRedirect: noRedirect.CheckRedirect}
	f.Fuzz(func(t *testing.T, body string, complete bool) {
		path := "/lists/" + u.List + "/todos"
		if complete {
			path = "/lists/" + u.List + "/todos/x/complete"
		}
		req, _ := http.NewRequest("POST", a.Server.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode >= 500 || res.StatusCode < 300 {
			t.Errorf("%q: status %d", body, res.StatusCode)
		}
	})
}

// TestPagesArePaged: a list longer than a page shows one page and links to
// the next; an edit link for a todo of another page still opens its form.
func TestPagesArePaged(t *testing.T) {
	a := apptest.Start(t, apptest.Options{})
	u, b := login(t, a, "ann")
	ctx := t.Context()
	var last store.Todo
	for i := range store.DefaultLimit + 3 {
		td, err := a.Store.Create(ctx, store.NewTodo{ListID: u.List, Title: fmt.Sprintf("todo %02d", i)})
		if err != nil {
			t.Fatal(err)
		}
		last = td
	}
	code, first := get(t, b, a.Server.URL+"/")
	if code != 200 || len(items(first)) != store.DefaultLimit || counts(first) != "53 left, 0 done, 53 total" {
		t.Fatalf("first page: %d, %d items, counts %q", code, len(items(first)), counts(first))
	}
	m := regexp.MustCompile(`class="next-page" href="([^"]+)"`).FindStringSubmatch(first)
	if m == nil || strings.Contains(first, `class="first-page"`) {
		t.Fatalf("first page: no link to the next page, or a link to the first")
	}
	code, second := get(t, b, a.Server.URL+html.UnescapeString(m[1]))
	if diff := cmp.Diff([]string{"todo 50", "todo 51", "todo 52"}, items(second)); code != 200 || diff != "" {
		t.Errorf("second page: %d (-want +got):\n%s", code, diff)
	}
	if strings.Contains(second, `class="next-page"`) || !strings.Contains(second, `class="first-page"`) || !strings.Contains(second, `data-last="true"`) {
		t.Errorf("second page: want a link to the first page, none to a next one, and data-last")
	}
	// The form post of the last page comes back to it.
	cursor := regexp.MustCompile(`name="cursor" value="([^"]*)"`).FindStringSubmatch(second)
	if cursor == nil || cursor[1] == "" {
		t.Fatal("the add form of the second page does not carry its cursor")
	}
	res, _ := postForm(t, b, a.Server.URL+"/lists/"+u.List+"/todos", url.Values{"title": {"newest"}, "cursor": {html.UnescapeString(cursor[1])}})
	if loc := res.Header.Get("Location"); !strings.Contains(loc, "cursor=") {
		t.Errorf("after adding on the second page: back to %q, want the second page", loc)
	}
	code, edit := get(t, b, a.Server.URL+"/?edit="+last.ID)
	if code != 200 || !strings.Contains(edit, `class="edit-form" method="post" action="/lists/`+u.List+`/todos/`+last.ID+`/edit"`) {
		t.Errorf("edit of a todo of the second page from the first: %d, no edit form", code)
	}
}
