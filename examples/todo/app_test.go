package todoapp_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	todoapp "github.com/troupe-go/troupe/examples/todo"
	"github.com/troupe-go/troupe/examples/todo/todo"
	"github.com/troupe-go/troupe/examples/todo/web"
	"github.com/troupe-go/troupe/manifest"
)

// TestManifestMatchesTheCode checks that troupe.yaml declares exactly what
// the services handle, send and publish, and that it lints clean.
func TestManifestMatchesTheCode(t *testing.T) {
	app, err := todoapp.App()
	if err != nil {
		t.Fatal(err)
	}
	if w := manifest.Lint(app); len(w) > 0 {
		t.Errorf("lint warnings: %v", w)
	}
	sorted := cmpopts.SortSlices(func(a, b string) bool { return a < b })
	for _, tt := range []struct {
		name      string
		got, want []string
	}{
		{"todo receives", app.Service(todo.Name).Receives, todo.Receives},
		{"todo sends", app.Service(todo.Name).Sends, todo.Events},
		{"todo durable", app.Service(todo.Name).Durable, []string{todo.MsgCreate}},
		{"web sends", app.Service(web.Name).Sends, web.Sends},
		{"web receives", app.Service(web.Name).Receives, todo.Events},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got, sorted); diff != "" {
				t.Errorf("(-code +manifest):\n%s", diff)
			}
		})
	}
	for _, r := range app.Routes {
		if r.Message != "" && app.Service(todo.Name) != nil && len(app.Receivers(r.Message)) != 1 {
			t.Errorf("route %s %s: message %s has receivers %v, want the todo service", r.Method, r.Path, r.Message, app.Receivers(r.Message))
		}
	}
}
