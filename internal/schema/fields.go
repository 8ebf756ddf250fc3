package schema

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/troupe-go/troupe"
)

// Fields returns the names of the members that the payload schema of
// message name declares (its "properties", following $refs to the App's
// schemas), sorted, and true; or false when the schema does not pin them
// down: there is none, it is not an object schema with properties, it
// combines schemas (allOf, anyOf, oneOf), or it allows other members
// explicitly (additionalProperties or patternProperties other than false).
// The gateway refuses members the schema does not declare.
func Fields(app *troupe.App, name string) ([]string, bool) {
	m := app.Message(name)
	if m == nil || len(m.Payload) == 0 {
		return nil, false
	}
	var v any
	if json.Unmarshal(m.Payload, &v) != nil {
		return nil, false
	}
	for range 8 { // follow a chain of $refs, not a loop
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		ref, isRef := obj["$ref"].(string)
		if !isRef {
			return objectFields(obj)
		}
		shared, ok := strings.CutPrefix(ref, RefPrefix)
		if !ok || len(obj) != 1 {
			return nil, false
		}
		raw := app.Schema(shared)
		if raw == nil || json.Unmarshal(raw, &v) != nil {
			return nil, false
		}
	}
	return nil, false
}

func objectFields(obj map[string]any) ([]string, bool) {
	if t, ok := obj["type"].(string); !ok || t != "object" {
		return nil, false
	}
	props, ok := obj["properties"].(map[string]any)
	if !ok {
		return nil, false
	}
	for _, k := range []string{"allOf", "anyOf", "oneOf", "not", "if", "dependentSchemas", "patternProperties", "unevaluatedProperties"} {
		if _, ok := obj[k]; ok {
			return nil, false
		}
	}
	if ap, ok := obj["additionalProperties"]; ok && ap != false {
		return nil, false
	}
	out := make([]string, 0, len(props))
	for k := range props {
		out = append(out, k)
	}
	slices.Sort(out)
	return out, true
}
