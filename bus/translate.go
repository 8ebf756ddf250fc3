package bus

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/troupe-go/troupe"
)

// Message translation (ExoCom's): a service whose code uses its own names
// (a generic users service handles user.create) is declared in an
// application under the application's names (account.create) with
// troupe.ServiceDecl.Translate. The service's Client translates at its
// edge: the names its code passes to Handle, Request, Send, Publish, Call,
// Collect and Msg.Reply are turned into the application's, and the
// envelopes it delivers to the code (requests and replies) carry the
// code's names again. Only the application's names travel, so permissions,
// durability, schemas, stats and the NATS subjects are the application's;
// refusals are logged with both names ("name" and "local"), and
// Stats.Translated lists the pairs.

// compileTranslations builds each service's two maps and checks that they
// are one to one.
func (b *Bus) compileTranslations(decls []troupe.ServiceDecl) error {
	for i := range decls {
		d := &decls[i]
		if len(d.Translate) == 0 {
			continue
		}
		sp := b.services[d.Name]
		sp.toApp = make(map[string]string, len(d.Translate))
		sp.toLocal = make(map[string]string, len(d.Translate))
		for _, t := range d.Translate {
			for _, n := range []string{t.Local, t.App} {
				if err := troupe.ValidName(n); err != nil || n == troupe.ErrorName {
					return fmt.Errorf("bus: app: service %q translate: bad name %q", d.Name, n)
				}
			}
			if _, dup := sp.toApp[t.Local]; dup {
				return fmt.Errorf("bus: app: service %q translate: %q is translated twice", d.Name, t.Local)
			}
			if _, dup := sp.toLocal[t.App]; dup {
				return fmt.Errorf("bus: app: service %q translate: %q is the translation of two names", d.Name, t.App)
			}
			sp.toApp[t.Local] = t.App
			sp.toLocal[t.App] = t.Local
			b.translated[t.App] = append(b.translated[t.App], d.Name+"/"+t.Local)
		}
	}
	return nil
}

// appName returns the application's name for the name local that the
// service's code uses.
func (sp *servicePolicy) appName(local string) string {
	if a, ok := sp.toApp[local]; ok {
		return a
	}
	return local
}

// localName returns the service's code's name for the application's name
// app.
func (sp *servicePolicy) localName(app string) string {
	if l, ok := sp.toLocal[app]; ok {
		return l
	}
	return app
}

// localEnvelope returns env as the service's code should see it: a copy
// named local if that differs from env's name. The original may be shared
// with other receivers (the in-process transport passes one envelope to
// all) and is never changed.
func localEnvelope(env *troupe.Envelope, local string) *troupe.Envelope {
	if env.Name == local {
		return env
	}
	out := *env
	out.Name = local
	return &out
}

// quoteNames renders a name for errors: "todo.create", or
// "user.create" (account.create) when the code's name differs.
func quoteNames(local, app string) string {
	if local == app {
		return strconv.Quote(app)
	}
	return strconv.Quote(local) + " (" + app + ")"
}

// nameAttrs are the log attributes of a message: the member, the
// application's name, the code's name when it differs, and more.
func nameAttrs(member, local, app string, more ...any) []any {
	attrs := []any{"member", member, "name", app}
	if local != app {
		attrs = append(attrs, "local", local)
	}
	return append(attrs, more...)
}

// encodeError is the payload of an Error reply.
func encodeError(e *troupe.Error) (json.RawMessage, error) {
	return json.Marshal(&troupe.Error{Code: e.Code, Msg: e.Msg, Incident: e.Incident})
}
