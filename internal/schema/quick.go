package schema

import (
	"fmt"
	"math/big"
	"reflect"
	"slices"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// quick is a second reading of a compiled schema that uses only the common
// keywords (type, enum and const of strings, booleans and null, format,
// $ref, properties, required, additionalProperties, the bounds of
// objects, arrays and strings, pattern, and whole-number bounds): its walk
// of a payload's bytes (okJSON, quickscan.go) answers true only for a
// document the library accepts too, without the library's general
// machinery (a document of maps, a validator per value, numbers read as
// big.Rat through fmt). It answers false for anything it cannot decide
// cheaply, and then the library decides, and words the error: so it can
// make a check faster, never different (TestQuickAgreesWithLibrary,
// TestQuickScanAgrees, FuzzQuick). A schema with any other keyword has no
// quick reading.
type quick struct {
	never    bool // the schema false
	ref      *quick
	types    uint8 // of the type* bits; 0: any type
	enum     []any // string, bool or nil; nil slice: no enum
	format   func(any) error
	required []string
	props    map[string]*quick
	extra    *quick // additionalProperties as a schema
	noExtra  bool   // additionalProperties false
	items    *quick
	pattern  jsonschema.Regexp

	minProps, maxProps, minItems, maxItems, minLen, maxLen int // -1: none
	min, max, xmin, xmax                                   *int64
}

const (
	typeNull uint8 = 1 << iota
	typeBoolean
	typeObject
	typeArray
	typeNumber
	typeString
	typeInteger
)

var typeBits = map[string]uint8{
	"null": typeNull, "boolean": typeBoolean, "object": typeObject, "array": typeArray,
	"number": typeNumber, "string": typeString, "integer": typeInteger,
}

// quickFields are the fields of a compiled jsonschema.Schema that quick
// reads, or that do not change what validates (where the schema is, its
// annotations). A schema with any other field set — a keyword quick does
// not know, and any field a later version of the library adds — has no
// quick reading.
var quickFields = map[string]bool{
	"DraftVersion": true, "Location": true, "ID": true, "Anchor": true,
	"Bool": true, "Ref": true, "Types": true, "Enum": true, "Const": true, "Format": true,
	"MaxProperties": true, "MinProperties": true, "Required": true, "Properties": true,
	"AdditionalProperties": true, "MinItems": true, "MaxItems": true, "Items": true, "Items2020": true,
	"MinLength": true, "MaxLength": true, "Pattern": true,
	"Maximum": true, "Minimum": true, "ExclusiveMaximum": true, "ExclusiveMinimum": true,
	"Title": true, "Description": true, "Default": true, "Comment": true, "ReadOnly": true,
	"WriteOnly": true, "Examples": true, "Deprecated": true,
}

// quickOf returns the quick reading of sch, or nil if sch, or a schema it
// refers to, has a keyword quick does not know.
func quickOf(sch *jsonschema.Schema) *quick {
	c := quickCompiler{done: map[*jsonschema.Schema]*quick{}}
	q, err := c.compile(sch, nil)
	if err != nil {
		return nil
	}
	return q
}

type quickCompiler struct {
	done map[*jsonschema.Schema]*quick
}

// compile reads s. chain is the schemas that led to s by $ref alone,
// without a step into a part of the document: a $ref back into it is a
// loop that never ends (the library reports it), so it has no quick
// reading.
func (c *quickCompiler) compile(s *jsonschema.Schema, chain []*jsonschema.Schema) (*quick, error) {
	if q, ok := c.done[s]; ok {
		if slices.Contains(chain, s) {
			return nil, fmt.Errorf("%s: a $ref loop", s.Location)
		}
		return q, nil
	}
	if err := quickFieldsOnly(s); err != nil {
		return nil, err
	}
	q := &quick{minProps: -1, maxProps: -1, minItems: -1, maxItems: -1, minLen: -1, maxLen: -1}
	c.done[s] = q
	if s.Bool != nil {
		q.never = !*s.Bool
		return q, nil
	}
	var err error
	if s.Ref != nil {
		if q.ref, err = c.compile(s.Ref, append(chain, s)); err != nil {
			return nil, err
		}
	}
	if s.Types != nil {
		for _, t := range s.Types.ToStrings() {
			bit, ok := typeBits[t]
			if !ok {
				return nil, fmt.Errorf("%s: type %q", s.Location, t)
			}
			q.types |= bit
		}
	}
	if s.Enum != nil {
		q.enum = []any{}
		for _, v := range s.Enum.Values {
			if !primitive(v) {
				return nil, fmt.Errorf("%s: an enum of numbers, arrays or objects", s.Location)
			}
			q.enum = append(q.enum, v)
		}
	}
	if s.Const != nil {
		if s.Enum != nil || !primitive(*s.Const) {
			return nil, fmt.Errorf("%s: const of a number, an array or an object", s.Location)
		}
		q.enum = []any{*s.Const}
	}
	if s.Format != nil {
		if s.Format.Name == "regex" { // the library may use another regexp engine for it
			return nil, fmt.Errorf("%s: format regex", s.Location)
		}
		q.format = s.Format.Validate
	}
	q.required = s.Required
	if len(s.Properties) > 0 {
		q.props = make(map[string]*quick, len(s.Properties))
		for name, p := range s.Properties {
			if q.props[name], err = c.compile(p, nil); err != nil {
				return nil, err
			}
		}
	}
	switch extra := s.AdditionalProperties.(type) {
	case nil:
	case bool:
		q.noExtra = !extra
	case *jsonschema.Schema:
		if q.extra, err = c.compile(extra, nil); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%s: additionalProperties of %T", s.Location, extra)
	}
	items := s.Items2020
	switch it := s.Items.(type) {
	case nil:
	case *jsonschema.Schema:
		if items != nil {
			return nil, fmt.Errorf("%s: two items", s.Location)
		}
		items = it
	default:
		return nil, fmt.Errorf("%s: items of %T", s.Location, it)
	}
	if items != nil {
		if q.items, err = c.compile(items, nil); err != nil {
			return nil, err
		}
	}
	q.pattern = s.Pattern
	for _, b := range []struct {
		from *int
		to   *int
	}{{s.MinProperties, &q.minProps}, {s.MaxProperties, &q.maxProps}, {s.MinItems, &q.minItems},
		{s.MaxItems, &q.maxItems}, {s.MinLength, &q.minLen}, {s.MaxLength, &q.maxLen}} {
		if b.from != nil {
			*b.to = *b.from
		}
	}
	for _, b := range []struct {
		from *big.Rat
		to   **int64
	}{{s.Minimum, &q.min}, {s.Maximum, &q.max}, {s.ExclusiveMinimum, &q.xmin}, {s.ExclusiveMaximum, &q.xmax}} {
		if b.from == nil {
			continue
		}
		if !b.from.IsInt() || !b.from.Num().IsInt64() {
			return nil, fmt.Errorf("%s: a bound that is not a whole number of 64 bits", s.Location)
		}
		n := b.from.Num().Int64()
		*b.to = &n
	}
	return q, nil
}

// quickFieldsOnly returns an error naming the first exported field of s
// that is set and that quick does not read.
func quickFieldsOnly(s *jsonschema.Schema) error {
	v := reflect.ValueOf(s).Elem()
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() || quickFields[f.Name] {
			continue
		}
		if !v.Field(i).IsZero() {
			return fmt.Errorf("%s: %s", s.Location, f.Name)
		}
	}
	return nil
}

// primitive reports whether v is a string, a boolean or null: values that
// the library's equality compares as Go's ==.
func primitive(v any) bool {
	switch v.(type) {
	case nil, bool, string:
		return true
	}
	return false
}
