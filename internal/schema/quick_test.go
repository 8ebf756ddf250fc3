package schema_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/internal/schema"
	"github.com/troupe-go/troupe/manifest"
)

// keywords has a message for each keyword the quick reading knows, and
// messages whose schemas it must leave to the library alone.
var keywords = &troupe.App{
	Name: "keywords",
	Schemas: []troupe.SchemaDecl{
		{Name: "ID", Schema: json.RawMessage(`{"type":"string","minLength":1,"maxLength":4}`)},
		{Name: "Tree", Schema: json.RawMessage(`{"type":"object","properties":{"kids":{"type":"array","items":{"$ref":"#/schemas/Tree"}}}}`)},
		{Name: "Loop", Schema: json.RawMessage(`{"$ref":"#/schemas/Loop2"}`)},
		{Name: "Loop2", Schema: json.RawMessage(`{"$ref":"#/schemas/Loop"}`)},
	},
	Messages: []troupe.MessageDecl{
		{Name: "types", Payload: json.RawMessage(`{"type":["integer","string","null"]}`)},
		{Name: "number", Payload: json.RawMessage(`{"type":"number","minimum":-5,"exclusiveMaximum":10}`)},
		{Name: "integer", Payload: json.RawMessage(`{"type":"integer","exclusiveMinimum":0,"maximum":200}`)},
		{Name: "enum", Payload: json.RawMessage(`{"enum":[true,"a",null]}`)},
		{Name: "const", Payload: json.RawMessage(`{"const":"x"}`)},
		{Name: "format", Payload: json.RawMessage(`{"type":"string","format":"date-time"}`)},
		{Name: "pattern", Payload: json.RawMessage(`{"type":["string","integer"],"pattern":"^[0-9]+$"}`)},
		{Name: "object", Payload: json.RawMessage(`{"type":"object","required":["id"],"minProperties":1,"maxProperties":3,
			"properties":{"id":{"$ref":"#/schemas/ID"},"n":{"type":"integer"}},"additionalProperties":{"type":"boolean"}}`)},
		{Name: "closed", Payload: json.RawMessage(`{"type":"object","properties":{"a":true,"b":false},"additionalProperties":false}`)},
		{Name: "array", Payload: json.RawMessage(`{"type":"array","minItems":1,"maxItems":2,"items":{"$ref":"#/schemas/ID"}}`)},
		{Name: "tree", Payload: json.RawMessage(`{"$ref":"#/schemas/Tree"}`)},
		{Name: "ref-and-more", Payload: json.RawMessage(`{"$ref":"#/schemas/ID","pattern":"^a"}`)},
		{Name: "false", Payload: json.RawMessage(`false`)},
		{Name: "true", Payload: json.RawMessage(`true`)},
		{Name: "pair", Payload: json.RawMessage(`{"type":"object","minProperties":2}`)},
		{Name: "long", Payload: json.RawMessage(`{"type":"string","minLength":3}`)},
		{Name: "annotated", Payload: json.RawMessage(`{"title":"t","description":"d","default":1,"examples":[1],"deprecated":true,"readOnly":true}`)},
		// Left to the library:
		{Name: "anyOf", Payload: json.RawMessage(`{"anyOf":[{"type":"string"},{"type":"integer"}]}`)},
		{Name: "multipleOf", Payload: json.RawMessage(`{"type":"number","multipleOf":0.5}`)},
		{Name: "enum-numbers", Payload: json.RawMessage(`{"enum":[1,2]}`)},
		{Name: "fraction-bound", Payload: json.RawMessage(`{"type":"number","minimum":0.5}`)},
		{Name: "tuple", Payload: json.RawMessage(`{"type":"array","prefixItems":[{"type":"string"}]}`)},
		{Name: "patternProperties", Payload: json.RawMessage(`{"type":"object","patternProperties":{"^x":{"type":"string"}}}`)},
		{Name: "unevaluated", Payload: json.RawMessage(`{"type":"object","unevaluatedProperties":false}`)},
		{Name: "loop", Payload: json.RawMessage(`{"$ref":"#/schemas/Loop"}`)},
		{Name: "deep-unknown", Payload: json.RawMessage(`{"type":"object","properties":{"a":{"type":"object","properties":{"b":{"uniqueItems":true}}}}}`)},
	},
}

// leftToLibrary are the messages of keywords without a quick reading.
var leftToLibrary = map[string]bool{
	"anyOf": true, "multipleOf": true, "enum-numbers": true, "fraction-bound": true, "tuple": true,
	"patternProperties": true, "unevaluated": true, "loop": true, "deep-unknown": true,
}

