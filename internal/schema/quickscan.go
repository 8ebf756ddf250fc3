package schema

import (
	"encoding/json"
	"slices"
	"unicode/utf8"

	"github.com/troupe-go/troupe/internal/strictjson"
)

// okJSON is the quick reading of a payload's bytes as they are: it reports
// whether data is one JSON document that certainly matches the schema,
// without making the document (the maps, slices and boxed values that were
// most of a small payload's check). It answers false for anything it does
// not decide on its own — invalid JSON, a key given twice in an object the
// schema looks into (the document keeps the last; the walk would have
// checked both), an escape in a string whose content the schema reads,
// nesting deeper than strictjson.MaxDepth, a number not written as a whole
// number of 64 bits where its value counts — and the library decides those
// and words the error.
func (q *quick) okJSON(data []byte) bool {
	w := walker{Cursor: strictjson.Cursor{Data: data}, budget: 64 + 8*len(data)}
	if !w.value(q, 0) {
		return false
	}
	w.SkipSpace()
	return w.Pos == len(w.Data)
}

// maxKeys bounds the members of an object the walk checks for repeated
// keys; a larger object is left to the library.
const maxKeys = 32

// walker reads one JSON document against a quick reading. budget bounds
// its work: a value is walked once more for each $ref its schema adds to
// other keywords, which schemas nested in each other could multiply.
type walker struct {
	strictjson.Cursor // JSON's grammar, as strictjson.Valid reads it
	budget            int
}

// value walks one value against q; a nil q is the schema true (any value).
func (w *walker) value(q *quick, depth int) bool {
	if depth > strictjson.MaxDepth || w.budget <= 0 {
		return false
	}
	w.budget--
	w.SkipSpace()
	if w.Pos == len(w.Data) {
		return false
	}
	if q == nil {
		return w.skip(depth)
	}
	if q.never {
		return false
	}
	if q.ref != nil {
		start := w.Pos
		if !w.value(q.ref, depth) {
			return false
		}
		if q.onlyRef() {
			return true
		}
		w.budget -= w.Pos - start
		w.Pos = start
	}
	switch c := w.Data[w.Pos]; {
	case c == '{':
		return w.object(q, depth)
	case c == '[':
		return w.array(q, depth)
	case c == '"':
		return w.str(q)
	case c == '-' || '0' <= c && c <= '9':
		return w.number(q)
	case w.Literal("true"):
		return q.scalar(typeBoolean, true)
	case w.Literal("false"):
		return q.scalar(typeBoolean, false)
	case w.Literal("null"):
		return q.scalar(typeNull, nil)
	}
	return false
}

// onlyRef reports whether q checks nothing but its $ref.
func (q *quick) onlyRef() bool {
	return q.types == 0 && q.enum == nil && q.format == nil && q.required == nil && q.props == nil &&
		q.extra == nil && !q.noExtra && q.items == nil && q.pattern == nil &&
		q.minProps < 0 && q.maxProps < 0 && q.minItems < 0 && q.maxItems < 0 && q.minLen < 0 && q.maxLen < 0 &&
		q.min == nil && q.max == nil && q.xmin == nil && q.xmax == nil
}

// scalar checks a boolean or null (v) of type bit t.
func (q *quick) scalar(t uint8, v any) bool {
	if q.types != 0 && q.types&t == 0 {
		return false
	}
	if q.enum != nil && !slices.Contains(q.enum, v) {
		return false
	}
	return q.format == nil || q.format(v) == nil
}

func (w *walker) object(q *quick, depth int) bool {
	if q.types != 0 && q.types&typeObject == 0 || q.enum != nil || q.format != nil {
		return false // enum holds primitives only; a format of an object: the library's
	}
	w.Pos++ // {
	var keys [maxKeys][]byte
	n := 0
	w.SkipSpace()
	if w.Pos < len(w.Data) && w.Data[w.Pos] == '}' {
		w.Pos++
	} else {
		for {
			w.SkipSpace()
			if w.Pos == len(w.Data) || w.Data[w.Pos] != '"' || n == maxKeys {
				return false
			}
			key, plain, ok := w.String()
			if !ok || !plain {
				return false // an escaped key: the library's
			}
			for _, k := range keys[:n] {
				if string(k) == string(key) {
					return false // the library keeps the last value, and decides
				}
			}
			keys[n] = key
			n++
			w.SkipSpace()
			if w.Pos == len(w.Data) || w.Data[w.Pos] != ':' {
				return false
			}
			w.Pos++
			var vs *quick
			if p, ok := q.props[string(key)]; ok {
				vs = p
			} else if q.noExtra {
				return false
			} else {
				vs = q.extra // nil: any value
			}
			if !w.value(vs, depth+1) {
				return false
			}
			more, ok := w.Next('}')
			if !ok {
				return false
			}
			if !more {
				break
			}
		}
	}
	if q.minProps >= 0 && n < q.minProps || q.maxProps >= 0 && n > q.maxProps {
		return false
	}
	for _, name := range q.required {
		if !slices.ContainsFunc(keys[:n], func(k []byte) bool { return string(k) == name }) {
			return false
		}
	}
	return true
}

