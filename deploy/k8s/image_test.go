package k8s_test

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// instruction is one Dockerfile instruction: its keyword in upper case and
// its arguments, with continuation lines joined.
type instruction struct {
	line int
	cmd  string
	args string
}

// parseDockerfile reads the Dockerfile syntax the repository uses: comments,
// parser directives (# syntax=...), and instructions continued with a
// trailing backslash.
func parseDockerfile(data []byte) ([]instruction, error) {
	var out []instruction
	sc := bufio.NewScanner(bytes.NewReader(data))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		start := n
		for strings.HasSuffix(line, `\`) {
			line = strings.TrimSuffix(line, `\`)
			if !sc.Scan() {
				return nil, fmt.Errorf("line %d: continuation at end of file", n)
			}
			n++
			next := strings.TrimSpace(sc.Text())
			if strings.HasPrefix(next, "#") {
				next = `\` // a comment inside a continued instruction
			}
			line += " " + next
		}
		cmd, args, _ := strings.Cut(line, " ")
		out = append(out, instruction{line: start, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)})
	}
	return out, sc.Err()
}

// shellWords splits a shell command line into words as sh would for the
// simple commands of a Dockerfile: quotes, backslashes and ${VAR} or $VAR
// expanded from vars (an unknown variable is an error).
func shellWords(s string, vars map[string]string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	expand := func(i int) (int, error) {
		j := i + 1
		var name string
		if j < len(s) && s[j] == '{' {
			end := strings.IndexByte(s[j:], '}')
			if end < 0 {
				return 0, fmt.Errorf("unterminated ${ in %q", s)
			}
			name, j = s[j+1:j+end], j+end+1
		} else {
			k := j
			for k < len(s) && (s[k] == '_' || s[k] >= 'A' && s[k] <= 'Z' || s[k] >= 'a' && s[k] <= 'z' || s[k] >= '0' && s[k] <= '9') {
				k++
			}
			name, j = s[j:k], k
		}
		v, ok := vars[name]
		if !ok {
			return 0, fmt.Errorf("undefined variable %q in %q", name, s)
		}
		cur.WriteString(v)
		return j, nil
	}
	for i := 0; i < len(s); {
		switch ch := s[i]; {
		case ch == ' ' || ch == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
			i++
		case ch == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("unterminated ' in %q", s)
			}
			cur.WriteString(s[i+1 : i+1+end])
			inWord, i = true, i+end+2
		case ch == '"':
			inWord = true
			i++
			for i < len(s) && s[i] != '"' {
				switch {
				case s[i] == '$':
					j, err := expand(i)
					if err != nil {
						return nil, err
					}
					i = j
				case s[i] == '\\' && i+1 < len(s):
					cur.WriteByte(s[i+1])
					i += 2
				default:
					cur.WriteByte(s[i])
					i++
				}
			}
			if i >= len(s) {
				return nil, fmt.Errorf(`unterminated " in %q`, s)
			}
			i++
		case ch == '$':
			j, err := expand(i)
			if err != nil {
				return nil, err
			}
			inWord, i = true, j
		case ch == '\\' && i+1 < len(s):
			cur.WriteByte(s[i+1])
			inWord, i = true, i+2
		case ch == ';' || ch == '&' || ch == '|':
			return nil, fmt.Errorf("%q: more than one command", s)
		default:
			cur.WriteByte(ch)
			inWord, i = true, i+1
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

func readDockerfile(t *testing.T) []instruction {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	ins, err := parseDockerfile(data)
	if err != nil {
		t.Fatal(err)
	}
	return ins
}

// argDefaults returns the defaults of the ARG instructions before the first
// FROM: the variables FROM may use.
func argDefaults(ins []instruction) map[string]string {
	vars := map[string]string{}
	for _, in := range ins {
		if in.cmd == "FROM" {
			break
		}
		if in.cmd == "ARG" {
			name, def, _ := strings.Cut(in.args, "=")
			vars[name] = def
		}
	}
	return vars
}

func TestShellWords(t *testing.T) {
	vars := map[string]string{"V": "v1", "OS": "linux"}
	tests := []struct {
		in   string
		want []string
	}{
		{`go build -o /out/x ./cmd`, []string{"go", "build", "-o", "/out/x", "./cmd"}},
		{`GOOS=${OS} go  build`, []string{"GOOS=linux", "go", "build"}},
		{`-ldflags="-s -w -X main.version=${V}"`, []string{"-ldflags=-s -w -X main.version=v1"}},
		{`'$V' "$V" \$V`, []string{"$V", "v1", "$V"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := shellWords(tt.in, vars)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("words (-want +got):\n%s", diff)
			}
		})
	}
	for _, bad := range []string{`"open`, `${NOPE}`, `a && b`, `'open`} {
		if got, err := shellWords(bad, vars); err == nil {
			t.Errorf("shellWords(%q) = %q, want an error", bad, got)
		}
	}
}

