package troupe

import (
	"encoding/json"
	"slices"
)

// App declares an application: its services, what each may send and must
// receive, which messages are durable, the gateway's public routes, and what
// each message carries (its payload schema, its replies and its meaning). The
// manifest package reads it from troupe.yaml; the bus enforces it; the NATS
// transport turns it into per-service credentials; package apidoc turns it
// into AsyncAPI and OpenAPI documents.
//
// An App is read-only once built; its methods do not allocate on the paths the
// bus uses per message only if callers cache their answers, which the bus does.
type App struct {
	Name     string
	Services []ServiceDecl
	Routes   []Route
	// Messages describes message names: each one's payload, replies and
	// meaning. A name need not be described; one that is not carries any
	// JSON payload and any reply.
	Messages []MessageDecl
	// Schemas are named JSON Schemas that payload schemas share: a schema
	// refers to the one named N as {"$ref": "#/schemas/N"}.
	Schemas []SchemaDecl
	// Authenticate, if set, is the request the gateway sends to learn who
	// a bearer token belongs to (gateway.BusAuthenticator): its payload is
	// {"token": T}, its reply's a Principal. The gateway sends it (Parse
	// adds it to an implicit gateway's sends).
	Authenticate string `json:",omitempty"`
	// Revoked, if set, is the event that says a user's credentials
	// changed (a token deleted): a node's gateway then keeps each answer
	// to Authenticate for a while and drops a user's answers, on every
	// gateway instance, when the event names the user in its payload's
	// "user" (an event without one drops every answer). The gateway
	// receives it as a broadcast (Parse adds it to an implicit gateway's
	// receives and broadcast). Without it the gateway asks every time.
	Revoked string `json:",omitempty"`
}

// MessageDecl describes one message name: what its payload must look like,
// the names of the replies a request of that name gets, and what it means.
// Who sends and receives it, and whether it is durable, stay in the
// ServiceDecls.
type MessageDecl struct {
	Name        string
	Description string // what the message means, for people and the API documents
	// Payload is the JSON Schema (draft 2020-12) that the payload must
	// match; nil means any JSON value. It may refer to App.Schemas as
	// {"$ref": "#/schemas/N"}.
	Payload json.RawMessage
	// Replies are the names of the replies a request of this name may get,
	// beside the Error reply that any request may get. Empty means they are
	// not declared (any name).
	Replies []string
	// NoValidate turns the bus's payload check off for this name (a hot
	// path); the schema still documents it.
	NoValidate bool

	// Principal says that an envelope of this name must carry a principal
	// (an authenticated user, set by an edge): the receiving bus refuses
	// one without with forbidden, and the gateway answers 401 to a route
	// of this message before sending anything. Replies are exempt.
	Principal bool `json:",omitempty"`
	// Roles, if not empty, lets only principals with one of these roles
	// send the message (and implies Principal).
	Roles []string `json:",omitempty"`
	// Sensitive lists the top-level fields of the payload that crash
	// reports and logs must not show (a password, a token): they are
	// rendered as "[redacted]".
	Sensitive []string `json:",omitempty"`
}

// NeedsPrincipal reports whether an envelope of this name must carry a
// principal: Principal or Roles is set.
func (m *MessageDecl) NeedsPrincipal() bool { return m != nil && (m.Principal || len(m.Roles) > 0) }

// Allows reports whether p may send this message: true when the message
// needs no principal; else p must be non-nil and, if Roles is set, have one
// of them.
func (m *MessageDecl) Allows(p *Principal) bool {
	if !m.NeedsPrincipal() {
		return true
	}
	if p == nil {
		return false
	}
	if len(m.Roles) == 0 {
		return true
	}
	for _, r := range m.Roles {
		if p.HasRole(r) {
			return true
		}
	}
	return false
}

// SchemaDecl is a named JSON Schema shared by payload schemas.
type SchemaDecl struct {
	Name   string
	Schema json.RawMessage
}

// Translation pairs a name that a service's code uses with the
// application's name for the same message (ExoCom's message translation): a
// generic users service handles user.create, and the application calls it
// account.create. The bus translates at the service's client, so only the
// application's names travel, and are declared in sends and receives.
type Translation struct {
	Local string // the name in the service's code: user.create
	App   string // the name in the application: account.create
}

