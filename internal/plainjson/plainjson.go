// Package plainjson knows the Go types of plain data, whose values the bus
// and the service SDK may copy and encode without encoding/json's general
// machinery, and encodes them to exactly the bytes encoding/json writes.
//
// Plain data: booleans, numbers, strings, and arrays and structs of them,
// whose every field is exported, not embedded and not left out of JSON
// (`json:"-"`), with no custom JSON or text encoding anywhere. No pointers,
// slices, maps or interfaces: a copy of those would share memory with the
// sender, where decoding makes a value of the receiver's own.
package plainjson

import (
	"encoding"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// maxDepth bounds the nesting of arrays and structs in a plain type.
const maxDepth = 16

var plainTypes sync.Map // reflect.Type → bool

// Plain reports whether t is plain data.
func Plain(t reflect.Type) bool {
	if v, ok := plainTypes.Load(t); ok {
		return v.(bool)
	}
	p := plain(t, 0)
	plainTypes.Store(t, p)
	return p
}

var (
	jsonMarshaler   = reflect.TypeFor[json.Marshaler]()
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textMarshaler   = reflect.TypeFor[encoding.TextMarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func plain(t reflect.Type, depth int) bool {
	if depth > maxDepth || t == nil {
		return false
	}
	if Implements(t, jsonMarshaler, jsonUnmarshaler, textMarshaler, textUnmarshaler) {
		return false
	}
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.String:
		return true
	case reflect.Array:
		return plain(t.Elem(), depth+1)
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() || f.Anonymous {
				return false
			}
			if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name == "-" {
				return false
			}
			if !plain(f.Type, depth+1) {
				return false
			}
		}
		return true
	}
	return false
}

// Implements reports whether t or *t implements one of the interfaces.
func Implements(t reflect.Type, ifaces ...reflect.Type) bool {
	pt := reflect.PointerTo(t)
	for _, i := range ifaces {
		if t.Implements(i) || pt.Implements(i) {
			return true
		}
	}
	return false
}

// Marshal returns what json.Marshal(v) returns, in a slice of its own no
// larger than it needs (it encodes into a pooled buffer), and reports
// whether it could (see Append); when it reports false, the caller
// marshals v with encoding/json.
func Marshal(v any) ([]byte, bool) {
	buf := scratch.Get().(*[]byte)
	out, ok := Append((*buf)[:0], v)
	var data []byte
	if ok {
		data = append([]byte(nil), out...)
	}
	if cap(out) <= 64<<10 {
		*buf = out
		scratch.Put(buf)
	}
	return data, ok
}

// scratch holds the buffers Marshal encodes into.
var scratch = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// Append appends to b what json.Marshal(v) returns, and reports whether it
// did; when it reports false, b is as it was and the caller marshals v with
// encoding/json. It encodes values of plain types whose JSON names are
// letters, digits and '_', with no tag option but omitempty and no name
// given twice, and whose strings are printable ASCII without '"', '\\',
// '<', '>' and '&' (the bytes encoding/json writes as they are); anything
// else, and a float that is not finite, it leaves to encoding/json.
func Append(b []byte, v any) ([]byte, bool) {
	if v == nil {
		return b, false
	}
	enc := encoderOf(reflect.TypeOf(v))
	if enc == nil {
		return b, false
	}
	out, ok := enc(b, reflect.ValueOf(v))
	if !ok {
		return b, false
	}
	return out, true
}

// An encoder appends the JSON of v, or reports that encoding/json must.
type encoder func(b []byte, v reflect.Value) ([]byte, bool)

var encoders sync.Map // reflect.Type → encoder, nil for none

func encoderOf(t reflect.Type) encoder {
	if e, ok := encoders.Load(t); ok {
		return e.(encoder)
	}
	var e encoder
	if Plain(t) {
		e = newEncoder(t)
	}
	encoders.Store(t, e)
	return e
}

// newEncoder returns the encoder of the plain type t, or nil if a name or a
// tag of t is beyond Append.
func newEncoder(t reflect.Type) encoder {
	switch t.Kind() {
	case reflect.Bool:
		return func(b []byte, v reflect.Value) ([]byte, bool) { return strconv.AppendBool(b, v.Bool()), true }
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(b []byte, v reflect.Value) ([]byte, bool) { return strconv.AppendInt(b, v.Int(), 10), true }
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return func(b []byte, v reflect.Value) ([]byte, bool) { return strconv.AppendUint(b, v.Uint(), 10), true }
	case reflect.Float32, reflect.Float64:
		bits := t.Bits()
		return func(b []byte, v reflect.Value) ([]byte, bool) { return appendFloat(b, v.Float(), bits) }
	case reflect.String:
		return func(b []byte, v reflect.Value) ([]byte, bool) { return appendString(b, v.String()) }
	case reflect.Array:
		elem := newEncoder(t.Elem())
		if elem == nil {
			return nil
		}
		return func(b []byte, v reflect.Value) ([]byte, bool) {
			b = append(b, '[')
			for i := range v.Len() {
				if i > 0 {
					b = append(b, ',')
				}
				var ok bool
				if b, ok = elem(b, v.Index(i)); !ok {
					return b, false
				}
			}
			return append(b, ']'), true
		}
	case reflect.Struct:
		return newStructEncoder(t)
	}
	return nil
}

type field struct {
	index     int
	key       string // `"name":`
	omitEmpty bool
	enc       encoder
}

func newStructEncoder(t reflect.Type) encoder {
	fields := make([]field, 0, t.NumField())
	names := make(map[string]bool, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		tag, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		name := f.Name
		if tag != "" {
			name = tag
		}
		if !simpleName(name) || names[name] || opts != "" && opts != "omitempty" {
			return nil
		}
		names[name] = true
		enc := newEncoder(f.Type)
		if enc == nil {
			return nil
		}
		fields = append(fields, field{index: i, key: `"` + name + `":`, omitEmpty: opts == "omitempty", enc: enc})
	}
	return func(b []byte, v reflect.Value) ([]byte, bool) {
		b = append(b, '{')
		first := true
		for _, f := range fields {
			fv := v.Field(f.index)
			if f.omitEmpty && empty(fv) {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = append(b, f.key...)
			var ok bool
			if b, ok = f.enc(b, fv); !ok {
				return b, false
			}
		}
		return append(b, '}'), true
	}
}

// simpleName reports whether a JSON name is 1 or more letters, digits and
// '_': one that encoding/json takes from a tag as it is and writes without
// escapes.
func simpleName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return s != ""
}

// empty reports whether omitempty leaves v out: false, 0, "", an array of
// length 0; never a struct.
func empty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.String, reflect.Array:
		return v.Len() == 0
	}
	return false
}

// appendString appends s quoted if it is printable ASCII that JSON writes
// as it is (encoding/json escapes '<', '>' and '&' too).
func appendString(b []byte, s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return b, false
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), true
}

// appendFloat appends f as encoding/json writes a float of the given bits:
// the shortest form that reads back as f, in exponent form only below 1e-6
// and from 1e21 on, with a one-digit exponent written without a leading
// zero (ECMAScript's Number to String). It leaves NaN and the infinities,
// which JSON cannot write, to encoding/json's error.
func appendFloat(b []byte, f float64, bits int) ([]byte, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, false
	}
	format := byte('f')
	if a := math.Abs(f); a != 0 {
		if bits == 64 && (a < 1e-6 || a >= 1e21) || bits == 32 && (float32(a) < 1e-6 || float32(a) >= 1e21) {
			format = 'e'
		}
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, format, -1, bits)
	if format == 'e' {
		// e-07 is written e-7
		if n := len(b); n-start >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, true
}
