package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/internal/schema"
	"go.yaml.in/yaml/v3"
)

var messageKeys = []string{"description", "payload", "replies", "validate", "principal", "roles", "sensitive"}

// maxSchemaDepth bounds the nesting of a schema written in YAML.
const maxSchemaDepth = 64

// message is a parsed messages: entry and where its parts were written.
type message struct {
	decl    troupe.MessageDecl
	key     *yaml.Node
	payload *yaml.Node // the payload value, or nil
}

// schemas reads the schemas: section, a mapping from name to JSON Schema.
func (p *parser) schemas(n *yaml.Node) []troupe.SchemaDecl {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "schemas must be a mapping from schema name to a JSON Schema (or the file holding one), not %s", describe(n))
		return nil
	}
	var out []troupe.SchemaDecl
	for _, f := range p.fields(n, "schemas", nil) {
		if err := troupe.ValidName(f.key); err != nil {
			p.errorf(f.k, "schemas: bad schema %v", err)
			continue
		}
		raw, ok := p.schemaValue(f.v, fmt.Sprintf("schema %q", f.key))
		if !ok {
			continue
		}
		p.pos.schemas[f.key] = pos{f.k.Line, f.k.Column}
		p.pos.schemaNodes = append(p.pos.schemaNodes, f.v)
		out = append(out, troupe.SchemaDecl{Name: f.key, Schema: raw})
	}
	return out
}

// messages reads the messages: section, a mapping from message name to its
// description.
func (p *parser) messages(n *yaml.Node) []message {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "messages must be a mapping from message name to its description (keys %s), not %s", strings.Join(messageKeys, ", "), describe(n))
		return nil
	}
	var out []message
	for _, f := range p.fields(n, "messages", nil) {
		if err := troupe.ValidPortableName(f.key); err != nil {
			p.errorf(f.k, "messages: bad message %v", err)
			continue
		}
		if f.key == troupe.ErrorName {
			p.errorf(f.k, "messages: %q is the error reply, which docs/protocol.md describes; it is not declared", f.key)
			continue
		}
		m := message{decl: troupe.MessageDecl{Name: f.key}, key: f.k}
		p.pos.messages[f.key] = pos{f.k.Line, f.k.Column}
		where := fmt.Sprintf("message %q", f.key)
		v := deref(f.v)
		if isNull(v) {
			out = append(out, m)
			continue
		}
		if v.Kind != yaml.MappingNode {
			p.errorf(v, "%s must be a mapping with keys %s, not %s", where, strings.Join(messageKeys, ", "), describe(v))
			continue
		}
		for _, g := range p.fields(v, where, messageKeys) {
			switch g.key {
			case "description":
				if d, ok := p.scalar(g.v, where+": description"); ok {
					m.decl.Description = d
				}
			case "payload":
				m.payload = deref(g.v)
				if raw, ok := p.schemaValue(g.v, where+": payload"); ok {
					m.decl.Payload = raw
				}
			case "replies":
				for _, r := range p.names(g.v, where, "replies") {
					if r.name == troupe.ErrorName {
						p.errorf(r.node, "%s: replies: %q need not be listed: any request may get an Error reply", where, r.name)
						continue
					}
					m.decl.Replies = append(m.decl.Replies, r.name)
				}
			case "validate":
				b := deref(g.v)
				var on bool
				if b.Kind != yaml.ScalarNode || b.Tag != "!!bool" || b.Decode(&on) != nil {
					p.errorf(b, "%s: validate must be true or false, not %s", where, describe(b))
					continue
				}
				m.decl.NoValidate = !on
			case "principal": // auth.go
				m.decl.Principal = p.boolValue(g.v, where+": principal")
			case "roles":
				m.decl.Roles = p.roles(g.v, where)
			case "sensitive":
				m.decl.Sensitive = p.sensitive(g.v, where)
			}
		}
		out = append(out, m)
	}
	return out
}

// schemaValue reads a JSON Schema written in YAML (a mapping, or true or
// false) or the name of a file holding one (a string), and returns it as
// JSON.
func (p *parser) schemaValue(n *yaml.Node, where string) (json.RawMessage, bool) {
	n = deref(n)
	switch {
	case isNull(n):
		p.errorf(n, "%s is missing its value: give a JSON Schema, or the file that holds one", where)
		return nil, false
	case n.Kind == yaml.ScalarNode && n.Tag == "!!bool":
		return json.RawMessage(n.Value), true
	case n.Kind == yaml.ScalarNode && n.Tag == "!!str":
		return p.schemaFile(n, where)
	case n.Kind == yaml.MappingNode:
		var b bytes.Buffer
		if !p.toJSON(&b, n, p, 0) {
			return nil, false
		}
		return json.RawMessage(b.Bytes()), true
	}
	p.errorf(n, "%s must be a JSON Schema (a mapping, true or false) or the name of a file holding one, not %s", where, describe(n))
	return nil, false
}

