package troupe

import (
	"bytes"
	"encoding/json"
	"slices"
)

// Redacted is what Redact puts in place of a sensitive value.
const Redacted = `"[redacted]"`

// Redact returns payload with the values of its top-level members named in
// fields (MessageDecl.Sensitive) replaced by "[redacted]", for crash reports
// and logs. A payload that is no JSON object, or that has none of fields, is
// returned as it is; one that does not parse is replaced whole, since it
// cannot be shown safely.
func Redact(payload json.RawMessage, fields []string) json.RawMessage {
	if len(fields) == 0 {
		return payload
	}
	p := bytes.TrimSpace(payload)
	if len(p) == 0 || p[0] != '{' {
		return payload
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(p, &members); err != nil {
		return json.RawMessage(Redacted)
	}
	hit := false
	for k := range members {
		if slices.Contains(fields, k) {
			members[k] = json.RawMessage(Redacted)
			hit = true
		}
	}
	if !hit {
		return payload
	}
	out, err := json.Marshal(members)
	if err != nil {
		return json.RawMessage(Redacted)
	}
	return out
}
