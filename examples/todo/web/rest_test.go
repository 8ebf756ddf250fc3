package web_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	todoapp "github.com/troupe-go/troupe/examples/todo"
	"github.com/troupe-go/troupe/examples/todo/internal/apptest"
	"github.com/troupe-go/troupe/examples/todo/store"
	"github.com/troupe-go/troupe/internal/npmcheck"
)

// call sends a REST request through the gateway with user's API token (or
// none, if user is nil) and decodes the reply.
func call(t *testing.T, user *apptest.User, method, u, body string) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, u, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if user != nil {
		req.Header.Set("Authorization", "Bearer "+user.Token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s: %d %q: %v", method, u, res.StatusCode, b, err)
	}
	return res.StatusCode, m
}

func TestRESTThroughTheGateway(t *testing.T) {
	a := apptest.Start(t, apptest.Options{})
	u := a.SignUp(t, "ann")
	api := a.Server.URL + "/api"

	code, td := call(t, u, "POST", api+"/lists/"+u.List+"/todos", `{"title": "milk"}`)
	if code != 201 || td["type"] != "todo" || td["title"] != "milk" || td["version"] != 1.0 {
		t.Fatalf("create: %d %v", code, td)
	}
	id := td["id"].(string)
	code, l := call(t, u, "POST", api+"/lists", `{"name": "Work"}`)
	if code != 201 || l["type"] != "list" || l["name"] != "Work" {
		t.Fatalf("create list: %d %v", code, l)
	}
	work := l["id"].(string)

	for _, tt := range []struct {
		name, method, path, body string
		wantStatus               int
		want                     map[string]any // members of the reply to check
	}{
		{"get", "GET", "/lists/" + u.List + "/todos/" + id, "", 200, map[string]any{"type": "todo", "title": "milk"}},
		{"list", "GET", "/lists/" + u.List + "/todos?filter=active", "", 200, map[string]any{"type": "todo.listing", "filter": "active"}},
		{"lists", "GET", "/lists", "", 200, map[string]any{"type": "lists"}},
		{"complete", "PATCH", "/lists/" + u.List + "/todos/" + id, `{"completed": true}`, 200, map[string]any{"completed": true, "version": 2.0}},
		{"rename with version", "PATCH", "/lists/" + u.List + "/todos/" + id, `{"title": "oat milk", "version": 2}`, 200, map[string]any{"title": "oat milk", "version": 3.0}},
		{"stale version", "PATCH", "/lists/" + u.List + "/todos/" + id, `{"title": "x", "version": 2}`, 409, map[string]any{"type": "Error", "code": "conflict"}},
		{"empty title", "POST", "/lists/" + u.List + "/todos", `{"title": " "}`, 400, map[string]any{"type": "Error", "code": "bad_request"}},
		{"long title", "POST", "/lists/" + u.List + "/todos", `{"title": "` + strings.Repeat("x", 501) + `"}`, 400, map[string]any{"code": "bad_request"}},
		{"malformed json", "POST", "/lists/" + u.List + "/todos", `{"title": `, 400, map[string]any{"code": "bad_request"}},
		{"title not a string", "POST", "/lists/" + u.List + "/todos", `{"title": 5}`, 400, map[string]any{"code": "bad_request"}},
		{"list twice", "POST", "/lists/" + u.List + "/todos", `{"title": "x", "list": "other"}`, 400, map[string]any{"code": "bad_request"}},
		{"unknown list", "GET", "/lists/nope/todos", "", 404, map[string]any{"code": "not_found"}},
		{"unknown todo", "GET", "/lists/" + u.List + "/todos/nope", "", 404, map[string]any{"code": "not_found"}},
		{"todo of another list", "GET", "/lists/" + work + "/todos/" + id, "", 404, map[string]any{"code": "not_found"}},
		{"bad completed", "PATCH", "/lists/" + u.List + "/todos/" + id, `{"completed": "maybe"}`, 400, map[string]any{"code": "bad_request"}},
		{"clear without completed", "DELETE", "/lists/" + u.List + "/todos", "", 400, map[string]any{"code": "bad_request"}},
		{"clear completed", "DELETE", "/lists/" + u.List + "/todos?completed=true", "", 200, map[string]any{"type": "cleared", "cleared": 1.0}},
		{"deleted by clear", "GET", "/lists/" + u.List + "/todos/" + id, "", 404, map[string]any{"code": "not_found"}},
		{"wrong method", "PUT", "/lists/" + u.List + "/todos", `{}`, 405, map[string]any{"type": "Error"}},
		{"limit too large", "GET", "/lists/" + u.List + "/todos?limit=201", "", 400, map[string]any{"code": "bad_request"}},
		{"limit not a number", "GET", "/lists/" + u.List + "/todos?limit=many", "", 400, map[string]any{"code": "bad_request"}},
		{"foreign cursor", "GET", "/lists/" + u.List + "/todos?cursor=abc", "", 400, map[string]any{"code": "bad_request"}},
		{"lists limit", "GET", "/lists?limit=1", "", 200, map[string]any{"type": "lists"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, got := call(t, u, tt.method, api+tt.path, tt.body)
			if code != tt.wantStatus {
				t.Errorf("status %d, want %d: %v", code, tt.wantStatus, got)
			}
			for k, want := range tt.want {
				if diff := cmp.Diff(want, got[k]); diff != "" {
					t.Errorf("%s (-want +got):\n%s", k, diff)
				}
			}
		})
	}

	code, td = call(t, u, "POST", api+"/lists/"+work+"/todos", `{"title": "report"}`)
	if code != 201 {
		t.Fatal(code, td)
	}
	code, del := call(t, u, "DELETE", api+"/lists/"+work+"/todos/"+td["id"].(string), "")
	if diff := cmp.Diff(map[string]any{"type": "deleted", "list": work, "id": td["id"]}, del); code != 200 || diff != "" {
		t.Errorf("delete: %d (-want +got):\n%s", code, diff)
	}
}

