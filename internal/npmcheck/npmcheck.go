// Package npmcheck runs the npm validators that .ci/npm-tools.sh installs
// (@asyncapi/parser, @apidevtools/swagger-parser, @redocly/cli) on generated
// API documents, for tests. It never installs anything and never reaches the
// network: it finds the tools in $TROUPE_NPM_TOOLS, /opt/troupe-npm or
// $HOME/.cache/troupe-npm. When they are missing a test is skipped, except
// under CI=true, where it fails.
package npmcheck

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Dir returns the directory that holds the tools' node_modules, or ends the
// test: skipped, or failed under CI=true.
func Dir(t testing.TB) string {
	t.Helper()
	var dirs []string
	if d := os.Getenv("TROUPE_NPM_TOOLS"); d != "" {
		dirs = append(dirs, d)
	}
	dirs = append(dirs, "/opt/troupe-npm")
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, ".cache", "troupe-npm"))
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "node_modules", "@asyncapi", "parser")); err == nil {
			if _, err := exec.LookPath("node"); err == nil {
				return d
			}
		}
	}
	msg := "the npm validators are not installed in " + strings.Join(dirs, " or ") + " (or node is missing): run .ci/npm-tools.sh"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// run runs a command with the tools' environment, offline, and returns its
// output.
func run(t testing.TB, dir string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(),
		"NODE_PATH="+filepath.Join(dir, "node_modules"),
		"REDOCLY_TELEMETRY=off",
		"REDOCLY_SUPPRESS_UPDATE_NOTICE=true",
		"NO_UPDATE_NOTIFIER=1",
		"npm_config_offline=true",
	)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func writeTemp(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const asyncapiScript = `
const { Parser } = require('@asyncapi/parser');
const fs = require('fs');
(async () => {
  const parser = new Parser();
  const { document, diagnostics } = await parser.parse(fs.readFileSync(process.argv[2], 'utf8'));
  let errors = 0;
  for (const d of diagnostics) {
    if (d.severity === 0) errors++;
    console.log(['error', 'warning', 'info', 'hint'][d.severity] + ' ' + d.code + ' at /' + d.path.join('/') + ': ' + d.message);
  }
  if (!document || errors > 0) process.exit(1);
  console.log('valid AsyncAPI ' + document.version() + ', ' + document.channels().length + ' channels, ' + document.operations().length + ' operations');
})().catch(e => { console.error(e); process.exit(2); });
`

// AsyncAPI fails t unless @asyncapi/parser parses doc without an error
// diagnostic. It logs every diagnostic.
func AsyncAPI(t testing.TB, doc []byte) {
	t.Helper()
	dir := Dir(t)
	script := writeTemp(t, "asyncapi.js", []byte(asyncapiScript))
	file := writeTemp(t, "asyncapi.json", doc)
	out, err := run(t, dir, "node", script, file)
	t.Logf("@asyncapi/parser:\n%s", out)
	if err != nil {
		t.Errorf("@asyncapi/parser refuses the document: %v\n%s", err, out)
	}
}

const swaggerScript = `
const SwaggerParser = require('@apidevtools/swagger-parser');
SwaggerParser.validate(process.argv[2]).then(api => {
  console.log('valid OpenAPI ' + api.openapi + ', ' + Object.keys(api.paths || {}).length + ' paths');
}).catch(e => { console.error(e.message); process.exit(1); });
`

// OpenAPI fails t unless @apidevtools/swagger-parser validates doc and
// @redocly/cli lint (its minimal ruleset) finds no error in it.
func OpenAPI(t testing.TB, doc []byte) {
	t.Helper()
	dir := Dir(t)
	file := writeTemp(t, "openapi.json", doc)
	script := writeTemp(t, "swagger.js", []byte(swaggerScript))
	out, err := run(t, dir, "node", script, file)
	t.Logf("@apidevtools/swagger-parser:\n%s", out)
	if err != nil {
		t.Errorf("@apidevtools/swagger-parser refuses the document: %v\n%s", err, out)
	}
	out, err = run(t, dir, filepath.Join(dir, "node_modules", ".bin", "redocly"), "lint", "--extends=minimal", "--format=stylish", file)
	t.Logf("@redocly/cli lint:\n%s", out)
	if err != nil {
		t.Errorf("@redocly/cli lint finds errors: %v\n%s", err, out)
	}
}
