package strictjson

import (
	"encoding/json"
	"unicode/utf8"
)

// Valid reports whether b is one JSON value, as json.Valid does, and gives
// the same answer for every input (FuzzValid checks it); it reads the
// payloads of the bus's hot paths — small objects — in a fraction of
// json.Valid's time, which calls its scanner's state function once per
// byte. Values nested deeper than MaxDepth are handed to json.Valid.
func Valid(b []byte) bool {
	s := scanner{Cursor: Cursor{Data: b}}
	_, ok, sure := s.document()
	if !sure {
		return json.Valid(b)
	}
	return ok
}

// Decode reads the usual JSON document — well-formed, its strings free of
// escapes and valid UTF-8, nested no deeper than MaxDepth — into what
// encoding/json's Decoder with UseNumber makes of it: map[string]any (the
// last of a repeated key wins), []any, string, json.Number, bool and nil.
// It reports false for anything else, valid or not, which the caller hands
// to encoding/json itself: for the documents Decode reads, both give the
// same value (package schema's FuzzDecodeDoc checks it).
func Decode(b []byte) (any, bool) {
	s := scanner{Cursor: Cursor{Data: b}, build: true}
	v, ok, sure := s.document()
	return v, ok && sure
}

// MaxDepth is how deeply Valid and Decode read a document themselves (a
// deeper one goes to encoding/json), for readers that share their limits.
const MaxDepth = 64

// A Cursor reads JSON's tokens from Data at Pos, with exactly the grammar
// Valid holds to json.Valid's: the scanner below and other readers of
// payloads (package schema's walk) share it. Each method reads at Pos and
// moves Pos past what it read; a method that reports false leaves Pos
// anywhere.
type Cursor struct {
	Data []byte
	Pos  int
}

// SkipSpace moves past JSON's white space.
func (c *Cursor) SkipSpace() {
	for c.Pos < len(c.Data) {
		switch c.Data[c.Pos] {
		case ' ', '\t', '\n', '\r':
			c.Pos++
		default:
			return
		}
	}
}

// Literal reads lit (true, false, null) if it is next.
func (c *Cursor) Literal(lit string) bool {
	if len(c.Data)-c.Pos < len(lit) || string(c.Data[c.Pos:c.Pos+len(lit)]) != lit {
		return false
	}
	c.Pos += len(lit)
	return true
}

// Next reads what follows a member or an element, after white space: a ','
// (more: true) or the closing byte.
func (c *Cursor) Next(closing byte) (more, ok bool) {
	c.SkipSpace()
	if c.Pos == len(c.Data) {
		return false, false
	}
	switch c.Data[c.Pos] {
	case ',':
		c.Pos++
		return true, true
	case closing:
		c.Pos++
		return false, true
	}
	return false, false
}

// String reads a string at Pos (its opening quote) and returns its bytes
// between the quotes: any bytes but control characters, '"' and '\', and
// the escapes JSON has (json.Valid does not check UTF-8 either). plain
// says the bytes are the string's content as they stand: no escape, valid
// UTF-8.
func (c *Cursor) String() (s []byte, plain, ok bool) {
	start, ascii, escaped := c.Pos+1, true, false
	for i := start; i < len(c.Data); i++ {
		switch b := c.Data[i]; {
		case b == '"':
			c.Pos = i + 1
			s = c.Data[start:i]
			return s, !escaped && (ascii || utf8.Valid(s)), true
		case b < 0x20:
			return nil, false, false
		case b >= utf8.RuneSelf:
			ascii = false
		case b == '\\':
			escaped = true
			if i++; i == len(c.Data) {
				return nil, false, false
			}
			switch c.Data[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(c.Data) {
					return nil, false, false
				}
				for _, h := range c.Data[i+1 : i+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return nil, false, false
					}
				}
				i += 4
			default:
				return nil, false, false
			}
		}
	}
	return nil, false, false
}

