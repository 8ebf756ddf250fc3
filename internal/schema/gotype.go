package schema

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/troupe-go/troupe"
)

// CheckType reports every way in which values of the Go type t, as
// encoding/json writes and reads them, disagree with the JSON Schema raw
// (which may refer to app's shared schemas). Each problem is a sentence
// that starts with the place in the payload ("at /title: ...").
//
// The check is structural and conservative: it compares JSON types
// (object, array, string, number, integer, boolean), the properties of
// objects against the fields of structs (both ways: a property without a
// field, a field without a property, a required property that Go omits when
// empty), and array items and map values, recursively. It accepts whatever
// it cannot judge: a type with its own JSON or text encoding, any,
// json.RawMessage, and schemas built from oneOf, anyOf, allOf or not without
// a type of their own. A nil or empty raw accepts every type.
func CheckType(app *troupe.App, raw json.RawMessage, t reflect.Type) []string {
	if len(raw) == 0 || t == nil {
		return nil
	}
	var s any
	if err := json.Unmarshal(raw, &s); err != nil {
		return []string{fmt.Sprintf("the schema is not JSON: %v", err)}
	}
	c := &typeCheck{app: app, seen: map[seenKey]bool{}}
	c.check("", s, t)
	return c.problems
}

type typeCheck struct {
	app      *troupe.App
	problems []string
	seen     map[seenKey]bool
	depth    int
}

type seenKey struct {
	t   reflect.Type
	ref string
}

func (c *typeCheck) addf(path, format string, args ...any) {
	if path == "" {
		path = "/"
	}
	c.problems = append(c.problems, "at "+path+": "+fmt.Sprintf(format, args...))
}

var (
	jsonMarshaler   = reflect.TypeFor[json.Marshaler]()
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textMarshaler   = reflect.TypeFor[encoding.TextMarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	rawMessage      = reflect.TypeFor[json.RawMessage]()
)

// custom reports whether t encodes or decodes itself.
func custom(t reflect.Type) bool {
	for _, i := range []reflect.Type{jsonMarshaler, jsonUnmarshaler, textMarshaler, textUnmarshaler} {
		if t.Implements(i) || reflect.PointerTo(t).Implements(i) {
			return true
		}
	}
	return false
}

// jsonType is the JSON type encoding/json writes for t, "" when it cannot
// tell.
func jsonType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.String:
		return "string"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "string" // base64
		}
		return "array"
	case reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	}
	return ""
}

