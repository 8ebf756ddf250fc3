package troupe

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/troupe-go/troupe/internal/strictjson"
)

// The envelope's wire codec. marshalSlow and decodeSlow (envelope.go) are the
// definition: encoding/json over wireEnvelope. AppendJSON and
// decodeCanonical are faster equivalents for the common case, the canonical
// form, and fall back to them for anything else: AppendJSON writes the very
// bytes marshalSlow writes, and DecodeEnvelope returns what decodeSlow
// returns (wire_test.go and FuzzCanonical check both).

// AppendJSON appends the wire form of env to buf (MarshalJSON without the
// allocation, for a transport that reuses its buffers).
func (env *Envelope) AppendJSON(buf []byte) ([]byte, error) {
	if !plainEnvelope(env) {
		data, err := env.marshalSlow()
		return append(buf, data...), err
	}
	buf = append(buf, `{"v":`...)
	buf = strconv.AppendInt(buf, WireVersion, 10)
	buf = appendField(buf, "kind", string(env.Kind))
	buf = appendField(buf, "name", env.Name)
	buf = appendField(buf, "id", env.ID)
	if env.ActivityID != "" {
		buf = appendField(buf, "activity", env.ActivityID)
	}
	if env.ResponseTo != "" {
		buf = appendField(buf, "responseTo", env.ResponseTo)
	}
	buf = append(buf, `,"sender":{"service":"`...)
	buf = append(buf, env.Sender.Service...)
	buf = append(buf, `","instance":"`...)
	buf = append(buf, env.Sender.Instance...)
	buf = append(buf, `"},"sentAt":`...)
	buf = appendUTC(append(buf, '"'), env.SentAt)
	buf = append(buf, '"')
	if !env.Deadline.IsZero() {
		buf = append(buf, `,"deadline":`...)
		buf = appendUTC(append(buf, '"'), env.Deadline)
		buf = append(buf, '"')
	}
	if len(env.Headers) > 0 {
		buf = append(buf, `,"headers":{`...)
		keys := make([]string, 0, len(env.Headers))
		for k := range env.Headers {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, '"')
			buf = append(buf, k...)
			buf = append(buf, `":"`...)
			buf = append(buf, env.Headers[k]...)
			buf = append(buf, '"')
		}
		buf = append(buf, '}')
	}
	if p := env.Principal; p != nil {
		buf = append(buf, `,"principal":{"id":"`...)
		buf = append(buf, p.ID...)
		buf = append(buf, '"')
		if p.Name != "" {
			buf = appendField(buf, "name", p.Name)
		}
		if len(p.Roles) > 0 {
			buf = append(buf, `,"roles":[`...)
			for i, r := range p.Roles {
				if i > 0 {
					buf = append(buf, ',')
				}
				buf = append(buf, '"')
				buf = append(buf, r...)
				buf = append(buf, '"')
			}
			buf = append(buf, ']')
		}
		buf = append(buf, '}')
	}
	if env.More {
		buf = append(buf, `,"more":true`...)
	}
	if env.Durable {
		buf = append(buf, `,"durable":true`...)
	}
	if len(env.Payload) > 0 {
		buf = append(buf, `,"payload":`...)
		buf = append(buf, env.Payload...)
	}
	return append(buf, '}'), nil
}

func appendField(buf []byte, key, value string) []byte {
	buf = append(buf, ',', '"')
	buf = append(buf, key...)
	buf = append(buf, `":"`...)
	buf = append(buf, value...)
	return append(buf, '"')
}

