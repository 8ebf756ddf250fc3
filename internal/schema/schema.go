// Package schema compiles the payload schemas of a troupe.App (JSON Schema,
// draft 2020-12 unless a schema says otherwise) with
// github.com/santhosh-tekuri/jsonschema/v6, validates payloads against them,
// and checks Go types against them. The manifest, the bus and the service SDK
// share it, so that a schema the manifest accepts is one the bus compiles,
// and an error names the field the same way everywhere.
//
// A payload schema may refer to the App's shared schemas as
// {"$ref": "#/schemas/N"}: the schemas are compiled as parts of one document
// {"schemas": {N: ...}, "messages": {name: {"payload": ...}}}, so such a
// reference is a JSON pointer into it. No other document is ever loaded: a
// reference to a URL or a file does not compile.
package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/internal/strictjson"
)

// docURL is the URL under which an App's schemas are compiled.
const docURL = "troupe:app"

// RefPrefix is how a payload schema refers to a shared schema:
// RefPrefix + name.
const RefPrefix = "#/schemas/"

// Problem is a schema that does not compile: the payload of Message, or the
// shared schema Schema (one of them is set).
type Problem struct {
	Message string
	Schema  string
	Err     error
}

func (p Problem) Error() string {
	if p.Schema != "" {
		return fmt.Sprintf("schema %q: %v", p.Schema, p.Err)
	}
	return fmt.Sprintf("message %q: payload schema: %v", p.Message, p.Err)
}

// Set is the compiled payload schemas of an App, by message name.
type Set struct {
	byName map[string]*Validator
}

// Validator checks payloads against one message's schema.
type Validator struct {
	name  string
	sch   *jsonschema.Schema
	quick *quick // nil: the schema has a keyword quick does not read
}

// Compile compiles every payload schema of app and every shared schema. It
// returns the validators of the messages whose schema compiles and whose
// validation is on (MessageDecl.NoValidate false), and one Problem per
// schema that does not compile, in declaration order.
func Compile(app *troupe.App) (*Set, []Problem) {
	set := &Set{byName: map[string]*Validator{}}
	if app == nil || len(app.Messages) == 0 && len(app.Schemas) == 0 {
		return set, nil
	}
	schemaErr := map[string]error{}
	msgErr := map[string]error{}
	schemas := map[string]any{}
	for _, s := range app.Schemas {
		v, err := decode(s.Schema)
		if err != nil {
			schemaErr[s.Name] = err
			continue
		}
		schemas[s.Name] = v
	}
	messages := map[string]any{}
	for _, m := range app.Messages {
		if len(m.Payload) == 0 {
			continue
		}
		v, err := decode(m.Payload)
		if err != nil {
			msgErr[m.Name] = err
			continue
		}
		messages[m.Name] = map[string]any{"payload": v}
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(noLoader{})
	if err := c.AddResource(docURL, map[string]any{"schemas": schemas, "messages": messages}); err != nil {
		return set, []Problem{{Schema: "(all)", Err: clean(err)}}
	}
	for _, s := range app.Schemas {
		if _, ok := schemas[s.Name]; !ok {
			continue
		}
		if _, err := c.Compile(docURL + RefPrefix + pointerToken(s.Name)); err != nil {
			schemaErr[s.Name] = clean(err)
		}
	}
	for _, m := range app.Messages {
		if _, ok := messages[m.Name]; !ok {
			continue
		}
		sch, err := c.Compile(docURL + "#/messages/" + pointerToken(m.Name) + "/payload")
		if err != nil {
			msgErr[m.Name] = clean(err)
			continue
		}
		if !m.NoValidate {
			set.byName[m.Name] = &Validator{name: m.Name, sch: sch, quick: quickOf(sch)}
		}
	}
	var problems []Problem
	for _, s := range app.Schemas {
		if err := schemaErr[s.Name]; err != nil {
			problems = append(problems, Problem{Schema: s.Name, Err: err})
		}
	}
	for _, m := range app.Messages {
		if err := msgErr[m.Name]; err != nil {
			problems = append(problems, Problem{Message: m.Name, Err: err})
		}
	}
	return set, problems
}

// Validator returns the validator of message name, or nil if it has no
// schema or its validation is off.
func (s *Set) Validator(name string) *Validator {
	if s == nil {
		return nil
	}
	return s.byName[name]
}

// Len returns how many messages have a validator.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.byName)
}

// Mismatch is a payload that does not match its schema: one Field per
// place that is wrong, in the order the validator found them.
type Mismatch struct {
	Name   string // the message name
	Fields []Field
}

