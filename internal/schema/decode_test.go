package schema

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/troupe-go/troupe/internal/strictjson"
)

var docSeeds = []string{
	`{"list":"default","title":"buy milk"}`,
	` { "a" : [ 1 , -2.5e+3 , 0 , true , false , null , {} , [] ] , "b" : "ü€" } `,
	`{"a":1,"a":2}`, `"x\"y"`, `"\u00e9"`, "\"\xff\"", `01`, `-`, `1.`, `1e`, `[1,]`, `{"a":1,}`,
	`{"a"}`, `[`, `{`, `"`, `tru`, `nul`, `1 2`, `[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`,
	"\"a\tb\"", `1E-07`, `-0`, `{"k":"v"}x`, "\xef\xbb\xbf{}", `123456789012345678901234567890`,
}

// FuzzDecodeDoc checks that decodeDoc returns what jsonschema.UnmarshalJSON
// returns, the same document or an error, for any input.
func FuzzDecodeDoc(f *testing.F) {
	for _, s := range docSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want, werr := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		got, gerr := decodeDoc(data)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("decodeDoc(%q) error %v, UnmarshalJSON error %v", data, gerr, werr)
		}
		if werr != nil {
			if gerr.Error() != werr.Error() {
				t.Fatalf("decodeDoc(%q) error %q, UnmarshalJSON %q", data, gerr, werr)
			}
			return
		}
		// reflect.DeepEqual, not cmp.Diff: cmp takes minutes over a few
		// dozen nested arrays.
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("decodeDoc(%q) = %#v, UnmarshalJSON gives %#v", data, got, want)
		}
	})
}

// TestDecodeDocReadsItself checks that the usual payloads are read by
// decodeDoc itself, not handed on.
func TestDecodeDocReadsItself(t *testing.T) {
	for _, s := range []string{docSeeds[0], docSeeds[1], `{"a":1,"a":2}`, `-0`, `1E-07`} {
		if _, ok := strictjson.Decode([]byte(s)); !ok {
			t.Errorf("decodeDoc hands %s on", s)
		}
	}
}

func BenchmarkDecodeDoc(b *testing.B) {
	payload := []byte(docSeeds[0])
	b.Run("decodeDoc", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeDoc(payload); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("UnmarshalJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := jsonschema.UnmarshalJSON(bytes.NewReader(payload)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
