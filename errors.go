package troupe

import (
	"errors"
	"fmt"
)

// Code is the machine-readable kind of an [Error]. Codes survive every trip
// across the bus and map to HTTP statuses in the gateway.
type Code string

// The codes. A receiver that returns a plain Go error is reported as
// CodeInternal; one that returns an *Error keeps its code.
const (
	CodeBadRequest  Code = "bad_request" // the message was malformed or invalid
	CodeNotFound    Code = "not_found"   // the thing asked for (or a receiver) does not exist
	CodeForbidden   Code = "forbidden"   // the sender may not send this message
	CodeTimeout     Code = "timeout"     // the deadline passed before a reply
	CodeUnavailable Code = "unavailable" // the receiver is overloaded or down; try later
	CodeConflict    Code = "conflict"    // the change conflicts with the current state
	CodeInternal    Code = "internal"    // the receiver failed (a bug, a crash)
)

// Known reports whether c is one of the codes above.
func (c Code) Known() bool {
	switch c {
	case CodeBadRequest, CodeNotFound, CodeForbidden, CodeTimeout, CodeUnavailable, CodeConflict, CodeInternal:
		return true
	}
	return false
}

// Error is the one typed error of troupe. It carries a [Code], a human
// message, and, when a process crashed, the incident id under which the crash
// report was logged. It is what an Error reply on the bus decodes to, so
// callers see the same code whether the receiver ran in this process or on
// another machine.
//
// Use errors.Is with the sentinels (ErrForbidden, ErrTimeout, ...) to test the
// code, and errors.As to read the message or incident.
type Error struct {
	Code     Code   `json:"code"`
	Msg      string `json:"msg"`
	Incident string `json:"incident,omitempty"`
	// Err is the local cause, if any. It is not sent on the wire.
	Err error `json:"-"`
}

// Errorf returns an *Error with code c and a formatted message.
func Errorf(c Code, format string, args ...any) *Error {
	return &Error{Code: c, Msg: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string {
	msg := e.Msg
	if msg == "" {
		msg = string(e.Code)
	}
	if e.Incident != "" {
		return msg + " (incident " + e.Incident + ")"
	}
	return msg
}

// Unwrap returns the local cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is the sentinel for e's code, so that
// errors.Is(err, troupe.ErrForbidden) holds for every forbidden error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Msg == "" && t.Incident == "" && t.Err == nil && t.Code == e.Code
}

// The sentinels, one per code, for errors.Is.
var (
	ErrBadRequest  = &Error{Code: CodeBadRequest}
	ErrNotFound    = &Error{Code: CodeNotFound}
	ErrForbidden   = &Error{Code: CodeForbidden}
	ErrTimeout     = &Error{Code: CodeTimeout}
	ErrUnavailable = &Error{Code: CodeUnavailable}
	ErrConflict    = &Error{Code: CodeConflict}
	ErrInternal    = &Error{Code: CodeInternal}
)

// ErrNoReceiver is the cause of the not_found error a sender gets when no
// service receives the name it sent; it is decided by the sender's bus and
// never crosses the wire.
var ErrNoReceiver = errors.New("no service receives this message")

// CodeOf returns the code of err: the code of the first *Error in its chain,
// CodeTimeout for context.DeadlineExceeded-like errors that say so through a
// Timeout() bool method, and CodeInternal otherwise. CodeOf(nil) is "".
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	var t interface{ Timeout() bool }
	if errors.As(err, &t) && t.Timeout() {
		return CodeTimeout
	}
	return CodeInternal
}
