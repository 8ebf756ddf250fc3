package plainjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

type plainReq struct {
	Name  string  `json:"name"`
	N     int     `json:"n,omitempty"`
	F     float64 `json:"f,string"`
	Inner struct{ OK bool }
	Arr   [2]uint8
}

type withSlice struct{ Tags []string }

type withSkip struct {
	Secret string `json:"-"`
}

type withHidden struct{ hidden int }

var _ = withHidden{hidden: 1} // the field is there only to be unexported

type withEmbed struct{ plainReq }

type withTime struct{ At time.Time }

type custom struct{ V int }

func (custom) MarshalJSON() ([]byte, error) { return []byte(`"x"`), nil }

type level int

type text struct{ V int }

func (*text) UnmarshalText([]byte) error { return nil }

func TestPlain(t *testing.T) {
	for _, tt := range []struct {
		v    any
		want bool
	}{
		{plainReq{}, true},
		{struct{}{}, true},
		{"s", true},
		{level(2), true},
		{withSlice{}, false},
		{withSkip{}, false},
		{withHidden{}, false},
		{withEmbed{}, false},
		{withTime{}, false},
		{custom{}, false},
		{text{}, false}, // *text decodes itself
		{&plainReq{}, false},
		{map[string]int{}, false},
		{[]int{}, false},
	} {
		if got := Plain(reflect.TypeOf(tt.v)); got != tt.want {
			t.Errorf("Plain(%T) = %v, want %v", tt.v, got, tt.want)
		}
	}
}

// check holds Append to json.Marshal for v: the same bytes when Append
// encodes, b untouched when it does not, and whether it did as wantFast
// says (nil: either).
func check(t *testing.T, v any, wantFast *bool) {
	t.Helper()
	want, wantErr := json.Marshal(v)
	prefix := []byte("prefix:")
	got, ok := Append(bytes.Clone(prefix), v)
	if wantFast != nil && ok != *wantFast {
		t.Errorf("Append(%#v) encoded: %v, want %v", v, ok, *wantFast)
	}
	if !ok {
		if !bytes.Equal(got, prefix) {
			t.Errorf("Append(%#v) refused but changed b to %q", v, got)
		}
		return
	}
	if wantErr != nil {
		t.Fatalf("Append(%#v) = %s, json.Marshal fails: %v", v, got, wantErr)
	}
	if !bytes.Equal(got[len(prefix):], want) || !bytes.Equal(got[:len(prefix)], prefix) {
		t.Fatalf("Append(%#v) = %s, json.Marshal = %s", v, got[len(prefix):], want)
	}
	m, ok := Marshal(v)
	if !ok || !bytes.Equal(m, want) {
		t.Fatalf("Marshal(%#v) = %s, %v; json.Marshal = %s", v, m, ok, want)
	}
}

func TestAppend(t *testing.T) {
	yes, no := true, false
	type names struct {
		A   int    `json:"a"`
		B   string `json:",omitempty"`
		C_2 bool   `json:"c_2"`
	}
	type quoted struct {
		N int `json:"n,string"`
	}
	type spaced struct {
		N int `json:"a b"`
	}
	twice := reflect.StructOf([]reflect.StructField{ // built: go vet refuses the tag twice
		{Name: "A", Type: reflect.TypeFor[int](), Tag: `json:"x"`},
		{Name: "B", Type: reflect.TypeFor[int](), Tag: `json:"x"`},
	})
	type zero struct {
		N int `json:"n,omitzero"`
	}
	type nested struct {
		In  names
		Arr [3]float32 `json:"arr,omitempty"`
		E   [0]int     `json:"e,omitempty"`
		S   struct{}   `json:"s,omitempty"` // a struct is never empty
		L   level
	}
	for _, tt := range []struct {
		v    any
		fast *bool
	}{
		{names{A: 1, B: "x", C_2: true}, &yes},
		{names{}, &yes},
		{nested{In: names{A: -3}, Arr: [3]float32{0.1, 1e21, 1e-7}, L: 7}, &yes},
		{nested{}, &yes},
		{plainReq{Name: "n"}, &no},                   // the string option
		{quoted{N: 1}, &no},                          // the string option
		{spaced{N: 1}, &no},                          // a name with a space
		{reflect.New(twice).Elem().Interface(), &no}, // encoding/json drops both
		{zero{}, &no},                                // omitzero
		{names{B: "a<b"}, &no},                       // escaped by encoding/json
		{names{B: "tab\there"}, &no},                 // escaped
		{names{B: "zoë"}, &no},                       // not ASCII
		{names{B: `say "hi"`}, &no},                  // escaped
		{"plain", &yes},
		{[2]string{"a", "b"}, &yes},
		{[4]byte{1, 2, 3, 255}, &yes}, // an array, not base64
		{math.NaN(), &no},
		{math.Inf(-1), &no},
		{float32(math.Inf(1)), &no},
		{custom{V: 1}, &no},
		{withSlice{Tags: []string{"a"}}, &no},
		{nil, &no},
		{struct{ Über int }{1}, &no}, // a name not in ASCII
		{int64(math.MinInt64), &yes},
		{uint64(math.MaxUint64), &yes},
		{int8(-128), &yes},
	} {
		t.Run(fmt.Sprintf("%T", tt.v), func(t *testing.T) { check(t, tt.v, tt.fast) })
	}
	floats := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1.5, 1e20, 1e21, 1e-6, 1e-7, 9.999999e-7,
		123456789012345678, 5e-324, math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64,
		1e-10, 1e100, 1e-100, 2.5e-8, 1.0000000000000002, 3.4028234663852886e38}
	for _, f := range floats {
		check(t, f, &yes)
		check(t, float32(f), nil) // may overflow to an infinity: refused
		check(t, struct {
			F float64 `json:"f,omitempty"`
		}{f}, &yes)
	}
}