// schemaFile reads the schema in the file that n names, relative to the
// manifest's directory. Problems in the file are reported at their place in
// it.
func (p *parser) schemaFile(n *yaml.Node, where string) (json.RawMessage, bool) {
	name := n.Value
	if p.fsys == nil {
		p.errorf(n, "%s names the file %q, but this manifest was not read from a directory (use manifest.Load or manifest.ParseFS)", where, truncate(name))
		return nil, false
	}
	full := path.Join(p.dir, filepath.ToSlash(name))
	if name == "" || path.IsAbs(filepath.ToSlash(name)) || !fs.ValidPath(full) || strings.HasPrefix(full, "../") {
		p.errorf(n, "%s: file %q must be a relative path inside the manifest's directory", where, truncate(name))
		return nil, false
	}
	data, err := readLimited(p.fsys, full)
	if err != nil {
		p.errorf(n, "%s: %v", where, err)
		return nil, false
	}
	if len(data) > MaxSize {
		p.errorf(n, "%s: file %q is larger than %d bytes", where, truncate(name), MaxSize)
		return nil, false
	}
	label := filepath.Join(filepath.Dir(p.file), filepath.FromSlash(name))
	fp := &parser{file: label, pos: p.pos}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		fp.syntax(err, data)
		p.errs = append(p.errs, fp.errs...)
		return nil, false
	}
	fp.markShared(&doc, false)
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		p.errorf(n, "%s: file %q is empty", where, truncate(name))
		return nil, false
	}
	root := deref(doc.Content[0])
	if !(root.Kind == yaml.MappingNode || root.Kind == yaml.ScalarNode && root.Tag == "!!bool") {
		fp.errorf(root, "a JSON Schema is a mapping (or true or false), not %s", describe(root))
		p.errs = append(p.errs, fp.errs...)
		return nil, false
	}
	var b bytes.Buffer
	ok := p.toJSON(&b, root, fp, 0)
	p.errs = append(p.errs, fp.errs...)
	if !ok {
		return nil, false
	}
	return json.RawMessage(b.Bytes()), true
}

// toJSON writes the YAML node n as JSON, reporting through at what cannot be
// written.
func (p *parser) toJSON(b *bytes.Buffer, n *yaml.Node, at *parser, depth int) bool {
	n = deref(n)
	if depth > maxSchemaDepth {
		at.errorf(n, "the schema is nested more than %d levels deep", maxSchemaDepth)
		return false
	}
	switch n.Kind {
	case yaml.MappingNode:
		b.WriteByte('{')
		ok := true
		before := len(at.errs)
		fs := at.fields(n, "a schema", nil)
		ok = len(at.errs) == before
		for i, f := range fs {
			if i > 0 {
				b.WriteByte(',')
			}
			key, _ := json.Marshal(f.key)
			b.Write(key)
			b.WriteByte(':')
			ok = p.toJSON(b, f.v, at, depth+1) && ok
		}
		b.WriteByte('}')
		return ok
	case yaml.SequenceNode:
		b.WriteByte('[')
		ok := true
		for i, c := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			ok = p.toJSON(b, c, at, depth+1) && ok
		}
		b.WriteByte(']')
		return ok
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			b.WriteString("null")
		case "!!bool":
			var v bool
			if n.Decode(&v) != nil {
				at.errorf(n, "%s is not a boolean", describe(n))
				return false
			}
			b.WriteString(strconv.FormatBool(v))
		case "!!int", "!!float":
			var v any
			if err := n.Decode(&v); err != nil {
				at.errorf(n, "%s is not a number: %v", describe(n), err)
				return false
			}
			if f, isFloat := v.(float64); isFloat && (math.IsNaN(f) || math.IsInf(f, 0)) {
				at.errorf(n, "%s is not a JSON number", describe(n))
				return false
			}
			out, err := json.Marshal(v)
			if err != nil {
				at.errorf(n, "%s is not a JSON number", describe(n))
				return false
			}
			b.Write(out)
		case "!!str", "!!timestamp", "!!binary":
			out, _ := json.Marshal(n.Value)
			b.Write(out)
		default:
			at.errorf(n, "YAML tag %s has no JSON form", truncate(n.Tag))
			return false
		}
		return true
	}
	at.errorf(n, "%s has no JSON form", describe(n))
	return false
}

