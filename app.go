package troupe

import "slices"

// App declares an application: its services, what each may send and must
// receive, which messages are durable, and the gateway's public routes. The
// manifest package reads it from troupe.yaml; the bus enforces it; the NATS
// transport turns it into per-service credentials.
//
// An App is read-only once built; its methods do not allocate on the paths the
// bus uses per message only if callers cache their answers, which the bus does.
type App struct {
	Name     string
	Services []ServiceDecl
	Routes   []Route
}

// ServiceDecl declares one service.
type ServiceDecl struct {
	Name      string
	Sends     []string // names this service may send (requests, sends, publishes)
	Receives  []string // names delivered to this service
	Durable   []string // names, of those it receives, delivered at least once
	Instances int      // how many instances troupe run starts; 0 means 1
	Command   []string // if set, run as an OS process with this command line
	Env       map[string]string
	// Calls tunes, per target service, how this service's requests to it
	// are protected: circuit breaker and retries (calls.go).
	Calls []CallPolicy `json:",omitempty"`
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