// TestDockerfile checks the properties of the image that docs/operations.md
// promises: a multi-stage build of a static binary, pinned base images, a
// non-root user, no remote ADD, the gateway's port.
func TestDockerfile(t *testing.T) {
	ins := readDockerfile(t)
	vars := argDefaults(ins)
	var stages []string // image of each stage
	names := map[string]bool{}
	var lastUser string
	var exposed, entrypoint string
	var copied []string
	for _, in := range ins {
		switch in.cmd {
		case "FROM":
			f := strings.Fields(in.args)
			for len(f) > 1 && strings.HasPrefix(f[0], "--") { // --platform=...
				f = f[1:]
			}
			image, err := shellWords(f[0], vars)
			if err != nil || len(image) != 1 {
				t.Fatalf("line %d: FROM %s: %v", in.line, in.args, err)
			}
			stages = append(stages, image[0])
			if !names[image[0]] {
				tag, digest := "", ""
				ref, d, hasDigest := strings.Cut(image[0], "@")
				if hasDigest {
					digest = d
				}
				if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
					tag = ref[i+1:]
				}
				if digest == "" && (tag == "" || tag == "latest") {
					t.Errorf("line %d: base image %q is not pinned to a tag or digest", in.line, image[0])
				}
			}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				names[f[2]] = true
			}
			lastUser = ""
		case "ADD":
			if strings.Contains(in.args, "://") || strings.Contains(in.args, "git@") {
				t.Errorf("line %d: ADD of a remote source: %s", in.line, in.args)
			}
		case "USER":
			lastUser = in.args
		case "EXPOSE":
			exposed = in.args
		case "ENTRYPOINT":
			entrypoint = in.args
		case "COPY":
			if len(stages) > 1 {
				f := strings.Fields(in.args)
				dest := f[len(f)-1]
				copied = append(copied, dest)
				if dest == "/data" && !slices.Contains(f, "--chown=65532:65532") {
					t.Errorf("line %d: /data is not owned by the runtime user 65532", in.line)
				}
			}
		}
	}
	if len(stages) < 2 {
		t.Errorf("%d stages, want a multi-stage build", len(stages))
	}
	if final := stages[len(stages)-1]; !strings.HasPrefix(final, "gcr.io/distroless/static") && final != "scratch" {
		t.Errorf("final stage from %q, want distroless/static or scratch", final)
	}
	user, _, _ := strings.Cut(lastUser, ":")
	if user == "" || user == "0" || user == "root" {
		t.Errorf("final stage runs as %q, want a non-root user", lastUser)
	}
	if user != "65532" {
		t.Errorf("final stage runs as %q, want 65532 (numeric, so that runAsNonRoot can verify it; deploy/k8s uses it)", lastUser)
	}
	if exposed != "8080" {
		t.Errorf("EXPOSE %q, want 8080", exposed)
	}
	if !slices.Contains(copied, "/data") {
		t.Errorf("the final stage has no /data owned by the runtime user (COPY --chown=65532:65532 ... /data)")
	}
	if !strings.Contains(entrypoint, `"/usr/local/bin/troupe"`) || !slices.Contains(copied, "/usr/local/bin/troupe") {
		t.Errorf("ENTRYPOINT %s does not run the binary copied to /usr/local/bin/troupe (copied: %v)", entrypoint, copied)
	}
	build, _ := buildCommand(t, ins)
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-s -w"} {
		if !slices.ContainsFunc(build, func(w string) bool { return strings.Contains(w, want) }) {
			t.Errorf("build command %q lacks %s", build, want)
		}
	}
}

// buildCommand returns the words of the Dockerfile's go build RUN step
// (mount options dropped), with the build arguments the Dockerfile declares
// in scope.
func buildCommand(t *testing.T, ins []instruction) (words []string, vars map[string]string) {
	t.Helper()
	vars = map[string]string{}
	for _, in := range ins {
		switch in.cmd {
		case "FROM":
			vars = map[string]string{}
		case "ARG":
			name, def, _ := strings.Cut(in.args, "=")
			vars[name] = def
		case "RUN":
			if !strings.Contains(in.args, "go build") {
				continue
			}
			args := in.args
			for strings.HasPrefix(args, "--mount=") {
				_, args, _ = strings.Cut(args, " ")
				args = strings.TrimSpace(args)
			}
			// Keep the variables for the caller to set: expand them to
			// themselves here.
			self := map[string]string{}
			for k := range vars {
				self[k] = "${" + k + "}"
			}
			w, err := shellWords(args, self)
			if err != nil {
				t.Fatalf("line %d: %v", in.line, err)
			}
			return w, vars
		}
	}
	t.Fatal("the Dockerfile has no RUN go build step")
	return nil, nil
}

