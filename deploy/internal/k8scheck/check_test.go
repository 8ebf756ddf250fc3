package k8scheck_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/troupe-go/troupe/deploy/internal/k8scheck"
)

// check decodes and checks one file, returning the decoding error and the
// problems as strings.
func check(t *testing.T, file string) (problems []string, decodeErr error) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := k8scheck.Decode(filepath.Base(file), data)
	if err != nil {
		return nil, err
	}
	for _, p := range k8scheck.Check(&k8scheck.Bundle{Objects: objs}) {
		problems = append(problems, p.String())
	}
	return problems, nil
}

func TestGood(t *testing.T) {
	problems, err := check(t, filepath.Join("testdata", "good.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 {
		t.Errorf("good.yaml has problems:\n%s", strings.Join(problems, "\n"))
	}
}

// TestBad checks that each broken input of testdata/bad, which differs from
// good.yaml in one mistake, fails with a message that names the mistake.
func TestBad(t *testing.T) {
	tests := []struct {
		file string
		want string // a substring of the decoding error or of one problem
	}{
		{"no-liveness-probe", "Deployment demo/hello: container troupe: no livenessProbe"},
		{"no-readiness-probe", "Deployment demo/hello: container troupe: no readinessProbe"},
		{"typo-field", `typo-field.yaml:31: Deployment: unknown field "spec.template.spec.containers[0].readinesProbe"`},
		{"case-typo", `unknown field "spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem"`},
		{"wrong-type", "cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"},
		{"bad-quantity", "quantities must match the regular expression"},
		{"duplicate-key", `key "replicas" already set in map`},
		{"removed-api-version", `removed-api-version.yaml:127:`},
		{"removed-api-version", `apiVersion "autoscaling/v2beta2" kind "HorizontalPodAutoscaler" is not a known API type`},
		{"missing-secret", `env TROUPE_NATS_URL: no such Secret "troupe-credentials"`},
		{"missing-secret-key", `env TROUPE_NATS_URL: Secret "troupe" has no key "NATS_URL"`},
		{"missing-configmap", `volume manifest: no such ConfigMap "troupe-config"`},
		{"missing-volume", `volumeMount "config" at /etc/troupe: no such volume`},
		{"undefined-variable", "uses $(NATS_URL), which is not an environment variable"},
		{"selector-mismatch", "does not match the pod template's labels"},
		{"service-selects-nothing", "Service demo/hello: spec.selector map[app:helo] matches the pods of no workload"},
		{"service-bad-port", `targetPort web is not a container port of Deployment demo/hello`},
		{"hpa-missing-target", `scaleTargetRef: no such Deployment "hullo"`},
		{"pdb-blocks-drain", "allows no disruption at 2 replicas"},
		{"run-as-root", "runAsNonRoot is not true"},
		{"run-as-root", "runAsUser is 0 (root)"},
		{"writable-root", "readOnlyRootFilesystem is not true"},
		{"capabilities-kept", "capabilities do not drop ALL"},
		{"privilege-escalation", "allowPrivilegeEscalation is not false"},
		{"no-seccomp", "seccompProfile is not RuntimeDefault"},
		{"latest-image", `image "example.com/troupe:latest" is not pinned`},
		{"no-limits", "no cpu limit"},
		{"no-limits", "no memory limit"},
		{"no-spread", "all replicas may land on one node"},
		{"probe-port", "readinessProbe: port 9090 is not a port of the container"},
		{"wrong-health-path", `troupe's liveness endpoint is /healthz, not "/health"`},
		{"only-unknown-service", "--only helo: the manifest declares no such service"},
		{"manifest-invalid", `ConfigMap demo/troupe-manifest: data troupe.yaml: `},
		{"manifest-lint", `ConfigMap demo/troupe-manifest: data troupe.yaml: lint: `},
		{"no-pdb", "no PodDisruptionBudget covers its pods"},
		{"undeclared-namespace", `namespace "dmeo" is not declared by a Namespace here`},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.file] = true
		t.Run(tt.file, func(t *testing.T) {
			problems, err := check(t, filepath.Join("testdata", "bad", tt.file+".yaml"))
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			got = append(got, problems...)
			if len(got) == 0 {
				t.Fatalf("no error and no problem, want one containing %q", tt.want)
			}
			for _, g := range got {
				if strings.Contains(g, tt.want) {
					return
				}
			}
			t.Errorf("got:\n%s\nwant one containing %q", strings.Join(got, "\n"), tt.want)
		})
	}
	files, err := filepath.Glob(filepath.Join("testdata", "bad", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if name := strings.TrimSuffix(filepath.Base(f), ".yaml"); !seen[name] {
			t.Errorf("%s has no test case", f)
		}
	}
}

func TestDecodeLines(t *testing.T) {
	data := []byte(`# leading comment
---
apiVersion: v1
kind: Namespace
metadata:
  name: a
--- # second
# only a comment
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: b
  namespace: a
`)
	objs, err := k8scheck.Decode("x.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	type obj struct {
		Line       int
		String     string
		APIVersion string
	}
	var got []obj
	for _, o := range objs {
		got = append(got, obj{o.Line, o.String(), o.APIVersion})
	}
	want := []obj{{3, "Namespace a", "v1"}, {10, "ServiceAccount a/b", "v1"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		data string
		want string
	}{
		{"not yaml", "a: [", "x.yaml:1: not a Kubernetes object"},
		{"no kind", "apiVersion: v1\nmetadata: {name: a}\n", "x.yaml:1: not a Kubernetes object: apiVersion and kind are required"},
		{"unknown kind", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n", `x.yaml:1: apiVersion "v1" kind "Pod" is not a known API type`},
		{"second document", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {nam: b}\n", `x.yaml:5: Namespace: unknown field "metadata.nam"`},
		{"too big", strings.Repeat("#", k8scheck.MaxSize+1), "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := k8scheck.Decode("x.yaml", []byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestLoadGenerator(t *testing.T) {
	fsys := fstest.MapFS{
		"kustomization.yaml": {Data: []byte("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: a\nresources: []\nconfigMapGenerator:\n  - name: c\n    files: [a.conf, b=b.conf]\n    literals: [c=3]\n")},
		"a.conf":             {Data: []byte("1")},
		"b.conf":             {Data: []byte("2")},
	}
	b, err := k8scheck.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Objects) != 1 {
		t.Fatalf("got %d objects, want 1", len(b.Objects))
	}
	cm, ok := b.Objects[0].Value.(*corev1.ConfigMap)
	if !ok {
		t.Fatalf("got a %T, want a ConfigMap", b.Objects[0].Value)
	}
	if got, want := b.Objects[0].String(), "ConfigMap a/c"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if diff := cmp.Diff(map[string]string{"a.conf": "1", "b": "2", "c": "3"}, cm.Data); diff != "" {
		t.Errorf("data (-want +got):\n%s", diff)
	}
}

func TestLoad(t *testing.T) {
	const kust = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: a\nresources:\n  - ns.yaml\n"
	const ns = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n"
	tests := []struct {
		name  string
		files map[string]string
		want  string // "" for success
	}{
		{"ok", map[string]string{"kustomization.yaml": kust, "ns.yaml": ns}, ""},
		{"no kustomization", map[string]string{"ns.yaml": ns}, "kustomization.yaml: file does not exist"},
		{"unknown field", map[string]string{"kustomization.yaml": kust + "commonLabels: {a: b}\n", "ns.yaml": ns}, `unknown field "commonLabels"`},
		{"wrong kind", map[string]string{"kustomization.yaml": strings.Replace(kust, "kind: Kustomization", "kind: Component", 1), "ns.yaml": ns}, `kind "Component"`},
		{"missing resource", map[string]string{"kustomization.yaml": kust}, `resource "ns.yaml": open ns.yaml: file does not exist`},
		{"remote resource", map[string]string{"kustomization.yaml": kust + "  - https://example.com/x.yaml\n", "ns.yaml": ns}, `want a .yaml file in this directory`},
		{"unlisted file", map[string]string{"kustomization.yaml": kust, "ns.yaml": ns, "extra.yaml": ns}, "extra.yaml is not listed"},
		{"generator", map[string]string{"kustomization.yaml": kust + "configMapGenerator:\n  - name: c\n    files: [a.conf, b=b.conf]\n    literals: [c=3]\n", "ns.yaml": ns, "a.conf": "1", "b.conf": "2"}, ""},
		{"generator missing file", map[string]string{"kustomization.yaml": kust + "configMapGenerator:\n  - name: c\n    files: [a.conf]\n", "ns.yaml": ns}, "configMapGenerator c: open a.conf: file does not exist"},
		{"bad resource", map[string]string{"kustomization.yaml": kust, "ns.yaml": ns + "spec: {finalizers: 3}\n"}, "ns.yaml:1: Namespace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for name, data := range tt.files {
				fsys[name] = &fstest.MapFile{Data: []byte(data)}
			}
			_, err := k8scheck.Load(fsys)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("got error %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestCheckKustomization checks the checks that need the kustomization:
// namespaces and image overrides.
func TestCheckKustomization(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "good.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := k8scheck.Decode("good.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		k    k8scheck.Kustomization
		want []string
	}{
		{"ok", k8scheck.Kustomization{Namespace: "demo", Images: []k8scheck.Image{{Name: "example.com/troupe", NewTag: "v2"}}}, nil},
		{"image unused", k8scheck.Kustomization{Images: []k8scheck.Image{{Name: "example.com/troop", NewTag: "v2"}}}, []string{
			`kustomization.yaml:0: Kustomization: images: "example.com/troop" is used by no container`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, p := range k8scheck.Check(&k8scheck.Bundle{Kustomization: &tt.k, Objects: objs}) {
				got = append(got, p.String())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	for _, name := range []string{"good.yaml", "bad/typo-field.yaml", "bad/duplicate-key.yaml"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("---\n---\n"))
	f.Add([]byte("apiVersion: v1\nkind: Secret\ndata: {a: '!!'}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, _ := k8scheck.Decode("fuzz.yaml", data)
		// Whatever decoded must survive the checks.
		k8scheck.Check(&k8scheck.Bundle{Objects: objs})
	})
}

// TestDecodeMutated runs Decode and Check on randomly damaged copies of the
// test inputs (a fixed seed, so a failure repeats): neither may panic. It
// complements FuzzDecode, whose engine makes little progress on a binary
// that holds the whole Kubernetes API.
func TestDecodeMutated(t *testing.T) {
	var seeds [][]byte
	for _, name := range []string{"good.yaml", "bad/typo-field.yaml", "bad/duplicate-key.yaml", "bad/only-unknown-service.yaml"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, data)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		s := slices.Clone(seeds[r.IntN(len(seeds))])
		for range 1 + r.IntN(4) {
			p := r.IntN(len(s))
			switch r.IntN(3) {
			case 0: // overwrite a byte
				s[p] = byte(r.IntN(256))
			case 1: // cut a piece
				s = slices.Delete(s, p, min(len(s), p+r.IntN(20)))
			case 2: // copy a piece elsewhere
				q := r.IntN(len(s))
				s = slices.Insert(s, p, slices.Clone(s[q:min(len(s), q+r.IntN(40))])...)
			}
		}
		objs, _ := k8scheck.Decode("mutated.yaml", s)
		k8scheck.Check(&k8scheck.Bundle{Objects: objs})
	}
}
