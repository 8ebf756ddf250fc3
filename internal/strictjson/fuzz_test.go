package strictjson

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// FuzzCheck: Check never panics, and JSON it lets through decodes without
// encoding/json inventing a replacement character: every U+FFFD in the
// decoded keys and strings was in the text, as the character or its escape.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{
		`{"title":"buy milk"}`, `{"t":"\ud83d\ude00"}`, `{"t":"\ud800"}`, `{"t":"\udc00x"}`,
		`{"t":"\uD800\u0041"}`, "{\"t\":\"\xff\"}", `["\\ud800"]`, `{"t":"\ufffd"}`, `"\u00e9"`, `{"\ud800":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if Check(b) != nil || !json.Valid(b) {
			return
		}
		var v any
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber() // numbers beyond float64 are valid JSON
		if err := d.Decode(&v); err != nil {
			t.Fatalf("valid JSON %q does not decode: %v", b, err)
		}
		got := replacements(v)
		want := bytes.Count(b, []byte("\uFFFD")) + strings.Count(strings.ToLower(string(b)), `\ufffd`)
		if got > want {
			t.Fatalf("Check(%q) = nil, but decoding it made %d replacement characters (the text has %d)", b, got, want)
		}
	})
}

// replacements counts U+FFFD in the keys and strings of a decoded value.
func replacements(v any) int {
	switch v := v.(type) {
	case string:
		return strings.Count(v, "\uFFFD")
	case []any:
		n := 0
		for _, e := range v {
			n += replacements(e)
		}
		return n
	case map[string]any:
		n := 0
		for k, e := range v {
			n += strings.Count(k, "\uFFFD") + replacements(e)
		}
		return n
	}
	return 0
}
