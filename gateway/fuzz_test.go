package gateway

import (
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/troupe-go/troupe"
)

// FuzzDecodeRequest checks that DecodeRequest never panics, refuses with a
// bad request only, and when it accepts a body returns a valid name and a
// payload that is a JSON object holding every member but "type".
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"type":"Hello"}`,
		`{"type": "hello", "name": "Ada", "n": [1, {"a": null}]}`,
		`{"type":"Hello","type":"Hello"}`,
		`{"\u0074ype":"Hello","x":"\"}"}`,
		`[{"type":"Hello"}]`,
		`{"type":42}`,
		`{"type":"Hello"} x`,
		"{\"type\":\"Hello\",\"x\":\"\xff\"}",
		`{"a":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
		``,
		`null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		typ, payload, err := DecodeRequest(body, 0)
		if err != nil {
			if !errors.Is(err, troupe.ErrBadRequest) {
				t.Fatalf("error %v is not a bad request", err)
			}
			return
		}
		if err := troupe.ValidName(typ); err != nil {
			t.Fatalf("accepted type %q: %v", typ, err)
		}
		if !utf8.Valid(payload) {
			t.Fatalf("payload %q is not UTF-8", payload)
		}
		var orig, got map[string]json.RawMessage
		if err := json.Unmarshal(body, &orig); err != nil {
			t.Fatalf("accepted %q that encoding/json refuses: %v", body, err)
		}
		if err := json.Unmarshal(payload, &got); err != nil {
			t.Fatalf("payload %q is not a JSON object: %v", payload, err)
		}
		if _, ok := got["type"]; ok {
			t.Fatalf("payload %q still has a type", payload)
		}
		if len(got) != len(orig)-1 {
			t.Fatalf("payload %q has %d members, want %d", payload, len(got), len(orig)-1)
		}
	})
}
