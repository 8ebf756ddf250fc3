package manifest

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"weak"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/internal/schema"
	"go.yaml.in/yaml/v3"
)

// Warning is something legal but probably wrong in a manifest, such as a
// message that some service sends and no service receives. File, Line and
// Column are set when the App came from Parse or Load, and zero otherwise.
type Warning struct {
	File   string
	Line   int
	Column int
	Msg    string
}

// String returns "file:line:column: warning: msg", leaving out the parts
// that are unknown.
func (w Warning) String() string { return position(w.File, w.Line, w.Column) + "warning: " + w.Msg }

// Lint reports messages that are sent by no service or received by no
// service, one warning per message, at the first place the manifest names it.
// The gateway's route messages count as sent by the gateway service. Lint
// does not validate app; Parse has done that for apps it returns.
func Lint(app *troupe.App) []Warning {
	if app == nil {
		return nil
	}
	ps := lookup(app)
	senders := map[string][]string{}
	receivers := map[string][]string{}
	for _, s := range app.Services {
		for _, m := range s.Sends {
			senders[m] = appendNew(senders[m], s.Name)
		}
		for _, m := range s.Receives {
			receivers[m] = appendNew(receivers[m], s.Name)
		}
	}
	var out []Warning
	warned := map[string]bool{}
	add := func(side map[svcName]pos, svc, name, format string, who []string) {
		if warned[name] {
			return
		}
		warned[name] = true
		w := Warning{Msg: fmt.Sprintf(format, name, strings.Join(who, ", "))}
		if ps != nil {
			w.File = ps.file
			if at, ok := side[svcName{svc, name}]; ok {
				w.Line, w.Column = at.line, at.col
			}
		}
		out = append(out, w)
	}
	var sendPos, recvPos map[svcName]pos
	if ps != nil {
		sendPos, recvPos = ps.sends, ps.receives
	}
	for _, s := range app.Services {
		for _, m := range s.Sends {
			if len(receivers[m]) == 0 {
				add(sendPos, s.Name, m, "message %q is sent by %s but received by no service", senders[m])
			}
		}
		for _, m := range s.Receives {
			if len(senders[m]) == 0 {
				add(recvPos, s.Name, m, "message %q is received by %s but sent by no service", receivers[m])
			}
		}
	}
	out = append(out, lintMessages(app, ps)...)
	slices.SortStableFunc(out, func(a, b Warning) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Column - b.Column
	})
	return out
}

// lintMessages warns of described messages that nothing uses and of shared
// schemas that no payload refers to.
func lintMessages(app *troupe.App, ps *positions) []Warning {
	used := map[string]bool{}
	for _, s := range app.Services {
		for _, m := range slices.Concat(s.Sends, s.Receives) {
			used[m] = true
		}
	}
	for _, r := range app.Routes {
		used[r.Message] = true
		for _, t := range r.Types {
			used[t] = true
		}
	}
	for _, m := range app.Messages {
		if used[m.Name] {
			for _, r := range m.Replies {
				used[r] = true
			}
		}
	}
	at := func(w Warning, where map[string]pos, name string) Warning {
		if ps != nil {
			w.File = ps.file
			if p, ok := where[name]; ok {
				w.Line, w.Column = p.line, p.col
			}
		}
		return w
	}
	var msgPos, schemaPos map[string]pos
	if ps != nil {
		msgPos, schemaPos = ps.messages, ps.schemas
	}
	var out []Warning
	for _, m := range app.Messages {
		if !used[m.Name] {
			out = append(out, at(Warning{Msg: fmt.Sprintf("message %q is described, but no service sends or receives it and no message it is a reply to is used", m.Name)}, msgPos, m.Name))
		}
	}
	// Shared schemas in use: those payloads refer to, and those they refer
	// to in turn.
	refd := map[string]bool{}
	var queue []string
	for _, m := range app.Messages {
		queue = append(queue, schema.Refs(m.Payload)...)
	}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if refd[n] {
			continue
		}
		refd[n] = true
		queue = append(queue, schema.Refs(app.Schema(n))...)
	}
	for _, s := range app.Schemas {
		if !refd[s.Name] {
			out = append(out, at(Warning{Msg: fmt.Sprintf("schema %q is used by no payload", s.Name)}, schemaPos, s.Name))
		}
	}
	return out
}

// appendNew appends service s to list unless it is already its last element:
// the services are visited one after the other, so this drops a name that a
// service lists twice without a quadratic search.
func appendNew(list []string, s string) []string {
	if len(list) > 0 && list[len(list)-1] == s {
		return list
	}
	return append(list, s)
}

// pos is a line and column in a manifest.
type pos struct{ line, col int }

// svcName is a service and a message name.
type svcName struct{ service, name string }

// positions records where a manifest named the messages of its services, for
// Lint. Parse keeps it in a side table keyed by the App it returned, so that
// the App stays the plain troupe.App the rest of the system uses.
type positions struct {
	file      string
	sends     map[svcName]pos
	receives  map[svcName]pos
	messages  map[string]pos // where messages: describes each name
	schemas   map[string]pos // where schemas: declares each one
	translate []translatePos
	// schemaNodes are the values of the schemas: section, one per
	// App.Schemas entry (while parsing only).
	schemaNodes []*yaml.Node
	// authenticate is where gateway: authenticate names its message, and
	// implicitGateway says the gateway service was added by Parse (while
	// parsing only; auth.go).
	authenticate    *yaml.Node
	revoked         *yaml.Node
	implicitGateway bool
}

// translatePos is where a service's translate mapping is, for the checks
// that run once the whole manifest is read.
type translatePos struct {
	service string
	node    *yaml.Node
}

// table maps the Apps returned by Parse to their positions. Entries are
// removed when their App is garbage collected.
var (
	tableMu sync.Mutex
	table   = map[weak.Pointer[troupe.App]]*positions{}
)

func remember(app *troupe.App, ps *positions) {
	key := weak.Make(app)
	tableMu.Lock()
	table[key] = ps
	tableMu.Unlock()
	runtime.AddCleanup(app, func(key weak.Pointer[troupe.App]) {
		tableMu.Lock()
		delete(table, key)
		tableMu.Unlock()
	}, key)
}

func lookup(app *troupe.App) *positions {
	tableMu.Lock()
	defer tableMu.Unlock()
	return table[weak.Make(app)]
}
