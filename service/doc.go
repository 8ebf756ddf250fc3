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
// Every delivered message is handled in a request process, a temporary
// child of the service's request supervisor (OTP's Task.Supervisor model, as
// Cowboy runs each HTTP request in a process), one message at a time. A
// request process whose handler returned waits, idle, for the next message
// (up to 256 of them per service; a busier moment starts more), which saves
// starting a process per message; one that a handler crashed is never used
// again. The tree of a started instance, named after its id:
//
//	<instance id>                 one_for_one
//	└── requests                  simple_one_for_one, temporary children
//	    └── one process per message being handled, or idle
//
// A handler's ctx ends at the request's deadline; the timer behind it starts
// only when the handler (or a context derived from it) asks for Done.
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
//
// # Interceptors
//
// Cross-cutting work (authorization, metrics, tracing, logging) goes in
// interceptors, one type per side, each a function from the next step to a
// new one, as net/http middleware is:
//
//	type Middleware func(next Handler) Handler              // serving side
//	type Handler func(ctx context.Context, m *bus.Msg) error
//
//	type CallMiddleware func(next Invoker) Invoker          // calling side
//	type Invoker func(ctx context.Context, out *Outgoing) (*troupe.Envelope, error)
//
// Config.Middleware wraps every handler of the service, Config.CallMiddleware
// every message it sends; both are listed outermost first. A serving-side
// interceptor sees the delivered envelope and the handler's context, and
// may refuse the message by returning an error; a calling-side one sees the
// prepared envelope (it may add headers) and the outcome. See
// ExampleMiddleware and ExampleCallMiddleware.
//
// # When a target is slow or down
//
// Every request to a service that alone receives its name passes, after the
// caller's own interceptors, through three of troupe's, in this order:
//
//   - the fallback: a request given Fallback or FallbackFunc that failed by
//     its target's fault gets the fallback's value instead, in a reply that
//     says so (Reply.Fallback, HeaderFallback);
//   - the retries: a request marked Idempotent (or named in the target's
//     retry policy) that failed by its target's fault is sent again with the
//     same ID, after a jittered backoff, within its deadline and within the
//     target's retry budget (10% of such requests, plus one a second);
//   - the circuit breaker, one per caller instance and target service, on
//     by default: it opens after DefaultBreakerFailures consecutive
//     failures or when half the requests of the last 10s failed; while it is
//     open a request fails at once with an unavailable error whose cause is
//     ErrBreakerOpen; after DefaultBreakerOpenFor it lets a few probes
//     through and closes if they succeed.
//
// A failure is the target's fault when it is a timeout, unavailable, internal
// (its handler failed or crashed), or not_found because no instance of it is
// there. An answer such as bad_request, not_found, forbidden or conflict
// means the target works: it counts as a success, is not retried and is not
// replaced by a fallback. A caller that cancels its context says nothing
// about the target.
//
// Config.Breaker, Config.Retry and Config.Targets configure them in Go, and
// the manifest's calls section per target (docs/bus.md); Targets reports
// their state, Collector exports it to Prometheus, BreakerDetector makes an
// alarm of it, and Config.OnBreaker sees every change of state.
package service
