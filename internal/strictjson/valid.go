package strictjson

import "encoding/json"

// Valid reports whether b is one JSON value, as json.Valid does, and gives
// the same answer for every input (FuzzValid checks it); it reads the
// payloads of the bus's hot paths — small objects — in a fraction of
// json.Valid's time, which calls its scanner's state function once per
// byte. Values nested deeper than maxValidDepth are handed to json.Valid.
func Valid(b []byte) bool {
	v := validator{data: b}
	ok, sure := v.value(0)
	if !sure {
		return json.Valid(b)
	}
	if !ok {
		return false
	}
	v.skipSpace()
	return v.pos == len(b)
}

// maxValidDepth is how deeply Valid nests before it hands b to json.Valid.
const maxValidDepth = 64

// validator reads one JSON value. Its methods report whether what they read
// was valid, and whether they are sure of it (false: too deep to say).
type validator struct {
	data []byte
	pos  int
}

func (v *validator) skipSpace() {
	for v.pos < len(v.data) {
		switch v.data[v.pos] {
		case ' ', '\t', '\n', '\r':
			v.pos++
		default:
			return
		}
	}
}

func (v *validator) value(depth int) (ok, sure bool) {
	if depth > maxValidDepth {
		return false, false
	}
	v.skipSpace()
	if v.pos == len(v.data) {
		return false, true
	}
	switch c := v.data[v.pos]; {
	case c == '{':
		return v.object(depth)
	case c == '[':
		return v.array(depth)
	case c == '"':
		return v.str(), true
	case c == '-' || '0' <= c && c <= '9':
		return v.number(), true
	default:
		return v.literal("true") || v.literal("false") || v.literal("null"), true
	}
}

func (v *validator) literal(s string) bool {
	if len(v.data)-v.pos < len(s) || string(v.data[v.pos:v.pos+len(s)]) != s {
		return false
	}
	v.pos += len(s)
	return true
}

func (v *validator) object(depth int) (ok, sure bool) {
	v.pos++ // {
	v.skipSpace()
	if v.pos < len(v.data) && v.data[v.pos] == '}' {
		v.pos++
		return true, true
	}
	for {
		v.skipSpace()
		if v.pos == len(v.data) || v.data[v.pos] != '"' || !v.str() {
			return false, true
		}
		v.skipSpace()
		if v.pos == len(v.data) || v.data[v.pos] != ':' {
			return false, true
		}
		v.pos++
		if ok, sure := v.value(depth + 1); !ok || !sure {
			return ok, sure
		}
		v.skipSpace()
		if v.pos == len(v.data) {
			return false, true
		}
		switch v.data[v.pos] {
		case ',':
			v.pos++
		case '}':
			v.pos++
			return true, true
		default:
			return false, true
		}
	}
}

func (v *validator) array(depth int) (ok, sure bool) {
	v.pos++ // [
	v.skipSpace()
	if v.pos < len(v.data) && v.data[v.pos] == ']' {
		v.pos++
		return true, true
	}
	for {
		if ok, sure := v.value(depth + 1); !ok || !sure {
			return ok, sure
		}
		v.skipSpace()
		if v.pos == len(v.data) {
			return false, true
		}
		switch v.data[v.pos] {
		case ',':
			v.pos++
		case ']':
			v.pos++
			return true, true
		default:
			return false, true
		}
	}
}

// str reads a string: any bytes but control characters, '"' and '\',
// and the escapes JSON has (json.Valid does not check UTF-8 either).
func (v *validator) str() bool {
	for i := v.pos + 1; i < len(v.data); i++ {
		switch c := v.data[i]; {
		case c == '"':
			v.pos = i + 1
			return true
		case c < 0x20:
			return false
		case c == '\\':
			i++
			if i == len(v.data) {
				return false
			}
			switch v.data[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(v.data) {
					return false
				}
				for _, h := range v.data[i+1 : i+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return false
					}
				}
				i += 4
			default:
				return false
			}
		}
	}
	return false
}

// number reads -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (v *validator) number() bool {
	i := v.pos
	digits := func() bool {
		j := i
		for i < len(v.data) && '0' <= v.data[i] && v.data[i] <= '9' {
			i++
		}
		return i > j
	}
	if v.data[i] == '-' {
		i++
	}
	switch {
	case i < len(v.data) && v.data[i] == '0':
		i++
	case !digits():
		return false
	}
	if i < len(v.data) && v.data[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(v.data) && (v.data[i] == 'e' || v.data[i] == 'E') {
		i++
		if i < len(v.data) && (v.data[i] == '+' || v.data[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	v.pos = i
	return true
}
