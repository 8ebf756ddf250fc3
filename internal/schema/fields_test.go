package schema

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/troupe-go/troupe"
)

func TestFields(t *testing.T) {
	app := &troupe.App{
		Schemas: []troupe.SchemaDecl{{Name: "Ref", Schema: json.RawMessage(`{"type":"object","properties":{"list":{},"id":{}}}`)}},
		Messages: []troupe.MessageDecl{
			{Name: "plain", Payload: json.RawMessage(`{"type":"object","required":["a"],"properties":{"b":{},"a":{}}}`)},
			{Name: "ref", Payload: json.RawMessage(`{"$ref":"#/schemas/Ref"}`)},
			{Name: "open", Payload: json.RawMessage(`{"type":"object","properties":{"a":{}},"additionalProperties":true}`)},
			{Name: "closed", Payload: json.RawMessage(`{"type":"object","properties":{"a":{}},"additionalProperties":false}`)},
			{Name: "any", Payload: json.RawMessage(`{"type":"object"}`)},
			{Name: "string", Payload: json.RawMessage(`{"type":"string"}`)},
			{Name: "combined", Payload: json.RawMessage(`{"type":"object","properties":{"a":{}},"anyOf":[{}]}`)},
			{Name: "none"},
		},
	}
	tests := []struct {
		name string
		want []string
		ok   bool
	}{
		{"plain", []string{"a", "b"}, true},
		{"ref", []string{"id", "list"}, true},
		{"open", nil, false},
		{"closed", []string{"a"}, true},
		{"any", nil, false},
		{"string", nil, false},
		{"combined", nil, false},
		{"none", nil, false},
		{"undeclared", nil, false},
	}
	for _, tt := range tests {
		got, ok := Fields(app, tt.name)
		if ok != tt.ok || !cmp.Equal(got, tt.want) {
			t.Errorf("Fields(%s) = %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}