// quickDocs are documents for the agreement test and the fuzz target's
// seeds: each message's valid and invalid neighbours.
var quickDocs = []string{
	`null`, `true`, `false`, `0`, `1`, `-1`, `7`, `-5`, `-6`, `10`, `9.5`, `1.0`, `1e2`, `200`, `201`,
	`12345678901234567890`, `-0`, `0.5`, `""`, `"a"`, `"x"`, `"12"`, `"1a"`, `"abcd"`, `"abcde"`, `"ü€ab"`,
	`"2026-12-01T22:07:06Z"`, `"2026-13-01T22:07:06Z"`, `"yesterday"`, `[]`, `["a"]`, `["a","b"]`, `["a","b","c"]`,
	`[""]`, `[1]`, `{}`, `{"id":"a"}`, `{"id":""}`, `{"id":"a","n":3}`, `{"id":"a","n":3.5}`, `{"id":"a","x":true}`,
	`{"id":"a","x":1}`, `{"id":"a","n":1,"x":true,"y":false}`, `{"a":1}`, `{"b":1}`, `{"c":1}`,
	`{"kids":[{"kids":[]},{}]}`, `{"kids":[{"kids":[1]}]}`, `{"kids":{}}`,
	`{"list":"l1","title":"buy milk"}`, `{"list":"","title":"x"}`, `{"list":"l1","title":5}`,
	`{"id":"t1","listId":"l1","title":"x","completed":false,"createdAt":"2026-12-01T22:07:06Z","updatedAt":"2026-12-01T22:07:06Z","version":1}`,
	`{"id":"t1","listId":"l1","title":"x","completed":false,"createdAt":"2026-12-01T22:07:06Z","updatedAt":"2026-12-01T22:07:06Z","version":0}`,
	`{"kind":"created","list":"l1","epoch":"e","seq":3,"todo":{"id":"t1","listId":"l1","title":"x","completed":false,"createdAt":"2026-12-01T22:07:06Z","updatedAt":"2026-12-01T22:07:06Z","version":1}}`,
	`{"kind":"made","list":"l1","epoch":"e"}`, `{"token":"abc"}`, `{"token":""}`, `{"name":"World"}`, `{"name":7}`,
	`{"limit":"50"}`, `{"limit":50}`, `{"limit":"500"}`, `{"limit":0}`, `{"list":"l1","completed":"true"}`,
}

// quickApps are the applications the agreement test reads: the demo's and
// the todo example's manifests, and keywords.
func quickApps(tb testing.TB) map[string]*schema.Set {
	tb.Helper()
	sets := map[string]*schema.Set{}
	for _, path := range []string{"../../troupe.yaml", "../../examples/todo/troupe.yaml"} {
		a, err := manifest.Load(path)
		if err != nil {
			tb.Fatal(err)
		}
		set, problems := schema.Compile(a)
		if len(problems) > 0 {
			tb.Fatal(problems)
		}
		sets[path] = set
	}
	set, problems := schema.Compile(keywords)
	if len(problems) > 0 {
		tb.Fatal(problems)
	}
	sets["keywords"] = set
	return sets
}

// TestQuickAgreesWithLibrary checks the quick reading against the library
// on every message of the demo's and the todo example's manifests and of
// keywords: it never accepts what the library refuses, it reads every
// schema of the two manifests (else the speed it is for is gone without a
// word), and it accepts the documents the library accepts wherever it
// reads the schema.
func TestQuickAgreesWithLibrary(t *testing.T) {
	accepted := 0
	for app, set := range quickApps(t) {
		for _, name := range set.Names() {
			v := set.Validator(name)
			read, _ := v.Quick([]byte(`null`))
			if app == "keywords" && read == leftToLibrary[name] {
				t.Errorf("%s: has a quick reading %v, want %v", name, read, !leftToLibrary[name])
			}
			if app != "keywords" && !read {
				t.Errorf("%s %s: no quick reading: every check of it takes the library's slower path", app, name)
			}
			for _, doc := range quickDocs {
				_, ok := v.Quick([]byte(doc))
				lib := v.Library([]byte(doc))
				switch {
				case ok && lib != nil:
					t.Errorf("%s %s: quick accepts %s, the library refuses it: %v", app, name, doc, lib)
				case read && lib == nil && !ok && !undecided(doc):
					t.Errorf("%s %s: quick leaves %s to the library, which accepts it", app, name, doc)
				case ok:
					accepted++
				}
			}
		}
	}
	if accepted < 100 {
		t.Errorf("quick accepted %d documents, want the usual ones (≥ 100)", accepted)
	}
}

// undecided reports whether the quick reading leaves doc to the library
// on purpose wherever a number's value counts: numbers not written as
// whole numbers of 64 bits.
func undecided(doc string) bool {
	switch doc {
	case `9.5`, `1.0`, `1e2`, `12345678901234567890`, `0.5`:
		return true
	}
	return false
}

// FuzzQuick checks, for any document, that the quick reading of every
// message in quickApps accepts it only if the library does.
func FuzzQuick(f *testing.F) {
	sets := quickApps(f)
	type check struct {
		name string
		v    *schema.Validator
	}
	var checks []check
	for app, set := range sets {
		for _, name := range set.Names() {
			checks = append(checks, check{fmt.Sprintf("%s %s", app, name), set.Validator(name)})
		}
	}
	for _, doc := range quickDocs {
		f.Add([]byte(doc))
	}
	for _, d := range scanDocs {
		f.Add([]byte(d.doc))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		for _, c := range checks {
			if _, ok := c.v.Quick(doc); ok {
				if err := c.v.Library(doc); err != nil {
					t.Fatalf("%s: quick accepts %q, the library refuses it: %v", c.name, doc, err)
				}
			}
		}
	})
}

