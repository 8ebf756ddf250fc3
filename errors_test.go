package troupe_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/troupe-go/troupe"
)

func TestErrorIs(t *testing.T) {
	sentinels := map[troupe.Code]error{
		troupe.CodeBadRequest:  troupe.ErrBadRequest,
		troupe.CodeNotFound:    troupe.ErrNotFound,
		troupe.CodeForbidden:   troupe.ErrForbidden,
		troupe.CodeTimeout:     troupe.ErrTimeout,
		troupe.CodeUnavailable: troupe.ErrUnavailable,
		troupe.CodeConflict:    troupe.ErrConflict,
		troupe.CodeInternal:    troupe.ErrInternal,
	}
	for code, sentinel := range sentinels {
		t.Run(string(code), func(t *testing.T) {
			errs := []error{
				troupe.Errorf(code, "something about %s", "x"),
				&troupe.Error{Code: code, Msg: "m", Incident: "01JDQ6Y8Z0000000000000000A"},
				fmt.Errorf("bus: request %q: %w", "todo.list", troupe.Errorf(code, "wrapped")),
				sentinel,
			}
			for _, err := range errs {
				if !errors.Is(err, sentinel) {
					t.Errorf("errors.Is(%v, sentinel %s) = false, want true", err, code)
				}
				for other, s := range sentinels {
					if other != code && errors.Is(err, s) {
						t.Errorf("errors.Is(%v, sentinel %s) = true, want false", err, other)
					}
				}
			}
		})
	}
}

func TestErrorIsNeedsASentinel(t *testing.T) {
	a := troupe.Errorf(troupe.CodeForbidden, "web may not send x")
	b := troupe.Errorf(troupe.CodeForbidden, "another message")
	if errors.Is(a, b) {
		t.Errorf("errors.Is matched two different forbidden errors; only the sentinel should match")
	}
}

func TestErrorUnwrapAndAs(t *testing.T) {
	cause := io.ErrUnexpectedEOF
	err := fmt.Errorf("gateway: %w", &troupe.Error{Code: troupe.CodeBadRequest, Msg: "body", Err: cause})
	if !errors.Is(err, cause) {
		t.Errorf("errors.Is(err, cause) = false, want true")
	}
	var te *troupe.Error
	if !errors.As(err, &te) {
		t.Fatalf("errors.As(*troupe.Error) = false")
	}
	if got, want := te.Msg, "body"; got != want {
		t.Errorf("Msg = %q, want %q", got, want)
	}
}

func TestErrorText(t *testing.T) {
	tests := []struct {
		err  *troupe.Error
		want string
	}{
		{troupe.Errorf(troupe.CodeNotFound, "no list %q", "x"), `no list "x"`},
		{troupe.ErrTimeout, "timeout"},
		{&troupe.Error{Code: troupe.CodeInternal, Msg: "handler crashed", Incident: "01JDQ6Y8Z0000000000000000A"},
			"handler crashed (incident 01JDQ6Y8Z0000000000000000A)"},
		{&troupe.Error{Code: troupe.CodeInternal, Incident: "01JDQ6Y8Z0000000000000000A"},
			"internal (incident 01JDQ6Y8Z0000000000000000A)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestErrorWireForm checks the JSON of an Error reply's payload: the local
// cause stays local.
func TestErrorWireForm(t *testing.T) {
	err := &troupe.Error{Code: troupe.CodeInternal, Msg: "crashed", Incident: "01JDQ6Y8Z0000000000000000A", Err: io.EOF}
	got, jerr := json.Marshal(err)
	if jerr != nil {
		t.Fatal(jerr)
	}
	if want := `{"code":"internal","msg":"crashed","incident":"01JDQ6Y8Z0000000000000000A"}`; string(got) != want {
		t.Errorf("json.Marshal = %s, want %s", got, want)
	}
	var back troupe.Error
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	want := troupe.Error{Code: troupe.CodeInternal, Msg: "crashed", Incident: "01JDQ6Y8Z0000000000000000A"}
	if diff := cmp.Diff(want, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

// timeoutError is a net.Error-like error that says it is a timeout.
type timeoutError struct{ timeout bool }

func (e timeoutError) Error() string { return "i/o" }
func (e timeoutError) Timeout() bool { return e.timeout }

func TestCodeOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want troupe.Code
	}{
		{"nil", nil, ""},
		{"plain error", errors.New("boom"), troupe.CodeInternal},
		{"troupe error", troupe.Errorf(troupe.CodeConflict, "version"), troupe.CodeConflict},
		{"wrapped troupe error", fmt.Errorf("a: %w", fmt.Errorf("b: %w", troupe.ErrUnavailable)), troupe.CodeUnavailable},
		{"first troupe error wins", &troupe.Error{Code: troupe.CodeNotFound, Err: troupe.ErrForbidden}, troupe.CodeNotFound},
		{"joined", errors.Join(errors.New("x"), troupe.ErrForbidden), troupe.CodeForbidden},
		{"timeout-like", fmt.Errorf("read: %w", timeoutError{true}), troupe.CodeTimeout},
		{"not a timeout", timeoutError{false}, troupe.CodeInternal},
		{"context deadline", context.DeadlineExceeded, troupe.CodeTimeout},
		{"os deadline", os.ErrDeadlineExceeded, troupe.CodeTimeout},
		{"net timeout", &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, troupe.CodeTimeout},
		{"context canceled", context.Canceled, troupe.CodeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := troupe.CodeOf(tt.err); got != tt.want {
				t.Errorf("CodeOf(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

func TestCodeKnown(t *testing.T) {
	for _, c := range []troupe.Code{troupe.CodeBadRequest, troupe.CodeNotFound, troupe.CodeForbidden,
		troupe.CodeTimeout, troupe.CodeUnavailable, troupe.CodeConflict, troupe.CodeInternal} {
		if !c.Known() {
			t.Errorf("Code(%q).Known() = false, want true", c)
		}
	}
	for _, c := range []troupe.Code{"", "teapot", "Internal"} {
		if c.Known() {
			t.Errorf("Code(%q).Known() = true, want false", c)
		}
	}
}
