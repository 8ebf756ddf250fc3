package service

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"sync"

	"github.com/troupe-go/troupe"
)

// In one process the bus hands a receiver the sender's envelope, whose Value
// is the Go value its payload was encoded from. Decoding the payload again
// is what most of a short request costs; for a type of plain data, copying
// the value gives exactly what decoding would (a JSON round trip of such a
// value is the value), so decodeInto copies it instead.
//
// Plain data: booleans, numbers, strings, and arrays and structs of them,
// whose every field is exported, not embedded and not left out of JSON
// (`json:"-"`), with no custom JSON or text encoding anywhere. No pointers,
// slices, maps or interfaces: a copy of those would share memory with the
// sender, where decoding makes a value of the receiver's own. (One
// difference remains: a string that is not valid UTF-8 reaches the receiver
// as it was, where JSON would have replaced its bad bytes with U+FFFD.)

var plainTypes sync.Map // reflect.Type → bool

// isPlain reports whether t is plain data.
func isPlain(t reflect.Type) bool {
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
	if depth > 16 {
		return false
	}
	if implementsAny(t, jsonMarshaler, jsonUnmarshaler, textMarshaler, textUnmarshaler) {
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

// decodeInto sets *v to a copy of env.Value when it is a T and T is plain
// data (plainT, from isPlain), and reports whether it did; the caller
// decodes the payload otherwise.
func decodeInto[T any](env *troupe.Envelope, v *T, plainT bool) (ok bool) {
	if !plainT || env.Value == nil {
		return false
	}
	tv, same := env.Value.(T)
	if !same {
		return false
	}
	*v = tv
	return true
}

// zeroFromEmpty reports whether decoding the JSON object {} into a zero t
// leaves it as it is: t is a struct (whatever its fields: {} names none)
// that decodes itself in no way of its own. A request without fields (the
// gateway sends {"type":"Hello"} as the payload {}) then needs no decoding.
func zeroFromEmpty(t reflect.Type) bool {
	if t.Kind() != reflect.Struct {
		return false
	}
	return !implementsAny(t, jsonUnmarshaler, textUnmarshaler)
}

// implementsAny reports whether t or *t implements one of the interfaces.
func implementsAny(t reflect.Type, ifaces ...reflect.Type) bool {
	pt := reflect.PointerTo(t)
	for _, i := range ifaces {
		if t.Implements(i) || pt.Implements(i) {
			return true
		}
	}
	return false
}

// emptyObject reports whether a payload is the empty JSON object, as
// written without spaces.
func emptyObject(p json.RawMessage) bool { return len(p) == 2 && p[0] == '{' && p[1] == '}' }
