package troupe

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func codecEnvelopes() map[string]*Envelope {
	at := time.Date(2026, 11, 26, 16, 0, 0, 123456789, time.UTC)
	base := func() *Envelope {
		return &Envelope{Kind: KindSend, Name: "order.place", ID: "01JDZ8Q3V6W0000000000000AB",
			Sender: Member{Service: "web", Instance: "w1"}, SentAt: at, Payload: json.RawMessage(`{"a":1}`)}
	}
	m := map[string]*Envelope{}
	m["minimal"] = base()
	e := base()
	e.Kind, e.Deadline, e.ActivityID = KindRequest, at.Add(time.Second), "01JDZ8Q3V6W0000000000000AC"
	e.Headers = map[string]string{"b": "2", "a": "1", "trace": "x-y"}
	m["request with headers"] = e
	e = base()
	e.Kind, e.ResponseTo, e.More, e.Name = KindReply, "01JDZ8Q3V6W0000000000000AD", true, "Error"
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
	e = base()
	e.Kind, e.Deadline = KindRequest, at.Add(time.Second)
	e.Headers = map[string]string{"a": "1"}
	e.Principal = &Principal{ID: "u-42", Name: "ann", Roles: []string{"user", "admin"}}
	m["principal"] = e
	e = base()
	e.Principal = &Principal{ID: "u-43"}
	m["principal with an id only"] = e
	e = base()
	e.Principal = &Principal{ID: "u-44", Name: "Zoë \"Z\"", Roles: []string{}}
	m["principal needing escapes"] = e
	return m
}

// TestAppendJSON checks that AppendJSON writes what marshalSlow writes.
func TestAppendJSON(t *testing.T) {
	envs := codecEnvelopes()
	// Not valid JSON: the fast path must not copy it through.
	bad := envs["minimal"]
	badCopy := *bad
	badCopy.Payload = json.RawMessage(`{"a":1`)
	envs["invalid payload"] = &badCopy
	for name, env := range envs {
		t.Run(name, func(t *testing.T) {
			want, wantErr := env.marshalSlow()
			got, gotErr := env.AppendJSON(nil)
			if (gotErr == nil) != (wantErr == nil) {
				t.Fatalf("AppendJSON error %v, marshalSlow error %v", gotErr, wantErr)
			}
			if diff := cmp.Diff(string(got), string(want)); wantErr == nil && diff != "" {
				t.Errorf("AppendJSON (-got +want):\n%s", diff)
			}
		})
	}
}

// TestDecodeCanonical checks that DecodeEnvelope returns what decodeSlow
// returns, and that the canonical path is the one taken for what AppendJSON
// writes.
func TestDecodeCanonical(t *testing.T) {
	for name, env := range codecEnvelopes() {
		t.Run(name, func(t *testing.T) {
			data, _ := env.AppendJSON(nil)
			checkDecode(t, data)
			if plainEnvelope(env) && decodeCanonical(data) == nil {
				t.Errorf("decodeCanonical did not read the canonical form %s", data)
			}
		})
	}
}

// checkDecode checks that DecodeEnvelope and DecodeEnvelopeOwned return
// what decodeSlow returns for data; that DecodeEnvelope's envelope shares
// nothing with its argument (overwritten after the call); and that
// DecodeEnvelopeOwned's Payload shares nothing with its strings (changed
// after the call).
func checkDecode(t *testing.T, data []byte) {
	t.Helper()
	want, wantErr := decodeSlow(bytes.Clone(data))
	arg := bytes.Clone(data)
	got, gotErr := DecodeEnvelope(arg)
	for i := range arg {
		arg[i] = 'x'
	}
	if (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("DecodeEnvelope(%q): error %v, decodeSlow: error %v", data, gotErr, wantErr)
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Fatalf("DecodeEnvelope(%q) differs from decodeSlow, or shares its argument's memory (-got +want):\n%s", data, diff)
	}
	owned, ownedErr := DecodeEnvelopeOwned(bytes.Clone(data))
	if (ownedErr == nil) != (wantErr == nil) {
		t.Fatalf("DecodeEnvelopeOwned(%q): error %v, decodeSlow: error %v", data, ownedErr, wantErr)
	}
	if diff := cmp.Diff(owned, want); diff != "" {
		t.Fatalf("DecodeEnvelopeOwned(%q) differs from decodeSlow (-got +want):\n%s", data, diff)
	}
	if owned == nil {
		return
	}
	for i := range owned.Payload {
		owned.Payload[i] = 'x'
	}
	owned.Payload = want.Payload
	if diff := cmp.Diff(owned, want); diff != "" {
		t.Fatalf("DecodeEnvelopeOwned(%q): a change to the payload changed the envelope (-got +want):\n%s", data, diff)
	}
}

