package strictjson

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		json string
		ok   bool
	}{
		{`{"title":"milk"}`, true},
		{`{"title":"caf\u00e9"}`, true},
		{`{"title":"\ud83d\ude00"}`, true}, // an emoji as a surrogate pair
		{`{"title":"\\ud800"}`, true},      // an escaped backslash, then text
		{`{"title":"\ud800"}`, false},
		{`{"title":"\udc00"}`, false},
		{`{"title":"\ud800\u0041"}`, false},
		{`{"title":"\ud800x"}`, false},
		{`{"\ud800":1}`, false},
		{`["\uDBFF\uDFFF"]`, true},
		{"{\"title\":\"\xff\"}", false},
	}
	for _, tt := range tests {
		err := Check([]byte(tt.json))
		if (err == nil) != tt.ok {
			t.Errorf("Check(%s) = %v, want ok %v", tt.json, err, tt.ok)
		}
	}
}

func TestDescribe(t *testing.T) {
	var v struct {
		Title string `json:"title"`
		N     int    `json:"n"`
		Tags  []string
	}
	tests := []struct {
		json, want string
	}{
		{`{"title":5}`, "title: got a number, want a string"},
		{`{"n":"x"}`, "n: got a string, want a whole number"},
		{`{"n":1.5}`, "n: got the number 1.5, want a whole number"},
		{`{"Tags":{}}`, "Tags: got an object, want an array"},
		{`[1]`, "got an array, want an object"},
	}
	for _, tt := range tests {
		err := json.Unmarshal([]byte(tt.json), &v)
		if err == nil {
			t.Fatalf("%s decoded", tt.json)
		}
		if got := Describe(err); got != tt.want {
			t.Errorf("Describe(%s) = %q, want %q", tt.json, got, tt.want)
		}
	}
	dec := json.NewDecoder(strings.NewReader(`{"other":1}`))
	dec.DisallowUnknownFields()
	if got, want := Describe(dec.Decode(&v)), `unknown field "other"`; got != want {
		t.Errorf("Describe = %q, want %q", got, want)
	}
}