// Number reads -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? at Pos and
// returns its text.
func (c *Cursor) Number() ([]byte, bool) {
	start, i := c.Pos, c.Pos
	digits := func() bool {
		j := i
		for i < len(c.Data) && '0' <= c.Data[i] && c.Data[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(c.Data) && c.Data[i] == '-' {
		i++
	}
	switch {
	case i < len(c.Data) && c.Data[i] == '0':
		i++
	case !digits():
		return nil, false
	}
	if i < len(c.Data) && c.Data[i] == '.' {
		i++
		if !digits() {
			return nil, false
		}
	}
	if i < len(c.Data) && (c.Data[i] == 'e' || c.Data[i] == 'E') {
		i++
		if i < len(c.Data) && (c.Data[i] == '+' || c.Data[i] == '-') {
			i++
		}
		if !digits() {
			return nil, false
		}
	}
	c.Pos = i
	return c.Data[start:i], true
}

// Skip reads one value at Pos, after white space, as Valid reads it, the
// value itself at nesting depth depth: ok says it is well-formed, sure
// that it was read (false: nested deeper than MaxDepth).
func (c *Cursor) Skip(depth int) (ok, sure bool) {
	s := scanner{Cursor: *c}
	_, ok, sure = s.value(depth)
	c.Pos = s.Pos
	return ok, sure
}

// scanner reads one JSON document for Valid (build false: it checks) or
// Decode (build true: it makes the value). Its methods report whether what
// they read was valid, and whether they are sure of it: false when the
// document goes to encoding/json instead (too deep; for Decode, a string
// with an escape or invalid UTF-8).
type scanner struct {
	Cursor
	build bool
}

func (s *scanner) document() (v any, ok, sure bool) {
	if v, ok, sure = s.value(0); !ok || !sure {
		return nil, ok, sure
	}
	s.SkipSpace()
	return v, s.Pos == len(s.Data), true
}

func (s *scanner) value(depth int) (v any, ok, sure bool) {
	if depth > MaxDepth {
		return nil, false, false
	}
	s.SkipSpace()
	if s.Pos == len(s.Data) {
		return nil, false, true
	}
	switch c := s.Data[s.Pos]; {
	case c == '{':
		return s.object(depth)
	case c == '[':
		return s.array(depth)
	case c == '"':
		return s.str()
	case c == '-' || '0' <= c && c <= '9':
		text, ok := s.Number()
		if !ok || !s.build {
			return nil, ok, true
		}
		return json.Number(text), true, true
	case s.Literal("true"):
		return true, true, true
	case s.Literal("false"):
		return false, true, true
	case s.Literal("null"):
		return nil, true, true
	}
	return nil, false, true
}

func (s *scanner) object(depth int) (any, bool, bool) {
	s.Pos++ // {
	var m map[string]any
	if s.build {
		m = map[string]any{}
	}
	s.SkipSpace()
	if s.Pos < len(s.Data) && s.Data[s.Pos] == '}' {
		s.Pos++
		return m, true, true
	}
	for {
		s.SkipSpace()
		if s.Pos == len(s.Data) || s.Data[s.Pos] != '"' {
			return nil, false, true
		}
		k, ok, sure := s.str()
		if !ok || !sure {
			return nil, ok, sure
		}
		s.SkipSpace()
		if s.Pos == len(s.Data) || s.Data[s.Pos] != ':' {
			return nil, false, true
		}
		s.Pos++
		v, ok, sure := s.value(depth + 1)
		if !ok || !sure {
			return nil, ok, sure
		}
		if s.build {
			m[k.(string)] = v
		}
		more, ok := s.Next('}')
		if !ok || !more {
			return m, ok, true
		}
	}
}

func (s *scanner) array(depth int) (any, bool, bool) {
	s.Pos++ // [
	var a []any
	if s.build {
		a = []any{}
	}
	s.SkipSpace()
	if s.Pos < len(s.Data) && s.Data[s.Pos] == ']' {
		s.Pos++
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
		more, ok := s.Next(']')
		if !ok || !more {
			return a, ok, true
		}
	}
}

// str reads a string. Decode leaves escapes and invalid UTF-8 to
// encoding/json, which replaces what it cannot represent.
func (s *scanner) str() (any, bool, bool) {
	b, plain, ok := s.String()
	switch {
	case !ok:
		return nil, false, true
	case !s.build:
		return nil, true, true
	case !plain:
		return nil, true, false
	}
	return string(b), true, true
}
