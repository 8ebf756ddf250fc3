package manifest

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/internal/schema"
)

// Change is one difference between two versions of an application's
// manifest that its clients can notice: on the bus (names, durability,
// replies, payload schemas) or at the gateway (routes). Breaking says whether
// a client or a service written against the old version can fail against
// the new one (docs/protocol.md, "Compatibility"). File, Line and Column are
// where the change is, in the new manifest (in the old one for what was
// removed), when the App came from Parse or Load.
type Change struct {
	Breaking bool
	Msg      string
	File     string
	Line     int
	Column   int
}

// String returns "file:line:column: breaking: msg" or "...: compatible: msg".
func (c Change) String() string {
	kind := "compatible: "
	if c.Breaking {
		kind = "breaking: "
	}
	return position(c.File, c.Line, c.Column) + kind + c.Msg
}

// Breaking returns the changes from old to new that break a client or a
// service of the old version, in the order of Compare: a removed message, a
// message no service receives any more, a service that may no longer send a
// name, a changed durable flag, a removed or newly restricted reply name, a
// removed field, a narrowed type or bound, a new required field, payload
// validation turned on, a removed route, a renamed app (every NATS subject
// changes). It passes additive changes (see Compare). `troupe lint -against
// OLD.yaml` prints them.
func Breaking(old, new *troupe.App) []Change {
	var out []Change
	for _, c := range Compare(old, new) {
		if c.Breaking {
			out = append(out, c)
		}
	}
	return out
}

// Compare returns every change from old to new that a client can notice,
// breaking or not (new messages, receivers and routes, new optional fields,
// widened types and bounds, new reply names, validation turned off): the
// application's own changes first, then per message name in the order the
// new manifest names them, then removed names, then routes.
func Compare(old, new *troupe.App) []Change {
	if old == nil || new == nil {
		return nil
	}
	c := &comparer{old: old, new: new, oldPos: lookup(old), newPos: lookup(new)}
	if old.Name != new.Name {
		c.add(true, c.newPos, nil, "the app is renamed from %q to %q: every NATS subject, stream and user changes", old.Name, new.Name)
	}
	oldNames, newNames := names(old), names(new)
	for _, n := range newNames {
		if !slices.Contains(oldNames, n) {
			c.add(false, c.newPos, c.newPos.messageAt(n, new), "message %q is new", n)
			continue
		}
		c.message(n)
	}
	for _, n := range oldNames {
		if !slices.Contains(newNames, n) {
			c.add(true, c.oldPos, c.oldPos.messageAt(n, old), "message %q is removed: no service sends or receives it", n)
		}
	}
	c.replies()
	c.routes()
	return c.out
}

type comparer struct {
	old, new       *troupe.App
	oldPos, newPos *positions
	out            []Change
}

// at is a position, or nil.
type at *pos

func (c *comparer) add(breaking bool, ps *positions, p at, format string, args ...any) {
	ch := Change{Breaking: breaking, Msg: fmt.Sprintf(format, args...)}
	if ps != nil {
		ch.File = ps.file
		if p != nil {
			ch.Line, ch.Column = p.line, p.col
		}
	}
	c.out = append(c.out, ch)
}