// buildLikeImage builds the demo into dir exactly as the Dockerfile's
// build step does, for this machine's platform, with version stamped, and
// returns the binary's path.
func buildLikeImage(t *testing.T, dir, version string) string {
	t.Helper()
	ins := readDockerfile(t)
	words, vars := buildCommand(t, ins)
	vars["VERSION"] = version
	vars["TARGETOS"] = runtime.GOOS
	vars["TARGETARCH"] = runtime.GOARCH
	out := filepath.Join(dir, "troupe")
	var env, argv []string
	for i, w := range words {
		expanded, err := shellWords(`"`+strings.ReplaceAll(w, `"`, `\"`)+`"`, vars)
		if err != nil {
			t.Fatal(err)
		}
		w = expanded[0]
		if len(argv) == 0 && strings.Contains(w, "=") && !strings.HasPrefix(w, "-") {
			env = append(env, w)
			continue
		}
		if i > 0 && words[i-1] == "-o" {
			w = out
		}
		argv = append(argv, w)
	}
	if len(argv) < 2 || argv[0] != "go" || argv[1] != "build" || !slices.Contains(argv, "-o") {
		t.Fatalf("build step %q is not go build -o ...", words)
	}
	if !slices.ContainsFunc(ins, func(in instruction) bool { return in.cmd == "WORKDIR" && in.args == "/src/examples" }) {
		t.Fatal("the Dockerfile does not build in /src/examples (the examples module)")
	}
	cmd := exec.Command("go", argv[1:]...)
	cmd.Dir = filepath.Join("..", "..", "examples")
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", strings.Join(env, " "), strings.Join(argv, " "), err, b)
	}
	return out
}

// TestImageBinary builds the binary exactly as the Dockerfile's build step
// does, for this machine's platform, and checks that it is static and runs.
func TestImageBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the demo from scratch (CGO_ENABLED=0 has its own build cache): not in -short")
	}
	const version = "v0.0.0-imagetest"
	out := buildLikeImage(t, t.TempDir(), version)

	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("the binary has a %v program header: it is dynamically linked", p.Type)
		}
	}
	if s := f.Section(".dynamic"); s != nil {
		t.Errorf("the binary has a .dynamic section")
	}
	if s := f.Section(".symtab"); s != nil {
		t.Errorf("the binary has a symbol table: -s was not applied")
	}

	got, err := exec.Command(out, "version").Output()
	if err != nil {
		t.Fatalf("troupe version: %v", err)
	}
	if want := "troupe " + version + " "; !strings.HasPrefix(string(got), want) {
		t.Errorf("troupe version printed %q, want it to start with %q", got, want)
	}
}

// ignored reports whether .dockerignore's patterns exclude path (relative to
// the repository, slash-separated) or a directory above it. It knows the
// pattern forms the file uses: names, paths, globs and a leading "**/".
func ignored(patterns []string, path string) bool {
	parts := strings.Split(path, "/")
	for _, p := range patterns {
		anyDepth := strings.HasPrefix(p, "**/")
		p = strings.TrimPrefix(p, "**/")
		n := strings.Count(p, "/") + 1
		for start := 0; start+n <= len(parts); start++ {
			if start > 0 && !anyDepth {
				break
			}
			if ok, _ := filepath.Match(p, strings.Join(parts[start:start+n], "/")); ok {
				return true
			}
		}
	}
	return false
}

// TestDockerignore checks that the build context keeps every file the image
// build needs (go.mod, go.sum, troupe.yaml and the Go files of every package
// the demo imports from the framework's and the examples' modules) and drops
// the repository's history.
func TestDockerignore(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			if strings.HasPrefix(l, "!") {
				t.Fatalf("exception %q: extend ignored() first", l)
			}
			patterns = append(patterns, l)
		}
	}
	for _, tt := range []struct {
		path string
		want bool
	}{
		{".git/HEAD", true},
		{"a/b/x.test", true},
		{"gateway/testdata/fuzz/FuzzX/1", true},
		{"troupe", true},
		{"examples/demo/main.go", false},
	} {
		if got := ignored(patterns, tt.path); got != tt.want {
			t.Errorf("ignored(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}

	cmd := exec.Command("go", "list", "-deps", "-f", `{{if .Module}}{{if or .Module.Main (eq .Module.Path "github.com/troupe-go/troupe")}}{{.Dir}}{{range .GoFiles}} {{.}}{{end}}{{range .EmbedFiles}} {{.}}{{end}}{{end}}{{end}}`, "./demo")
	cmd.Dir = filepath.Join("..", "..", "examples")
	cmd.Env = append(os.Environ(), "GOWORK=off") // as the image builds
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	need := []string{"go.mod", "go.sum", "examples/go.mod", "examples/go.sum", "troupe.yaml"}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		rel, err := filepath.Rel(root, f[0])
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range f[1:] {
			need = append(need, filepath.ToSlash(filepath.Join(rel, name)))
		}
	}
	if len(need) < 10 {
		t.Fatalf("go list found only %v", need)
	}
	for _, p := range need {
		if ignored(patterns, p) {
			t.Errorf(".dockerignore drops %s, which the build needs", p)
		}
	}
}
