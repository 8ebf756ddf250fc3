package schema_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/internal/schema"
)

var app = &troupe.App{
	Name: "shop",
	Schemas: []troupe.SchemaDecl{
		{Name: "Item", Schema: json.RawMessage(`{"type":"object","required":["sku"],"properties":{"sku":{"type":"string"},"qty":{"type":"integer","minimum":1}}}`)},
	},
	Messages: []troupe.MessageDecl{
		{Name: "order.place", Payload: json.RawMessage(`{"type":"object","required":["items"],"additionalProperties":false,
			"properties":{"items":{"type":"array","items":{"$ref":"#/schemas/Item"}},"note":{"type":"string","maxLength":5}}}`)},
		{Name: "order.fast", NoValidate: true, Payload: json.RawMessage(`{"type":"object"}`)},
		{Name: "order.any"},
	},
}

func TestValidate(t *testing.T) {
	set, problems := schema.Compile(app)
	if len(problems) > 0 {
		t.Fatalf("Compile: %v", problems)
	}
	if set.Validator("order.fast") != nil || set.Validator("order.any") != nil || set.Len() != 1 {
		t.Errorf("validators for names without a check: %d", set.Len())
	}
	v := set.Validator("order.place")
	for _, tt := range []struct{ payload, want string }{
		{`{"items":[{"sku":"a","qty":2}]}`, ""},
		{`{"items":[{"sku":5}]}`, "at /items/0/sku: got number, want string"},
		{`{"items":[{"qty":0}]}`, "at /items/0: missing property 'sku'; at /items/0/qty: minimum: got 0, want 1"},
		{`{}`, "missing property 'items'"},
		{``, "got null, want object"},
		{`{"items":[],"note":"too long","x":1}`, "at /note: maxLength: got 8, want 5; additional properties 'x' not allowed"},
		{`{"items":[{},{},{},{}]}`, "; and 1 more"},
	} {
		err := v.Validate([]byte(tt.payload))
		if tt.want == "" {
			if err != nil {
				t.Errorf("Validate(%s) = %v, want nil", tt.payload, err)
			}
			continue
		}
		var m *schema.Mismatch
		if !errors.As(err, &m) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate(%s) = %v, want a *Mismatch with %q", tt.payload, err, tt.want)
		}
	}
	if err := v.Validate([]byte(`{`)); err == nil {
		t.Error("Validate of bad JSON: nil error")
	}
}

func TestCompileProblems(t *testing.T) {
	bad := &troupe.App{
		Name: "bad",
		Schemas: []troupe.SchemaDecl{
			{Name: "Broken", Schema: json.RawMessage(`{"type": 5}`)},
		},
		Messages: []troupe.MessageDecl{
			{Name: "a", Payload: json.RawMessage(`{"$ref": "https://example.com/s.json"}`)},
			{Name: "b", Payload: json.RawMessage(`{"$ref": "#/schemas/Missing"}`)},
			{Name: "c", Payload: json.RawMessage(`[1]`)},
			{Name: "d", Payload: json.RawMessage(`{"minLength": "x"}`)},
			{Name: "e", Payload: json.RawMessage(`{"$ref": "file:///etc/passwd"}`)},
			{Name: "f", Payload: json.RawMessage(`{"$ref": "#/schemas/Broken"}`)},
		},
	}
	_, problems := schema.Compile(bad)
	var got []string
	for _, p := range problems {
		got = append(got, p.Schema+p.Message)
	}
	if diff := cmp.Diff([]string{"Broken", "a", "b", "c", "d", "e", "f"}, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s\n%v", diff, problems)
	}
	for _, p := range problems {
		if strings.Contains(p.Error(), "troupe:app") {
			t.Errorf("problem names the internal document: %v", p)
		}
	}
}

func TestRefs(t *testing.T) {
	got := schema.Refs(json.RawMessage(`{"properties":{"a":{"$ref":"#/schemas/B"},"b":{"items":{"$ref":"#/schemas/A"}},"c":{"$ref":"#/schemas/B"}}}`))
	if diff := cmp.Diff([]string{"A", "B"}, got); diff != "" {
		t.Errorf("Refs (-want +got):\n%s", diff)
	}
}

type item struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty,omitempty"`
}

type order struct {
	Items []item `json:"items"`
	Note  string `json:"note,omitempty"`
}

