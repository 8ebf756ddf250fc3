package troupe

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/troupe-go/troupe/internal/strictjson"
)

// WireVersion is the version of the envelope's wire form that this package
// writes and reads (docs/protocol.md).
const WireVersion = 1

// Kind says what an envelope is for, and so what its receiver owes the sender.
type Kind string

// The kinds of envelope.
const (
	KindRequest Kind = "request" // the sender waits for one or more replies
	KindSend    Kind = "send"    // one-way notification to the receiving service(s)
	KindPublish Kind = "publish" // event for zero or more subscribers
	KindReply   Kind = "reply"   // answers the envelope named by ResponseTo
)

// Member names one instance of one service: the sender of an envelope, or the
// requester a reply goes back to.
type Member struct {
	Service  string `json:"service"`
	Instance string `json:"instance"`
}

func (m Member) String() string { return m.Service + "/" + m.Instance }

// ErrorName is the name of a reply that carries an [Error] as its payload.
const ErrorName = "Error"

// Envelope is one message on the bus: a name that decides where it goes, the
// identifiers that tie it to the request and user action it belongs to, who
// sent it, when it must be answered by, and a JSON payload.
//
// The in-process transport passes *Envelope values without encoding them; a
// receiver must treat an envelope as read-only. The NATS transport and clients
// in other languages use the wire form written by MarshalJSON and read by
// [DecodeEnvelope].
type Envelope struct {
	Kind       Kind              // what the receiver owes the sender
	Name       string            // routing key, e.g. "todo.list"
	ID         ID                // unique, sortable
	ActivityID ID                // one user action across all services; defaults to ID
	ResponseTo ID                // for replies: the ID of the request answered
	Sender     Member            // who sent it
	SentAt     time.Time         // when it was sent
	Deadline   time.Time         // when the sender stops waiting; zero if none
	Headers    map[string]string // free-form metadata (trace ids, attempt counts)
	More       bool              // for replies: more replies to the same request follow
	Durable    bool              // persisted and delivered at least once
	Payload    json.RawMessage   // the message body, a JSON value; nil means null

	// Principal is the user on whose behalf the envelope was sent, as an
	// edge of the application authenticated them (the gateway, or a
	// service the manifest declares an edge); nil for none. A receiving
	// bus refuses a principal from any other sender (docs/protocol.md,
	// "Identity").
	Principal *Principal

	// From is the service whose credentials sent the envelope, as the
	// transport that delivered it authenticated it: the in-process
	// transport from the sending member, the NATS transport from the
	// subject, which the server's publish permissions bind to the
	// publishing user. It is not part of the wire form: a transport sets it
	// on delivery, and the receiving bus refuses an envelope whose From is
	// empty or is not Sender.Service. A sending bus sets it to its own
	// service.
	From string

	// Value is the Go value that Payload encodes, when the envelope was
	// made in this process from one (the in-process transport, and the NATS
	// transport's local shortcut, deliver the sender's envelope itself);
	// nil otherwise. It is never on the wire. A receiver may use it instead
	// of decoding Payload only where that gives the same value: the
	// service SDK does so for request and reply types of plain data (see
	// service.Handle).
	Value any
}

// ValueOf returns the Go value of a payload argument, for Envelope.Value:
// nil for raw JSON (json.RawMessage, []byte) and nil, v otherwise.
func ValueOf(v any) any {
	switch v.(type) {
	case nil, json.RawMessage, []byte:
		return nil
	}
	return v
}

// Err returns the *Error carried by an Error reply, or nil if e is not one.
// A malformed error payload still yields an *Error (CodeInternal).
func (e *Envelope) Err() *Error {
	if e.Name != ErrorName {
		return nil
	}
	var er Error
	if err := json.Unmarshal(e.Payload, &er); err != nil || !er.Code.Known() {
		return &Error{Code: CodeInternal, Msg: "malformed error reply: " + string(truncate(e.Payload, 200))}
	}
	return &er
}

// wireEnvelope is the JSON form of an Envelope.
type wireEnvelope struct {
	V          int               `json:"v"`
	Kind       Kind              `json:"kind"`
	Name       string            `json:"name"`
	ID         string            `json:"id"`
	ActivityID string            `json:"activity,omitempty"`
	ResponseTo string            `json:"responseTo,omitempty"`
	Sender     Member            `json:"sender"`
	SentAt     time.Time         `json:"sentAt"`
	Deadline   *time.Time        `json:"deadline,omitempty"`
	Headers    map[string]string `json:"headers,omitempty"`
	Principal  *Principal        `json:"principal,omitempty"`
	More       bool              `json:"more,omitempty"`
	Durable    bool              `json:"durable,omitempty"`
	Payload    json.RawMessage   `json:"payload,omitempty"`
}