// TestAppendRandom holds Append to json.Marshal on values of random plain
// types: structs of random fields and tags, arrays, and values drawn from
// the edges of each kind.
func TestAppendRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	fast := 0
	for range 3000 {
		typ := randomType(r, 0)
		for range 5 {
			v := reflect.New(typ).Elem()
			fill(r, v)
			check(t, v.Interface(), nil)
			if _, ok := Append(nil, v.Interface()); ok {
				fast++
			}
		}
	}
	if fast < 3000 { // the drawing must reach the fast path often
		t.Errorf("only %d of 15000 random values encoded by Append", fast)
	}
}

var tags = []string{``, ``, `json:"a"`, `json:"b,omitempty"`, `json:",omitempty"`, `json:"c"`,
	`json:"a b"`, `json:"d,string"`, `json:"e,omitzero"`, `json:"f_1,"`}

func randomType(r *rand.Rand, depth int) reflect.Type {
	kinds := []reflect.Type{reflect.TypeFor[bool](), reflect.TypeFor[int](), reflect.TypeFor[int8](),
		reflect.TypeFor[uint16](), reflect.TypeFor[uint64](), reflect.TypeFor[float32](),
		reflect.TypeFor[float64](), reflect.TypeFor[string](), reflect.TypeFor[level]()}
	switch n := r.IntN(10); {
	case depth < 3 && n < 2:
		return reflect.ArrayOf(r.IntN(3), randomType(r, depth+1))
	case depth < 3 && n < 6:
		var fields []reflect.StructField
		for i := range r.IntN(5) {
			fields = append(fields, reflect.StructField{
				Name: fmt.Sprintf("F%d", i),
				Type: randomType(r, depth+1),
				Tag:  reflect.StructTag(tags[r.IntN(len(tags))]),
			})
		}
		return reflect.StructOf(fields)
	}
	return kinds[r.IntN(len(kinds))]
}

var strs = []string{"", "a", "hello world", "x<y", "a&b", `q"q`, `back\slash`, "tab\t", "é", "\u2028", "~!@#$%^*()"}

func fill(r *rand.Rand, v reflect.Value) {
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 0)
	case reflect.Int, reflect.Int8:
		v.SetInt([]int64{0, 1, -1, 127, -128, r.Int64N(100)}[r.IntN(6)])
	case reflect.Uint16, reflect.Uint64:
		v.SetUint([]uint64{0, 1, 65535, r.Uint64N(1000)}[r.IntN(4)])
	case reflect.Float32, reflect.Float64:
		fs := []float64{0, -0.5, 1e21, 1e-7, 3.14159, 1e300, math.NaN(), r.NormFloat64() * math.Pow(10, float64(r.IntN(50)-25))}
		v.SetFloat(fs[r.IntN(len(fs))])
	case reflect.String:
		v.SetString(strs[r.IntN(len(strs))])
	case reflect.Array:
		for i := range v.Len() {
			fill(r, v.Index(i))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			fill(r, v.Field(i))
		}
	}
}

// FuzzAppend holds Append to json.Marshal on a struct of every kind.
func FuzzAppend(f *testing.F) {
	f.Add("name", 1.5, float32(2.5), int64(-3), uint32(4), true)
	f.Add("", 1e21, float32(1e-7), int64(0), uint32(0), false)
	f.Add("a<b", math.Inf(1), float32(math.NaN()), int64(math.MinInt64), uint32(math.MaxUint32), true)
	type all struct {
		S   string  `json:"s"`
		F   float64 `json:"f,omitempty"`
		F32 float32
		I   int64 `json:"i,omitempty"`
		U   uint32
		B   bool `json:"b,omitempty"`
		A   [2]string
	}
	f.Fuzz(func(t *testing.T, s string, f64 float64, f32 float32, i int64, u uint32, b bool) {
		check(t, all{S: s, F: f64, F32: f32, I: i, U: u, B: b, A: [2]string{s, s}}, nil)
		check(t, s, nil)
		check(t, f64, nil)
		check(t, f32, nil)
	})
}

func BenchmarkAppend(b *testing.B) {
	type req struct {
		Name string `json:"name"`
		N    int    `json:"n,omitempty"`
	}
	v := req{Name: "World", N: 3}
	b.Run("Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := Marshal(v); !ok {
				b.Fatal("not encoded")
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