// TestRESTPages pages through a list larger than a page with limit and
// cursor as query parameters, as the OpenAPI document says.
func TestRESTPages(t *testing.T) {
	a := apptest.Start(t, apptest.Options{})
	user := a.SignUp(t, "ann")
	api := a.Server.URL + "/api"
	for i := range 7 {
		if code, td := call(t, user, "POST", api+"/lists/"+user.List+"/todos", fmt.Sprintf(`{"title": "todo %d"}`, i)); code != 201 {
			t.Fatal(code, td)
		}
	}
	var got []string
	u := api + "/lists/" + user.List + "/todos?limit=3"
	for pages := 0; ; pages++ {
		if pages > 7 {
			t.Fatal("more pages than todos")
		}
		code, l := call(t, user, "GET", u, "")
		if code != 200 {
			t.Fatalf("GET %s: %d %v", u, code, l)
		}
		if c := l["counts"].(map[string]any); c["total"] != 7.0 {
			t.Errorf("counts %v, want a total of 7 on every page", c)
		}
		for _, td := range l["todos"].([]any) {
			got = append(got, td.(map[string]any)["title"].(string))
		}
		next, _ := l["next"].(string)
		if next == "" {
			break
		}
		u = api + "/lists/" + user.List + "/todos?limit=3&cursor=" + url.QueryEscape(next)
	}
	want := []string{"todo 0", "todo 1", "todo 2", "todo 3", "todo 4", "todo 5", "todo 6"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("titles over the pages (-want +got):\n%s", diff)
	}
}