func (w *walker) array(q *quick, depth int) bool {
	if q.types != 0 && q.types&typeArray == 0 || q.enum != nil || q.format != nil {
		return false
	}
	w.Pos++ // [
	n := 0
	w.SkipSpace()
	if w.Pos < len(w.Data) && w.Data[w.Pos] == ']' {
		w.Pos++
	} else {
		for {
			if !w.value(q.items, depth+1) {
				return false
			}
			n++
			more, ok := w.Next(']')
			if !ok {
				return false
			}
			if !more {
				break
			}
		}
	}
	return !(q.minItems >= 0 && n < q.minItems || q.maxItems >= 0 && n > q.maxItems)
}

// readsString reports whether q looks at a string's content (beyond its
// type).
func (q *quick) readsString() bool {
	return q.enum != nil || q.format != nil || q.pattern != nil || q.minLen >= 0 || q.maxLen >= 0
}

func (w *walker) str(q *quick) bool {
	if q.types != 0 && q.types&typeString == 0 {
		return false
	}
	s, plain, ok := w.String()
	if !ok {
		return false
	}
	if !q.readsString() {
		return true
	}
	if !plain {
		return false // escapes or bytes that are not UTF-8: the library reads them
	}
	if q.enum != nil && !slices.ContainsFunc(q.enum, func(v any) bool { e, ok := v.(string); return ok && e == string(s) }) {
		return false
	}
	if q.format != nil || q.pattern != nil {
		str := string(s)
		if q.format != nil && q.format(str) != nil {
			return false
		}
		if q.pattern != nil && !q.pattern.MatchString(str) {
			return false
		}
	}
	if q.minLen >= 0 || q.maxLen >= 0 {
		n := utf8.RuneCount(s)
		if q.minLen >= 0 && n < q.minLen || q.maxLen >= 0 && n > q.maxLen {
			return false
		}
	}
	return true
}

// number checks a number: its type, format and whole-number bounds.
func (w *walker) number(q *quick) bool {
	text, ok := w.Number()
	if !ok {
		return false
	}
	bounded := q.min != nil || q.max != nil || q.xmin != nil || q.xmax != nil
	var n int64
	whole := false
	if bounded || q.types != 0 && q.types&typeNumber == 0 {
		if n, whole = wholeNumberBytes(text); !whole {
			return false // "1.0", "1e2", a longer number: the library decides
		}
	}
	if q.types != 0 && q.types&typeNumber == 0 && q.types&typeInteger == 0 {
		return false
	}
	if q.enum != nil {
		return false // enum holds primitives only
	}
	if q.format != nil && q.format(json.Number(text)) != nil {
		return false
	}
	if !bounded {
		return true
	}
	return (q.min == nil || n >= *q.min) && (q.max == nil || n <= *q.max) &&
		(q.xmin == nil || n > *q.xmin) && (q.xmax == nil || n < *q.xmax)
}

// wholeNumberBytes reads a number's text (strictjson.Cursor.Number's
// grammar: no '+', no leading zeros) if it is written as a whole number of
// at most 18 digits ("12", "-3"); for "1.0", "1e2" or a longer number it
// says false, and the library decides.
func wholeNumberBytes(text []byte) (int64, bool) {
	neg := len(text) > 0 && text[0] == '-'
	if neg {
		text = text[1:]
	}
	if len(text) == 0 || len(text) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range text {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// skip walks any one value (the schema true): it must be well-formed, and
// nothing in it is looked at.
func (w *walker) skip(depth int) bool {
	if w.budget <= 0 {
		return false
	}
	start := w.Pos
	ok, sure := w.Skip(depth)
	w.budget -= w.Pos - start
	return ok && sure
}
