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

// call sends a REST request through the gateway and decodes the reply.
func call(t *testing.T, method, u, body string) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, u, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
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
	api := a.Server.URL + "/api"

	code, td := call(t, "POST", api+"/lists/default/todos", `{"title": "milk"}`)
	if code != 201 || td["type"] != "todo" || td["title"] != "milk" || td["version"] != 1.0 {
		t.Fatalf("create: %d %v", code, td)
	}
	id := td["id"].(string)
	code, l := call(t, "POST", api+"/lists", `{"name": "Work"}`)
	if code != 201 || l["type"] != "list" || l["name"] != "Work" {
		t.Fatalf("create list: %d %v", code, l)
	}
	work := l["id"].(string)

	for _, tt := range []struct {
		name, method, path, body string
		wantStatus               int
		want                     map[string]any // members of the reply to check
	}{
		{"get", "GET", "/lists/default/todos/" + id, "", 200, map[string]any{"type": "todo", "title": "milk"}},
		{"list", "GET", "/lists/default/todos?filter=active", "", 200, map[string]any{"type": "todo.listing", "filter": "active"}},
		{"lists", "GET", "/lists", "", 200, map[string]any{"type": "lists"}},
		{"complete", "PATCH", "/lists/default/todos/" + id, `{"completed": true}`, 200, map[string]any{"completed": true, "version": 2.0}},
		{"rename with version", "PATCH", "/lists/default/todos/" + id, `{"title": "oat milk", "version": 2}`, 200, map[string]any{"title": "oat milk", "version": 3.0}},
		{"stale version", "PATCH", "/lists/default/todos/" + id, `{"title": "x", "version": 2}`, 409, map[string]any{"type": "Error", "code": "conflict"}},
		{"empty title", "POST", "/lists/default/todos", `{"title": " "}`, 400, map[string]any{"type": "Error", "code": "bad_request"}},
		{"long title", "POST", "/lists/default/todos", `{"title": "` + strings.Repeat("x", 501) + `"}`, 400, map[string]any{"code": "bad_request"}},
		{"malformed json", "POST", "/lists/default/todos", `{"title": `, 400, map[string]any{"code": "bad_request"}},
		{"title not a string", "POST", "/lists/default/todos", `{"title": 5}`, 400, map[string]any{"code": "bad_request"}},
		{"list twice", "POST", "/lists/default/todos", `{"title": "x", "list": "other"}`, 400, map[string]any{"code": "bad_request"}},
		{"unknown list", "GET", "/lists/nope/todos", "", 404, map[string]any{"code": "not_found"}},
		{"unknown todo", "GET", "/lists/default/todos/nope", "", 404, map[string]any{"code": "not_found"}},
		{"todo of another list", "GET", "/lists/" + work + "/todos/" + id, "", 404, map[string]any{"code": "not_found"}},
		{"bad completed", "PATCH", "/lists/default/todos/" + id, `{"completed": "maybe"}`, 400, map[string]any{"code": "bad_request"}},
		{"clear without completed", "DELETE", "/lists/default/todos", "", 400, map[string]any{"code": "bad_request"}},
		{"clear completed", "DELETE", "/lists/default/todos?completed=true", "", 200, map[string]any{"type": "cleared", "cleared": 1.0}},
		{"deleted by clear", "GET", "/lists/default/todos/" + id, "", 404, map[string]any{"code": "not_found"}},
		{"wrong method", "PUT", "/lists/default/todos", `{}`, 405, map[string]any{"type": "Error"}},
		{"limit too large", "GET", "/lists/default/todos?limit=201", "", 400, map[string]any{"code": "bad_request"}},
		{"limit not a number", "GET", "/lists/default/todos?limit=many", "", 400, map[string]any{"code": "bad_request"}},
		{"foreign cursor", "GET", "/lists/default/todos?cursor=abc", "", 400, map[string]any{"code": "bad_request"}},
		{"lists limit", "GET", "/lists?limit=1", "", 200, map[string]any{"type": "lists"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, got := call(t, tt.method, api+tt.path, tt.body)
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

	code, td = call(t, "POST", api+"/lists/"+work+"/todos", `{"title": "report"}`)
	if code != 201 {
		t.Fatal(code, td)
	}
	code, del := call(t, "DELETE", api+"/lists/"+work+"/todos/"+td["id"].(string), "")
	if diff := cmp.Diff(map[string]any{"type": "deleted", "list": work, "id": td["id"]}, del); code != 200 || diff != "" {
		t.Errorf("delete: %d (-want +got):\n%s", code, diff)
	}
}

// TestRESTPages pages through a list larger than a page with limit and
// cursor as query parameters, as the OpenAPI document says.
func TestRESTPages(t *testing.T) {
	a := apptest.Start(t, apptest.Options{})
	api := a.Server.URL + "/api"
	for i := range 7 {
		if code, td := call(t, "POST", api+"/lists/default/todos", fmt.Sprintf(`{"title": "todo %d"}`, i)); code != 201 {
			t.Fatal(code, td)
		}
	}
	var got []string
	u := api + "/lists/default/todos?limit=3"
	for pages := 0; ; pages++ {
		if pages > 7 {
			t.Fatal("more pages than todos")
		}
		code, l := call(t, "GET", u, "")
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
		u = api + "/lists/default/todos?limit=3&cursor=" + url.QueryEscape(next)
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
	api := a.Server.URL + "/api/lists/default/todos"
	_, td := call(t, "POST", api, `{"title": "shared"}`)
	u := api + "/" + td["id"].(string)

	const n = 8
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			statuses[i], _ = call(t, "PATCH", u, `{"title": "edit `+string(rune('a'+i))+`", "version": 1}`)
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
			statuses[i], _ = call(t, "PATCH", u, `{"title": "blind `+string(rune('a'+i))+`"}`)
		})
	}
	wg.Wait()
	for i, s := range statuses {
		if s != 200 {
			t.Errorf("blind update %d: status %d, want 200", i, s)
		}
	}
	_, got := call(t, "GET", u, "")
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
