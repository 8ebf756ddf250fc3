package natsbus

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/troupe-go/troupe"
)

func codecEnvelopes() map[string]*troupe.Envelope {
	at := time.Date(2026, 11, 26, 16, 0, 0, 123456789, time.UTC)
	base := func() *troupe.Envelope {
		return &troupe.Envelope{Kind: troupe.KindSend, Name: "order.place", ID: "01JDZ8Q3V6W0000000000000AB",
			Sender: troupe.Member{Service: "web", Instance: "w1"}, SentAt: at, Payload: json.RawMessage(`{"a":1}`)}
	}
	m := map[string]*troupe.Envelope{}
	m["minimal"] = base()
	e := base()
	e.Kind, e.Deadline, e.ActivityID = troupe.KindRequest, at.Add(time.Second), "01JDZ8Q3V6W0000000000000AC"
	e.Headers = map[string]string{"b": "2", "a": "1", "trace": "x-y"}
	m["request with headers"] = e
	e = base()
	e.Kind, e.ResponseTo, e.More, e.Name = troupe.KindReply, "01JDZ8Q3V6W0000000000000AD", true, "Error"
	m["reply"] = e
	e = base()
	e.Durable, e.Payload = true, nil
	m["durable without payload"] = e
	e = base()
	e.Payload = json.RawMessage(`{ "text": "a <b> & c" }`)
	m["payload needing escapes"] = e
	e = base()
	e.Headers = map[string]string{"note": "caf\u00e9 \"quoted\""}
	m["header needing escapes"] = e
	e = base()
	e.SentAt = time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	m["local time"] = e
	e = base()
	e.Headers = map[string]string{}
	m["empty headers"] = e
	return m
}

// TestEncodeEnvelope checks that encodeEnvelope writes what MarshalJSON
// writes.
func TestEncodeEnvelope(t *testing.T) {
	for name, env := range codecEnvelopes() {
		t.Run(name, func(t *testing.T) {
			want, err := env.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			got, err := encodeEnvelope(nil, env)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(got), string(want)); diff != "" {
				t.Errorf("encodeEnvelope (-got +want):\n%s", diff)
			}
		})
	}
}

// TestDecodeEnvelope checks that decodeEnvelope returns what DecodeEnvelope
// returns, and that the canonical path is the one taken for what
// encodeEnvelope writes.
func TestDecodeEnvelope(t *testing.T) {
	for name, env := range codecEnvelopes() {
		t.Run(name, func(t *testing.T) {
			data, _ := encodeEnvelope(nil, env)
			checkDecode(t, data)
			if plainEnvelope(env) && decodeCanonical(data) == nil {
				t.Errorf("decodeCanonical did not read the canonical form %s", data)
			}
		})
	}
}

func checkDecode(t *testing.T, data []byte) {
	t.Helper()
	got, gotErr := decodeEnvelope(data)
	want, wantErr := troupe.DecodeEnvelope(data)
	if (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("decodeEnvelope(%q): error %v, DecodeEnvelope: error %v", data, gotErr, wantErr)
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Fatalf("decodeEnvelope(%q) differs from DecodeEnvelope (-got +want):\n%s", data, diff)
	}
}

// FuzzDecode feeds arbitrary bytes, as a client could publish them, to the
// decoder: it must never panic and must agree with DecodeEnvelope; what
// decodes must encode back as MarshalJSON would.
func FuzzDecode(f *testing.F) {
	for _, env := range codecEnvelopes() {
		data, _ := env.MarshalJSON()
		f.Add(data)
	}
	f.Add([]byte(`{"v":1}`))
	f.Add([]byte(`{"v":1,"kind":"send","name":"a","id":"01JDZ8Q3V6W0000000000000AB","sender":{"service":"a","instance":"b"},"sentAt":"2026-01-01T00:00:00Z","payload":null}`))
	f.Add([]byte(`{"v":1,"kind":"send","name":"a","id":"01JDZ8Q3V6W0000000000000AB","sender":{"service":"a","instance":"b"},"sentAt":"2026-01-01T00:00:00Z","payload":1,"x":2}`))
	f.Add([]byte(` {"V":1} `))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecode(t, data)
		env, err := decodeEnvelope(data)
		if err != nil {
			return
		}
		got, err := encodeEnvelope(nil, env)
		if err != nil {
			t.Fatalf("encodeEnvelope of a decoded envelope: %v", err)
		}
		want, err := env.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("encodeEnvelope = %s, MarshalJSON = %s", got, want)
		}
	})
}

// BenchmarkCodec measures the encoder and decoder on a request envelope,
// beside MarshalJSON and DecodeEnvelope.
func BenchmarkCodec(b *testing.B) {
	env := codecEnvelopes()["request with headers"]
	env.Headers = nil
	env.Payload = json.RawMessage(`"0123456789abcd"`)
	data, _ := env.MarshalJSON()
	b.Run("encode", func(b *testing.B) {
		buf := make([]byte, 0, 1024)
		for b.Loop() {
			buf, _ = encodeEnvelope(buf[:0], env)
		}
	})
	b.Run("MarshalJSON", func(b *testing.B) {
		for b.Loop() {
			_, _ = env.MarshalJSON()
		}
	})
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			_, _ = decodeEnvelope(data)
		}
	})
	b.Run("DecodeEnvelope", func(b *testing.B) {
		for b.Loop() {
			_, _ = troupe.DecodeEnvelope(data)
		}
	})
	b.Run("Validate", func(b *testing.B) {
		for b.Loop() {
			_ = env.Validate()
		}
	})
}