type wrongOrder struct {
	Items []struct {
		SKU int `json:"sku,omitempty"`
	} `json:"items"`
	Extra bool `json:"extra"`
}

type flag bool

func (f *flag) UnmarshalJSON([]byte) error { return nil }

func TestCheckType(t *testing.T) {
	place := app.Message("order.place").Payload
	for _, tt := range []struct {
		name   string
		schema string
		t      reflect.Type
		want   []string
	}{
		{"match", string(place), reflect.TypeFor[order](), nil},
		{"pointer", string(place), reflect.TypeFor[*order](), nil},
		{"mismatch", string(place), reflect.TypeFor[wrongOrder](), []string{
			`at /items/*: the schema has property "qty", Go type struct { SKU int "json:\"sku,omitempty\"" } has no field for it`,
			`at /items/*/sku: the schema says string, Go type int is integer`,
			`at /items/*: the schema requires "sku", Go field .SKU leaves it out when empty (omitempty)`,
			`at /: the schema has property "note", Go type schema_test.wrongOrder has no field for it`,
			`at /: Go field wrongOrder.Extra ("extra") is not a property of the schema`,
		}},
		{"not an object", `{"type":"object"}`, reflect.TypeFor[string](), []string{"at /: the schema says object, Go type string is string"}},
		{"integer fits number", `{"type":"number"}`, reflect.TypeFor[int](), nil},
		{"custom encoding", `{"type":"boolean"}`, reflect.TypeFor[flag](), nil},
		{"any", `{"type":"string"}`, reflect.TypeFor[any](), nil},
		{"enum", `{"enum":["a","b"]}`, reflect.TypeFor[int](), []string{"at /: the schema says string, Go type int is integer"}},
		{"map values", `{"type":"object","additionalProperties":{"type":"string"}}`, reflect.TypeFor[map[string]int](), []string{"at /*: the schema says string, Go type int is integer"}},
		{"required omitempty", `{"type":"object","required":["qty","sku"],"properties":{"sku":{"type":"string"},"qty":{"type":"integer"}}}`, reflect.TypeFor[item](), []string{
			`at /: the schema requires "qty", Go field item.Qty leaves it out when empty (omitempty)`,
		}},
		{"unknown ref", `{"$ref":"#/schemas/Nope"}`, reflect.TypeFor[item](), []string{"at /: the schema refers to #/schemas/Nope, which the manifest does not declare"}},
		{"empty schema", ``, reflect.TypeFor[item](), nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := schema.CheckType(app, json.RawMessage(tt.schema), tt.t)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("CheckType (-want +got):\n%s", diff)
			}
		})
	}
}

func TestProblemText(t *testing.T) {
	_, problems := schema.Compile(&troupe.App{Name: "x", Messages: []troupe.MessageDecl{{Name: "a", Payload: json.RawMessage(`{"type": 5}`)}}})
	if len(problems) != 1 {
		t.Fatalf("problems: %v", problems)
	}
	want := `message "a": payload schema: not a valid JSON Schema: at /type: value must be one of 'array', 'boolean', 'integer', 'null', 'number', 'object', 'string'; at /type: got number, want array`
	if got := problems[0].Error(); got != want {
		t.Errorf("problem:\n%s\nwant\n%s", got, want)
	}
}

// FuzzValidate feeds arbitrary payloads to a validator: it must never
// panic, and must accept exactly the JSON values that match.
func FuzzValidate(f *testing.F) {
	set, problems := schema.Compile(app)
	if len(problems) > 0 {
		f.Fatal(problems)
	}
	v := set.Validator("order.place")
	for _, s := range []string{`{"items":[{"sku":"a","qty":2}]}`, `{"items":[{"sku":5}]}`, `[]`, `null`, `{"items":[],"note":"xxxxxxx"}`, `{"a":`, "\xff", `1e999`, `{"items":[{"sku":"a","qty":1.5}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		err := v.Validate(payload)
		var m *schema.Mismatch
		if err != nil && errors.As(err, &m) && len(m.Fields) == 0 {
			t.Fatalf("a Mismatch without fields for %q", payload)
		}
		if err == nil && len(payload) > 0 && !json.Valid(payload) {
			t.Fatalf("invalid JSON %q accepted", payload)
		}
	})
}
