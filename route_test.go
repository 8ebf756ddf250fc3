package troupe_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/troupe-go/troupe"
)

func TestValidRoutePath(t *testing.T) {
	for _, tt := range []struct {
		path   string
		params bool
		want   string // a part of the error; "" for none
	}{
		{"/", false, ""},
		{"/api/todos", false, ""},
		{"/api/todos/", false, ""},
		{"/a-b.c_d~e", false, ""},
		{"/api/lists/{list}/todos/{id}", true, ""},
		{"/files/{path...}", true, ""},
		{"/exact/{$}", true, ""},
		{"api", false, "must start with '/'"},
		{"/a@b", false, `has "@" in segment "a@b"`},
		{"/api/x:y", true, `has ":" in segment "x:y"`},
		{"/a b", false, `has " "`},
		{"/a//b", false, "empty segment"},
		{"/a/../b", false, `"." or ".."`},
		{"/a/{id}", false, "only REST routes"},
		{"/a/{id}x", true, "malformed parameter"},
		{"/a/{a.b}", true, "malformed parameter"},
		{"/a/{1x}", true, "malformed parameter"},
		{"/a/{x}/{x}", true, "twice"},
		{"/a/{rest...}/b", true, "before its end"},
		{"/{$}/b", true, "{$} before its end"},
		{"/healthz", false, "the gateway's own"},
		{"/metrics/", false, "the gateway's own"},
		{"/openapi.json", false, "the gateway's own"},
		{"/asyncapi.json", true, "the gateway's own"},
		{"/healthz/more", false, ""},
		{"/" + strings.Repeat("a", troupe.MaxPathLen), false, "longer than"},
	} {
		err := troupe.ValidRoutePath(tt.path, tt.params)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("ValidRoutePath(%q, %v) = %v, want nil", tt.path, tt.params, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("ValidRoutePath(%q, %v) = %v, want an error with %q", tt.path, tt.params, err, tt.want)
		}
	}
}

func TestValidRoute(t *testing.T) {
	for _, tt := range []struct {
		name string
		r    troupe.Route
		want string
	}{
		{"protocol", troupe.Route{Path: "/", Types: []string{"Hello"}}, ""},
		{"protocol POST", troupe.Route{Method: "POST", Path: "/", Types: []string{"Hello"}}, ""},
		{"protocol GET", troupe.Route{Method: "GET", Path: "/", Types: []string{"Hello"}}, "only POST"},
		{"protocol params", troupe.Route{Path: "/{x}", Types: []string{"Hello"}}, "only REST routes"},
		{"rest", troupe.Route{Method: "GET", Path: "/api/{id}", Message: "todo.get"}, ""},
		{"rest lower-case method", troupe.Route{Method: "get", Path: "/api", Message: "todo.get"}, "not one of"},
		{"rest bad path", troupe.Route{Method: "GET", Path: "/api/x:y", Message: "todo.get"}, `path "/api/x:y" has ":"`},
		{"both", troupe.Route{Method: "POST", Path: "/", Types: []string{"a"}, Message: "b"}, "not both"},
		{"neither", troupe.Route{Path: "/"}, "needs types"},
		{"bad type", troupe.Route{Path: "/", Types: []string{"1a"}}, "type: name"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := troupe.ValidRoute(tt.r)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("ValidRoute = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("ValidRoute = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func TestPathParams(t *testing.T) {
	got := troupe.PathParams("/api/lists/{list}/todos/{id}/{rest...}")
	if diff := cmp.Diff([]string{"list", "id", "rest"}, got); diff != "" {
		t.Errorf("PathParams (-want +got):\n%s", diff)
	}
	if got := troupe.PathParams("/a/{$}"); len(got) != 0 {
		t.Errorf("PathParams(/a/{$}) = %v, want none", got)
	}
}

func TestValidPortableName(t *testing.T) {
	for _, tt := range []struct {
		name string
		ok   bool
	}{{"todo.list", true}, {"a-b_c", true}, {"a..b", false}, {"a.", false}, {".a", false}, {"a b", false}} {
		if err := troupe.ValidPortableName(tt.name); (err == nil) != tt.ok {
			t.Errorf("ValidPortableName(%q) = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}

func TestTranslation(t *testing.T) {
	d := troupe.ServiceDecl{Name: "users", Translate: []troupe.Translation{{Local: "user.create", App: "account.create"}}}
	if got := d.AppName("user.create"); got != "account.create" {
		t.Errorf("AppName(user.create) = %q", got)
	}
	if got := d.LocalName("account.create"); got != "user.create" {
		t.Errorf("LocalName(account.create) = %q", got)
	}
	if got := d.AppName("other"); got != "other" {
		t.Errorf("AppName(other) = %q", got)
	}
}
