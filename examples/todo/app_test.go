package todoapp_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/troupe-go/troupe"
	todoapp "github.com/troupe-go/troupe/examples/todo"
	"github.com/troupe-go/troupe/examples/todo/store/sqlite"
	"github.com/troupe-go/troupe/examples/todo/todo"
	"github.com/troupe-go/troupe/examples/todo/web"
	"github.com/troupe-go/troupe/manifest"
	"github.com/troupe-go/troupe/service"
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
		{"todo sends", app.Service(todo.Name).Sends, todo.Sends},
		{"todo durable", app.Service(todo.Name).Durable, []string{todo.MsgCreate}},
		{"todo broadcast", app.Service(todo.Name).Broadcast, nil},
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

// TestGoTypesMatchTheManifest checks the todo and web services' typed
// endpoints and events against troupe.yaml's payload schemas and replies, as
// service.Start does: a field added on one side only fails here.
func TestGoTypesMatchTheManifest(t *testing.T) {
	app, err := todoapp.App()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "todo.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ts, err := todo.New(service.Config{}, todo.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	ws, pages, err := web.New(service.Config{}, web.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pages.Close(ctx)
	// The demo that troupe run starts runs them too, under its manifest.
	demo, err := manifest.Load(filepath.Join("..", "..", "troupe.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []*troupe.App{app, demo} {
		if err := ts.Check(m); err != nil {
			t.Errorf("%s: %v", m.Name, err)
		}
		if err := ws.Check(m); err != nil {
			t.Errorf("%s: %v", m.Name, err)
		}
	}
	// The check is not vacuous: a manifest whose todo schema lacks a field
	// the Go type has fails it.
	broken, err := todoapp.App()
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range broken.Schemas {
		if s.Name == "Todo" {
			broken.Schemas[i].Schema = json.RawMessage(`{"type":"object","properties":{"id":{"type":"string"}}}`)
		}
	}
	if err := ts.Check(broken); err == nil || !strings.Contains(err.Error(), `Go field Todo.Title ("title") is not a property of the schema`) {
		t.Errorf("Check against a schema without title = %v", err)
	}
}