// TestConcurrentEdits: updates with the same version race, exactly one
// wins and the others get 409; updates without a version all apply, the
// last write winning.
func TestConcurrentEdits(t *testing.T) {
	a := apptest.Start(t, apptest.Options{})
	u := a.SignUp(t, "ann")
	api := a.Server.URL + "/api/lists/" + u.List + "/todos"
	_, td := call(t, u, "POST", api, `{"title": "shared"}`)
	todoURL := api + "/" + td["id"].(string)

	const n = 8
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			statuses[i], _ = call(t, u, "PATCH", todoURL, `{"title": "edit `+string(rune('a'+i))+`", "version": 1}`)
		})
	}
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	if diff := cmp.Diff(map[int]int{200: 1, 409: n - 1}, count); diff != "" {
		t.Errorf("statuses with a version (-want +got):\n%s", diff)
	}

	for i := range n {
		wg.Go(func() {
			statuses[i], _ = call(t, u, "PATCH", todoURL, `{"title": "blind `+string(rune('a'+i))+`"}`)
		})
	}
	wg.Wait()
	for i, s := range statuses {
		if s != 200 {
			t.Errorf("blind update %d: status %d, want 200", i, s)
		}
	}
	_, got := call(t, u, "GET", todoURL, "")
	if got["version"] != float64(2+n) || !strings.HasPrefix(got["title"].(string), "blind ") {
		t.Errorf("after blind updates: %v, want version %d and a blind title", got, 2+n)
	}
}