// Field is one place in a payload that breaks its schema.
type Field struct {
	Path string // JSON pointer into the payload, "" for the whole payload
	Msg  string // what is wrong: "got number, want string"
}

// maxFields bounds how many places a Mismatch lists in its text.
const maxFields = 3

// Error returns "at /title: got number, want string; missing property
// 'list'", at most three places, then how many more.
func (m *Mismatch) Error() string {
	var b strings.Builder
	for i, f := range m.Fields {
		if i == maxFields {
			fmt.Fprintf(&b, "; and %d more", len(m.Fields)-maxFields)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		if f.Path != "" {
			b.WriteString("at ")
			b.WriteString(f.Path)
			b.WriteString(": ")
		}
		b.WriteString(f.Msg)
	}
	return b.String()
}

// Validate checks payload (JSON; empty means null) against the schema. A
// payload that does not match gives a *Mismatch; one that is not JSON, a
// plain error.
func (v *Validator) Validate(payload []byte) error {
	if len(payload) == 0 {
		payload = []byte("null")
	}
	if v.quick != nil && v.quick.okJSON(payload) { // quickscan.go: the usual payload, without a document
		return nil
	}
	doc, err := decodeDoc(payload) // decode.go
	if err != nil {
		return fmt.Errorf("payload is not JSON: %w", err)
	}
	err = v.sch.Validate(doc)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	m := &Mismatch{Name: v.name}
	leaves(ve, func(e *jsonschema.ValidationError) {
		m.Fields = append(m.Fields, Field{Path: pointer(e.InstanceLocation), Msg: e.ErrorKind.LocalizedString(printer)})
	})
	if len(m.Fields) == 0 {
		m.Fields = []Field{{Msg: ve.ErrorKind.LocalizedString(printer)}}
	}
	return m
}

var printer = message.NewPrinter(language.English)

// leaves calls f with each innermost cause of e.
func leaves(e *jsonschema.ValidationError, f func(*jsonschema.ValidationError)) {
	if len(e.Causes) == 0 {
		f(e)
		return
	}
	for _, c := range e.Causes {
		leaves(c, f)
	}
}

// pointer writes a JSON pointer (RFC 6901).
func pointer(tokens []string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(pointerToken(t))
	}
	return b.String()
}

func pointerToken(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

// decode reads a schema's JSON as the validator wants it.
func decode(raw json.RawMessage) (any, error) {
	if !strictjson.Valid(raw) {
		return nil, errors.New("not valid JSON")
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	switch v.(type) {
	case map[string]any, bool:
		return v, nil
	}
	return nil, errors.New("a JSON Schema is an object (or true or false)")
}

// noLoader refuses to load any document: a schema may refer only to the
// App's own schemas.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("%s: a schema may refer only to %sN, the manifest's own schemas", url, RefPrefix)
}

// clean shortens the compiler's messages, which name the synthetic document
// the schemas are compiled in.
func clean(err error) error {
	var sve *jsonschema.SchemaValidationError
	var ve *jsonschema.ValidationError
	if errors.As(err, &sve) && errors.As(sve.Err, &ve) {
		m := &Mismatch{}
		leaves(ve, func(e *jsonschema.ValidationError) {
			m.Fields = append(m.Fields, Field{Path: pointer(e.InstanceLocation), Msg: e.ErrorKind.LocalizedString(printer)})
		})
		return fmt.Errorf("not a valid JSON Schema: %s", m.Error())
	}
	msg := err.Error()
	msg = strings.ReplaceAll(msg, "'"+docURL+"#/messages/", "'#/messages/")
	msg = strings.ReplaceAll(msg, "'"+docURL+"#", "'#")
	msg = strings.ReplaceAll(msg, docURL+"#", "#")
	return errors.New(msg)
}

// Refs returns the names of the shared schemas that schema (JSON) refers
// to, directly, each once, sorted.
func Refs(raw json.RawMessage) []string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	var out []string
	walk(v, func(m map[string]any) {
		if ref, ok := m["$ref"].(string); ok {
			if name, ok := strings.CutPrefix(ref, RefPrefix); ok && !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	})
	slices.Sort(out)
	return out
}

// walk calls f with every object in v, depth first.
func walk(v any, f func(map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		f(v)
		for _, k := range sortedKeys(v) {
			walk(v[k], f)
		}
	case []any:
		for _, e := range v {
			walk(e, f)
		}
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