// FuzzCanonical feeds arbitrary bytes, as a client could send them, to the
// decoder: it must never panic, the fast path must agree with decodeSlow, and
// what decodes must encode back with AppendJSON as marshalSlow would.
func FuzzCanonical(f *testing.F) {
	for _, env := range codecEnvelopes() {
		data, _ := env.MarshalJSON()
		f.Add(data)
	}
	f.Add([]byte(`{"v":1}`))
	f.Add([]byte(`{"v":1,"kind":"send","name":"a","id":"01JDZ8Q3V6W0000000000000AB","sender":{"service":"a","instance":"b"},"sentAt":"2026-01-01T00:00:00Z","payload":null}`))
	f.Add([]byte(`{"v":1,"kind":"send","name":"a","id":"01JDZ8Q3V6W0000000000000AB","sender":{"service":"a","instance":"b"},"sentAt":"2026-01-01T00:00:00Z","payload":1,"x":2}`))
	f.Add([]byte(`{"v":1,"kind":"send","name":"a","id":"01JDZ8Q3V6W0000000000000AB","sender":{"service":"a","instance":"b"},"sentAt":"2026-01-01T00:00:00Z","principal":{"id":"u","name":"","roles":[]}}`))
	f.Add([]byte(`{"v":1,"kind":"send","name":"a","id":"01JDZ8Q3V6W0000000000000AB","sender":{"service":"a","instance":"b"},"sentAt":"2026-01-01T00:00:00Z","principal":{"id":"u","roles":["a","b"],"name":"x"}}`))
	f.Add([]byte(` {"V":1} `))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecode(t, data)
		env, err := DecodeEnvelope(data)
		if err != nil {
			return
		}
		got, err := env.AppendJSON(nil)
		if err != nil {
			t.Fatalf("AppendJSON of a decoded envelope: %v", err)
		}
		want, err := env.marshalSlow()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("AppendJSON = %s, marshalSlow = %s", got, want)
		}
	})
}

// BenchmarkCodec measures the fast encoder and decoder on a request
// envelope, beside the encoding/json definitions.
func BenchmarkCodec(b *testing.B) {
	env := codecEnvelopes()["request with headers"]
	env.Headers = nil
	env.Payload = json.RawMessage(`"0123456789abcd"`)
	data, _ := env.MarshalJSON()
	b.Run("encode", func(b *testing.B) {
		buf := make([]byte, 0, 1024)
		for b.Loop() {
			buf, _ = env.AppendJSON(buf[:0])
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			_, _ = env.marshalSlow()
		}
	})
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			_, _ = DecodeEnvelope(data)
		}
	})
	b.Run("decoding-json", func(b *testing.B) {
		for b.Loop() {
			_, _ = decodeSlow(data)
		}
	})
	b.Run("Validate", func(b *testing.B) {
		for b.Loop() {
			_ = env.Validate()
		}
	})
}