// TestOpenAPICoversEveryRoute checks that the document the gateway serves
// at /api/openapi.json, generated from the manifest, describes every REST
// route, nothing else, and validates with the npm validators.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	m, err := todoapp.App()
	if err != nil {
		t.Fatal(err)
	}
	a := apptest.Start(t, apptest.Options{})
	res, err := http.Get(a.Server.URL + "/api/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	var want, got []string
	for _, r := range m.Routes {
		if r.Message != "" {
			want = append(want, r.Method+" "+r.Path)
		}
	}
	for p, ops := range doc.Paths {
		for method := range ops {
			got = append(got, strings.ToUpper(method)+" "+p)
		}
	}
	less := func(a, b string) bool { return a < b }
	if diff := cmp.Diff(want, got, cmpopts.SortSlices(less)); diff != "" {
		t.Errorf("routes (-manifest +openapi):\n%s", diff)
	}
	// The listings' paging parameters are documented, with their bounds.
	for path, want := range map[string][]string{
		"/api/lists/{list}/todos": {"cursor", "epoch", "filter", "limit", "list", "seq"},
		"/api/lists":              {"cursor", "limit"},
	} {
		var op struct {
			Parameters []struct {
				Name   string `json:"name"`
				Schema struct {
					Ref string `json:"$ref"`
				} `json:"schema"`
			} `json:"parameters"`
		}
		if err := json.Unmarshal(doc.Paths[path]["get"], &op); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range op.Parameters {
			names = append(names, p.Name)
			if p.Name == "limit" && !strings.HasSuffix(p.Schema.Ref, "/Limit") {
				t.Errorf("GET %s: limit's schema %q, want the Limit schema", path, p.Schema.Ref)
			}
		}
		if diff := cmp.Diff(want, names, cmpopts.SortSlices(less)); diff != "" {
			t.Errorf("GET %s parameters (-want +got):\n%s", path, diff)
		}
	}
	var comps struct {
		Components struct {
			Schemas struct {
				Limit struct {
					Maximum, Default int
				}
			}
		}
	}
	if err := json.Unmarshal(body, &comps); err != nil {
		t.Fatal(err)
	}
	if l := comps.Components.Schemas.Limit; l.Maximum != store.MaxLimit || l.Default != store.DefaultLimit {
		t.Errorf("the Limit schema says maximum %d and default %d, want %d and %d", l.Maximum, l.Default, store.MaxLimit, store.DefaultLimit)
	}
	npmcheck.OpenAPI(t, body)
	res, err = http.Get(a.Server.URL + "/asyncapi.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	npmcheck.AsyncAPI(t, body)
}

// TestRESTAccounts: the REST API needs a token, and a user's token reaches
// only the lists that user may see.
func TestRESTAccounts(t *testing.T) {
	a := apptest.Start(t, apptest.Options{})
	ann, bob := a.SignUp(t, "ann"), a.SignUp(t, "bob")
	api := a.Server.URL + "/api"
	code, td := call(t, ann, "POST", api+"/lists/"+ann.List+"/todos", `{"title": "ann's"}`)
	if code != 201 {
		t.Fatalf("ann creates: %d %v", code, td)
	}
	anon := func(method, path, body string) int {
		code, _ := call(t, nil, method, api+path, body)
		return code
	}
	for _, tt := range []struct{ method, path, body string }{
		{"GET", "/lists", ""},
		{"POST", "/lists", `{"name": "x"}`},
		{"GET", "/lists/" + ann.List + "/todos", ""},
		{"POST", "/lists/" + ann.List + "/todos", `{"title": "x"}`},
	} {
		if code := anon(tt.method, tt.path, tt.body); code != 401 {
			t.Errorf("anonymous %s %s: %d, want 401", tt.method, tt.path, code)
		}
	}
	forged := &apptest.User{Token: "not-a-token"}
	if code, _ := call(t, forged, "GET", api+"/lists", ""); code != 401 {
		t.Errorf("a made-up token: %d, want 401", code)
	}
	id := td["id"].(string)
	for _, tt := range []struct{ method, path, body string }{
		{"GET", "/lists/" + ann.List + "/todos", ""},
		{"POST", "/lists/" + ann.List + "/todos", `{"title": "bob's"}`},
		{"GET", "/lists/" + ann.List + "/todos/" + id, ""},
		{"PATCH", "/lists/" + ann.List + "/todos/" + id, `{"title": "mine now"}`},
		{"DELETE", "/lists/" + ann.List + "/todos/" + id, ""},
		{"DELETE", "/lists/" + ann.List + "/todos?completed=true", ""},
		{"GET", "/lists/" + bob.List + "/todos/" + id, ""},
	} {
		if code, got := call(t, bob, tt.method, api+tt.path, tt.body); code != 404 {
			t.Errorf("bob's %s %s: %d %v, want 404", tt.method, tt.path, code, got)
		}
	}
	_, lists := call(t, bob, "GET", api+"/lists", "")
	if got := lists["lists"].([]any); len(got) != 1 || got[0].(map[string]any)["id"] != bob.List {
		t.Errorf("bob's lists %v, want only his own", got)
	}
	if _, got := call(t, ann, "GET", api+"/lists/"+ann.List+"/todos/"+id, ""); got["title"] != "ann's" {
		t.Errorf("ann's todo after bob's attempts: %v", got)
	}
}

// TestRESTStrictInput: what the REST API refuses, and how it says so.
func TestRESTStrictInput(t *testing.T) {
	a := apptest.Start(t, apptest.Options{})
	u := a.SignUp(t, "ann")
	api := a.Server.URL + "/api/lists/" + u.List + "/todos"
	for _, tt := range []struct {
		name, body, wantMsg string
	}{
		{"unknown field", `{"title": "milk", "colour": "red"}`, `unknown field "colour": todo.create takes list, title`},
		{"lone surrogate", `{"title": "milk\ud800"}`, `body: a lone surrogate \uD800 (half of a UTF-16 pair) is not a character`},
		{"invalid UTF-8", "{\"title\": \"milk\xff\"}", "body is not valid UTF-8"},
		{"only invisible characters", `{"title": "\u200b\u200b\u3164"}`, "title: must show something: it has only invisible characters"},
		{"title not a string", `{"title": 5}`, "at /title"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, got := call(t, u, "POST", api, tt.body)
			msg, _ := got["msg"].(string)
			if code != 400 || !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("%d %q, want 400 with %q", code, msg, tt.wantMsg)
			}
			if strings.Contains(msg, "Go ") || strings.Contains(msg, "struct") || strings.Contains(msg, "todo.CreateTodo") {
				t.Errorf("the message names Go types: %q", msg)
			}
		})
	}
	if _, got := call(t, u, "GET", api, ""); len(got["todos"].([]any)) != 0 {
		t.Errorf("refused input made todos: %v", got["todos"])
	}
}
