package apidoc

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/internal/schema"
)

// Version is the info.version of the documents: the manifest does not
// version an application yet.
const Version = "1.0.0"

// componentPrefix is where both documents keep the manifest's shared
// schemas.
const componentPrefix = "#/components/schemas/"

// errorSchemaName is the component that describes an Error reply's payload.
const errorSchemaName = "troupe.Error"

// envelopeSchemaName is the component that describes the envelope
// (docs/protocol.md) that carries every message on the bus.
const envelopeSchemaName = "troupe.Envelope"

// rewrite decodes a schema of the manifest and points its references to
// shared schemas (#/schemas/N) at the documents' components.
func rewrite(raw json.RawMessage) (any, error) {
	if len(raw) == 0 {
		return map[string]any{}, nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("apidoc: schema: %w", err)
	}
	walkRefs(v)
	return v, nil
}

func walkRefs(v any) {
	switch v := v.(type) {
	case map[string]any:
		if ref, ok := v["$ref"].(string); ok {
			if name, ok := strings.CutPrefix(ref, schema.RefPrefix); ok {
				v["$ref"] = componentPrefix + name
			}
		}
		for _, e := range v {
			walkRefs(e)
		}
	case []any:
		for _, e := range v {
			walkRefs(e)
		}
	}
}

// components returns the shared schemas, rewritten, and the Error schema.
func components(app *troupe.App) (map[string]any, error) {
	out := map[string]any{errorSchemaName: errorSchema()}
	for _, s := range app.Schemas {
		v, err := rewrite(s.Schema)
		if err != nil {
			return nil, fmt.Errorf("apidoc: schema %q: %w", s.Name, err)
		}
		out[s.Name] = v
	}
	return out, nil
}

// errorSchema describes the payload of an Error reply (docs/protocol.md).
func errorSchema() map[string]any {
	return map[string]any{
		"type":        "object",
		"description": "A failure: the payload of an Error reply.",
		"required":    []string{"code"},
		"properties": map[string]any{
			"code": map[string]any{"type": "string", "enum": []string{
				string(troupe.CodeBadRequest), string(troupe.CodeNotFound), string(troupe.CodeForbidden),
				string(troupe.CodeTimeout), string(troupe.CodeUnavailable), string(troupe.CodeConflict), string(troupe.CodeInternal),
			}},
			"msg":      map[string]any{"type": "string", "description": "A human-readable message."},
			"incident": map[string]any{"type": "string", "description": "The ID under which a crash report was logged."},
		},
	}
}

// payloadOf returns the rewritten payload schema of message name, or nil
// if the manifest does not describe it.
func payloadOf(app *troupe.App, name string) (any, error) {
	md := app.Message(name)
	if md == nil || len(md.Payload) == 0 {
		return nil, nil
	}
	v, err := rewrite(md.Payload)
	if err != nil {
		return nil, fmt.Errorf("apidoc: message %q: %w", name, err)
	}
	return v, nil
}

// description returns the manifest's description of name, or "".
func description(app *troupe.App, name string) string {
	if md := app.Message(name); md != nil {
		return md.Description
	}
	return ""
}

// repliesOf returns the declared replies of name.
func repliesOf(app *troupe.App, name string) []string {
	if md := app.Message(name); md != nil {
		return md.Replies
	}
	return nil
}

// messageNames returns every name that some service sends or receives, in
// the order the manifest first names them.
func messageNames(app *troupe.App) []string {
	var out []string
	add := func(n string) {
		if n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	for _, s := range app.Services {
		for _, n := range s.Sends {
			add(n)
		}
		for _, n := range s.Receives {
			add(n)
		}
	}
	return out
}

// replyNames returns every declared reply name of the names in names.
func replyNames(app *troupe.App, names []string) []string {
	var out []string
	for _, n := range names {
		for _, r := range repliesOf(app, n) {
			if !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
	}
	return out
}

// resolve follows a schema's reference to a shared schema (already
// rewritten), one level, for the parts of the documents that look inside a
// schema (the properties of a REST route's payload).
func resolve(app *troupe.App, v any) map[string]any {
	m, _ := v.(map[string]any)
	if m == nil {
		return nil
	}
	if ref, ok := m["$ref"].(string); ok {
		name, ok := strings.CutPrefix(ref, componentPrefix)
		if !ok {
			return nil
		}
		r, err := rewrite(app.Schema(name))
		if err != nil {
			return nil
		}
		m, _ = r.(map[string]any)
	}
	return m
}

// marshal writes a document as indented JSON.
func marshal(doc any) ([]byte, error) {
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("apidoc: %w", err)
	}
	return append(out, '\n'), nil
}
