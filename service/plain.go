package service

import (
	"encoding"
	"encoding/json"
	"reflect"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/internal/plainjson"
)

// In one process the bus hands a receiver the sender's envelope, whose Value
// is the Go value its payload was encoded from. Decoding the payload again
// is what most of a short request costs; for a type of plain data, copying
// the value gives exactly what decoding would (a JSON round trip of such a
// value is the value), so decodeInto copies it instead.
//
// Plain data is internal/plainjson's (booleans, numbers, strings, and
// arrays and structs of them, with no custom encoding: no pointers, slices,
// maps or interfaces, whose copy would share memory with the sender). One
// difference remains: a string that is not valid UTF-8 reaches the receiver
// as it was, where JSON would have replaced its bad bytes with U+FFFD.

// isPlain reports whether t is plain data.
func isPlain(t reflect.Type) bool { return plainjson.Plain(t) }

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
	return !plainjson.Implements(t, reflect.TypeFor[json.Unmarshaler](), reflect.TypeFor[encoding.TextUnmarshaler]())
}

// emptyObject reports whether a payload is the empty JSON object, as
// written without spaces.
func emptyObject(p json.RawMessage) bool { return len(p) == 2 && p[0] == '{' && p[1] == '}' }
