package troupe_test

import (
	"encoding/json"
	"testing"

	"github.com/troupe-go/troupe"
)

func TestRedact(t *testing.T) {
	fields := []string{"password", "token"}
	tests := []struct{ in, want string }{
		{`{"name":"ann","password":"hunter2"}`, `{"name":"ann","password":"[redacted]"}`},
		{`{"name":"ann"}`, `{"name":"ann"}`},
		{`{"token":{"a":1},"x":[1]}`, `{"token":"[redacted]","x":[1]}`},
		{`"password"`, `"password"`},
		{`{"password":`, `"[redacted]"`},
		{``, ``},
	}
	for _, tt := range tests {
		if got := string(troupe.Redact(json.RawMessage(tt.in), fields)); got != tt.want {
			t.Errorf("Redact(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
	if got := string(troupe.Redact(json.RawMessage(`{"password":"x"}`), nil)); got != `{"password":"x"}` {
		t.Errorf("Redact without fields = %s", got)
	}
}
