package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/troupe-go/troupe"
	"go.yaml.in/yaml/v3"
)

// MaxSize is the largest manifest, in bytes, that Parse and Load accept.
const MaxSize = 1 << 20

// MaxInstances is the largest instance count a service may declare.
const MaxInstances = 1000

// MaxRoutes is the largest number of gateway routes a manifest may declare.
const MaxRoutes = 1000

// Error is one problem found in a manifest, at a position in its file.
// Line and Column count from 1; they are 0 when the problem has no position
// (Column alone is 0 for some YAML syntax errors).
type Error struct {
	File   string
	Line   int
	Column int
	Msg    string
}

// Error returns "file:line:column: msg", leaving out the parts that are
// unknown.
func (e Error) Error() string { return position(e.File, e.Line, e.Column) + e.Msg }

// Errors is every problem Parse found in one manifest, in the order of their
// positions in the file. It is the error Parse and Load return for a manifest
// that is not valid; use errors.As to read the items.
type Errors []Error

// Error returns one "file:line:column: msg" line per problem.
func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

func position(file string, line, col int) string {
	var b strings.Builder
	b.WriteString(file)
	if line > 0 {
		if file != "" {
			b.WriteByte(':')
		}
		b.WriteString(strconv.Itoa(line))
		if col > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(col))
		}
	}
	if b.Len() == 0 {
		return ""
	}
	return b.String() + ": "
}

// Load reads and parses the manifest at path; see [Parse]. Payload schemas
// given as files are read relative to the manifest's directory.
func Load(path string) (*troupe.App, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	return parse(path, data, os.DirFS(filepath.Dir(path)), ".")
}

// ParseFS reads and parses the manifest name in fsys; see [Parse]. Payload
// schemas given as files are read from fsys, relative to name's directory.
// Errors name the file as name.
func ParseFS(fsys fs.FS, name string) (*troupe.App, error) {
	data, err := readLimited(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	return parse(name, data, fsys, path.Dir(name))
}

// readLimited reads at most MaxSize+1 bytes of name: enough to tell that a
// file is too large.
func readLimited(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, MaxSize+1))
}

// Parse reads a manifest (docs/manifest.md) from data and returns the App it
// declares. filename is used only in error positions; a payload schema given
// as a file is an error (use [Load] or [ParseFS] for those).
//
// If the manifest is not valid, Parse returns a nil App and an [Errors] that
// lists every problem found, each with its line and column. When the manifest
// has gateway routes and declares no service named [troupe.GatewayService],
// Parse adds that service with the routes' messages as its sends.
func Parse(filename string, data []byte) (*troupe.App, error) {
	return parse(filename, data, nil, "")
}

func parse(filename string, data []byte, fsys fs.FS, dir string) (*troupe.App, error) {
	p := &parser{file: filename, fsys: fsys, dir: dir, pos: &positions{
		file:     filename,
		sends:    map[svcName]pos{},
		receives: map[svcName]pos{},
		messages: map[string]pos{},
		schemas:  map[string]pos{},
	}}
	app := p.parse(data)
	if len(p.errs) > 0 {
		slices.SortStableFunc(p.errs, func(a, b Error) int {
			if a.File != b.File {
				// The manifest's own errors first, then those in schema files.
				if a.File == filename || b.File == filename {
					return map[bool]int{true: -1, false: 1}[a.File == filename]
				}
				return strings.Compare(a.File, b.File)
			}
			if a.Line != b.Line {
				return a.Line - b.Line
			}
			return a.Column - b.Column
		})
		return nil, p.errs
	}
	remember(app, p.pos)
	return app, nil
}

type parser struct {
	file string
	errs Errors
	pos  *positions
	fsys fs.FS  // where payload schema files are; nil: none may be given
	dir  string // the manifest's directory in fsys

	// shared holds the nodes that an anchor names, and the nodes inside
	// them: they are read once per alias that uses them, and each problem
	// in them is reported once (at the anchor), not once per use.
	shared     map[*yaml.Node]bool
	reported   map[*yaml.Node]bool
	callChecks []callCheck // calls.go
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	e := Error{File: p.file, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		if p.shared[n] {
			if p.reported[n] {
				return
			}
			if p.reported == nil {
				p.reported = map[*yaml.Node]bool{}
			}
			p.reported[n] = true
		}
		e.Line, e.Column = n.Line, n.Column
	}
	p.errs = append(p.errs, e)
}

