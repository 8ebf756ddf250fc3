package strictjson

import (
	"encoding/json"
	"strings"
	"testing"
)

var validSeeds = []string{
	`{"list":"default","title":"buy milk"}`, ` { "a" : [ 1 , -2.5e+3 , 0 , true , false , null , {} , [] ] } `,
	`"\u00e9\n\"\\\/"`, `"\u00g0"`, `"\x"`, "\"\xff\"", "\"a\tb\"", `01`, `-`, `-0`, `1.`, `1e`, `1E+`, `1e-07`,
	`[1,]`, `{"a":1,}`, `{"a"}`, `{"a":}`, `{1:2}`, `[`, `{`, `"`, `"\u12`, `tru`, `nul`, `nullx`, `1 2`, ``, ` `,
	strings.Repeat("[", 100) + strings.Repeat("]", 100), strings.Repeat("[", 100) + strings.Repeat("]", 99),
	"\xef\xbb\xbf{}",
}

// FuzzValid checks that Valid answers as json.Valid does.
func FuzzValid(f *testing.F) {
	for _, s := range validSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := Valid(b), json.Valid(b); got != want {
			t.Fatalf("Valid(%q) = %v, json.Valid says %v", b, got, want)
		}
	})
}

// TestValidIsSure checks that the usual payloads are read by Valid itself,
// and that Decode reads those without escapes.
func TestValidIsSure(t *testing.T) {
	for i, s := range validSeeds[:3] {
		sc := scanner{Cursor: Cursor{Data: []byte(s)}}
		if _, ok, sure := sc.document(); !ok || !sure {
			t.Errorf("Valid(%s): ok %v, sure %v", s, ok, sure)
		}
		if _, ok := Decode([]byte(s)); ok != (i < 2) {
			t.Errorf("Decode(%s) reads it: %v, want %v", s, ok, i < 2)
		}
	}
}

func BenchmarkValid(b *testing.B) {
	payload := []byte(validSeeds[0])
	b.Run("Valid", func(b *testing.B) {
		for b.Loop() {
			if !Valid(payload) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("json.Valid", func(b *testing.B) {
		for b.Loop() {
			if !json.Valid(payload) {
				b.Fatal("invalid")
			}
		}
	})
}