// plainEnvelope reports whether AppendJSON may write env itself: every
// string needs no escaping, the times are in years 0-9999, and the payload
// is valid, compact JSON that encoding/json would copy unchanged.
func plainEnvelope(env *Envelope) bool {
	if !plainString(string(env.Kind)) || !plainString(env.Name) || !plainString(env.ID) ||
		!plainString(env.ActivityID) || !plainString(env.ResponseTo) ||
		!plainString(env.Sender.Service) || !plainString(env.Sender.Instance) ||
		!wireYear(env.SentAt) || !env.Deadline.IsZero() && !wireYear(env.Deadline) {
		return false
	}
	for k, v := range env.Headers {
		if !plainString(k) || !plainString(v) {
			return false
		}
	}
	if p := env.Principal; p != nil {
		if !plainString(p.ID) || !plainString(p.Name) {
			return false
		}
		for _, r := range p.Roles {
			if !plainString(r) {
				return false
			}
		}
	}
	for _, c := range env.Payload {
		if !payloadByte[c] {
			return false
		}
	}
	return len(env.Payload) == 0 || strictjson.Valid(env.Payload)
}

// plainString reports whether s is printable ASCII that JSON writes as is.
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		if !plainByte[s[i]] {
			return false
		}
	}
	return true
}

// plainByte, strByte and payloadByte tell the bytes that, in turn,
// plainString accepts, canonical.str reads in a string (all printable
// ASCII but the backslash and the quote, which ends it), and a payload
// that AppendJSON copies as it is may hold (not whitespace, non-ASCII, '<',
// '>' or '&', which encoding/json would drop or escape).
var plainByte, strByte, payloadByte = func() (plain, str, payload [256]bool) {
	for c := ' '; c < 0x7f; c++ {
		plain[c] = !strings.ContainsRune(`"\<>&`, c)
		str[c] = c != '\\' && c != '"'
		payload[c] = c != ' ' && !strings.ContainsRune("<>&", c)
	}
	return
}()

// decodeCanonical reads the form AppendJSON writes: its keys in its
// order, strings without escapes. It returns nil for anything else
// (including every invalid envelope), leaving those to decodeSlow.
//
// The envelope it returns is made of data (DecodeEnvelopeOwned): its
// strings are parts of one string that shares data's memory, and its
// Payload is the slice of data after them.
func decodeCanonical(data []byte) *Envelope {
	d := canonical{data: unsafe.String(unsafe.SliceData(data), len(data))}
	env := &Envelope{}
	if !d.lit(`{"v":1`) {
		return nil
	}
	var kind string
	if !d.field("kind", &kind) || !d.field("name", &env.Name) || !d.field("id", &env.ID) {
		return nil
	}
	switch Kind(kind) {
	case KindRequest, KindSend, KindPublish, KindReply:
		env.Kind = Kind(kind)
	default:
		return nil
	}
	if d.peekKey("activity") && !d.field("activity", &env.ActivityID) {
		return nil
	}
	if d.peekKey("responseTo") && !d.field("responseTo", &env.ResponseTo) {
		return nil
	}
	if !d.lit(`,"sender":{"service":`) || !d.str(&env.Sender.Service) ||
		!d.lit(`,"instance":`) || !d.str(&env.Sender.Instance) || !d.lit(`}`) {
		return nil
	}
	if !d.lit(`,"sentAt":`) || !d.time(&env.SentAt) {
		return nil
	}
	if d.peekKey("deadline") && (!d.lit(`,"deadline":`) || !d.time(&env.Deadline)) {
		return nil
	}
	if d.peekKey("headers") {
		if !d.lit(`,"headers":{`) {
			return nil
		}
		env.Headers = map[string]string{}
		for i := 0; !d.lit("}"); i++ {
			var k, v string
			if i > 0 && !d.lit(",") || !d.str(&k) || !d.lit(":") || !d.str(&v) {
				return nil
			}
			if _, dup := env.Headers[k]; dup {
				return nil
			}
			env.Headers[k] = v
		}
	}
	if d.peekKey("principal") {
		p := &Principal{}
		if !d.lit(`,"principal":{"id":`) || !d.str(&p.ID) {
			return nil
		}
		if d.peekKey("name") && !d.field("name", &p.Name) {
			return nil
		}
		if d.peekKey("roles") {
			if !d.lit(`,"roles":[`) {
				return nil
			}
			for i := 0; !d.lit("]"); i++ {
				var r string
				if i > 0 && !d.lit(",") || !d.str(&r) {
					return nil
				}
				p.Roles = append(p.Roles, r)
			}
			if len(p.Roles) == 0 {
				return nil // encoding/json would leave an empty list out
			}
		}
		if !d.lit("}") {
			return nil
		}
		env.Principal = p
	}
	if d.peekKey("more") {
		if !d.lit(`,"more":true`) {
			return nil
		}
		env.More = true
	}
	if d.peekKey("durable") {
		if !d.lit(`,"durable":true`) {
			return nil
		}
		env.Durable = true
	}
	if d.peekKey("payload") {
		if !d.lit(`,"payload":`) || len(d.data) < 2 || d.data[len(d.data)-1] != '}' {
			return nil
		}
		p := d.data[:len(d.data)-1]
		// Validate below checks that p is one JSON value.
		if len(p) == 0 || p[0] <= ' ' || p[len(p)-1] <= ' ' || p == "null" {
			return nil
		}
		end := len(data) - 1
		env.Payload = json.RawMessage(data[end-len(p) : end])
		d.data = d.data[len(d.data)-1:]
	}
	if !d.lit("}") || len(d.data) != 0 {
		return nil
	}
	if env.Validate() != nil {
		return nil
	}
	if env.ActivityID == "" {
		env.ActivityID = env.ID
	}
	return env
}