// markShared records the nodes of anchored subtrees of n in p.shared.
func (p *parser) markShared(n *yaml.Node, inside bool) {
	if n == nil || n.Kind == yaml.AliasNode {
		return
	}
	inside = inside || n.Anchor != ""
	if inside {
		if p.shared == nil {
			p.shared = map[*yaml.Node]bool{}
		}
		if p.shared[n] {
			return
		}
		p.shared[n] = true
	}
	for _, c := range n.Content {
		p.markShared(c, inside)
	}
}

// yamlLine matches go.yaml.in/yaml/v3's syntax errors.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parserProblems are the syntax errors that go.yaml.in/yaml/v3 (v3.0.6)
// reports from its parser rather than its scanner. For those it gives the
// line counted from 0 (of the construct being parsed, or of the problem if
// that construct is on the first line); scanner errors count from 1.
var parserProblems = []string{
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"did not find expected '-' indicator",
	"did not find expected <document start>",
	"did not find expected <stream-start>",
	"did not find expected key",
	"did not find expected node content",
	"found duplicate %TAG directive",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found undefined tag handle",
}

func (p *parser) syntax(err error, data []byte) {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		if slices.Contains(parserProblems, m[2]) {
			line++
		}
		if col := tabColumn(data, line); col > 0 && tabProblem(m[2]) {
			p.errs = append(p.errs, Error{File: p.file, Line: line, Column: col,
				Msg: "YAML syntax: a tab character where YAML wants spaces (indent with spaces, never tabs)"})
			return
		}
		p.errs = append(p.errs, Error{File: p.file, Line: line, Msg: "YAML syntax: " + m[2]})
		return
	}
	p.errs = append(p.errs, Error{File: p.file, Msg: "YAML syntax: " + strings.TrimPrefix(msg, "yaml: ")})
}

// tabProblem reports whether a YAML syntax message is one that a tab
// causes.
func tabProblem(msg string) bool {
	return strings.Contains(msg, "tab") || msg == "found character that cannot start any token"
}

// tabColumn returns the column (from 1, in bytes) of the first tab in line
// (from 1) of data, or 0 if it has none.
func tabColumn(data []byte, line int) int {
	for i := 1; i < line; i++ {
		j := bytes.IndexByte(data, '\n')
		if j < 0 {
			return 0
		}
		data = data[j+1:]
	}
	if j := bytes.IndexByte(data, '\n'); j >= 0 {
		data = data[:j]
	}
	return bytes.IndexByte(data, '\t') + 1
}

var topKeys = []string{"app", "services", "gateway", "messages", "schemas"}

func (p *parser) parse(data []byte) *troupe.App {
	if len(data) > MaxSize {
		p.errorf(nil, "manifest is larger than %d bytes", MaxSize)
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		p.syntax(err, data)
		return nil
	}
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		p.errorf(&next, "a manifest holds one YAML document; this is a second one")
	} else if !errors.Is(err, io.EOF) {
		p.syntax(err, data)
	}
	p.markShared(&doc, false)
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || isNull(doc.Content[0]) {
		p.errorf(nil, "manifest is empty: want a mapping with keys %s", strings.Join(topKeys, ", "))
		return nil
	}
	root := deref(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		p.errorf(root, "a manifest is a mapping with keys %s, not %s", strings.Join(topKeys, ", "), describe(root))
		return nil
	}
	app := &troupe.App{}
	var services, gateway, messages, schemas *yaml.Node
	haveApp := false
	for _, f := range p.fields(root, "the manifest", topKeys) {
		switch f.key {
		case "app":
			haveApp = true
			if name, ok := p.scalar(f.v, "app"); ok {
				if err := troupe.ValidServiceName(name); err != nil {
					p.errorf(f.v, "app name %v", err)
				}
				app.Name = name
			}
		case "services":
			services = f.v
		case "gateway":
			gateway = f.v
		case "messages":
			messages = f.v
		case "schemas":
			schemas = f.v
		}
	}
	if !haveApp {
		p.errorf(root, "missing key app: the application's name")
	}
	if services != nil {
		app.Services = p.services(services)
	}
	var routes []route
	if gateway != nil {
		routes = p.gateway(app, gateway)
	}
	p.checkRoutes(app, routes)
	p.checkAuth(app)    // auth.go
	p.checkRevoked(app) // auth.go
	var msgs []message
	if schemas != nil {
		app.Schemas = p.schemas(schemas)
	}
	if messages != nil {
		msgs = p.messages(messages)
		for _, m := range msgs {
			app.Messages = append(app.Messages, m.decl)
		}
	}
	p.checkMessages(app, msgs)
	p.checkTranslations(app)
	p.checkCalls(app)
	return app
}