// scanDocs are documents that the walk of a payload's bytes must leave to
// the library (decided: false) or that it reads as it stands (true):
// spaces, escapes, keys given twice, deep nesting, text beyond ASCII.
var scanDocs = []struct {
	doc     string
	decided bool // the walk accepts it wherever the library does
}{
	{` {"list" : "l1" , "title" : "buy milk"} `, true},
	{"{\n\t\"name\":\"World\"\r\n}", true},
	{`{"list":"l1","title":"a \"quoted\" word"}`, false}, // an escape where maxLength reads the title
	{`{"list":"l\u0031","title":"x"}`, false},
	{`{"li\u0073t":"l1","title":"x"}`, false}, // an escaped key
	{`{"list":"l1","list":"","title":"x"}`, false},
	{`{"list":"","list":"l1","title":"x"}`, false}, // the library keeps the last: accepted there
	{`{"kids":[{"kids":[{"kids":[{"kids":[]}]}]}]}`, true},
	{`{"id":"ü€","n":1}`, true},
	{`{"id":"a","x":true,"y":false,"z":true}`, true},
	{`["ab","cd"]`, true},
	{`"2026-12-01T22:07:06.123456789Z"`, true},
	{`{"token":"abc","token":"abc"}`, false},
	{`{"kind":"created","list":"l1","epoch":"e","seq":3,"todo":{"id":"t1","listId":"l1","title":"x\ty","completed":false,"createdAt":"2026-12-01T22:07:06Z","updatedAt":"2026-12-01T22:07:06Z","version":1}}`, false},
	{`{"name":"World"} x`, true},
	{`{"name":"World"`, true},
	{`{"name":"Wor` + "\x01" + `ld"}`, true},
	{`[` + strings.Repeat(`[`, 70) + strings.Repeat(`]`, 70) + `]`, false},
	{`{"limit":-0}`, true},
	{`{"limit":123456789012345678901234}`, false},
	{`{"a":{"b":[1,{"c":"\u00e9"}]}}`, true}, // escapes where the schema reads nothing
	{`{"a":1,"a":2}`, false},                 // one member to the library: minProperties 2 refuses it
	{`"\u0041"`, false},                      // one character: minLength 3 refuses it
	{`"abc"`, true},
	{`{"a":1,"b":2}`, true},
}

// TestQuickScanAgrees checks the walk on the documents of scanDocs, on
// every message of quickApps: it accepts only what the library accepts,
// and it accepts what the library accepts wherever it decides on its own
// (no escape it must read, no key given twice, not too deep), so that the
// usual payload never takes the slower path.
func TestQuickScanAgrees(t *testing.T) {
	accepted := 0
	for app, set := range quickApps(t) {
		for _, name := range set.Names() {
			v := set.Validator(name)
			for _, d := range scanDocs {
				read, ok := v.Quick([]byte(d.doc))
				lib := v.Library([]byte(d.doc))
				switch {
				case ok && lib != nil:
					t.Errorf("%s %s: the walk accepts %s, the library refuses it: %v", app, name, d.doc, lib)
				case read && lib == nil && !ok && d.decided:
					t.Errorf("%s %s: the walk leaves %s to the library, which accepts it", app, name, d.doc)
				case ok:
					accepted++
				}
			}
		}
	}
	if accepted < 20 {
		t.Errorf("the walk accepted %d documents, want the usual ones (≥ 20)", accepted)
	}
}

// BenchmarkQuick measures a valid payload of the todo example, the request
// todo.create and the event todo.created, checked by the quick reading's
// walk of its bytes (what Validate does first) and, as the same-run
// baseline, by the library alone (decodeDoc, then the library's validator).
func BenchmarkQuick(b *testing.B) {
	set := quickApps(b)["../../examples/todo/troupe.yaml"]
	for _, c := range []struct{ name, msg, doc string }{
		{"create", "todo.create", `{"list":"l1","title":"buy milk"}`},
		{"created", "todo.created", `{"kind":"created","list":"0123456789abcdef0123","epoch":"0123456789abcdef","seq":3,"todo":{"id":"0123456789abcdef0123","listId":"0123456789abcdef0123","title":"benchmark todo","completed":false,"createdAt":"2026-12-01T22:07:06.123456789Z","updatedAt":"2026-12-01T22:07:06.123456789Z","version":1}}`},
	} {
		v := set.Validator(c.msg)
		payload := []byte(c.doc)
		if _, ok := v.Quick(payload); !ok {
			b.Fatalf("%s: the walk does not accept %s", c.msg, c.doc)
		}
		b.Run(c.name+"/walk", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := v.Quick(payload); !ok {
					b.Fatal("refused")
				}
			}
		})
		b.Run(c.name+"/library", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := v.Library(payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
