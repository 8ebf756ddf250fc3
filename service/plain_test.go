package service

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/troupe-go/troupe"
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

// TestDecodeIntoIsARoundTrip: for plain data, the copy equals what a JSON
// round trip gives.
func TestDecodeIntoIsARoundTrip(t *testing.T) {
	sent := plainReq{Name: "ä", N: 7, F: 0.1, Arr: [2]uint8{1, 2}}
	sent.Inner.OK = true
	raw, err := json.Marshal(sent)
	if err != nil {
		t.Fatal(err)
	}
	env := &troupe.Envelope{Payload: raw, Value: sent}
	var copied, decoded plainReq
	if !decodeInto(env, &copied, isPlain(reflect.TypeFor[plainReq]())) {
		t.Fatal("the plain value was not copied")
	}
	if err := json.Unmarshal(raw, &decoded); err != nil {
		t.Fatal(err)
	}
	if copied != decoded {
		t.Errorf("copy %+v, round trip %+v", copied, decoded)
	}
	// Another type, or a type that is not plain, is decoded.
	var other withSlice
	if decodeInto(&troupe.Envelope{Value: withSlice{Tags: []string{"a"}}}, &other, isPlain(reflect.TypeFor[withSlice]())) {
		t.Error("a value that shares memory was copied")
	}
	if decodeInto(env, new(struct{ Name string }), true) {
		t.Error("a value of another type was copied")
	}
}

type selfDecoding struct{ Got bool }

func (s *selfDecoding) UnmarshalJSON([]byte) error { s.Got = true; return nil }

type textDecoding struct{ V int }

func (*textDecoding) UnmarshalText([]byte) error { return nil }

// TestZeroFromEmpty holds the shortcut to encoding/json: where it says {}
// leaves a zero value as it is, decoding {} does exactly that, without an
// error; the types that decode themselves are left to encoding/json.
func TestZeroFromEmpty(t *testing.T) {
	for _, tt := range []struct {
		v    any
		want bool
	}{
		{plainReq{}, true},
		{struct{}{}, true},
		{withSlice{}, true},
		{withSkip{}, true},
		{withHidden{}, true},
		{withEmbed{}, true},
		{withTime{}, true},
		{custom{}, true}, // it encodes itself, but decodes as any struct
		{selfDecoding{}, false},
		{textDecoding{}, false},
		{"s", false},
		{0, false},
		{map[string]int{}, false},
		{[]int{}, false},
		{&plainReq{}, false},
	} {
		typ := reflect.TypeOf(tt.v)
		got := zeroFromEmpty(typ)
		if got != tt.want {
			t.Errorf("zeroFromEmpty(%T) = %v, want %v", tt.v, got, tt.want)
		}
		if !got {
			continue
		}
		p := reflect.New(typ)
		if err := json.Unmarshal([]byte(`{}`), p.Interface()); err != nil {
			t.Errorf("%T: decoding {}: %v", tt.v, err)
		}
		if !p.Elem().IsZero() {
			t.Errorf("%T: decoding {} gave %+v, want the zero value", tt.v, p.Elem())
		}
	}
	for _, p := range []string{`{}`} {
		if !emptyObject(json.RawMessage(p)) {
			t.Errorf("emptyObject(%s) = false", p)
		}
	}
	for _, p := range []string{``, `{ }`, `{"a":1}`, `[]`, `null`, `{}x`} {
		if emptyObject(json.RawMessage(p)) {
			t.Errorf("emptyObject(%s) = true", p)
		}
	}
}
