// Package service is the SDK a troupe service is written against: typed
// handlers for the messages it receives, typed calls for the messages it
// sends, and a supervised actor behind every message it handles.
//
// A service is a name from the manifest plus its handlers:
//
//	s := service.New(service.Config{Name: "hello"})
//	service.Handle(s, "Hello", "World", func(ctx context.Context, _ Hello) (World, error) {
//		return World{}, nil
//	})
//	err := s.Start(ctx, b, sys) // joins bus b, runs handlers in actor system sys
//
// Handle registers a request handler: it takes a context and the decoded
// request and returns the reply value (sent back under the reply name) or an
// error (sent back as an Error reply; a *troupe.Error keeps its code, any
// other error is internal). On registers a handler for one-way messages
// (sends and publishes); Stream one that answers a request with several
// replies.
//
// # Supervision
//
// Every delivered message is handled in a process of its own, a temporary
// child of the service's request supervisor (OTP's Task.Supervisor model, as
// Cowboy runs each HTTP request in a process). The tree of a started service:
//
//	<service>                     one_for_one
//	└── requests                  simple_one_for_one, temporary children
//	    └── one process per message being handled
//
// A handler that panics crashes only its own process: the actor runtime logs
// one crash report (process, supervisor path, message, panic, stack, incident
// id), the requester gets an Error reply with code internal carrying the same
// incident id at once, a durable message is handed back for redelivery, and
// the service keeps serving. Because request processes are temporary, a
// handler that crashes often never exhausts a supervisor's restart intensity;
// watch crash rates with the alarm package instead.
//
// # Calls
//
// Inside a handler, use the handler's ctx for outgoing calls: they belong to
// the same activity and inherit what remains of the deadline.
//
//	list, err := service.Request[Listing](ctx, s, "todo.list", ListTodos{List: id})
//	err = s.Publish(ctx, "todo.created", todo)
//	err = s.Send(ctx, "audit.record", entry)
//	replies, err := service.Collect[Quote](ctx, s, "price.quote", req)
//
// # Typed endpoints
//
// An [Endpoint] pairs a request name with its request and reply types and its
// reply name, an [Event] a one-way name with its type. One declaration, in the
// serving service's package, serves both sides:
//
//	var Create = service.Endpoint[CreateTodo, Todo]{Name: "todo.create", Reply: "todo"}
//
//	Create.Handle(s, t.create)                 // the todo service
//	web.Sends(todo.Create)                     // the web service declares what it calls...
//	td, err := todo.Create.Call(ctx, web, req) // ...and calls it
//
// so a caller and a server cannot disagree on a type without a compile error.
// [Service.Start] runs [Service.Check] with the bus's manifest first: the names
// must be in the service's receives or sends, the reply name among the
// replies the manifest declares, and each Go type must match its message's
// payload schema (docs/manifest.md); a service that disagrees does not start.
//
// Payloads are JSON: request and reply types are encoded with encoding/json.
// A payload that does not decode into a handler's request type is answered
// with a bad_request Error and the handler is not called.
package service
