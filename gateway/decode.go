package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/internal/strictjson"
)

// member is one "key": value pair of a JSON object, as spans of the
// original text.
type member struct {
	key string // unescaped
	raw []byte // the whole `"key": value` text
	val []byte // the value's text
}

// badRequest returns the *troupe.Error for a client's malformed input.
func badRequest(format string, args ...any) *troupe.Error {
	return troupe.Errorf(troupe.CodeBadRequest, format, args...)
}

// DecodeRequest decodes the body of a protocol request, {"type": T, ...},
// into the message type T and the payload sent on the bus: the same object
// without its "type" member. It accepts exactly one JSON object in valid
// UTF-8, nested at most maxDepth levels deep (maxDepth <= 0 means
// DefaultMaxDepth), without duplicate top-level keys, whose "type" is a
// string that is a valid message name (see troupe.ValidName). Anything else
// is an *troupe.Error with CodeBadRequest saying what is wrong.
func DecodeRequest(body []byte, maxDepth int) (typ string, payload json.RawMessage, err error) {
	members, err := decodeObject(body, maxDepth)
	if err != nil {
		return "", nil, err
	}
	var rest [][]byte
	found := false
	for _, m := range members {
		if m.key != "type" {
			rest = append(rest, m.raw)
			continue
		}
		found = true
		if len(m.val) == 0 || m.val[0] != '"' {
			return "", nil, badRequest(`"type" must be a string, got %s`, kindOf(m.val))
		}
		if typ, err = unquote(m.val); err != nil {
			return "", nil, err
		}
	}
	if !found {
		return "", nil, badRequest(`missing "type": want a JSON object like {"type": "Hello"}`)
	}
	if err := troupe.ValidName(typ); err != nil {
		return "", nil, badRequest(`"type": %v`, err)
	}
	return typ, joinObject(rest), nil
}

// joinObject writes the members' text as one JSON object.
func joinObject(raws [][]byte) json.RawMessage {
	n := 2
	for _, r := range raws {
		n += len(r) + 1
	}
	out := make([]byte, 0, n)
	out = append(out, '{')
	for i, r := range raws {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, r...)
	}
	return append(out, '}')
}

// decodeObject checks that body is one JSON object (valid UTF-8, nested at
// most maxDepth levels, no duplicate top-level keys) and returns its members.
func decodeObject(body []byte, maxDepth int) ([]member, error) {
	if maxDepth <= 0 {
		maxDepth = DefaultMaxDepth
	}
	body = trimSpace(body)
	if len(body) == 0 {
		return nil, badRequest(`empty body: want a JSON object like {"type": "Hello"}`)
	}
	if !utf8.Valid(body) {
		return nil, badRequest("body is not valid UTF-8")
	}
	if err := checkDepth(body, maxDepth); err != nil {
		return nil, err
	}
	if !strictjson.Valid(body) {
		var v json.RawMessage
		err := json.Unmarshal(body, &v)
		if err == nil { // cannot happen: Valid and Unmarshal agree
			err = fmt.Errorf("syntax error")
		}
		return nil, badRequest("invalid JSON: %v", err)
	}
	// encoding/json would read a lone surrogate escape as U+FFFD.
	if err := strictjson.Check(body); err != nil {
		return nil, badRequest("body: %v", err)
	}
	if body[0] != '{' {
		return nil, badRequest("body must be a JSON object, got %s", kindOf(body))
	}
	return splitObject(body)
}

// splitObject splits a valid JSON object into its members and refuses
// duplicate keys.
func splitObject(b []byte) ([]member, error) {
	var out []member
	var seen map[string]struct{}
	i := skipSpace(b, 1)
	if i < len(b) && b[i] == '}' {
		return nil, nil
	}
	for i < len(b) {
		start := i
		kend := skipString(b, i)
		if kend > len(b) || kend <= i {
			return nil, badRequest("invalid JSON object")
		}
		key, err := unquote(b[i:kend])
		if err != nil {
			return nil, err
		}
		i = skipSpace(b, kend)
		if i >= len(b) || b[i] != ':' {
			return nil, badRequest("invalid JSON object")
		}
		i = skipSpace(b, i+1)
		vstart := i
		i = skipValue(b, i)
		if i > len(b) || i <= vstart {
			return nil, badRequest("invalid JSON object")
		}
		if seen == nil && len(out) >= 8 {
			// Many members: look duplicates up in a set, not by
			// comparing each pair (a 1 MiB body can hold 100,000).
			seen = make(map[string]struct{}, 16)
			for _, m := range out {
				seen[m.key] = struct{}{}
			}
		}
		dup := false
		if seen != nil {
			_, dup = seen[key]
			seen[key] = struct{}{}
		} else {
			for _, m := range out {
				dup = dup || m.key == key
			}
		}
		if dup {
			return nil, badRequest("duplicate key %q", truncate(key, 40))
		}
		out = append(out, member{key: key, raw: b[start:i], val: b[vstart:i]})
		i = skipSpace(b, i)
		if i >= len(b) {
			break
		}
		if b[i] == '}' {
			return out, nil
		}
		if b[i] != ',' {
			return nil, badRequest("invalid JSON object")
		}
		i = skipSpace(b, i+1)
	}
	return nil, badRequest("invalid JSON object")
}

// unquote returns the value of a JSON string literal.
func unquote(lit []byte) (string, error) {
	if bytes.IndexByte(lit, '\\') < 0 && len(lit) >= 2 {
		return string(lit[1 : len(lit)-1]), nil
	}
	var s string
	if err := json.Unmarshal(lit, &s); err != nil {
		return "", badRequest("invalid JSON string: %v", err)
	}
	return s, nil
}

// checkDepth refuses JSON text whose arrays and objects nest deeper than max.
// It runs before any parser so that hostile nesting costs one linear scan.
func checkDepth(b []byte, max int) error {
	depth := 0
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > max {
				return badRequest("JSON nested deeper than %d levels", max)
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}

// trimSpace removes JSON's white space (space, tab, CR, LF; not the other
// characters bytes.TrimSpace removes, which JSON refuses) from both ends.
func trimSpace(b []byte) []byte {
	i := skipSpace(b, 0)
	j := len(b)
	for j > i && (b[j-1] == ' ' || b[j-1] == '\t' || b[j-1] == '\n' || b[j-1] == '\r') {
		j--
	}
	return b[i:j]
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the string literal starting at
// b[i], or len(b)+1 if there is none.
func skipString(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return len(b) + 1
	}
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(b) + 1
}

// skipValue returns the index just past the JSON value starting at b[i],
// which must be valid JSON text.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return len(b) + 1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = skipString(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(b) + 1
	default:
		j := i
		for j < len(b) {
			switch b[j] {
			case ',', '}', ']', ' ', '\t', '\r', '\n':
				return j
			}
			j++
		}
		return j
	}
}

// kindOf names the kind of the JSON value starting at b[0].
func kindOf(b []byte) string {
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// truncate shortens s to at most n bytes for messages, without splitting a
// UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// quote returns s as a JSON string literal.
func quote(s string) []byte {
	b, err := json.Marshal(s)
	if err != nil { // cannot happen for a string
		return []byte(strconv.Quote(s))
	}
	return b
}