// names returns every name some service sends or receives, or a route
// sends, in the order the manifest names them.
func names(app *troupe.App) []string {
	var out []string
	for _, s := range app.Services {
		for _, n := range slices.Concat(s.Sends, s.Receives) {
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	return out
}

// messageAt is where the manifest describes or first names message n.
func (ps *positions) messageAt(n string, app *troupe.App) at {
	if ps == nil {
		return nil
	}
	if p, ok := ps.messages[n]; ok {
		return &p
	}
	for _, s := range app.Services {
		if p, ok := ps.receives[svcName{s.Name, n}]; ok {
			return &p
		}
		if p, ok := ps.sends[svcName{s.Name, n}]; ok {
			return &p
		}
	}
	return nil
}

func (ps *positions) sendAt(svc, n string) at {
	if ps == nil {
		return nil
	}
	if p, ok := ps.sends[svcName{svc, n}]; ok {
		return &p
	}
	return nil
}

func (ps *positions) receiveAt(svc, n string) at {
	if ps == nil {
		return nil
	}
	if p, ok := ps.receives[svcName{svc, n}]; ok {
		return &p
	}
	return nil
}

// message compares a name that both versions use.
func (c *comparer) message(n string) {
	old, new := c.old, c.new
	where := c.newPos.messageAt(n, new)
	oldRecv, newRecv := old.Receivers(n), new.Receivers(n)
	switch {
	case len(oldRecv) > 0 && len(newRecv) == 0:
		c.add(true, c.newPos, where, "message %q is received by no service any more (it was by %s): requests and sends of it fail", n, strings.Join(oldRecv, ", "))
	default:
		for _, s := range oldRecv {
			if !slices.Contains(newRecv, s) {
				c.add(false, c.newPos, where, "service %q no longer receives %q (%s still do)", s, n, strings.Join(newRecv, ", "))
			}
		}
		for _, s := range newRecv {
			if !slices.Contains(oldRecv, s) {
				c.add(false, c.newPos, c.newPos.receiveAt(s, n), "service %q receives %q too", s, n)
			}
		}
	}
	for _, s := range old.Services {
		if !slices.Contains(s.Sends, n) || s.Name == troupe.GatewayService {
			continue // the gateway's sends follow its routes, compared there
		}
		if !new.MaySend(s.Name, n) {
			c.add(true, c.oldPos, c.oldPos.sendAt(s.Name, n), "service %q may no longer send %q: its instances that still run the old code are refused", s.Name, n)
		}
	}
	for _, s := range new.Services {
		if slices.Contains(s.Sends, n) && !old.MaySend(s.Name, n) {
			c.add(false, c.newPos, c.newPos.sendAt(s.Name, n), "service %q may send %q too", s.Name, n)
		}
	}
	if od, nd := old.IsDurable(n), new.IsDurable(n); od != nd {
		what := map[bool]string{true: "durable (at least once)", false: "not durable (at most once)"}
		c.add(true, c.newPos, where, "message %q is now %s; it was %s: its subject, its delivery and its receivers' duty to deduplicate change", n, what[nd], what[od])
	}
	c.payload(n, where)
}

// replies compares the declared replies and the payloads of reply names.
func (c *comparer) replies() {
	for _, nm := range c.new.Messages {
		n := nm.Name
		om := c.old.Message(n)
		where := c.newPos.messageAt(n, c.new)
		if om != nil && om.Description != nm.Description {
			c.add(false, c.newPos, where, "message %q: the description changed", n)
		}
		if om != nil {
			switch {
			case len(om.Replies) == 0 && len(nm.Replies) > 0:
				c.add(true, c.newPos, where, "message %q now declares its replies %v: a replier that sends another name is refused", n, nm.Replies)
			case len(om.Replies) > 0 && len(nm.Replies) == 0:
				c.add(false, c.newPos, where, "message %q no longer declares its replies (any name)", n)
			default:
				for _, r := range om.Replies {
					if !slices.Contains(nm.Replies, r) {
						c.add(true, c.newPos, where, "message %q: reply %q is removed", n, r)
					}
				}
				for _, r := range nm.Replies {
					if !slices.Contains(om.Replies, r) {
						c.add(false, c.newPos, where, "message %q: reply %q is new", n, r)
					}
				}
			}
		}
		// A reply name (described, not routed): compare its payload here.
		if !slices.Contains(names(c.new), n) && om != nil && !slices.Contains(names(c.old), n) {
			c.payload(n, where)
		}
	}
	for _, om := range c.old.Messages {
		if c.new.Message(om.Name) == nil && !slices.Contains(names(c.old), om.Name) && replyOfAny(c.old, om.Name) {
			c.add(false, c.oldPos, c.oldPos.messageAt(om.Name, c.old), "reply %q is no longer described (any payload)", om.Name)
		}
	}
}

func replyOfAny(app *troupe.App, name string) bool {
	for _, m := range app.Messages {
		if slices.Contains(m.Replies, name) {
			return true
		}
	}
	return false
}

// payload compares the payload schemas of message n.
func (c *comparer) payload(n string, where at) {
	om, nm := c.old.Message(n), c.new.Message(n)
	var op, np json.RawMessage
	if om != nil {
		op = om.Payload
	}
	if nm != nil {
		np = nm.Payload
	}
	switch {
	case len(op) == 0 && len(np) == 0:
		return
	case len(op) == 0:
		c.add(true, c.newPos, where, "message %q now has a payload schema: payloads that were accepted may be refused", n)
		return
	case len(np) == 0:
		c.add(false, c.newPos, where, "message %q no longer has a payload schema (any payload)", n)
		return
	}
	if om.NoValidate && !nm.NoValidate {
		c.add(true, c.newPos, where, "message %q: validation is turned on: payloads that were accepted may be refused", n)
	}
	if !om.NoValidate && nm.NoValidate {
		c.add(false, c.newPos, where, "message %q: validation is turned off", n)
	}
	var ov, nv any
	if json.Unmarshal(op, &ov) != nil || json.Unmarshal(np, &nv) != nil {
		return
	}
	sc := &schemaCompare{c: c, name: n, where: where, seen: map[[2]string]bool{}}
	sc.compare("", ov, nv, 0)
}

// schemaCompare compares two versions of one payload schema.
type schemaCompare struct {
	c     *comparer
	name  string
	where at
	seen  map[[2]string]bool
}

func (sc *schemaCompare) add(breaking bool, path, format string, args ...any) {
	if path == "" {
		path = "/"
	}
	sc.c.add(breaking, sc.c.newPos, sc.where, "message %q: payload at %s: %s", sc.name, path, fmt.Sprintf(format, args...))
}

// deref follows a reference to a shared schema of app.
func derefSchema(app *troupe.App, v any) (any, string) {
	for i := 0; i < 16; i++ {
		m, ok := v.(map[string]any)
		if !ok {
			return v, ""
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return v, ""
		}
		name, ok := strings.CutPrefix(ref, schema.RefPrefix)
		if !ok {
			return v, ref
		}
		var next any
		if json.Unmarshal(app.Schema(name), &next) != nil {
			return v, ref
		}
		v = next
	}
	return v, ""
}

func (sc *schemaCompare) compare(path string, ov, nv any, depth int) {
	if depth > 32 {
		return
	}
	ov, oref := derefSchema(sc.c.old, ov)
	nv, nref := derefSchema(sc.c.new, nv)
	if oref != "" || nref != "" {
		if oref != nref {
			sc.add(true, path, "the reference changed from %q to %q", oref, nref)
		}
		return
	}
	key := [2]string{path, fmt.Sprint(ov) + "|" + fmt.Sprint(nv)}
	if sc.seen[key] {
		return
	}
	sc.seen[key] = true
	om, _ := ov.(map[string]any)
	nm, _ := nv.(map[string]any)
	if b, ok := nv.(bool); ok && !b {
		if ob, ok := ov.(bool); !ok || ob {
			sc.add(true, path, "the schema is now false: nothing is accepted")
		}
		return
	}
	if om == nil || nm == nil {
		if om == nil && nm != nil && len(nm) > 0 {
			sc.add(true, path, "a schema now constrains what was any value")
		}
		return
	}
	// Types.
	ot, nt := typeSet(om), typeSet(nm)
	switch {
	case ot == nil && nt != nil:
		sc.add(true, path, "the type is narrowed from any to %s", strings.Join(nt, " or "))
	case ot != nil && nt == nil:
		sc.add(false, path, "the type is widened from %s to any", strings.Join(ot, " or "))
	case ot != nil:
		var lost, gained []string
		for _, t := range ot {
			if !typeIn(t, nt) {
				lost = append(lost, t)
			}
		}
		for _, t := range nt {
			if !typeIn(t, ot) {
				gained = append(gained, t)
			}
		}
		if len(lost) > 0 {
			sc.add(true, path, "the type is narrowed from %s to %s", strings.Join(ot, " or "), strings.Join(nt, " or "))
		} else if len(gained) > 0 {
			sc.add(false, path, "the type is widened from %s to %s", strings.Join(ot, " or "), strings.Join(nt, " or "))
		}
	}
	// Values.
	if oe, ne := values(om), values(nm); ne != nil {
		switch {
		case oe == nil:
			sc.add(true, path, "the values are narrowed to %s", render(ne))
		default:
			for _, v := range oe {
				if !slices.ContainsFunc(ne, func(w any) bool { return reflect.DeepEqual(v, w) }) {
					sc.add(true, path, "the value %s is no longer allowed", render([]any{v}))
				}
			}
			for _, v := range ne {
				if !slices.ContainsFunc(oe, func(w any) bool { return reflect.DeepEqual(v, w) }) {
					sc.add(false, path, "the value %s is allowed too", render([]any{v}))
				}
			}
		}
	} else if oe != nil {
		sc.add(false, path, "any value is allowed (it was %s)", render(oe))
	}
	// Bounds: a higher lower bound or a lower upper bound narrows.
	for _, b := range []struct {
		key   string
		lower bool
	}{
		{"minLength", true}, {"maxLength", false}, {"minimum", true}, {"maximum", false},
		{"exclusiveMinimum", true}, {"exclusiveMaximum", false}, {"minItems", true}, {"maxItems", false},
		{"minProperties", true}, {"maxProperties", false},
	} {
		o, oOK := number(om[b.key])
		n, nOK := number(nm[b.key])
		switch {
		case !oOK && !nOK, oOK && nOK && o == n:
		case !oOK:
			sc.add(true, path, "%s %v is new", b.key, n)
		case !nOK:
			sc.add(false, path, "%s %v is removed", b.key, o)
		case b.lower == (n > o):
			sc.add(true, path, "%s is narrowed from %v to %v", b.key, o, n)
		default:
			sc.add(false, path, "%s is widened from %v to %v", b.key, o, n)
		}
	}
	for _, k := range []string{"pattern", "format", "multipleOf", "uniqueItems"} {
		o, n := om[k], nm[k]
		switch {
		case reflect.DeepEqual(o, n):
		case n == nil || n == false:
			sc.add(false, path, "%s %v is removed", k, o)
		default:
			sc.add(true, path, "%s is now %v (it was %v)", k, n, o)
		}
	}
	// Objects.
	oprops, _ := om["properties"].(map[string]any)
	nprops, _ := nm["properties"].(map[string]any)
	oreq, nreq := stringList(om["required"]), stringList(nm["required"])
	for _, k := range sortedKeys(oprops) {
		if _, ok := nprops[k]; !ok {
			sc.add(true, path, "field %q is removed", k)
		}
	}
	for _, k := range sortedKeys(nprops) {
		if _, ok := oprops[k]; !ok {
			if slices.Contains(nreq, k) {
				sc.add(true, path, "field %q is new and required", k)
			} else {
				sc.add(false, path, "field %q is new and optional", k)
			}
			continue
		}
		sc.compare(path+"/"+k, oprops[k], nprops[k], depth+1)
	}
	for _, k := range nreq {
		if _, isNew := nprops[k]; isNew && oprops[k] == nil && nprops[k] != nil {
			continue // reported as a new required field
		}
		if !slices.Contains(oreq, k) {
			sc.add(true, path, "field %q is now required", k)
		}
	}
	for _, k := range oreq {
		if !slices.Contains(nreq, k) {
			sc.add(false, path, "field %q is now optional", k)
		}
	}
	oap, nap := om["additionalProperties"], nm["additionalProperties"]
	switch {
	case nap == false && oap != false:
		sc.add(true, path, "other fields are no longer allowed (additionalProperties: false)")
	case oap == false && nap != false:
		sc.add(false, path, "other fields are allowed")
	case oap != nil && nap != nil:
		sc.compare(path+"/*", oap, nap, depth+1)
	}
	// Arrays.
	if oi, ni := om["items"], nm["items"]; oi != nil || ni != nil {
		sc.compare(path+"/*", oi, ni, depth+1)
	}
}

// typeSet returns the types a schema allows, from "type", or nil.
func typeSet(m map[string]any) []string {
	switch t := m["type"].(type) {
	case string:
		return []string{t}
	case []any:
		return stringList(t)
	}
	return nil
}

// typeIn reports whether type t is within set (an integer is a number).
func typeIn(t string, set []string) bool {
	return slices.Contains(set, t) || t == "integer" && slices.Contains(set, "number")
}

func values(m map[string]any) []any {
	if v, ok := m["const"]; ok {
		return []any{v}
	}
	if v, ok := m["enum"].([]any); ok {
		return v
	}
	return nil
}

func render(vs []any) string {
	b, _ := json.Marshal(vs)
	if len(vs) == 1 {
		b, _ = json.Marshal(vs[0])
	}
	return string(b)
}

func number(v any) (float64, bool) {
	f, ok := v.(float64)
	return f, ok && !math.IsNaN(f)
}

func stringList(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, e := range l {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// routes compares the gateway's routes: its HTTP API.
func (c *comparer) routes() {
	key := func(r troupe.Route) string { return r.Method + " " + r.Path }
	find := func(app *troupe.App, k string) *troupe.Route {
		for i := range app.Routes {
			if key(app.Routes[i]) == k || app.Routes[i].Method == "" && "POST "+app.Routes[i].Path == k {
				return &app.Routes[i]
			}
		}
		return nil
	}
	norm := func(r troupe.Route) string {
		if r.Method == "" {
			r.Method = "POST"
		}
		return key(r)
	}
	for _, or := range c.old.Routes {
		nr := find(c.new, norm(or))
		switch {
		case nr == nil:
			c.add(true, c.newPos, nil, "route %s is removed", norm(or))
		case nr.Message != or.Message:
			c.add(true, c.newPos, nil, "route %s now sends %q instead of %q", norm(or), nr.Message+strings.Join(nr.Types, ","), or.Message+strings.Join(or.Types, ","))
		default:
			for _, t := range or.Types {
				if !slices.Contains(nr.Types, t) {
					c.add(true, c.newPos, nil, "route %s no longer accepts type %q", norm(or), t)
				}
			}
			for _, t := range nr.Types {
				if !slices.Contains(or.Types, t) {
					c.add(false, c.newPos, nil, "route %s accepts type %q too", norm(or), t)
				}
			}
		}
	}
	for _, nr := range c.new.Routes {
		if find(c.old, norm(nr)) == nil {
			c.add(false, c.newPos, nil, "route %s is new", norm(nr))
		}
	}
}
