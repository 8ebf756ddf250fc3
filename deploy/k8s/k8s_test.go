package k8s_test

import (
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/troupe-go/troupe/deploy/internal/k8scheck"
	"github.com/troupe-go/troupe/deploy/k8s"
)

var update = flag.Bool("update", false, "rewrite testdata/objects.golden")

// TestManifests checks every manifest of deploy/k8s strictly against the
// Kubernetes API types and then with k8scheck's rules: it must have no
// problem at all.
func TestManifests(t *testing.T) {
	b, err := k8scheck.Load(k8s.Files)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range k8scheck.Check(b) {
		t.Error(p)
	}
}

// TestManifestsBroken breaks the real manifests in the ways a careless edit
// would and checks that TestManifests' check notices.
func TestManifestsBroken(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		old, new string
		want     string
	}{
		{"lost readiness probe", "web.yaml", "readinessProbe:", "startupProbe:", "Deployment troupe/web: container troupe: no readinessProbe"},
		{"typo'd field", "todo.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFileSystem: true", `todo.yaml:1: Deployment: unknown field "spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem"`},
		{"missing Secret", "todo.yaml", "name: troupe\n                  key: TROUPE_STORE_DSN", "name: troupe-db\n                  key: TROUPE_STORE_DSN", `env TROUPE_STORE_DSN: no such Secret "troupe-db"`},
		{"missing Secret key", "nats.yaml", "key: NATS_CLUSTER_PASSWORD", "key: NATS_ROUTE_PASSWORD", `Secret "nats" has no key "NATS_ROUTE_PASSWORD"`},
		{"service not run", "todo.yaml", "--only=todo", "--only=web", `service "todo" of the manifest is run by no troupe container`},
		{"headless Service lost", "nats.yaml", "  clusterIP: None\n  publishNotReadyAddresses", "  publishNotReadyAddresses", `serviceName "nats-headless": the governing Service must be headless`},
		{"projected ConfigMap key", "nats.yaml", "- key: nats-auth.conf", "- key: auth.conf", `volume config: ConfigMap "nats-auth" has no key "auth.conf"`},
		{"network policy peer", "networkpolicy.yaml", "app.kubernetes.io/component: todo", "app.kubernetes.io/component: tod", "matches the pods of no workload"},
		{"file not listed", "kustomization.yaml", "  - todo.yaml\n", "", "todo.yaml is not listed in kustomization.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			err := fs.WalkDir(k8s.Files, ".", func(path string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				data, err := fs.ReadFile(k8s.Files, path)
				fsys[path] = &fstest.MapFile{Data: data}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			data := string(fsys[tt.file].Data)
			if !strings.Contains(data, tt.old) {
				t.Fatalf("%s does not contain %q", tt.file, tt.old)
			}
			fsys[tt.file].Data = []byte(strings.Replace(data, tt.old, tt.new, 1))
			var got []string
			b, err := k8scheck.Load(fsys)
			if err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if b != nil {
				for _, p := range k8scheck.Check(b) {
					got = append(got, p.String())
				}
			}
			for _, g := range got {
				if strings.Contains(g, tt.want) {
					return
				}
			}
			t.Errorf("got:\n%s\nwant one containing %q", strings.Join(got, "\n"), tt.want)
		})
	}
}

// TestObjects keeps the list of objects in testdata/objects.golden, so that
// adding or removing one is a visible change in review. Run with -update to
// rewrite it.
func TestObjects(t *testing.T) {
	b, err := k8scheck.Load(k8s.Files)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	for _, o := range b.Objects {
		fmt.Fprintf(&sb, "%-18s %-40s %s\n", o.File, o.APIVersion+" "+o.Kind, o.Name)
	}
	got := sb.String()
	golden := filepath.Join("testdata", "objects.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("objects (-golden +got), run go test -update if intended:\n%s", diff)
	}
}
