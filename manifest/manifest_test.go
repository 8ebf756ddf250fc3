package manifest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/manifest"
	"go.uber.org/goleak"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestGolden runs `troupe lint` on every manifest in testdata/good and
// testdata/bad and compares its output (and, for good manifests, a dump of
// the App) with the .golden file beside it.
func TestGolden(t *testing.T) {
	for _, dir := range []string{"good", "bad"} {
		files, err := filepath.Glob(filepath.Join("testdata", dir, "*.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Fatalf("no manifests in testdata/%s", dir)
		}
		for _, file := range files {
			t.Run(dir+"/"+filepath.Base(file), func(t *testing.T) {
				stdout, code := lint(t, file)
				wantCode := 0
				if dir == "bad" {
					wantCode = 1
				}
				if code != wantCode {
					t.Errorf("lint exit status = %d, want %d; output:\n%s", code, wantCode, stdout)
				}
				got := fmt.Sprintf("%sexit %d\n", stdout, code)
				if dir == "good" {
					got += "--- app\n" + dump(t, file)
				}
				golden := strings.TrimSuffix(file, ".yaml") + ".golden"
				if *update {
					if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if diff := cmp.Diff(string(want), got); diff != "" {
					t.Errorf("output differs from %s (-want +got):\n%s", golden, diff)
				}
			})
		}
	}
}

// dump returns the App parsed from file as indented JSON.
func dump(t *testing.T, file string) string {
	t.Helper()
	app, err := manifest.Load(file)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	b, err := json.MarshalIndent(app, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

// TestBadManifestsAreCovered makes sure the bad testdata keeps one file per
// validation rule, so that a deleted file does not silently drop a rule.
func TestBadManifestsAreCovered(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "bad", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(files), 15; got < want {
		t.Errorf("%d bad manifests in testdata/bad, want at least %d", got, want)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want *troupe.App
	}{
		{
			name: "app only",
			yaml: "app: a\n",
			want: &troupe.App{Name: "a"},
		},
		{
			name: "implicit gateway sends each route message once, in route order",
			yaml: `
app: a
services:
  s:
    receives: [m1, m2, m3]
gateway:
  routes:
    - path: /
      types: [m2, m1]
    - {method: GET, path: "/x/{id}", message: m1}
    - {method: PUT, path: "/x/{id}", message: m3}
`,
			want: &troupe.App{
				Name: "a",
				Services: []troupe.ServiceDecl{
					{Name: "s", Receives: []string{"m1", "m2", "m3"}},
					{Name: troupe.GatewayService, Sends: []string{"m2", "m1", "m3"}},
				},
				Routes: []troupe.Route{
					{Method: "POST", Path: "/", Types: []string{"m2", "m1"}},
					{Method: "GET", Path: "/x/{id}", Message: "m1"},
					{Method: "PUT", Path: "/x/{id}", Message: "m3"},
				},
			},
		},
		{
			name: "explicit gateway is kept as declared",
			yaml: `
app: a
services:
  gateway:
    sends: [m, n]
  s:
    receives: [m, n]
gateway:
  routes: [{path: /, types: [m]}]
`,
			want: &troupe.App{
				Name: "a",
				Services: []troupe.ServiceDecl{
					{Name: "gateway", Sends: []string{"m", "n"}},
					{Name: "s", Receives: []string{"m", "n"}},
				},
				Routes: []troupe.Route{{Method: "POST", Path: "/", Types: []string{"m"}}},
			},
		},
		{
			name: "every service field",
			yaml: `
app: a
services:
  s:
    sends: [out]
    receives: [in, in2]
    durable: [in2]
    instances: 0x10
    command: [/bin/s, "-v", ""]
    env: {A: 1, B: "", C: true}
`,
			want: &troupe.App{
				Name: "a",
				Services: []troupe.ServiceDecl{{
					Name: "s", Sends: []string{"out"}, Receives: []string{"in", "in2"},
					Durable: []string{"in2"}, Instances: 16, Command: []string{"/bin/s", "-v", ""},
					Env: map[string]string{"A": "1", "B": "", "C": "true"},
				}},
			},
		},
		{
			name: "no routes, no gateway service",
			yaml: "app: a\nservices: {s: {}}\ngateway: {routes: []}\n",
			want: &troupe.App{Name: "a", Services: []troupe.ServiceDecl{{Name: "s"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := manifest.Parse("t.yaml", []byte(tt.yaml))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want manifest.Errors // Msg is compared by prefix
	}{
		{
			name: "all errors, in file order",
			yaml: "app: A\nservices:\n  s:\n    receives: [1]\n    instances: -2\n",
			want: manifest.Errors{
				{File: "f.yaml", Line: 1, Column: 6, Msg: `app name "A" may hold only`},
				{File: "f.yaml", Line: 4, Column: 16, Msg: `service "s": receives: bad message name "1" must start with a letter`},
				{File: "f.yaml", Line: 5, Column: 16, Msg: `service "s": instances is -2`},
			},
		},
		{
			name: "unknown key lists the known ones",
			yaml: "app: a\nservice: {}\n",
			want: manifest.Errors{
				{File: "f.yaml", Line: 2, Column: 1, Msg: `unknown key "service" in the manifest; known keys: app, services, gateway`},
			},
		},
		{
			name: "syntax error has a line",
			yaml: "app: a\n  b: c\n",
			want: manifest.Errors{{File: "f.yaml", Line: 2, Msg: "YAML syntax: "}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app, err := manifest.Parse("f.yaml", []byte(tt.yaml))
			if app != nil {
				t.Errorf("Parse returned an App with errors: %+v", app)
			}
			var got manifest.Errors
			if !errors.As(err, &got) {
				t.Fatalf("Parse error = %v (%T), want manifest.Errors", err, err)
			}
			prefix := cmp.Comparer(func(a, b manifest.Error) bool {
				return a.File == b.File && a.Line == b.Line && a.Column == b.Column &&
					(strings.HasPrefix(a.Msg, b.Msg) || strings.HasPrefix(b.Msg, a.Msg))
			})
			if diff := cmp.Diff(tt.want, got, prefix); diff != "" {
				t.Errorf("Parse errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestErrorsFormat(t *testing.T) {
	errs := manifest.Errors{
		{File: "a.yaml", Line: 3, Column: 7, Msg: "bad one"},
		{File: "a.yaml", Line: 4, Msg: "no column"},
		{File: "a.yaml", Msg: "no line"},
		{Line: 2, Column: 1, Msg: "no file"},
		{Msg: "nothing"},
	}
	got := errs.Error()
	want := "a.yaml:3:7: bad one\na.yaml:4: no column\na.yaml: no line\n2:1: no file\nnothing"
	if got != want {
		t.Errorf("Errors.Error() = %q, want %q", got, want)
	}
}

func TestParseTooLarge(t *testing.T) {
	data := []byte("app: a\n# " + strings.Repeat("x", manifest.MaxSize) + "\n")
	_, err := manifest.Parse("big.yaml", data)
	var errs manifest.Errors
	if !errors.As(err, &errs) || len(errs) != 1 || !strings.Contains(errs[0].Msg, "larger than") {
		t.Errorf("Parse(too large) error = %v, want one error saying it is too large", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := manifest.Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) error = %v, want os.ErrNotExist", err)
	}
	if err != nil && !strings.HasPrefix(err.Error(), "manifest: ") {
		t.Errorf("Load(missing) error = %q, want the prefix \"manifest: \"", err)
	}
}

func TestLint(t *testing.T) {
	app, err := manifest.Parse("w.yaml", []byte(`
app: w
services:
  a:
    sends: [x, y]
    receives: [z]
  b:
    receives: [y, q]
`))
	if err != nil {
		t.Fatal(err)
	}
	got := manifest.Lint(app)
	want := []manifest.Warning{
		{File: "w.yaml", Line: 5, Column: 13, Msg: `message "x" is sent by a but received by no service`},
		{File: "w.yaml", Line: 6, Column: 16, Msg: `message "z" is received by a but sent by no service`},
		{File: "w.yaml", Line: 8, Column: 19, Msg: `message "q" is received by b but sent by no service`},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Lint (-want +got):\n%s", diff)
	}

	// A hand-built App has no positions, but the same warnings.
	copied := *app
	got = manifest.Lint(&copied)
	for i := range want {
		want[i].File, want[i].Line, want[i].Column = "", 0, 0
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Lint(copy) (-want +got):\n%s", diff)
	}
	if got := manifest.Lint(nil); got != nil {
		t.Errorf("Lint(nil) = %v, want nil", got)
	}
}

// TestLintPositionsAreReleased checks that the side table of positions does
// not keep Apps alive: an App dropped by the caller is collected.
func TestLintPositionsAreReleased(t *testing.T) {
	collected := make(chan struct{})
	func() {
		app, err := manifest.Parse("t.yaml", []byte("app: a\nservices: {s: {sends: [m]}}\n"))
		if err != nil {
			t.Fatal(err)
		}
		runtime.AddCleanup(app, func(c chan struct{}) { close(c) }, collected)
	}()
	for range 100 {
		runtime.GC()
		select {
		case <-collected:
			return
		default:
		}
		runtime.Gosched()
	}
	t.Errorf("an App returned by Parse was not collected after 100 GCs")
}

// lint prints what `troupe lint FILE` prints (host's lint command): the
// errors, one per line, and status 1; or the warnings and status 0.
func lint(t *testing.T, file string) (string, int) {
	t.Helper()
	var out strings.Builder
	app, err := manifest.Load(file)
	var errs manifest.Errors
	if errors.As(err, &errs) {
		for _, e := range errs {
			fmt.Fprintln(&out, e.Error())
		}
		return out.String(), 1
	}
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	for _, w := range manifest.Lint(app) {
		fmt.Fprintln(&out, w.String())
	}
	return out.String(), 0
}

// FuzzParse feeds arbitrary bytes to Parse: it must never panic, must
// return either an App or a non-empty Errors, and an App it returns must
// satisfy the rules it checks.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"good", "bad"} {
		files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.yaml"))
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Add([]byte("app: x\nservices: {s: &s {receives: [m]}, t: *s}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		app, err := manifest.Parse("fuzz.yaml", data)
		// YAML breaks lines at \n, \r, NEL, LS and PS.
		lines := 2
		for _, br := range []string{"\n", "\r", "\u0085", "\u2028", "\u2029"} {
			lines += bytes.Count(data, []byte(br))
		}
		if err != nil {
			var errs manifest.Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("error %v (%T) is not a non-empty manifest.Errors", err, err)
			}
			if app != nil {
				t.Fatalf("App and error both returned")
			}
			for _, e := range errs {
				if e.Line < 0 || e.Line > lines || e.Msg == "" {
					t.Fatalf("bad error item %+v", e)
				}
			}
			return
		}
		if err := troupe.ValidServiceName(app.Name); err != nil {
			t.Fatalf("app name %q accepted: %v", app.Name, err)
		}
		seen := map[string]bool{}
		for _, s := range app.Services {
			if err := troupe.ValidServiceName(s.Name); err != nil || seen[s.Name] {
				t.Fatalf("service name %q accepted (err %v, duplicate %v)", s.Name, err, seen[s.Name])
			}
			seen[s.Name] = true
			if s.Name == troupe.OperatorService {
				t.Fatalf("service %q accepted", s.Name)
			}
			for _, m := range slices.Concat(s.Sends, s.Receives, s.Durable) {
				if err := troupe.ValidPortableName(m); err != nil {
					t.Fatalf("message name %q accepted: %v", m, err)
				}
			}
			for _, m := range s.Durable {
				if !slices.Contains(s.Receives, m) {
					t.Fatalf("durable %q not in receives of %s", m, s.Name)
				}
			}
			if s.Instances < 0 || s.Command != nil && (len(s.Command) == 0 || s.Command[0] == "") {
				t.Fatalf("bad service accepted: %+v", s)
			}
		}
		for _, r := range app.Routes {
			for _, m := range slices.Concat(r.Types, []string{r.Message}) {
				if m != "" && len(app.Receivers(m)) == 0 {
					t.Fatalf("route message %q has no receiver", m)
				}
				if m != "" && !app.MaySend(troupe.GatewayService, m) {
					t.Fatalf("gateway may not send route message %q", m)
				}
			}
		}
		for _, r := range app.Routes {
			if err := troupe.ValidRoute(r); err != nil {
				t.Fatalf("route %+v accepted: %v", r, err)
			}
		}
		for _, m := range app.Messages {
			if len(m.Payload) > 0 && !json.Valid(m.Payload) {
				t.Fatalf("message %q: payload schema is not JSON: %s", m.Name, m.Payload)
			}
		}
		checkRuns(t, app)
		manifest.Lint(app)
	})
}

// TestSyntaxErrorLines checks the lines of YAML syntax errors, which
// go.yaml.in/yaml/v3 counts from 0 for some errors and from 1 for others.
func TestSyntaxErrorLines(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"unclosed flow sequence", "app: demo\nservices:\n  hello:\n    receives: [Hello\n  web: {}\n",
			"f.yaml:4: YAML syntax: did not find expected ',' or ']'"},
		{"unclosed flow sequence at the end", "a: 1\nb: 2\nc: [\n", "f.yaml:4: YAML syntax: did not find expected node content"},
		{"bad indentation", "app: demo\nx: y\n  b: c\n", "f.yaml:3: YAML syntax: mapping values are not allowed in this context"},
		{"tab", "app: demo\n\tb: c\n", "f.yaml:2:1: YAML syntax: a tab character where YAML wants spaces (indent with spaces, never tabs)"},
		{"tab after spaces", "app: demo\nservices:\n  \thello: {}\n", "f.yaml:3:3: YAML syntax: a tab character where YAML wants spaces (indent with spaces, never tabs)"},
		{"list in a mapping", "a: b\n- c\n", "f.yaml:2: YAML syntax: did not find expected key"},
		{"bad token", "a: 1\nb: 2\nc: @x\n", "f.yaml:3: YAML syntax: found character that cannot start any token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := manifest.Parse("f.yaml", []byte(tt.yaml))
			if got := fmt.Sprint(err); got != tt.want {
				t.Errorf("Parse error = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseTooManyRoutes(t *testing.T) {
	var b strings.Builder
	b.WriteString("app: a\nservices: {s: {receives: [m]}}\ngateway:\n  routes:\n")
	for i := range manifest.MaxRoutes + 1 {
		fmt.Fprintf(&b, "    - {method: GET, path: /r%d, message: m}\n", i)
	}
	_, err := manifest.Parse("f.yaml", []byte(b.String()))
	want := fmt.Sprintf("f.yaml:5:5: gateway has %d routes (at most %d)", manifest.MaxRoutes+1, manifest.MaxRoutes)
	if got := fmt.Sprint(err); got != want {
		t.Errorf("Parse error = %q, want %q", got, want)
	}
}

func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("testdata", "good", "demo.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := manifest.Parse("demo.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}
