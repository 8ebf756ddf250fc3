package web_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/troupe-go/troupe/examples/todo/internal/apptest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// noRedirect is a client that reports redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func postForm(t *testing.T, u string, v url.Values) (*http.Response, string) {
	t.Helper()
	res, err := noRedirect.PostForm(u, v)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func TestSmoke(t *testing.T) {
	a := apptest.Start(t, apptest.Options{})
	res, body := postForm(t, a.Server.URL+"/lists/default/todos", url.Values{"title": {"<script>alert(1)</script>"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("add: %d %s", res.StatusCode, body)
	}
	code, page := get(t, a.Server.URL+"/")
	if code != 200 || strings.Contains(page, "<script>alert") {
		t.Errorf("home %d", code)
	}
}