// field is one key and value of a mapping.
type field struct {
	key  string
	k, v *yaml.Node
}

// fields returns the entries of mapping n (which the caller has checked is a
// mapping). It reports keys that are not strings, duplicate keys and, unless
// known is nil, keys not in known; those entries are left out.
func (p *parser) fields(n *yaml.Node, where string, known []string) []field {
	var out []field
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, "keys in %s must be strings, not %s", where, describe(k))
			continue
		}
		if k.Tag == "!!merge" {
			p.errorf(k, "merge keys (<<) are not supported in %s", where)
			continue
		}
		if known != nil && !slices.Contains(known, k.Value) && !(where == "the manifest" && strings.HasPrefix(k.Value, "x-")) {
			p.errorf(k, "unknown key %q in %s; known keys: %s", truncate(k.Value), where, strings.Join(known, ", "))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p.errorf(k, "duplicate key %q in %s (first at line %d)", truncate(k.Value), where, first.Line)
			continue
		}
		seen[k.Value] = k
		out = append(out, field{key: k.Value, k: k, v: v})
	}
	return out
}

// scalar returns the string value of n, reporting what is wrong if n is not a
// non-null scalar.
func (p *parser) scalar(n *yaml.Node, what string) (string, bool) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode {
		p.errorf(n, "%s must be a string, not %s", what, describe(n))
		return "", false
	}
	if isNull(n) {
		p.errorf(n, "%s is missing its value", what)
		return "", false
	}
	return n.Value, true
}

var serviceKeys = []string{"sends", "receives", "durable", "broadcast", "instances", "command", "env", "translate", "calls", "edge"}

func (p *parser) services(n *yaml.Node) []troupe.ServiceDecl {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "services must be a mapping from service name to its declaration, not %s", describe(n))
		return nil
	}
	var out []troupe.ServiceDecl
	for _, f := range p.fields(n, "services", nil) {
		if f.key == "" {
			p.errorf(f.k, "service name is empty")
		} else if err := troupe.ValidServiceName(f.key); err != nil {
			p.errorf(f.k, "service name %v", err)
		} else if f.key == troupe.OperatorService {
			p.errorf(f.k, "service name %q is reserved for troupe's command line (troupe send)", f.key)
		}
		out = append(out, p.service(f.key, f.v))
	}
	return out
}

func (p *parser) service(name string, n *yaml.Node) troupe.ServiceDecl {
	s := troupe.ServiceDecl{Name: name}
	n = deref(n)
	if isNull(n) {
		return s
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "service %q must be a mapping with keys %s, not %s", name, strings.Join(serviceKeys, ", "), describe(n))
		return s
	}
	where := fmt.Sprintf("service %q", name)
	var durable, broadcast []posName
	for _, f := range p.fields(n, where, serviceKeys) {
		switch f.key {
		case "sends":
			for _, m := range p.names(f.v, where, "sends") {
				s.Sends = append(s.Sends, m.name)
				p.pos.sends[svcName{name, m.name}] = m.pos
			}
		case "receives":
			for _, m := range p.names(f.v, where, "receives") {
				s.Receives = append(s.Receives, m.name)
				p.pos.receives[svcName{name, m.name}] = m.pos
			}
		case "durable":
			durable = p.names(f.v, where, "durable")
			for _, m := range durable {
				s.Durable = append(s.Durable, m.name)
			}
		case "broadcast":
			broadcast = p.names(f.v, where, "broadcast")
			for _, m := range broadcast {
				s.Broadcast = append(s.Broadcast, m.name)
			}
		case "instances":
			s.Instances = p.instances(f.v, where)
		case "command":
			s.Command = p.command(f.v, where)
		case "env":
			s.Env = p.env(f.v, where)
		case "translate":
			s.Translate = p.translate(f.v, where)
			p.pos.translate = append(p.pos.translate, translatePos{service: name, node: deref(f.v)})
		case "calls":
			s.Calls = p.calls(name, f.v, where)
		case "edge":
			s.Edge = p.boolValue(f.v, where+": edge") // auth.go
		}
	}
	receives := make(map[string]bool, len(s.Receives))
	for _, m := range s.Receives {
		receives[m] = true
	}
	for _, m := range durable {
		if !receives[m.name] {
			p.errorf(m.node, "%s: durable message %q is not in its receives (only received messages can be durable)", where, m.name)
		}
	}
	for _, m := range broadcast {
		switch {
		case !receives[m.name]:
			p.errorf(m.node, "%s: broadcast message %q is not in its receives (only received messages go to every instance)", where, m.name)
		case slices.Contains(s.Durable, m.name):
			p.errorf(m.node, "%s: message %q is both durable and broadcast; a durable message goes to one instance, which acknowledges it (drop one of the two)", where, m.name)
		}
	}
	return s
}