// MarshalJSON writes the wire form (docs/protocol.md, version 1).
func (e *Envelope) MarshalJSON() ([]byte, error) { return e.AppendJSON(nil) }

// marshalSlow is the wire form's definition: encoding/json over
// wireEnvelope. AppendJSON writes the same bytes faster when it can.
func (e *Envelope) marshalSlow() ([]byte, error) {
	w := wireEnvelope{
		V: WireVersion, Kind: e.Kind, Name: e.Name, ID: e.ID, ActivityID: e.ActivityID,
		ResponseTo: e.ResponseTo, Sender: e.Sender, SentAt: e.SentAt.UTC(), Headers: e.Headers,
		Principal: e.Principal, More: e.More, Durable: e.Durable, Payload: e.Payload,
	}
	if !e.Deadline.IsZero() {
		d := e.Deadline.UTC()
		w.Deadline = &d
	}
	return json.Marshal(&w)
}

// Limits on the parts of an envelope, enforced by DecodeEnvelope and Validate.
const (
	MaxNameLen    = 128
	MaxHeaders    = 64
	MaxHeaderLen  = 4096 // key plus value
	MaxServiceLen = 64
)

// DecodeEnvelope reads one envelope in wire form. Anything that is not a valid
// version-1 envelope is an *Error with CodeBadRequest that says what is wrong;
// unknown fields are ignored, so later minor additions stay readable.
// It does not limit the payload's size: callers bound len(data) first.
// The envelope shares no memory with data.
func DecodeEnvelope(data []byte) (*Envelope, error) {
	return decodeOwned(bytes.Clone(data))
}

// DecodeEnvelopeOwned is [DecodeEnvelope] for a caller that hands data
// over: the envelope's strings and its Payload may be parts of data, so
// neither the caller nor anyone else may change data afterwards, for as long
// as the envelope or any string taken from it is in use. It saves
// DecodeEnvelope's copy of the message, for a transport whose client
// library gives it each message in a buffer of its own (nats.go does). The
// Payload never overlaps the strings: changing it, against the rule that a
// receiver treats an envelope as read-only, changes nothing else.
func DecodeEnvelopeOwned(data []byte) (*Envelope, error) {
	return decodeOwned(data)
}

func decodeOwned(data []byte) (*Envelope, error) {
	if env := decodeCanonical(data); env != nil {
		return env, nil
	}
	return decodeSlow(data)
}

// decodeSlow is DecodeEnvelope's definition: encoding/json into
// wireEnvelope, then Validate. decodeCanonical returns the same faster for
// the canonical form.
func decodeSlow(data []byte) (*Envelope, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return nil, Errorf(CodeBadRequest, "envelope: not a JSON object")
	}
	var w wireEnvelope
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, Errorf(CodeBadRequest, "envelope: %s", jsonProblem(err))
	}
	if w.V != WireVersion {
		return nil, Errorf(CodeBadRequest, "envelope: unsupported version %d (want %d)", w.V, WireVersion)
	}
	e := &Envelope{
		Kind: w.Kind, Name: w.Name, ID: w.ID, ActivityID: w.ActivityID, ResponseTo: w.ResponseTo,
		Sender: w.Sender, SentAt: w.SentAt, Headers: w.Headers, Principal: w.Principal, More: w.More,
		Durable: w.Durable, Payload: w.Payload,
	}
	if w.Deadline != nil {
		e.Deadline = *w.Deadline
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	if e.ActivityID == "" {
		e.ActivityID = e.ID
	}
	return e, nil
}

// Validate checks the envelope's fields against the protocol's rules and
// returns an *Error with CodeBadRequest naming the first broken one.
func (e *Envelope) Validate() error {
	bad := func(format string, args ...any) error {
		return Errorf(CodeBadRequest, "envelope: "+format, args...)
	}
	switch e.Kind {
	case KindRequest, KindSend, KindPublish, KindReply:
	default:
		return bad("unknown kind %q", e.Kind)
	}
	if err := ValidName(e.Name); err != nil {
		return bad("%v", err)
	}
	if !ValidID(e.ID) {
		return bad("id %q is not an ID", truncate([]byte(e.ID), 40))
	}
	if e.ActivityID != "" && !ValidID(e.ActivityID) {
		return bad("activity %q is not an ID", truncate([]byte(e.ActivityID), 40))
	}
	if e.Kind == KindReply {
		if !ValidID(e.ResponseTo) {
			return bad("reply without a valid responseTo")
		}
	} else if e.ResponseTo != "" {
		return bad("responseTo is only allowed on replies")
	}
	if e.More && e.Kind != KindReply {
		return bad("more is only allowed on replies")
	}
	if err := validMember(e.Sender); err != nil {
		return bad("sender: %v", err)
	}
	if e.SentAt.IsZero() {
		return bad("sentAt is missing")
	}
	if !wireYear(e.SentAt) {
		return bad("sentAt is outside the years 0 to 9999 (UTC)")
	}
	if e.Kind == KindRequest && e.Deadline.IsZero() {
		return bad("request without a deadline")
	}
	if !e.Deadline.IsZero() && !wireYear(e.Deadline) {
		return bad("deadline is outside the years 0 to 9999 (UTC)")
	}
	if len(e.Headers) > MaxHeaders {
		return bad("%d headers (at most %d)", len(e.Headers), MaxHeaders)
	}
	for k, v := range e.Headers {
		if k == "" || len(k)+len(v) > MaxHeaderLen {
			return bad("header %q is empty or too long", truncate([]byte(k), 40))
		}
	}
	if e.Principal != nil {
		if err := e.Principal.Validate(); err != nil {
			return bad("%v", err)
		}
	}
	if len(e.Payload) > 0 && !strictjson.Valid(e.Payload) {
		return bad("payload is not valid JSON")
	}
	return nil
}

