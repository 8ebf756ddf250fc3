package store

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/troupe-go/troupe"
)

func TestNormalizeTitle(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  string
	}{
		{in: "a", want: "a"},
		{in: " \ta b\u00a0", want: "a b"},
		{in: strings.Repeat("ü", 500), want: strings.Repeat("ü", 500)},
		{in: strings.Repeat("ü", 501), wantErr: "title: must be at most 500 characters, not 501"},
		{in: "", wantErr: "title: must not be empty"},
		{in: "\u2003", wantErr: "title: must not be empty"},
		{in: "a\x7fb", wantErr: "title: must not contain control characters"},
		{in: "\xed\xa0\x80", wantErr: "title: must be valid UTF-8"},
		// Only invisible characters: each would make an item that shows
		// nothing.
		{in: "\u200b\u200b", wantErr: "title: must show something: it has only invisible characters"},
		{in: "\u200d\ufeff\u2060", wantErr: "title: must show something: it has only invisible characters"},
		{in: "\u3164", wantErr: "title: must show something: it has only invisible characters"},
		{in: "\u2800\u2800", wantErr: "title: must show something: it has only invisible characters"},
		{in: "\u0301\u0301", wantErr: "title: must show something: it has only invisible characters"},
		{in: "\ufe0f", wantErr: "title: must show something: it has only invisible characters"},
		{in: "\u202e\u202d", wantErr: "title: must show something: it has only invisible characters"},
		{in: "\U000e0041", wantErr: "title: must show something: it has only invisible characters"},
		// Visible ones with invisible ones beside them are kept as they are.
		{in: "milk\u200b", want: "milk\u200b"},
		{in: "\u2764\ufe0f", want: "\u2764\ufe0f"},
		{in: "e\u0301", want: "e\u0301"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := NormalizeTitle(tt.in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr || troupe.CodeOf(err) != troupe.CodeBadRequest {
					t.Fatalf("NormalizeTitle(%q): got %q, %v, want bad_request %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("NormalizeTitle(%q): got %q, %v, want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"abcdef", 3, "abc…"},
		{"ééé", 3, "é…"}, // never cuts a rune in half
	}
	for _, tt := range tests {
		if got := truncate(tt.in, tt.n); got != tt.want {
			t.Errorf("truncate(%q, %d): got %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

// FuzzNormalizeTitle checks what the stores rely on: a title that passes is
// valid, trimmed, short enough, free of control characters, and passes
// again unchanged.
func FuzzNormalizeTitle(f *testing.F) {
	for _, s := range []string{"", " a ", "<script>", "\xff", strings.Repeat("é", 501), "a\x00", "\u3000x\u3000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := NormalizeTitle(in)
		if err != nil {
			if troupe.CodeOf(err) != troupe.CodeBadRequest {
				t.Fatalf("NormalizeTitle(%q): error %v is not bad_request", in, err)
			}
			return
		}
		if !utf8.ValidString(got) || got == "" || got != strings.TrimSpace(got) || utf8.RuneCountInString(got) > MaxTitleRunes {
			t.Fatalf("NormalizeTitle(%q) = %q: not a valid title", in, got)
		}
		if strings.IndexFunc(got, unicode.IsControl) >= 0 {
			t.Fatalf("NormalizeTitle(%q) = %q: has a control character", in, got)
		}
		if again, err := NormalizeTitle(got); err != nil || again != got {
			t.Fatalf("NormalizeTitle not idempotent on %q: %q, %v", got, again, err)
		}
	})
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"", "all", "active", "completed", "ACTIVE", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := ParseFilter(in)
		if err != nil {
			if troupe.CodeOf(err) != troupe.CodeBadRequest {
				t.Fatalf("ParseFilter(%q): error %v is not bad_request", in, err)
			}
			return
		}
		switch got {
		case FilterAll, FilterActive, FilterCompleted:
		default:
			t.Fatalf("ParseFilter(%q) = %q", in, got)
		}
	})
}
