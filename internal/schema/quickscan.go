package schema

import (
	"encoding/json"
	"slices"
	"unicode/utf8"
)

// okJSON is the quick reading applied to a payload's bytes as they are: it
// reports whether data is one JSON document that certainly matches the
// schema, as ok(decodeDoc(data)) would, without making the document (the
// maps, slices and boxed values that are most of a small payload's check).
// It answers false for anything it does not decide on its own — invalid
// JSON, a key given twice in an object the schema looks into (the document
// keeps the last; the walk would have checked both), an escape in a string
// whose content the schema reads, nesting deeper than maxDepth, a number
// not written as a whole number of 64 bits where its value counts — and
// the caller takes the document's path, which decides and words the error:
// so it can make a check faster, never different (TestQuickScanAgrees,
// FuzzQuick).
func (q *quick) okJSON(data []byte) bool {
	w := walker{data: data, budget: 64 + 8*len(data)}
	if !w.value(q, 0) {
		return false
	}
	w.skipSpace()
	return w.pos == len(w.data)
}

// maxDepth is how deeply the walk nests, as strictjson.Decode does.
const maxDepth = 64

// maxKeys bounds the members of an object the walk checks for repeated
// keys; a larger object takes the document's path.
const maxKeys = 32

// walker reads one JSON document against a quick reading. budget bounds
// its work: a value is walked once more for each $ref its schema adds to
// other keywords, which schemas nested in each other could multiply.
type walker struct {
	data   []byte
	pos    int
	budget int
}

func (w *walker) skipSpace() {
	for w.pos < len(w.data) {
		switch w.data[w.pos] {
		case ' ', '\t', '\n', '\r':
			w.pos++
		default:
			return
		}
	}
}