func (c *typeCheck) check(path string, s any, t reflect.Type) {
	c.depth++
	defer func() { c.depth-- }()
	if c.depth > 64 {
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == rawMessage || t.Kind() == reflect.Interface || custom(t) {
		return
	}
	m, ok := s.(map[string]any)
	if !ok {
		if b, isBool := s.(bool); isBool && !b {
			c.addf(path, "the schema is false: no value is allowed, but Go has %s", t)
		}
		return
	}
	if ref, ok := m["$ref"].(string); ok {
		name, shared := strings.CutPrefix(ref, RefPrefix)
		if !shared || c.app == nil {
			return
		}
		key := seenKey{t, name}
		if c.seen[key] {
			return
		}
		c.seen[key] = true
		raw := c.app.Schema(name)
		var target any
		if raw == nil || json.Unmarshal(raw, &target) != nil {
			c.addf(path, "the schema refers to %s, which the manifest does not declare", ref)
			return
		}
		c.check(path, target, t)
		return
	}
	types := schemaTypes(m)
	got := jsonType(t)
	if got == "" {
		c.addf(path, "Go type %s has no JSON form", t)
		return
	}
	if len(types) > 0 && !typeAllowed(types, got) {
		c.addf(path, "the schema says %s, Go type %s is %s", strings.Join(types, " or "), t, got)
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		c.object(path, m, t)
	case reflect.Map:
		if t.Key().Kind() != reflect.String && !custom(t.Key()) {
			switch t.Key().Kind() {
			case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
				reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			default:
				c.addf(path, "Go map key %s has no JSON form", t.Key())
				return
			}
		}
		if ap, ok := m["additionalProperties"]; ok {
			c.check(path+"/*", ap, t.Elem())
		}
	case reflect.Slice, reflect.Array:
		if got != "array" {
			return
		}
		if items, ok := m["items"]; ok {
			c.check(path+"/*", items, t.Elem())
		}
	}
}

// schemaTypes returns the JSON types a schema allows, from "type" or, if it
// has none, from "const" or "enum"; nil when it does not say.
func schemaTypes(m map[string]any) []string {
	var types []string
	switch v := m["type"].(type) {
	case string:
		types = []string{v}
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok {
				types = append(types, s)
			}
		}
	}
	if types != nil {
		return types
	}
	var values []any
	if v, ok := m["const"]; ok {
		values = []any{v}
	}
	if v, ok := m["enum"].([]any); ok {
		values = v
	}
	for _, v := range values {
		var t string
		switch v := v.(type) {
		case nil:
			t = "null"
		case bool:
			t = "boolean"
		case float64:
			t = "number"
			if v == float64(int64(v)) {
				t = "integer"
			}
		case string:
			t = "string"
		case []any:
			t = "array"
		case map[string]any:
			t = "object"
		}
		if !slices.Contains(types, t) {
			types = append(types, t)
		}
	}
	if len(types) == 0 {
		return nil
	}
	return types
}

// typeAllowed reports whether a Go value of JSON type got fits types. A Go
// integer fits "number"; a Go float fits "integer" (it decodes one, and the
// schema decides what it accepts).
func typeAllowed(types []string, got string) bool {
	switch {
	case slices.Contains(types, got):
		return true
	case got == "integer" && slices.Contains(types, "number"):
		return true
	case got == "number" && slices.Contains(types, "integer"):
		return true
	}
	return false
}

// field is one JSON member of a struct.
type goField struct {
	name      string
	typ       reflect.Type
	omitEmpty bool
	goName    string
}

// fields lists the JSON members of struct t as encoding/json sees them:
// exported fields, renamed by their json tag, "-" left out, untagged
// embedded structs flattened.
func fields(t reflect.Type, depth int) []goField {
	var out []goField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			et := ft
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct && !custom(et) && depth < 8 {
				out = append(out, fields(et, depth+1)...)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, goField{name: name, typ: ft, omitEmpty: strings.Contains(","+opts+",", ",omitempty,") || strings.Contains(","+opts+",", ",omitzero,"), goName: f.Name})
	}
	return out
}

func (c *typeCheck) object(path string, m map[string]any, t reflect.Type) {
	props, _ := m["properties"].(map[string]any)
	var required []string
	if r, ok := m["required"].([]any); ok {
		for _, e := range r {
			if s, ok := e.(string); ok {
				required = append(required, s)
			}
		}
	}
	if props == nil && required == nil {
		return // an object the schema does not describe
	}
	fs := fields(t, 0)
	byName := map[string]goField{}
	for _, f := range fs {
		byName[f.name] = f
	}
	for _, name := range sortedKeys(props) {
		f, ok := byName[name]
		if !ok {
			c.addf(path, "the schema has property %q, Go type %s has no field for it", name, t)
			continue
		}
		c.check(path+"/"+pointerToken(name), props[name], f.typ)
	}
	for _, f := range fs {
		if _, ok := props[f.name]; !ok {
			c.addf(path, "Go field %s.%s (%q) is not a property of the schema", t.Name(), f.goName, f.name)
		}
	}
	for _, name := range required {
		if f, ok := byName[name]; ok && f.omitEmpty {
			c.addf(path, "the schema requires %q, Go field %s.%s leaves it out when empty (omitempty)", name, t.Name(), f.goName)
		}
	}
}
