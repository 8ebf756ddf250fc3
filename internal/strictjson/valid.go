package strictjson

import (
	"encoding/json"
	"unicode/utf8"
)

// Valid reports whether b is one JSON value, as json.Valid does, and gives
// the same answer for every input (FuzzValid checks it); it reads the
// payloads of the bus's hot paths — small objects — in a fraction of
// json.Valid's time, which calls its scanner's state function once per
// byte. Values nested deeper than maxDepth are handed to json.Valid.
func Valid(b []byte) bool {
	s := scanner{data: b}
	_, ok, sure := s.document()
	if !sure {
		return json.Valid(b)
	}
	return ok
}

// Decode reads the usual JSON document — well-formed, its strings free of
// escapes and valid UTF-8, nested no deeper than maxDepth — into what
// encoding/json's Decoder with UseNumber makes of it: map[string]any (the
// last of a repeated key wins), []any, string, json.Number, bool and nil.
// It reports false for anything else, valid or not, which the caller hands
// to encoding/json itself: for the documents Decode reads, both give the
// same value (package schema's FuzzDecodeDoc checks it).
func Decode(b []byte) (any, bool) {
	s := scanner{data: b, build: true}
	v, ok, sure := s.document()
	return v, ok && sure
}

// maxDepth is how deeply the scanner nests before it hands a document on.
const maxDepth = 64

// scanner reads one JSON document for Valid (build false: it checks) or
// Decode (build true: it makes the value). Its methods report whether what
// they read was valid, and whether they are sure of it: false when the
// document goes to encoding/json instead (too deep; for Decode, a string
// with an escape or invalid UTF-8).
type scanner struct {
	data  []byte
	pos   int
	build bool
}

func (s *scanner) document() (v any, ok, sure bool) {
	if v, ok, sure = s.value(0); !ok || !sure {
		return nil, ok, sure
	}
	s.skipSpace()
	return v, s.pos == len(s.data), true
}

func (s *scanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

func (s *scanner) value(depth int) (v any, ok, sure bool) {
	if depth > maxDepth {
		return nil, false, false
	}
	s.skipSpace()
	if s.pos == len(s.data) {
		return nil, false, true
	}
	switch c := s.data[s.pos]; {
	case c == '{':
		return s.object(depth)
	case c == '[':
		return s.array(depth)
	case c == '"':
		return s.str()
	case c == '-' || '0' <= c && c <= '9':
		return s.number()
	case s.literal("true"):
		return true, true, true
	case s.literal("false"):
		return false, true, true
	case s.literal("null"):
		return nil, true, true
	}
	return nil, false, true
}

func (s *scanner) literal(lit string) bool {
	if len(s.data)-s.pos < len(lit) || string(s.data[s.pos:s.pos+len(lit)]) != lit {
		return false
	}
	s.pos += len(lit)
	return true
}

// next reads what follows a member or an element: a ',' (more: true) or
// the closing byte.
func (s *scanner) next(closing byte) (more, ok bool) {
	s.skipSpace()
	if s.pos == len(s.data) {
		return false, false
	}
	switch s.data[s.pos] {
	case ',':
		s.pos++
		return true, true
	case closing:
		s.pos++
		return false, true
	}
	return false, false
}

func (s *scanner) object(depth int) (any, bool, bool) {
	s.pos++ // {
	var m map[string]any
	if s.build {
		m = map[string]any{}
	}
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == '}' {
		s.pos++
		return m, true, true
	}
	for {
		s.skipSpace()
		if s.pos == len(s.data) || s.data[s.pos] != '"' {
			return nil, false, true
		}
		k, ok, sure := s.str()
		if !ok || !sure {
			return nil, ok, sure
		}
		s.skipSpace()
		if s.pos == len(s.data) || s.data[s.pos] != ':' {
			return nil, false, true
		}
		s.pos++
		v, ok, sure := s.value(depth + 1)
		if !ok || !sure {
			return nil, ok, sure
		}
		if s.build {
			m[k.(string)] = v
		}
		more, ok := s.next('}')
		if !ok || !more {
			return m, ok, true
		}
	}
}

func (s *scanner) array(depth int) (any, bool, bool) {
	s.pos++ // [
	var a []any
	if s.build {
		a = []any{}
	}
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == ']' {
		s.pos++
		return a, true, true
	}
	for {
		v, ok, sure := s.value(depth + 1)
		if !ok || !sure {
			return nil, ok, sure
		}
		if s.build {
			a = append(a, v)
		}
		more, ok := s.next(']')
		if !ok || !more {
			return a, ok, true
		}
	}
}

// str reads a string: any bytes but control characters, '"' and '\', and
// the escapes JSON has (json.Valid does not check UTF-8 either). Decode
// leaves escapes and invalid UTF-8 to encoding/json, which replaces what it
// cannot represent.
func (s *scanner) str() (any, bool, bool) {
	start, ascii := s.pos+1, true
	for i := start; i < len(s.data); i++ {
		switch c := s.data[i]; {
		case c == '"':
			s.pos = i + 1
			if !s.build {
				return nil, true, true
			}
			if b := s.data[start:i]; ascii || utf8.Valid(b) {
				return string(b), true, true
			}
			return nil, true, false
		case c < 0x20:
			return nil, false, true
		case c >= utf8.RuneSelf:
			ascii = false
		case c == '\\':
			if s.build {
				return nil, true, false
			}
			if i++; i == len(s.data) {
				return nil, false, true
			}
			switch s.data[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(s.data) {
					return nil, false, true
				}
				for _, h := range s.data[i+1 : i+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return nil, false, true
					}
				}
				i += 4
			default:
				return nil, false, true
			}
		}
	}
	return nil, false, true
}

// number reads -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() (any, bool, bool) {
	start, i := s.pos, s.pos
	digits := func() bool {
		j := i
		for i < len(s.data) && '0' <= s.data[i] && s.data[i] <= '9' {
			i++
		}
		return i > j
	}
	if s.data[i] == '-' {
		i++
	}
	switch {
	case i < len(s.data) && s.data[i] == '0':
		i++
	case !digits():
		return nil, false, true
	}
	if i < len(s.data) && s.data[i] == '.' {
		i++
		if !digits() {
			return nil, false, true
		}
	}
	if i < len(s.data) && (s.data[i] == 'e' || s.data[i] == 'E') {
		i++
		if i < len(s.data) && (s.data[i] == '+' || s.data[i] == '-') {
			i++
		}
		if !digits() {
			return nil, false, true
		}
	}
	s.pos = i
	if !s.build {
		return nil, true, true
	}
	return json.Number(s.data[start:i]), true, true
}