// ValidName reports whether s can name a message: 1 to MaxNameLen characters,
// starting with a letter, of letters, digits, '.', '_' and '-'.
func ValidName(s string) error {
	if s == "" {
		return fmt.Errorf("name is empty")
	}
	if len(s) > MaxNameLen {
		return fmt.Errorf("name is %d bytes long (at most %d)", len(s), MaxNameLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if i == 0 && !letter {
			return fmt.Errorf("name %q must start with a letter", truncate([]byte(s), 40))
		}
		if !letter && !(c >= '0' && c <= '9') && c != '.' && c != '_' && c != '-' {
			return fmt.Errorf("name %q has a character other than letters, digits, '.', '_' and '-'", truncate([]byte(s), 40))
		}
	}
	return nil
}

// ValidServiceName reports whether s can name a service or an instance:
// 1 to MaxServiceLen characters of lower-case letters, digits and '-',
// starting with a letter or digit. (Service names become NATS subject tokens
// and user names, and Kubernetes object names.)
func ValidServiceName(s string) error {
	if s == "" {
		return fmt.Errorf("empty")
	}
	if len(s) > MaxServiceLen {
		return fmt.Errorf("%q is longer than %d", truncate([]byte(s), 40), MaxServiceLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' && i > 0) {
			return fmt.Errorf("%q may hold only lower-case letters, digits and '-'", truncate([]byte(s), 40))
		}
	}
	return nil
}

// wireYear reports whether t can be written in the wire form, which holds
// RFC 3339 times in UTC with four-digit years.
func wireYear(t time.Time) bool {
	// Two comparisons instead of the calendar arithmetic of Year.
	return !t.Before(firstWireTime) && t.Before(pastWireTimes)
}

// The wire form's times are those from firstWireTime to before
// pastWireTimes: the years 0 to 9999 in UTC.
var (
	firstWireTime = time.Date(0, time.January, 1, 0, 0, 0, 0, time.UTC)
	pastWireTimes = time.Date(10000, time.January, 1, 0, 0, 0, 0, time.UTC)
)

func validMember(m Member) error {
	if err := ValidServiceName(m.Service); err != nil {
		return fmt.Errorf("service %v", err)
	}
	if err := ValidServiceName(m.Instance); err != nil {
		return fmt.Errorf("instance %v", err)
	}
	return nil
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return append(b[:n:n], "..."...)
	}
	return b
}

// jsonProblem describes an encoding/json decoding error for whoever sent the
// JSON, without the Go type names the error itself holds ("cannot unmarshal
// string into Go struct field wireEnvelope.v of type int" becomes
// "v: got a string, want a number").
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return err.Error()
	}
	want := "a value of another type"
	if te.Type != nil {
		switch te.Type.Kind() {
		case reflect.String:
			want = "a string"
		case reflect.Bool:
			want = "a boolean"
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			want = "a whole number"
			if te.Value == "string" || te.Value == "bool" || te.Value == "array" || te.Value == "object" {
				want = "a number"
			}
		case reflect.Float32, reflect.Float64:
			want = "a number"
		case reflect.Slice, reflect.Array:
			want = "an array"
		case reflect.Map, reflect.Struct, reflect.Pointer:
			want = "an object"
		}
	}
	got := te.Value
	switch got {
	case "string", "number", "object", "array":
		got = map[string]string{"string": "a string", "number": "a number", "object": "an object", "array": "an array"}[got]
	case "bool":
		got = "a boolean"
	default:
		if strings.HasPrefix(got, "number") {
			got = "the " + got // "number 1.5"
		}
	}
	field := te.Field
	if field == "" {
		return fmt.Sprintf("got %s, want %s", got, want)
	}
	return fmt.Sprintf("%s: got %s, want %s", field, got, want)
}