// canonical is a cursor over the canonical wire form.
type canonical struct{ data string }

func (d *canonical) lit(s string) bool {
	if len(d.data) < len(s) || d.data[:len(s)] != s {
		return false
	}
	d.data = d.data[len(s):]
	return true
}

// peekKey reports whether the next member is key.
func (d *canonical) peekKey(key string) bool {
	n := len(key) + 3 // ,"key"
	return len(d.data) > n && d.data[0] == ',' && d.data[1] == '"' &&
		d.data[2:2+len(key)] == key && d.data[2+len(key)] == '"'
}

func (d *canonical) field(key string, v *string) bool {
	return d.lit(`,"`) && d.lit(key) && d.lit(`":`) && d.str(v)
}

// str reads a string of printable ASCII without escapes.
func (d *canonical) str(v *string) bool {
	if len(d.data) == 0 || d.data[0] != '"' {
		return false
	}
	for i := 1; i < len(d.data); i++ {
		if c := d.data[i]; !strByte[c] {
			if c != '"' {
				return false
			}
			*v = d.data[1:i]
			d.data = d.data[i+1:]
			return true
		}
	}
	return false
}

func (d *canonical) time(t *time.Time) bool {
	var s string
	if !d.str(&s) {
		return false
	}
	p, ok := parseUTC(s)
	if ok {
		*t = p
	}
	return ok
}

