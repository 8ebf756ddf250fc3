// Package strictjson holds the checks troupe applies to JSON that clients
// send, beyond what encoding/json does: encoding/json silently turns
// invalid UTF-8 and lone UTF-16 surrogates (a "\ud800" escape without its
// pair) into U+FFFD, and its error messages name Go types ("cannot
// unmarshal number into Go struct field CreateTodo.title of type string").
package strictjson

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"
)

// Check reports what is wrong with the JSON text b beyond its syntax, or
// nil: invalid UTF-8, or a \u escape of a UTF-16 surrogate without its
// other half. It assumes b is otherwise valid JSON.
func Check(b []byte) error {
	if !utf8.Valid(b) {
		return errors.New("not valid UTF-8")
	}
	in := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !in {
			if c == '"' {
				in = true
			}
			continue
		}
		switch c {
		case '"':
			in = false
		case '\\':
			if i+1 < len(b) && b[i+1] == 'u' {
				r, ok := hex4(b, i+2)
				switch {
				case !ok:
				case r >= 0xD800 && r <= 0xDBFF:
					// A high surrogate must be followed by \uDC00-\uDFFF.
					lo, ok := rune(0), false
					if i+7 < len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
						lo, ok = hex4(b, i+8)
					}
					if !ok || lo < 0xDC00 || lo > 0xDFFF {
						return fmt.Errorf("a lone surrogate \\u%04X (half of a UTF-16 pair) is not a character", r)
					}
					i += 11
					continue
				case r >= 0xDC00 && r <= 0xDFFF:
					return fmt.Errorf("a lone surrogate \\u%04X (half of a UTF-16 pair) is not a character", r)
				}
			}
			i++ // the escaped character
		}
	}
	return nil
}

// hex4 reads four hex digits at b[i:].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// Describe renders an encoding/json decoding error for whoever sent the
// JSON: the field and the JSON types, never a Go type ("title: got a
// number, want a string"); an unknown field as `unknown field "x"`.
func Describe(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		got := te.Value
		switch {
		case got == "bool":
			got = "a boolean"
		case got == "object" || got == "array":
			got = "an " + got
		case got == "string" || got == "number":
			got = "a " + got
		case strings.HasPrefix(got, "number"):
			got = "the " + got
		}
		want := "another type"
		if te.Type != nil {
			want = jsonKind(te.Type)
		}
		if te.Field == "" {
			return fmt.Sprintf("got %s, want %s", got, want)
		}
		return fmt.Sprintf("%s: got %s, want %s", te.Field, got, want)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "invalid JSON: " + se.Error()
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return "unknown field " + f
	}
	// Other messages of encoding/json may name Go types; say no more.
	if strings.Contains(msg, "Go ") || strings.Contains(msg, "json: ") {
		return "the payload does not have the expected form"
	}
	return msg
}

// jsonKind names the JSON type a Go type is decoded from.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "another type"
}
