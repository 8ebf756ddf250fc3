package web_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/troupe-go/troupe/examples/todo/internal/apptest"
	"github.com/troupe-go/troupe/examples/todo/store/sqlite"
	"github.com/troupe-go/troupe/examples/todo/web"
)

// sessionCookie returns the session cookie a response sets, or nil.
func sessionCookie(res *http.Response) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == web.SessionCookie {
			return c
		}
	}
	return nil
}

// TestSignUpLogInLogOut drives the account pages as a browser without
// script does.
func TestSignUpLogInLogOut(t *testing.T) {
	a := apptest.Start(t, apptest.Options{})
	c := browser(t, a, nil)
	base := a.Server.URL

	res, _ := getRes(t, c, base+"/lists/x?filter=active")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?next=%2Flists%2Fx%3Ffilter%3Dactive" {
		t.Fatalf("anonymous page: %d to %q, want 303 to /login with next", res.StatusCode, res.Header.Get("Location"))
	}
	if code, page := get(t, c, base+"/login"); code != 200 || !strings.Contains(page, `action="/login"`) {
		t.Fatalf("login page: %d", code)
	}
	res, body := postForm(t, c, base+"/signup", url.Values{"name": {"Ann"}, "password": {"correct horse battery"}, "next": {"/"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Fatalf("sign up: %d %q: %.300s", res.StatusCode, res.Header.Get("Location"), body)
	}
	sc := sessionCookie(res)
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Path != "/" || sc.Secure || sc.MaxAge <= 0 {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax, Path=/, a lifetime, not Secure over plain HTTP", sc)
	}
	code, page := get(t, c, base+"/")
	if code != 200 || !strings.Contains(page, `<span class="who">ann</span>`) {
		t.Fatalf("after signing up: %d, shows ann: %v", code, strings.Contains(page, "ann"))
	}
	res, _ = postForm(t, c, base+"/logout", nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
		t.Errorf("log out: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if gone := sessionCookie(res); gone == nil || gone.MaxAge >= 0 {
		t.Errorf("log out clears no cookie: %+v", gone)
	}
	// The session has ended: the old cookie does not work either.
	old := &http.Client{CheckRedirect: noRedirect.CheckRedirect}
	req, _ := http.NewRequest("GET", base+"/", nil)
	req.AddCookie(sc)
	res, err := old.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Errorf("the ended session's cookie: %d, want 303 to /login", res.StatusCode)
	}

	for _, tt := range []struct {
		name     string
		form     url.Values
		want     int
		wantText string
	}{
		{"wrong password", url.Values{"name": {"ann"}, "password": {"wrong horse battery"}}, 403, "the name or the password is wrong"},
		{"unknown user", url.Values{"name": {"nobody"}, "password": {"wrong horse battery"}}, 403, "the name or the password is wrong"},
		{"unknown field", url.Values{"name": {"ann"}, "password": {"x"}, "admin": {"true"}}, 400, "unknown field"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, body := postForm(t, c, base+"/login", tt.form)
			if res.StatusCode != tt.want || !strings.Contains(body, tt.wantText) || sessionCookie(res) != nil {
				t.Errorf("%d, says %q: %v, cookie %v", res.StatusCode, tt.wantText, strings.Contains(body, tt.wantText), sessionCookie(res))
			}
		})
	}
	res, _ = postForm(t, c, base+"/login", url.Values{"name": {"ann"}, "password": {"correct horse battery"}, "next": {"//evil.example/x"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" || sessionCookie(res) == nil {
		t.Errorf("log in with next on another site: %d to %q, want 303 to /", res.StatusCode, res.Header.Get("Location"))
	}
	res, body = postForm(t, c, base+"/signup", url.Values{"name": {"ANN"}, "password": {"another password"}})
	if res.StatusCode != http.StatusConflict || !strings.Contains(body, "taken") {
		t.Errorf("sign up a taken name: %d", res.StatusCode)
	}
}

func getRes(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// TestSessionsSurviveARestart: a session is in the store, so a browser stays
// logged in across a restart of the services.
func TestSessionsSurviveARestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "todo.db")
	open := func() *apptest.App {
		st, err := sqlite.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		return apptest.Start(t, apptest.Options{Store: st})
	}
	a := open()
	u := a.SignUp(t, "ann")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.Node.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	_ = a.Store.Close()
	b := open()
	code, page := get(t, browser(t, b, u), b.Server.URL+"/")
	if code != 200 || !strings.Contains(page, `<span class="who">ann</span>`) {
		t.Errorf("after a restart: %d, still ann's page: %v", code, strings.Contains(page, "ann"))
	}
	if code, _ := call(t, u, "GET", b.Server.URL+"/api/lists", ""); code != 200 {
		t.Errorf("the API token after a restart: %d", code)
	}
}

func TestSecureCookieBehindTLS(t *testing.T) {
	a := apptest.Start(t, apptest.Options{Web: web.Options{SecureCookies: true}})
	res, _ := postForm(t, browser(t, a, nil), a.Server.URL+"/signup", url.Values{"name": {"ann"}, "password": {"correct horse battery"}})
	if sc := sessionCookie(res); sc == nil || !sc.Secure || !sc.HttpOnly {
		t.Errorf("cookie %+v, want Secure and HttpOnly", sc)
	}
}

// TestTokensPage: a token made on the page works for the REST API until it
// is deleted there.
func TestTokensPage(t *testing.T) {
	a := apptest.Start(t, apptest.Options{})
	u, c := login(t, a, "ann")
	res, page := postForm(t, c, a.Server.URL+"/tokens", url.Values{"name": {"laptop"}})
	m := regexpSecret.FindStringSubmatch(page)
	if res.StatusCode != http.StatusCreated || m == nil {
		t.Fatalf("make a token: %d, shows the secret: %v", res.StatusCode, m != nil)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("the page with a secret: Cache-Control %q, want no-store", cc)
	}
	laptop := &apptest.User{Token: m[1]}
	if code, _ := call(t, laptop, "GET", a.Server.URL+"/api/lists/"+u.List+"/todos", ""); code != 200 {
		t.Errorf("the new token on the REST API: %d", code)
	}
	_, page = get(t, c, a.Server.URL+"/tokens")
	if strings.Contains(page, m[1]) || !strings.Contains(page, "laptop") {
		t.Errorf("the tokens page shows the secret again, or not the token")
	}
	id := regexpTokenID(page, "laptop")
	if res, _ := postForm(t, c, a.Server.URL+"/tokens/"+id+"/delete", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete the token: %d", res.StatusCode)
	}
	if code, _ := call(t, laptop, "GET", a.Server.URL+"/api/lists", ""); code != 401 {
		t.Errorf("a deleted token on the REST API: %d, want 401", code)
	}
}

// TestPagesKeepUsersApart: another user's list, its todos and its live
// updates are not found for a user until its owner shares it by name; a
// form from another site is refused.
func TestPagesKeepUsersApart(t *testing.T) {
	a := apptest.Start(t, apptest.Options{})
	ann, annC := login(t, a, "ann")
	bob, bobC := login(t, a, "bob")
	base := a.Server.URL
	postForm(t, annC, base+"/lists/"+ann.List+"/todos", url.Values{"title": {"ann secret"}})
	_, page := get(t, annC, base+"/")
	id := idOf(t, page, "ann secret")
	for _, tt := range []struct{ method, path, body string }{
		{"GET", "/lists/" + ann.List, ""},
		{"POST", "/lists/" + ann.List + "/todos", "title=bob"},
		{"POST", "/lists/" + ann.List + "/todos/" + id + "/delete", ""},
		{"POST", "/lists/" + ann.List + "/todos/" + id + "/complete", "completed=true"},
		{"POST", "/lists/" + ann.List + "/clear", ""},
		{"POST", "/lists/" + ann.List + "/share", "user=bob"},
		{"GET", "/live?list=" + ann.List, ""},
	} {
		req, _ := http.NewRequest(tt.method, base+tt.path, strings.NewReader(tt.body))
		if tt.method == "POST" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		res, err := bobC.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 404 || strings.Contains(string(b), "ann secret") {
			t.Errorf("bob's %s %s: %d, want 404 without ann's todo", tt.method, tt.path, res.StatusCode)
		}
	}
	if _, page := get(t, bobC, base+"/"); strings.Contains(page, ann.List) || strings.Contains(page, "ann secret") {
		t.Error("bob's page shows ann's list")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/live?list="+ann.List, nil); err == nil || res.StatusCode != 401 {
		t.Errorf("anonymous live updates of ann's list: %v, want 401", err)
	}

	// A form on another site, posted with ann's cookie, is refused.
	req, _ := http.NewRequest("POST", base+"/lists/"+ann.List+"/todos", strings.NewReader("title=forged"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, err := annC.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 403 {
		t.Errorf("a cross-site form post: %d, want 403", res.StatusCode)
	}

	// Shared with bob: he sees it, changes it and follows it.
	res, _ = postForm(t, annC, base+"/lists/"+ann.List+"/share", url.Values{"user": {"bob"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("share: %d", res.StatusCode)
	}
	if code, page := get(t, bobC, base+"/lists/"+ann.List); code != 200 || !strings.Contains(page, "ann secret") || strings.Contains(page, `class="share"`) {
		t.Errorf("bob's view of the shared list: %d, shows the todo: %v, offers to share it: %v",
			code, strings.Contains(page, "ann secret"), strings.Contains(page, `class="share"`))
	}
	ws := dial(t, bob, base, ann.List)
	if m := readChange(t, ws); m["kind"] != "state" {
		t.Errorf("bob's live updates of the shared list: %v", m)
	}
	if _, page := get(t, bobC, base+"/"); !strings.Contains(page, `data-list="`+ann.List+`"`) {
		t.Error("bob's list switcher lacks the shared list")
	}
	_ = bob
}

// TestFormsRefuseWhatTheyDoNotKnow: unknown fields and bytes that are no
// UTF-8 are refused with 400, not dropped or replaced.
func TestFormsRefuseWhatTheyDoNotKnow(t *testing.T) {
	a := apptest.Start(t, apptest.Options{})
	u, c := login(t, a, "ann")
	for _, tt := range []struct{ name, body, want string }{
		{"unknown field", "title=milk&colour=red", `unknown field`},
		{"invalid UTF-8", "title=milk%FF", "not valid UTF-8"},
		{"a field twice", "title=a&title=b", "given 2 times"},
		{"only invisible characters", "title=%E2%80%8B%E3%85%A4", "only invisible characters"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", a.Server.URL+"/lists/"+u.List+"/todos", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Requested-With", "fetch")
			res, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 400 || !strings.Contains(string(b), tt.want) {
				t.Errorf("%d %s, want 400 with %q", res.StatusCode, b, tt.want)
			}
		})
	}
	if _, page := get(t, c, a.Server.URL+"/"); len(items(page)) != 0 {
		t.Errorf("refused posts made todos: %v", items(page))
	}
}

var regexpSecret = regexp.MustCompile(`<code class="secret">([^<]+)</code>`)

// regexpTokenID returns the id of the token named name on the tokens page.
func regexpTokenID(page, name string) string {
	m := regexp.MustCompile(`<li data-id="([^"]+)"><span class="name">` + regexp.QuoteMeta(name) + `</span>`).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return m[1]
}
