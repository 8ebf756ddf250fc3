package k8s_test

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/deploy/internal/k8scheck"
	"github.com/troupe-go/troupe/deploy/k8s"
	todoapp "github.com/troupe-go/troupe/examples/todo"
	"github.com/troupe-go/troupe/manifest"
)

// TestClusterManifestMatchesTodoApp keeps the cluster's troupe.yaml in step
// with the todo application's own manifest (examples/todo/troupe.yaml): the
// same web and todo services and the same REST routes.
func TestClusterManifestMatchesTodoApp(t *testing.T) {
	b, err := k8scheck.Load(k8s.Files)
	if err != nil {
		t.Fatal(err)
	}
	var cluster *troupe.App
	for _, o := range b.Objects {
		if cm, ok := o.Value.(*corev1.ConfigMap); ok && cm.Name == "troupe-manifest" {
			cluster, err = manifest.Parse("config.yaml", []byte(cm.Data[k8scheck.ManifestKey]))
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if cluster == nil {
		t.Fatal("no ConfigMap troupe-manifest")
	}
	todo, err := todoapp.App()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"web", "todo"} {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(service(todo, name), service(cluster, name)); diff != "" {
				t.Errorf("service %s (-examples/todo +deploy/k8s):\n%s", name, diff)
			}
		})
	}
	var restRoutes []troupe.Route
	for _, r := range cluster.Routes {
		if r.Message != "" {
			restRoutes = append(restRoutes, r)
		}
	}
	if diff := cmp.Diff(todo.Routes, restRoutes); diff != "" {
		t.Errorf("REST routes (-examples/todo +deploy/k8s):\n%s", diff)
	}
}

func service(app *troupe.App, name string) *troupe.ServiceDecl {
	for i := range app.Services {
		if app.Services[i].Name == name {
			return &app.Services[i]
		}
	}
	return nil
}

// TestClusterManifestMatchesDemo keeps the cluster's troupe.yaml declaring
// the same application as the repository's troupe.yaml, which `troupe run`
// runs on one machine.
func TestClusterManifestMatchesDemo(t *testing.T) {
	_, byName := bundle(t)
	cluster := clusterApp(t, byName)
	demo, err := manifest.Load(filepath.Join("..", "..", "troupe.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(demo, cluster); diff != "" {
		t.Errorf("application (-troupe.yaml +deploy/k8s/config.yaml):\n%s", diff)
	}
}