// translate reads a service's translate: mapping from the names its code
// uses to the application's names.
func (p *parser) translate(n *yaml.Node, where string) []troupe.Translation {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s: translate must be a mapping from the name the service's code uses to the application's name, such as {user.create: account.create}, not %s", where, describe(n))
		return nil
	}
	var out []troupe.Translation
	apps := map[string]*yaml.Node{}
	for _, f := range p.fields(n, where+" translate", nil) {
		if err := troupe.ValidPortableName(f.key); err != nil {
			p.errorf(f.k, "%s: translate: bad message %v", where, err)
			continue
		}
		app, ok := p.scalar(f.v, where+": translate "+f.key)
		if !ok {
			continue
		}
		v := deref(f.v)
		if err := troupe.ValidPortableName(app); err != nil {
			p.errorf(v, "%s: translate: bad message %v", where, err)
			continue
		}
		if first, dup := apps[app]; dup {
			p.errorf(v, "%s: translate: %q is the translation of two names (first at line %d)", where, app, first.Line)
			continue
		}
		apps[app] = v
		if f.key == app {
			p.errorf(v, "%s: translate: %q translates to itself", where, app)
			continue
		}
		out = append(out, troupe.Translation{Local: f.key, App: app})
	}
	return out
}

// checkTranslations checks each translation against its service's sends
// and receives: it renames a name the service uses, and the service's names
// stay one to one.
func (p *parser) checkTranslations(app *troupe.App) {
	for _, tp := range p.pos.translate {
		d := app.Service(tp.service)
		if d == nil || len(d.Translate) == 0 {
			continue
		}
		where := fmt.Sprintf("service %q", d.Name)
		uses := map[string]bool{}
		for _, list := range [][]string{d.Sends, d.Receives} {
			for _, m := range list {
				uses[m] = true
				if md := app.Message(m); md != nil {
					for _, r := range md.Replies {
						uses[r] = true
					}
				}
			}
		}
		translated := map[string]bool{}
		for _, t := range d.Translate {
			translated[t.App] = true
		}
		for i := 0; i+1 < len(tp.node.Content); i += 2 {
			k, v := deref(tp.node.Content[i]), deref(tp.node.Content[i+1])
			var t *troupe.Translation
			for j := range d.Translate {
				if d.Translate[j].Local == k.Value && d.Translate[j].App == v.Value {
					t = &d.Translate[j]
				}
			}
			if t == nil {
				continue
			}
			if !uses[t.App] {
				p.errorf(v, "%s: translate: %q is not in its sends or receives, nor a declared reply to one of them (a translation renames an application name that the service uses)", where, t.App)
			}
			if uses[t.Local] && !translated[t.Local] {
				p.errorf(k, "%s: translate: %q is also an application name that the service uses untranslated; its code could not tell the two apart", where, t.Local)
			}
		}
	}
}

// checkMessages checks the messages: and schemas: sections against each
// other: every schema compiles (as the bus will compile it) and refers only
// to declared schemas.
func (p *parser) checkMessages(app *troupe.App, msgs []message) {
	if len(app.Messages) == 0 && len(app.Schemas) == 0 {
		return
	}
	declared := map[string]bool{}
	for _, s := range app.Schemas {
		declared[s.Name] = true
	}
	undeclared := map[string]bool{}
	for _, m := range msgs {
		for _, ref := range schema.Refs(m.decl.Payload) {
			if !declared[ref] {
				p.errorf(m.payload, "message %q: payload refers to %s%s, which schemas: does not declare", m.decl.Name, schema.RefPrefix, ref)
				undeclared[m.decl.Name] = true
			}
		}
	}
	_, problems := schema.Compile(app)
	for _, pr := range problems {
		if undeclared[pr.Message] {
			continue
		}
		var n *yaml.Node
		if pr.Schema != "" {
			for i, s := range app.Schemas {
				if s.Name == pr.Schema && i < len(p.pos.schemaNodes) {
					n = deref(p.pos.schemaNodes[i])
				}
			}
			p.errorf(n, "schemas: %q: %v", pr.Schema, pr.Err)
			continue
		}
		for _, m := range msgs {
			if m.decl.Name == pr.Message {
				n = m.payload
			}
		}
		p.errorf(n, "message %q: payload: %v", pr.Message, pr.Err)
	}
}
