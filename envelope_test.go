package troupe_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/troupe-go/troupe"
)

// Fixed IDs and times, so that wire forms can be compared byte for byte.
const (
	reqID = "01JDQ6Y8Z4A5B6C7D8E9F0GHJK"
	actID = "01JDQ6Y8Z0000000000000000A"
	repID = "01JDQ6Y8Z9MNPQRSTVWXYZ0123"
)

var (
	sentAt   = time.Date(2026, 11, 26, 16, 0, 0, 123456789, time.UTC)
	deadline = sentAt.Add(time.Second)
)

// request is a request with every field set.
func request() *troupe.Envelope {
	return &troupe.Envelope{
		Kind:       troupe.KindRequest,
		Name:       "todo.list",
		ID:         reqID,
		ActivityID: actID,
		Sender:     troupe.Member{Service: "web", Instance: "web-1"},
		SentAt:     sentAt,
		Deadline:   deadline,
		Headers:    map[string]string{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
		Durable:    true,
		Payload:    json.RawMessage(`{"list":"groceries"}`),
	}
}

// reply is a reply to request with every field a reply may have.
func reply() *troupe.Envelope {
	return &troupe.Envelope{
		Kind:       troupe.KindReply,
		Name:       "todo.listed",
		ID:         repID,
		ActivityID: actID,
		ResponseTo: reqID,
		Sender:     troupe.Member{Service: "todo", Instance: "todo-0"},
		SentAt:     sentAt.Add(300 * time.Microsecond),
		Deadline:   deadline,
		More:       true,
		Payload:    json.RawMessage(`{"todos":[{"id":1,"title":"milk"}]}`),
	}
}

func TestEnvelopeRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		env  *troupe.Envelope
	}{
		{"request with every field", request()},
		{"reply with more", reply()},
		{"send without payload", &troupe.Envelope{
			Kind: troupe.KindSend, Name: "audit.log", ID: reqID, ActivityID: reqID,
			Sender: troupe.Member{Service: "a", Instance: "0"}, SentAt: sentAt,
		}},
		{"publish in a time zone", &troupe.Envelope{
			Kind: troupe.KindPublish, Name: "todo.created", ID: reqID, ActivityID: actID,
			Sender: troupe.Member{Service: "todo", Instance: "x"},
			SentAt: sentAt.In(time.FixedZone("CET", 3600)), Payload: json.RawMessage(`[1,"two",null]`),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := json.Marshal(tt.env)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			got, err := troupe.DecodeEnvelope(data)
			if err != nil {
				t.Fatalf("DecodeEnvelope(%s): %v", data, err)
			}
			if diff := cmp.Diff(tt.env, got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEnvelopeWireForm pins the wire form that docs/protocol.md documents.
func TestEnvelopeWireForm(t *testing.T) {
	tests := []struct {
		name string
		env  *troupe.Envelope
		want string
	}{
		{"request", request(), `{"v":1,"kind":"request","name":"todo.list","id":"01JDQ6Y8Z4A5B6C7D8E9F0GHJK",` +
			`"activity":"01JDQ6Y8Z0000000000000000A","sender":{"service":"web","instance":"web-1"},` +
			`"sentAt":"2026-11-26T16:00:00.123456789Z","deadline":"2026-11-26T16:00:01.123456789Z",` +
			`"headers":{"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},` +
			`"durable":true,"payload":{"list":"groceries"}}`},
		{"reply", reply(), `{"v":1,"kind":"reply","name":"todo.listed","id":"01JDQ6Y8Z9MNPQRSTVWXYZ0123",` +
			`"activity":"01JDQ6Y8Z0000000000000000A","responseTo":"01JDQ6Y8Z4A5B6C7D8E9F0GHJK",` +
			`"sender":{"service":"todo","instance":"todo-0"},"sentAt":"2026-11-26T16:00:00.123756789Z",` +
			`"deadline":"2026-11-26T16:00:01.123456789Z","more":true,"payload":{"todos":[{"id":1,"title":"milk"}]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.env.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("MarshalJSON =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestDecodeEnvelopeDefaults(t *testing.T) {
	data := `{"v":1,"kind":"send","name":"n","id":"` + reqID + `","sender":{"service":"s","instance":"i"},` +
		`"sentAt":"2026-11-26T16:00:00Z","future":"ignored"}`
	got, err := troupe.DecodeEnvelope([]byte("  \n" + data + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := &troupe.Envelope{
		Kind: troupe.KindSend, Name: "n", ID: reqID, ActivityID: reqID,
		Sender: troupe.Member{Service: "s", Instance: "i"},
		SentAt: time.Date(2026, 11, 26, 16, 0, 0, 0, time.UTC),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DecodeEnvelope (-want +got):\n%s", diff)
	}
}

// wire returns the request's wire form as a map with changes applied (a nil
// value deletes the key), for building bad envelopes.
func wire(t *testing.T, env *troupe.Envelope, changes map[string]any) []byte {
	t.Helper()
	data, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range changes {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	data, err = json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestDecodeEnvelopeBad(t *testing.T) {
	manyHeaders := map[string]any{}
	for i := range troupe.MaxHeaders + 1 {
		manyHeaders[fmt.Sprint("h", i)] = "v"
	}
	member := func(service, instance string) map[string]any {
		return map[string]any{"service": service, "instance": instance}
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", []byte(""), "envelope: not a JSON object"},
		{"array", []byte(`[{"v":1}]`), "envelope: not a JSON object"},
		{"string", []byte(`"hello"`), "envelope: not a JSON object"},
		{"truncated", []byte(`{"v":1,"kind":`), "envelope: unexpected end of JSON input"},
		{"trailing garbage", []byte(`{"v":1} x`), "envelope: invalid character 'x' after top-level value"},
		{"version as string", []byte(`{"v":"1"}`), "envelope: v: got a string, want a number"},
		{"no version", wire(t, request(), map[string]any{"v": nil}), "envelope: unsupported version 0 (want 1)"},
		{"version 2", wire(t, request(), map[string]any{"v": 2}), "envelope: unsupported version 2 (want 1)"},
		{"unknown kind", wire(t, request(), map[string]any{"kind": "ask"}), `envelope: unknown kind "ask"`},
		{"no kind", wire(t, request(), map[string]any{"kind": nil}), `envelope: unknown kind ""`},
		{"no name", wire(t, request(), map[string]any{"name": nil}), "envelope: name is empty"},
		{"name with a space", wire(t, request(), map[string]any{"name": "todo list"}),
			`envelope: name "todo list" has a character other than letters, digits, '.', '_' and '-'`},
		{"name starts with a digit", wire(t, request(), map[string]any{"name": "1todo"}), `envelope: name "1todo" must start with a letter`},
		{"name too long", wire(t, request(), map[string]any{"name": "a" + strings.Repeat("b", troupe.MaxNameLen)}),
			"envelope: name is 129 bytes long (at most 128)"},
		{"no id", wire(t, request(), map[string]any{"id": nil}), `envelope: id "" is not an ID`},
		{"lower-case id", wire(t, request(), map[string]any{"id": strings.ToLower(reqID)}),
			`envelope: id "01jdq6y8z4a5b6c7d8e9f0ghjk" is not an ID`},
		{"bad activity", wire(t, request(), map[string]any{"activity": "x"}), `envelope: activity "x" is not an ID`},
		{"reply without responseTo", wire(t, reply(), map[string]any{"responseTo": nil}), "envelope: reply without a valid responseTo"},
		{"reply with bad responseTo", wire(t, reply(), map[string]any{"responseTo": "nope"}), "envelope: reply without a valid responseTo"},
		{"request with responseTo", wire(t, request(), map[string]any{"responseTo": repID}), "envelope: responseTo is only allowed on replies"},
		{"request with more", wire(t, request(), map[string]any{"more": true}), "envelope: more is only allowed on replies"},
		{"no sender", wire(t, request(), map[string]any{"sender": nil}), "envelope: sender: service empty"},
		{"bad sender service", wire(t, request(), map[string]any{"sender": member("Web", "1")}),
			`envelope: sender: service "Web" may hold only lower-case letters, digits and '-'`},
		{"no sender instance", wire(t, request(), map[string]any{"sender": member("web", "")}), "envelope: sender: instance empty"},
		{"no sentAt", wire(t, request(), map[string]any{"sentAt": nil}), "envelope: sentAt is missing"},
		{"sentAt not RFC 3339", wire(t, request(), map[string]any{"sentAt": "yesterday"}),
			`envelope: parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006"`},
		{"sentAt before year 0 in UTC", wire(t, request(), map[string]any{"sentAt": "0000-01-01T00:00:00+01:00"}),
			"envelope: sentAt is outside the years 0 to 9999 (UTC)"},
		{"deadline before year 0 in UTC", wire(t, request(), map[string]any{"deadline": "0000-01-01T00:30:00+01:00"}),
			"envelope: deadline is outside the years 0 to 9999 (UTC)"},
		{"request without deadline", wire(t, request(), map[string]any{"deadline": nil}), "envelope: request without a deadline"},
		{"too many headers", wire(t, request(), map[string]any{"headers": manyHeaders}), "envelope: 65 headers (at most 64)"},
		{"empty header key", wire(t, request(), map[string]any{"headers": map[string]any{"": "v"}}), `envelope: header "" is empty or too long`},
		{"header too long", wire(t, request(), map[string]any{"headers": map[string]any{"k": strings.Repeat("v", troupe.MaxHeaderLen)}}),
			`envelope: header "k" is empty or too long`},
		{"header value not a string", wire(t, request(), map[string]any{"headers": map[string]any{"k": 1}}),
			"envelope: headers: got a number, want a string"},
		{"principal without id", wire(t, request(), map[string]any{"principal": map[string]any{"name": "ann"}}), "envelope: principal: id is empty"},
		{"principal not an object", wire(t, request(), map[string]any{"principal": "ann"}), "envelope: principal: got a string, want an object"},
		{"principal with a bad role", wire(t, request(), map[string]any{"principal": map[string]any{"id": "u1", "roles": []string{"a b"}}}),
			`envelope: principal: role name "a b" has a character other than letters, digits, '.', '_' and '-'`},
		{"principal id too long", wire(t, request(), map[string]any{"principal": map[string]any{"id": strings.Repeat("u", troupe.MaxPrincipalLen+1)}}),
			"envelope: principal: id is 257 bytes long (at most 256)"},
		{"principal name with a control character", wire(t, request(), map[string]any{"principal": map[string]any{"id": "u1", "name": "a\nb"}}),
			"envelope: principal: name holds a control character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := troupe.DecodeEnvelope(tt.data)
			if err == nil {
				t.Fatalf("DecodeEnvelope(%s) = %+v, want an error", tt.data, env)
			}
			if env != nil {
				t.Errorf("DecodeEnvelope returned an envelope with its error")
			}
			if !errors.Is(err, troupe.ErrBadRequest) {
				t.Errorf("error %v is not ErrBadRequest", err)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestValidatePayload(t *testing.T) {
	env := request()
	env.Payload = json.RawMessage(`{"a":`)
	err := env.Validate()
	if got, want := fmt.Sprint(err), "envelope: payload is not valid JSON"; got != want {
		t.Errorf("Validate() = %q, want %q", got, want)
	}
}

func TestEnvelopeErr(t *testing.T) {
	errorReply := func(payload string) *troupe.Envelope {
		e := reply()
		e.Name = troupe.ErrorName
		e.More = false
		e.Payload = json.RawMessage(payload)
		return e
	}
	tests := []struct {
		name string
		env  *troupe.Envelope
		want *troupe.Error
	}{
		{"not an Error reply", reply(), nil},
		{"Error reply", errorReply(`{"code":"not_found","msg":"no list \"x\""}`),
			&troupe.Error{Code: troupe.CodeNotFound, Msg: `no list "x"`}},
		{"Error reply with incident", errorReply(`{"code":"internal","msg":"handler crashed","incident":"` + actID + `"}`),
			&troupe.Error{Code: troupe.CodeInternal, Msg: "handler crashed", Incident: actID}},
		{"unknown code", errorReply(`{"code":"teapot","msg":"short and stout"}`),
			&troupe.Error{Code: troupe.CodeInternal, Msg: `malformed error reply: {"code":"teapot","msg":"short and stout"}`}},
		{"payload not an object", errorReply(`"oops"`),
			&troupe.Error{Code: troupe.CodeInternal, Msg: `malformed error reply: "oops"`}},
		{"no payload", errorReply(``), &troupe.Error{Code: troupe.CodeInternal, Msg: "malformed error reply: "}},
		{"long payload is truncated", errorReply(`{"code":1,"msg":"` + strings.Repeat("x", 300) + `"}`),
			&troupe.Error{Code: troupe.CodeInternal, Msg: "malformed error reply: " + `{"code":1,"msg":"` + strings.Repeat("x", 200-17) + "..."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.env.Err()
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Err() (-want +got):\n%s", diff)
			}
		})
	}
}

// equalJSON reports whether two JSON values are the same value, whatever
// their spacing and escaping.
func equalJSON(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var va, vb any
	da, db := json.NewDecoder(bytes.NewReader(a)), json.NewDecoder(bytes.NewReader(b))
	da.UseNumber()
	db.UseNumber()
	if da.Decode(&va) != nil || db.Decode(&vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// FuzzDecodeEnvelope checks that DecodeEnvelope never panics, and that
// whatever it accepts encodes again and decodes to the same envelope.
func FuzzDecodeEnvelope(f *testing.F) {
	for _, env := range []*troupe.Envelope{request(), reply()} {
		data, err := json.Marshal(env)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"v":1,"kind":"send","name":"n","id":"` + reqID + `","sender":{"service":"s","instance":"i"},"sentAt":"2026-11-26T16:00:00Z"}`))
	f.Add([]byte(`{"v":1}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := troupe.DecodeEnvelope(data)
		if err != nil {
			if env != nil || troupe.CodeOf(err) != troupe.CodeBadRequest {
				t.Fatalf("DecodeEnvelope error %v (code %q) with envelope %v", err, troupe.CodeOf(err), env)
			}
			return
		}
		again, err := json.Marshal(env)
		if err != nil {
			t.Fatalf("decoded %+v but cannot encode it: %v", env, err)
		}
		env2, err := troupe.DecodeEnvelope(again)
		if err != nil {
			t.Fatalf("re-encoded %s does not decode: %v", again, err)
		}
		// An empty header map is left out of the wire form, so it comes
		// back as nil.
		if len(env.Headers) == 0 {
			env.Headers = nil
		}
		if diff := cmp.Diff(env, env2, cmp.Comparer(equalJSON)); diff != "" {
			t.Fatalf("decode, encode, decode changed the envelope (-first +second):\n%s", diff)
		}
	})
}

// benchEnvelope is a typical request: a small payload and one header.
func benchEnvelope() *troupe.Envelope {
	e := request()
	e.Durable = false
	return e
}

func BenchmarkEnvelopeMarshal(b *testing.B) {
	env := benchEnvelope()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := env.MarshalJSON(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeEnvelope(b *testing.B) {
	data, err := json.Marshal(benchEnvelope())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := troupe.DecodeEnvelope(data); err != nil {
			b.Fatal(err)
		}
	}
}

// plainEnvelope has the wire form's shape without its checks: the baseline
// for the two benchmarks above is what encoding/json costs on its own.
type plainEnvelope struct {
	V          int               `json:"v"`
	Kind       string            `json:"kind"`
	Name       string            `json:"name"`
	ID         string            `json:"id"`
	ActivityID string            `json:"activity,omitempty"`
	ResponseTo string            `json:"responseTo,omitempty"`
	Sender     troupe.Member     `json:"sender"`
	SentAt     time.Time         `json:"sentAt"`
	Deadline   *time.Time        `json:"deadline,omitempty"`
	Headers    map[string]string `json:"headers,omitempty"`
	More       bool              `json:"more,omitempty"`
	Durable    bool              `json:"durable,omitempty"`
	Payload    json.RawMessage   `json:"payload,omitempty"`
}

func BenchmarkBaselineJSONMarshal(b *testing.B) {
	e := benchEnvelope()
	p := &plainEnvelope{V: 1, Kind: string(e.Kind), Name: e.Name, ID: e.ID, ActivityID: e.ActivityID,
		Sender: e.Sender, SentAt: e.SentAt, Deadline: &e.Deadline, Headers: e.Headers, Payload: e.Payload}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBaselineJSONUnmarshal(b *testing.B) {
	data, err := json.Marshal(benchEnvelope())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var p plainEnvelope
		if err := json.Unmarshal(data, &p); err != nil {
			b.Fatal(err)
		}
	}
}