// TestUTCTimeCodec: appendUTC writes what AppendFormat(time.RFC3339Nano)
// writes for UTC, and parseUTC accepts exactly those strings, returning what
// time.Parse returns.
func TestUTCTimeCodec(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	times := []time.Time{
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2024, 2, 29, 12, 0, 0, 100, time.UTC),
		time.Date(2026, 12, 1, 14, 0, 0, 120000000, time.FixedZone("x", -7200)),
	}
	const year0, year10000 = -62167219200, 253402300800 // in Unix seconds
	for range 20000 {
		times = append(times, time.Unix(year0+r.Int64N(year10000-year0), r.Int64N(1e9)).Round(time.Duration(1)<<r.IntN(31)))
	}
	for d := -3; d <= 3; d++ { // around the epoch and the eras' first days
		for _, at := range []time.Time{time.Unix(0, 0), time.Date(2000, 3, 1, 0, 0, 0, 0, time.UTC),
			time.Date(1600, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(0, 3, 1, 0, 0, 0, 0, time.UTC)} {
			times = append(times, at.AddDate(0, 0, d), at.AddDate(0, 0, d).Add(-time.Nanosecond))
		}
	}
	for _, at := range times {
		want := at.UTC().AppendFormat(nil, time.RFC3339Nano)
		if got := appendUTC(nil, at); string(got) != string(want) {
			t.Fatalf("appendUTC(%v) = %s, want %s", at, got, want)
		}
		p, ok := parseUTC(string(want))
		if !ok || p != at.UTC() {
			t.Fatalf("parseUTC(%s) = %v, %v; want %v", want, p, ok, at.UTC())
		}
	}
	for _, s := range []string{
		"2026-01-01T00:00:00Z", "2024-02-29T00:00:00Z", "2000-02-29T00:00:00Z", "2026-12-31T23:59:59.5Z",
		"2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-13-01T00:00:00Z",
		"2026-00-01T00:00:00Z", "2026-01-00T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T00:60:00Z",
		"2026-01-01T00:00:60Z", "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00.10Z", "2026-01-01T00:00:00.0Z",
		"2026-01-01T00:00:00.1234567891Z", "2026-01-01T00:00:00+00:00", "2026-01-01t00:00:00Z",
		"2026-01-01T00:00:00z", "+026-01-01T00:00:00Z", "2026-1-01T00:00:00Z", "2026-01-01T00:00:0xZ",
		"2026-01-01T00:00:00.1x3Z", "2026-01-01 00:00:00Z", "",
	} {
		// The old test: time.Parse, then the same string back.
		p, err := time.Parse(time.RFC3339Nano, s)
		want := err == nil && string(p.AppendFormat(nil, time.RFC3339Nano)) == s
		got, ok := parseUTC(s)
		if ok != want || ok && got != p {
			t.Errorf("parseUTC(%q) = %v, %v; time.Parse: %v, %v, canonical %v", s, got, ok, p, err, want)
		}
	}
}

// TestWireYear: the bounds wireYear compares against are the years 0 to
// 9999 in UTC, whatever the time's location and monotonic reading.
func TestWireYear(t *testing.T) {
	east := time.FixedZone("east", 14*3600)
	west := time.FixedZone("west", -12*3600)
	first := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)
	past := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	r := rand.New(rand.NewPCG(3, 4))
	times := []time.Time{first, first.Add(-1), past, past.Add(-1), time.Now(), {},
		first.In(east), first.Add(-1).In(west), past.In(west), past.Add(-1).In(east)}
	for range 2000 {
		// Around both edges and anywhere between years -50 and 10050.
		lo, hi := first.Unix()-50*365*86400, past.Unix()+50*365*86400
		times = append(times, time.Unix(lo+r.Int64N(hi-lo), r.Int64N(1e9)))
		times = append(times, first.Add(time.Duration(r.Int64N(2e12)-1e12)), past.Add(time.Duration(r.Int64N(2e12)-1e12)).In(east))
	}
	for _, tm := range times {
		y := tm.UTC().Year()
		if got, want := wireYear(tm), y >= 0 && y <= 9999; got != want {
			t.Errorf("wireYear(%v) = %v, want %v", tm, got, want)
		}
	}
}