// appendUTC appends t in UTC as t.UTC().AppendFormat(b, time.RFC3339Nano)
// does, for a year in 0-9999 (wireYear): the fraction of a second without
// its trailing zeros, none for a whole second.
func appendUTC(b []byte, t time.Time) []byte {
	secs := t.Unix()
	days := secs / 86400
	if secs%86400 < 0 {
		days--
	}
	year, month, day := civil(days)
	clock := int(secs - days*86400)
	hour, minute, sec := clock/3600, clock/60%60, clock%60
	b = append(b, byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-')
	b = append2(b, month, '-')
	b = append2(b, day, 'T')
	b = append2(b, hour, ':')
	b = append2(b, minute, ':')
	b = append2(b, sec, 0)
	if ns := uint32(t.Nanosecond()); ns != 0 {
		n := 9 // digits, less the trailing zeros
		for ns%10 == 0 {
			ns /= 10
			n--
		}
		var frac [10]byte
		frac[0] = '.'
		for i := n; i >= 1; i-- {
			frac[i] = byte('0' + ns%10)
			ns /= 10
		}
		b = append(b, frac[:n+1]...)
	}
	return append(b, 'Z')
}

// append2 appends v's two digits, then sep unless it is 0.
func append2(b []byte, v int, sep byte) []byte {
	b = append(b, byte('0'+v/10), byte('0'+v%10))
	if sep != 0 {
		b = append(b, sep)
	}
	return b
}

// parseUTC reads exactly the form appendUTC writes, and reports whether s
// had it; for those strings it returns what time.Parse(time.RFC3339Nano, s)
// returns (a date and a clock in range, as time.Parse checks them).
func parseUTC(s string) (time.Time, bool) {
	// 2006-01-02T15:04:05[.999999999]Z
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[len(s)-1] != 'Z' {
		return time.Time{}, false
	}
	c1, c2, month, day := two(s, 0), two(s, 2), two(s, 5), two(s, 8)
	hour, minute, sec := two(s, 11), two(s, 14), two(s, 17)
	year := c1*100 + c2
	if c1 < 0 || c2 < 0 || month < 1 || month > 12 || day < 1 || day > daysIn(time.Month(month), year) ||
		hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	ns := 0
	if frac := s[19 : len(s)-1]; frac != "" {
		// A dot, 1 to 9 digits, the last not 0 (appendUTC trims them).
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 || frac[len(frac)-1] == '0' {
			return time.Time{}, false
		}
		for i := 1; i < 10; i++ {
			d := byte('0') // the trailing zeros appendUTC trimmed
			if i < len(frac) {
				d = frac[i]
			}
			if d-'0' > 9 {
				return time.Time{}, false
			}
			ns = ns*10 + int(d-'0')
		}
	}
	secs := daysSinceEpoch(year, month, day)*86400 + int64(hour*3600+minute*60+sec)
	return time.Unix(secs, int64(ns)).UTC(), true
}

// civil returns the date in the proleptic Gregorian calendar of the day
// that is days after 1970-01-01 (before it, if negative), as time.Time's
// Date does in UTC, without its general case. It is Howard Hinnant's
// civil_from_days (https://howardhinnant.github.io/date_algorithms.html):
// the calendar counted in eras of 400 years from a March 1.
func civil(days int64) (year, month, day int) {
	z := days + 719468 // days since 0000-03-01
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := uint32(z - era*146097)                          // day of the era, [0, 146096]
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365 // year of the era, [0, 399]
	doy := doe - (365*yoe + yoe/4 - yoe/100)               // day of the year from March 1, [0, 365]
	mp := (5*doy + 2) / 153                                // month from March, [0, 11]
	day = int(doy - (153*mp+2)/5 + 1)
	month = int(mp) + 3
	if month > 12 {
		month -= 12
	}
	year = int(yoe) + int(era)*400
	if month <= 2 {
		year++
	}
	return year, month, day
}

// daysSinceEpoch is civil's inverse (Hinnant's days_from_civil), for a
// valid date.
func daysSinceEpoch(year, month, day int) int64 {
	if month <= 2 {
		year--
	}
	era := year / 400
	if year < 0 && year%400 != 0 {
		era--
	}
	yoe := year - era*400
	mp := month - 3
	if mp < 0 {
		mp += 12
	}
	doy := (153*mp+2)/5 + day - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// two returns the number the two decimal digits at s[i:] spell, or -1 if
// they are not both digits.
func two(s string, i int) int {
	a, b := s[i]-'0', s[i+1]-'0' // a byte below '0' wraps past 9
	if a > 9 || b > 9 {
		return -1
	}
	return int(a)*10 + int(b)
}

// daysIn returns the number of days in month m of year.
func daysIn(m time.Month, year int) int {
	if m == time.February {
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	}
	return 30 + int((m+m/8)%2)
}