// ServiceDecl declares one service.
type ServiceDecl struct {
	Name     string
	Sends    []string // names this service may send (requests, sends, publishes)
	Receives []string // names delivered to this service
	Durable  []string // names, of those it receives, delivered at least once
	// Broadcast lists names, of those it receives and not durable, that
	// every instance of the service gets (seed 003's publish-subscribe
	// channel: browser-facing services, caches). The others go to one
	// instance each time (its point-to-point channel).
	Broadcast []string
	Instances int      // how many instances troupe run starts; 0 means 1
	Command   []string // if set, run as an OS process with this command line
	Env       map[string]string
	// Translate renames messages between the service's code and the
	// application, each pair once in each direction. Sends, Receives and
	// Durable use the application's names.
	Translate []Translation
	// Calls tunes, per target service, how this service's requests to it
	// are protected: circuit breaker and retries (calls.go).
	Calls []CallPolicy `json:",omitempty"`
	// Edge declares that the service authenticates users itself (it
	// serves HTTP, say) and may send a principal with what it sends
	// (Envelope.Principal). The gateway is always an edge; a principal
	// from any other service is refused.
	Edge bool `json:",omitempty"`
}

// Route maps an HTTP request at the gateway to a bus message.
//
// A protocol route (Types set) accepts POST bodies {"type": T, ...} for each T
// in Types and sends request T. A REST route (Message set) maps Method and
// Path, whose {param} segments go into the payload, to request Message.
type Route struct {
	Method  string   // REST routes: GET, POST, PUT, PATCH, DELETE
	Path    string   // "/" or "/api/todos/{id}"
	Types   []string // protocol route: the message types accepted
	Message string   // REST route: the message sent
	// Principal makes the gateway answer 401 to a request it cannot
	// authenticate, whatever its message; a route whose message needs a
	// principal (MessageDecl.NeedsPrincipal) requires one anyway.
	Principal bool `json:",omitempty"`
}

// GatewayService is the name under which the gateway joins the bus. Its sends
// are the messages of the routes, unless the App declares it explicitly.
const GatewayService = "gateway"

// Service returns the declaration of the named service, or nil.
func (a *App) Service(name string) *ServiceDecl {
	for i := range a.Services {
		if a.Services[i].Name == name {
			return &a.Services[i]
		}
	}
	return nil
}

// Receivers returns the names of the services that receive message name, in
// declaration order.
func (a *App) Receivers(name string) []string {
	var out []string
	for _, s := range a.Services {
		if slices.Contains(s.Receives, name) {
			out = append(out, s.Name)
		}
	}
	return out
}

// IsDurable reports whether any service declares message name durable.
func (a *App) IsDurable(name string) bool {
	for _, s := range a.Services {
		if slices.Contains(s.Durable, name) {
			return true
		}
	}
	return false
}

// Broadcasts reports whether every instance of service gets the envelopes
// named name (ServiceDecl.Broadcast), rather than one of them.
func (a *App) Broadcasts(service, name string) bool {
	s := a.Service(service)
	return s != nil && slices.Contains(s.Broadcast, name)
}

// IsEdge reports whether service may send a principal: it is the gateway,
// or its declaration says Edge.
func (a *App) IsEdge(service string) bool {
	if service == GatewayService {
		return true
	}
	s := a.Service(service)
	return s != nil && s.Edge
}

// MaySend reports whether service may send message name.
func (a *App) MaySend(service, name string) bool {
	s := a.Service(service)
	return s != nil && slices.Contains(s.Sends, name)
}

// MayReceive reports whether service declares that it receives message name.
func (a *App) MayReceive(service, name string) bool {
	s := a.Service(service)
	return s != nil && slices.Contains(s.Receives, name)
}

// Message returns the description of message name, or nil.
func (a *App) Message(name string) *MessageDecl {
	for i := range a.Messages {
		if a.Messages[i].Name == name {
			return &a.Messages[i]
		}
	}
	return nil
}

// Schema returns the shared schema named name, or nil.
func (a *App) Schema(name string) json.RawMessage {
	for _, s := range a.Schemas {
		if s.Name == name {
			return s.Schema
		}
	}
	return nil
}

// AppName returns the application's name for the name local that the
// service's code uses: its translation, or local itself.
func (d *ServiceDecl) AppName(local string) string {
	for _, t := range d.Translate {
		if t.Local == local {
			return t.App
		}
	}
	return local
}

// LocalName returns the name the service's code uses for the application's
// name app: its translation, or app itself.
func (d *ServiceDecl) LocalName(app string) string {
	for _, t := range d.Translate {
		if t.App == app {
			return t.Local
		}
	}
	return app
}
