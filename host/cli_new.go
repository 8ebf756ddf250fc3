package host

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"text/template"

	"github.com/troupe-go/troupe"
)

// troupeModule is the framework's module path.
const troupeModule = "github.com/troupe-go/troupe"

// unpublished is the version a scaffolded go.mod requires when the module is
// replaced by a local checkout.
const unpublished = "v0.0.0-00010101000000-000000000000"

//go:embed all:template/hello
var helloTemplate embed.FS

// scaffold is what the templates are filled with.
type scaffold struct {
	Name          string // the application's name (a valid service name)
	Module        string // the new module's path
	GoVersion     string
	TroupeVersion string
	Replace       string // a local troupe checkout, or ""
}

// newCmd is `new DIR`: a module from seed 001's hello template.
func (p Program) newCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := p.newFlagSet("new", "DIR", "Creates a new troupe application in DIR (which must not exist or be empty) from\n"+
		"seed 001's hello template: main.go, troupe.yaml, a hello service and its test,\n"+
		"and a README whose first two commands run the application and its tests. Then it\n"+
		"runs 'go mod tidy' there (offline, from the module cache as far as it goes).\n\n"+
		"Until troupe is published, the new module builds against a local checkout:\n"+
		"-replace names it (default: the current directory, when it is one).", stdout, stderr)
	var (
		module  = fs.String("module", "", "the new module's path (default: example.com/ and DIR's base name)")
		replace = fs.String("replace", "", "path of a local troupe checkout to build against (a replace directive)")
		noTidy  = fs.Bool("no-tidy", false, "do not run 'go mod tidy' in the new module")
	)
	if err := parse(fs, args, stdout); err != nil {
		return done(err)
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	dir := fs.Arg(0)
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("new: %w", err)
	}
	name := appName(filepath.Base(abs))
	if err := troupe.ValidServiceName(name); err != nil {
		return fmt.Errorf("new: %s does not make an application name (%v); choose a directory named with letters and digits", dir, err)
	}
	sc := scaffold{Name: name, Module: *module, GoVersion: goVersion(), TroupeVersion: troupeVersion()}
	if sc.Module == "" {
		sc.Module = "example.com/" + name
	}
	if !validModulePath(sc.Module) {
		return fmt.Errorf("new: -module %q is not a module path", sc.Module)
	}
	if sc.Replace, err = replacement(*replace, sc.TroupeVersion); err != nil {
		return fmt.Errorf("new: %w", err)
	}
	if sc.Replace != "" {
		sc.TroupeVersion = unpublished
		if rel, err := filepath.Rel(abs, sc.Replace); err == nil && !filepath.IsAbs(rel) {
			sc.Replace = filepath.ToSlash(rel)
			if !strings.HasPrefix(sc.Replace, ".") {
				sc.Replace = "./" + sc.Replace
			}
		}
	}
	if err := emptyDir(abs); err != nil {
		return fmt.Errorf("new: %w", err)
	}
	if err := writeTemplate(abs, sc); err != nil {
		return fmt.Errorf("new: %w", err)
	}
	fmt.Fprintf(stdout, "created %s (module %s)\n", dir, sc.Module)
	if !*noTidy {
		if err := tidy(ctx, abs, dir, stderr); err != nil {
			return fmt.Errorf("new: %w", err)
		}
	}
	fmt.Fprintf(stdout, "next:\n  cd %s\n  go run . run      # the application\n  go test ./...     # its tests\n", dir)
	return nil
}

// tidy runs go mod tidy in the new module at abs (shown as dir). Offline
// it fails on modules that only the tests of the framework's dependencies
// import, which a module cache filled by building troupe does not hold;
// then tidy -e records what the cache has, and if the new module builds
// from that, the module is usable: a note says to run go mod tidy once the
// module proxy is reachable. Otherwise tidy's error stands.
func tidy(ctx context.Context, abs, dir string, stderr io.Writer) error {
	gocmd := func(out io.Writer, args ...string) error {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir, cmd.Stdout, cmd.Stderr = abs, out, out
		return cmd.Run()
	}
	err := gocmd(stderr, "mod", "tidy")
	if err == nil {
		return nil
	}
	if gocmd(io.Discard, "mod", "tidy", "-e") == nil && gocmd(io.Discard, "build", "./...") == nil {
		fmt.Fprintf(stderr, "note: go mod tidy could not fetch every module it checks (above); the new module builds "+
			"from the module cache. Run 'go mod tidy' in %s once the module proxy is reachable.\n", dir)
		return nil
	}
	return fmt.Errorf("go mod tidy in %s: %w (run it yourself once the module proxy is reachable)", dir, err)
}

// writeTemplate fills the hello template into dir.
func writeTemplate(dir string, sc scaffold) error {
	const root = "template/hello"
	return fs.WalkDir(helloTemplate, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel := strings.TrimSuffix(strings.TrimPrefix(p, root+"/"), ".tmpl")
		if rel == "gitignore" {
			rel = ".gitignore" // a dot file would not be embedded by name
		}
		text, err := helloTemplate.ReadFile(p)
		if err != nil {
			return err
		}
		t, err := template.New(rel).Parse(string(text))
		if err != nil {
			return err
		}
		var out bytes.Buffer
		if err := t.Execute(&out, sc); err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		return os.WriteFile(target, out.Bytes(), 0o644)
	})
}

// emptyDir makes dir, or checks that it is empty.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return os.MkdirAll(dir, 0o755)
	case err != nil:
		return err
	case len(entries) > 0:
		return fmt.Errorf("%s is not empty", dir)
	}
	return nil
}

// appName turns a directory name into an application name: lower case, with
// '-' for anything that may not appear in a service name.
func appName(base string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(base) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else if b.Len() > 0 && !strings.HasSuffix(b.String(), "-") {
			b.WriteByte('-')
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

var modulePath = regexp.MustCompile(`^[a-zA-Z0-9][-a-zA-Z0-9._~]*(/[-a-zA-Z0-9._~]+)*$`)

func validModulePath(p string) bool { return modulePath.MatchString(p) && path.Clean(p) == p }

// goVersion is the go directive of a new module: the framework's own.
func goVersion() string { return "1.26.0" }

// troupeVersion is the framework's version this binary was built with, or
// unpublished for a build from a checkout.
func troupeVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return unpublished
	}
	if bi.Main.Path == troupeModule && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == troupeModule && d.Version != "(devel)" && d.Replace == nil {
			return d.Version
		}
	}
	return unpublished
}

// replacement decides the replace directive: the -replace flag, else the
// current directory when it is a troupe checkout and no published version is
// known.
func replacement(flagValue, version string) (string, error) {
	dir := flagValue
	if dir == "" {
		if version != unpublished {
			return "", nil
		}
		dir = "."
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile(filepath.Join(abs, "go.mod"))
	if err != nil || !bytes.Contains(data, []byte("module "+troupeModule+"\n")) {
		if flagValue == "" {
			return "", fmt.Errorf("troupe is not published yet and %s is not a troupe checkout: give -replace PATH_TO_TROUPE_CHECKOUT", abs)
		}
		return "", fmt.Errorf("-replace %s: not a troupe checkout (its go.mod does not declare module %s)", flagValue, troupeModule)
	}
	return filepath.ToSlash(abs), nil
}