// posName is a message name and where it was written.
type posName struct {
	name string
	pos  pos
	node *yaml.Node
}

// names reads a list of message names.
func (p *parser) names(n *yaml.Node, where, key string) []posName {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%s: %s must be a list of message names, such as [todo.list, todo.create], not %s", where, key, describe(n))
		return nil
	}
	var out []posName
	seen := map[string]*yaml.Node{}
	for _, item := range n.Content {
		item = deref(item)
		name, ok := p.scalar(item, where+": an item of "+key)
		if !ok {
			continue
		}
		if err := troupe.ValidPortableName(name); err != nil {
			p.errorf(item, "%s: %s: bad message %v", where, key, err)
			continue
		}
		if first, dup := seen[name]; dup {
			p.errorf(item, "%s: %s lists %q twice (first at line %d)", where, key, name, first.Line)
			continue
		}
		seen[name] = item
		out = append(out, posName{name: name, pos: pos{item.Line, item.Column}, node: item})
	}
	return out
}

func (p *parser) instances(n *yaml.Node, where string) int {
	n = deref(n)
	var i int
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&i) != nil {
		p.errorf(n, "%s: instances must be a whole number from 0 to %d, not %s", where, MaxInstances, describe(n))
		return 0
	}
	if i < 0 || i > MaxInstances {
		p.errorf(n, "%s: instances is %d; want 0 to %d (0 means 1)", where, i, MaxInstances)
		return 0
	}
	return i
}

func (p *parser) command(n *yaml.Node, where string) []string {
	n = deref(n)
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%s: command must be a list of the program and its arguments, such as [./bin/legacy, --flag], not %s", where, describe(n))
		return nil
	}
	if len(n.Content) == 0 {
		p.errorf(n, "%s: command is empty; give the program and its arguments, such as [./bin/legacy, --flag]", where)
		return nil
	}
	var out []string
	for i, item := range n.Content {
		item = deref(item)
		arg, ok := p.scalar(item, where+": a command argument")
		if !ok {
			continue
		}
		if i == 0 && arg == "" {
			p.errorf(item, "%s: command's program is empty", where)
		}
		if strings.IndexByte(arg, 0) >= 0 {
			p.errorf(item, "%s: command argument holds a NUL byte", where)
		}
		out = append(out, arg)
	}
	return out
}

func (p *parser) env(n *yaml.Node, where string) map[string]string {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s: env must be a mapping from variable name to value, not %s", where, describe(n))
		return nil
	}
	out := map[string]string{}
	for _, f := range p.fields(n, where+" env", nil) {
		if f.key == "" || strings.ContainsAny(f.key, "=\x00") {
			p.errorf(f.k, "%s: env variable name %q is empty or holds '=' or a NUL byte", where, truncate(f.key))
			continue
		}
		v := deref(f.v)
		if v.Kind == yaml.ScalarNode && isNull(v) {
			p.errorf(v, "%s: env %s has no value; write \"\" for an empty one", where, f.key)
			continue
		}
		val, ok := p.scalar(v, where+": env "+f.key)
		if !ok {
			continue
		}
		if strings.IndexByte(val, 0) >= 0 {
			p.errorf(v, "%s: env %s holds a NUL byte", where, f.key)
			continue
		}
		out[f.key] = val
	}
	return out
}

// isNull reports whether n is absent or a YAML null.
func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n == nil || n.Kind == 0 || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// deref follows aliases to the node they name.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// describe names what n is, for error messages.
func describe(n *yaml.Node) string {
	n = deref(n)
	switch {
	case n == nil || n.Kind == 0:
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.ScalarNode && n.Tag == "!!null":
		return "null"
	case n.Kind == yaml.ScalarNode && n.Tag == "!!str":
		return fmt.Sprintf("the string %q", truncate(n.Value))
	case n.Kind == yaml.ScalarNode:
		return strconv.Quote(truncate(n.Value))
	}
	return "an unexpected node"
}

// truncate shortens s for error messages.
func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