// value walks one value against q; a nil q is the schema true (any value).
func (w *walker) value(q *quick, depth int) bool {
	if depth > maxDepth || w.budget <= 0 {
		return false
	}
	w.budget--
	w.skipSpace()
	if w.pos == len(w.data) {
		return false
	}
	if q == nil {
		return w.skip(depth)
	}
	if q.never {
		return false
	}
	if q.ref != nil {
		start := w.pos
		if !w.value(q.ref, depth) {
			return false
		}
		if q.onlyRef() {
			return true
		}
		w.budget -= w.pos - start
		w.pos = start
	}
	switch c := w.data[w.pos]; {
	case c == '{':
		return w.object(q, depth)
	case c == '[':
		return w.array(q, depth)
	case c == '"':
		return w.str(q)
	case c == '-' || '0' <= c && c <= '9':
		return w.number(q)
	case w.literal("true"):
		return q.scalar(typeBoolean, true)
	case w.literal("false"):
		return q.scalar(typeBoolean, false)
	case w.literal("null"):
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

// scalar checks a boolean or null (v) of type bit t, as ok does.
func (q *quick) scalar(t uint8, v any) bool {
	if q.types != 0 && q.types&t == 0 {
		return false
	}
	if q.enum != nil && !slices.Contains(q.enum, v) {
		return false
	}
	return q.format == nil || q.format(v) == nil
}

func (w *walker) literal(lit string) bool {
	if len(w.data)-w.pos < len(lit) || string(w.data[w.pos:w.pos+len(lit)]) != lit {
		return false
	}
	w.pos += len(lit)
	return true
}

// next reads what follows a member or an element: a ',' (more: true) or
// the closing byte.
func (w *walker) next(closing byte) (more, ok bool) {
	w.skipSpace()
	if w.pos == len(w.data) {
		return false, false
	}
	switch w.data[w.pos] {
	case ',':
		w.pos++
		return true, true
	case closing:
		w.pos++
		return false, true
	}
	return false, false
}

func (w *walker) object(q *quick, depth int) bool {
	if q.types != 0 && q.types&typeObject == 0 || q.enum != nil || q.format != nil {
		return false // enum holds primitives only; a format of an object: the document's path
	}
	w.pos++ // {
	var keys [maxKeys][]byte
	n := 0
	w.skipSpace()
	if w.pos < len(w.data) && w.data[w.pos] == '}' {
		w.pos++
	} else {
		for {
			w.skipSpace()
			if w.pos == len(w.data) || w.data[w.pos] != '"' || n == maxKeys {
				return false
			}
			key, plain, ok := w.rawString()
			if !ok || !plain {
				return false // an escaped key: the document's path
			}
			for _, k := range keys[:n] {
				if string(k) == string(key) {
					return false // the document keeps the last value: its path decides
				}
			}
			keys[n] = key
			n++
			w.skipSpace()
			if w.pos == len(w.data) || w.data[w.pos] != ':' {
				return false
			}
			w.pos++
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
			more, ok := w.next('}')
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
	w.pos++ // [
	n := 0
	w.skipSpace()
	if w.pos < len(w.data) && w.data[w.pos] == ']' {
		w.pos++
	} else {
		for {
			if !w.value(q.items, depth+1) {
				return false
			}
			n++
			more, ok := w.next(']')
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
	s, plain, ok := w.rawString()
	if !ok {
		return false
	}
	if !q.readsString() {
		return true
	}
	if !plain {
		return false // escapes or bytes that are not UTF-8: the document's path reads them
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

// rawString reads a string at pos and returns its bytes between the
// quotes; plain says they are its content as they stand (no escape, valid
// UTF-8). Its checks are those of strictjson's scanner: no control
// characters, only JSON's escapes.
func (w *walker) rawString() (s []byte, plain, ok bool) {
	start, ascii, escaped := w.pos+1, true, false
	for i := start; i < len(w.data); i++ {
		switch c := w.data[i]; {
		case c == '"':
			w.pos = i + 1
			b := w.data[start:i]
			return b, !escaped && (ascii || utf8.Valid(b)), true
		case c < 0x20:
			return nil, false, false
		case c >= utf8.RuneSelf:
			ascii = false
		case c == '\\':
			escaped = true
			if i++; i == len(w.data) {
				return nil, false, false
			}
			switch w.data[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(w.data) {
					return nil, false, false
				}
				for _, h := range w.data[i+1 : i+5] {
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

// number checks a number as ok does with its json.Number.
func (w *walker) number(q *quick) bool {
	text, ok := w.rawNumber()
	if !ok {
		return false
	}
	bounded := q.min != nil || q.max != nil || q.xmin != nil || q.xmax != nil
	var n int64
	whole := false
	if bounded || q.types != 0 && q.types&typeNumber == 0 {
		if n, whole = wholeNumberBytes(text); !whole {
			return false // "1.0", "1e2", a larger number: the document's path (the library) decides
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

// rawNumber reads -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? at pos.
func (w *walker) rawNumber() ([]byte, bool) {
	start, i := w.pos, w.pos
	digits := func() bool {
		j := i
		for i < len(w.data) && '0' <= w.data[i] && w.data[i] <= '9' {
			i++
		}
		return i > j
	}
	if w.data[i] == '-' {
		i++
	}
	switch {
	case i < len(w.data) && w.data[i] == '0':
		i++
	case !digits():
		return nil, false
	}
	if i < len(w.data) && w.data[i] == '.' {
		i++
		if !digits() {
			return nil, false
		}
	}
	if i < len(w.data) && (w.data[i] == 'e' || w.data[i] == 'E') {
		i++
		if i < len(w.data) && (w.data[i] == '+' || w.data[i] == '-') {
			i++
		}
		if !digits() {
			return nil, false
		}
	}
	w.pos = i
	return w.data[start:i], true
}

// wholeNumberBytes is wholeNumber for a number's text as the walk read it
// (JSON's grammar: no '+', no leading zeros), without a string; it says
// false for more than 18 digits, which the document's path decides.
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
	if depth > maxDepth || w.budget <= 0 {
		return false
	}
	w.budget--
	w.skipSpace()
	if w.pos == len(w.data) {
		return false
	}
	switch c := w.data[w.pos]; {
	case c == '{':
		w.pos++
		w.skipSpace()
		if w.pos < len(w.data) && w.data[w.pos] == '}' {
			w.pos++
			return true
		}
		for {
			w.skipSpace()
			if w.pos == len(w.data) || w.data[w.pos] != '"' {
				return false
			}
			if _, _, ok := w.rawString(); !ok {
				return false
			}
			w.skipSpace()
			if w.pos == len(w.data) || w.data[w.pos] != ':' {
				return false
			}
			w.pos++
			if !w.skip(depth + 1) {
				return false
			}
			more, ok := w.next('}')
			if !ok || !more {
				return ok
			}
		}
	case c == '[':
		w.pos++
		w.skipSpace()
		if w.pos < len(w.data) && w.data[w.pos] == ']' {
			w.pos++
			return true
		}
		for {
			if !w.skip(depth + 1) {
				return false
			}
			more, ok := w.next(']')
			if !ok || !more {
				return ok
			}
		}
	case c == '"':
		_, _, ok := w.rawString()
		return ok
	case c == '-' || '0' <= c && c <= '9':
		_, ok := w.rawNumber()
		return ok
	}
	return w.literal("true") || w.literal("false") || w.literal("null")
}
