package schema

import (
	"bytes"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/troupe-go/troupe/internal/strictjson"
)

// decodeDoc decodes a payload into the form the validator walks, the one
// jsonschema.UnmarshalJSON returns (map[string]any, []any, string,
// json.Number, bool, nil). UnmarshalJSON gets there through encoding/json's
// streaming Decoder, which costs most of a small payload's validation (a
// 40-byte object: about two thirds), so the usual payload is read by
// strictjson.Decode, and anything it does not read — an escape, a syntax
// error, deep nesting — by UnmarshalJSON, whole: both give the same
// document, or the same error, for every input (FuzzDecodeDoc).
func decodeDoc(payload []byte) (any, error) {
	if v, ok := strictjson.Decode(payload); ok {
		return v, nil
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(payload))
}
