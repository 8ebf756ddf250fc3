package k8s_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/troupe-go/troupe/deploy/k8s"
	"github.com/troupe-go/troupe/internal/k8scheck"
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
		fmt.Fprintf(&sb, "%-14s %-40s %s\n", o.File, o.APIVersion+" "+o.Kind, o.Name)
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
