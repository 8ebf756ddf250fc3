package schema

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The validator walks a payload decoded into the form
// jsonschema.UnmarshalJSON returns: map[string]any, []any, string,
// json.Number, bool and nil. UnmarshalJSON gets there through
// encoding/json's streaming Decoder, which costs most of a small payload's
// validation (a 40-byte object: about two thirds). decodeDoc reads the usual
// payload itself: well-formed JSON whose strings have no escapes and are
// valid UTF-8, nested no deeper than maxDocDepth. Anything else — an escape,
// a syntax error, deeper nesting — it hands to UnmarshalJSON whole, so that
// both return the same document, or the same error, for every input
// (FuzzDecodeDoc checks it).

// maxDocDepth is how deeply decodeDoc nests before it hands a payload on.
const maxDocDepth = 64

// decodeDoc decodes payload for the validator.
func decodeDoc(payload []byte) (any, error) {
	d := docDecoder{data: payload}
	if v, ok := d.value(0); ok {
		if d.skipSpace(); d.pos == len(d.data) {
			return v, nil
		}
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(payload))
}

// docDecoder reads one JSON document; every method reports false on
// anything it leaves to UnmarshalJSON.
type docDecoder struct {
	data []byte
	pos  int
}

func (d *docDecoder) skipSpace() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *docDecoder) value(depth int) (any, bool) {
	d.skipSpace()
	if d.pos == len(d.data) || depth > maxDocDepth {
		return nil, false
	}
	switch c := d.data[d.pos]; {
	case c == '{':
		return d.object(depth)
	case c == '[':
		return d.array(depth)
	case c == '"':
		return d.str()
	case c == '-' || '0' <= c && c <= '9':
		return d.number()
	case d.literal("true"):
		return true, true
	case d.literal("false"):
		return false, true
	case d.literal("null"):
		return nil, true
	}
	return nil, false
}

func (d *docDecoder) literal(s string) bool {
	if !bytes.HasPrefix(d.data[d.pos:], []byte(s)) {
		return false
	}
	d.pos += len(s)
	return true
}

func (d *docDecoder) object(depth int) (any, bool) {
	d.pos++ // {
	m := map[string]any{}
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		return m, true
	}
	for {
		d.skipSpace()
		if d.pos == len(d.data) || d.data[d.pos] != '"' {
			return nil, false
		}
		k, ok := d.str()
		if !ok {
			return nil, false
		}
		d.skipSpace()
		if d.pos == len(d.data) || d.data[d.pos] != ':' {
			return nil, false
		}
		d.pos++
		v, ok := d.value(depth + 1)
		if !ok {
			return nil, false
		}
		m[k.(string)] = v // a repeated key: the last one wins, as in encoding/json
		d.skipSpace()
		if d.pos == len(d.data) {
			return nil, false
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return m, true
		default:
			return nil, false
		}
	}
}

func (d *docDecoder) array(depth int) (any, bool) {
	d.pos++ // [
	a := []any{}
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		return a, true
	}
	for {
		v, ok := d.value(depth + 1)
		if !ok {
			return nil, false
		}
		a = append(a, v)
		d.skipSpace()
		if d.pos == len(d.data) {
			return nil, false
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
		case ']':
			d.pos++
			return a, true
		default:
			return nil, false
		}
	}
}

// str reads a string without escapes or control characters whose bytes
// are valid UTF-8.
func (d *docDecoder) str() (any, bool) {
	start := d.pos + 1
	ascii := true
	for i := start; i < len(d.data); i++ {
		switch c := d.data[i]; {
		case c == '"':
			s := d.data[start:i]
			if !ascii && !utf8.Valid(s) {
				return nil, false
			}
			d.pos = i + 1
			return string(s), true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false
}

// number reads a number as JSON writes it: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *docDecoder) number() (any, bool) {
	start, i := d.pos, d.pos
	digits := func() bool {
		j := i
		for i < len(d.data) && '0' <= d.data[i] && d.data[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(d.data) && d.data[i] == '-' {
		i++
	}
	switch {
	case i < len(d.data) && d.data[i] == '0':
		i++
	case !digits():
		return nil, false
	}
	if i < len(d.data) && d.data[i] == '.' {
		i++
		if !digits() {
			return nil, false
		}
	}
	if i < len(d.data) && (d.data[i] == 'e' || d.data[i] == 'E') {
		i++
		if i < len(d.data) && (d.data[i] == '+' || d.data[i] == '-') {
			i++
		}
		if !digits() {
			return nil, false
		}
	}
	d.pos = i
	return json.Number(d.data[start:i]), true
}
