package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/internal/schema"
	"github.com/troupe-go/troupe/internal/strictjson"
)

// An Endpoint pairs a request name with its Go request and reply types and
// its reply name. One declaration, shared by the service that serves it and
// the services that call it, so that the two sides cannot disagree on the
// types (a mismatch does not compile), and Start can check both against the
// manifest (a mismatch does not start):
//
//	var Create = service.Endpoint[CreateTodo, Todo]{Name: "todo.create", Reply: "todo"}
//
//	Create.Handle(s, func(ctx context.Context, req CreateTodo) (Todo, error) { ... }) // the todo service
//	todo, err := Create.Call(ctx, web, CreateTodo{Title: "milk"})                       // the web service
//
// Name and Reply are the names the service's code uses; the manifest may
// translate them (troupe.ServiceDecl.Translate).
type Endpoint[Req, Rep any] struct {
	Name  string // the request's name
	Reply string // the name of its replies
}

// An Event pairs a one-way message name (a send or a publish) with its Go
// type, for the service that sends it and those that receive it.
//
//	var Created = service.Event[Todo]{Name: "todo.created"}
//
//	err := Created.Publish(ctx, s, todo)                          // the todo service
//	Created.On(web, func(ctx context.Context, t Todo) error { ... }) // the web service
type Event[Msg any] struct {
	Name string
}

// A Declaration is an Endpoint or an Event, for Service.Sends.
type Declaration interface {
	declaration() declared
}

// declared is what Check compares with the manifest.
type declared struct {
	name, reply string       // reply is "" for an event
	req, rep    reflect.Type // rep is nil for an event
	handled     bool         // served by the service (else sent)
}

func (e Endpoint[Req, Rep]) declaration() declared {
	return declared{name: e.Name, reply: e.Reply, req: reflect.TypeFor[Req](), rep: reflect.TypeFor[Rep]()}
}

func (e Event[Msg]) declaration() declared {
	return declared{name: e.Name, req: reflect.TypeFor[Msg]()}
}

// Handle registers h as the handler of requests e.Name, answered with
// replies named e.Reply: Handle(s, e.Name, e.Reply, h), and Start checks e
// against the manifest.
func (e Endpoint[Req, Rep]) Handle(s *Service, h func(ctx context.Context, req Req) (Rep, error)) error {
	if err := Handle(s, e.Name, e.Reply, h); err != nil {
		return err
	}
	s.declare(e.declaration(), true)
	return nil
}

// Stream registers h as the handler of requests e.Name answered with
// several replies named e.Reply: Stream(s, e.Name, e.Reply, h), and Start
// checks e against the manifest.
func (e Endpoint[Req, Rep]) Stream(s *Service, h func(ctx context.Context, req Req, emit func(Rep) error) error) error {
	if err := Stream(s, e.Name, e.Reply, h); err != nil {
		return err
	}
	s.declare(e.declaration(), true)
	return nil
}

// Call sends req as a request e.Name on behalf of s and returns the reply
// decoded into a Rep. An Error reply is returned as a *troupe.Error; a reply
// with another name than e.Reply, or that does not decode into a Rep, is an
// internal *troupe.Error (the serving side broke the declaration). Declare
// e with s.Sends to have Start check it.
func (e Endpoint[Req, Rep]) Call(ctx context.Context, s *Service, req Req, opts ...CallOption) (Rep, error) {
	var rep Rep
	// Through the calling side: interceptors, breaker, retries and the
	// fallback opts give.
	env, err := s.call(ctx, troupe.KindRequest, e.Name, req, nil, opts, nil)
	if err != nil {
		return rep, err
	}
	if err := e.decodeReply(env, &rep); err != nil {
		return rep, err
	}
	return rep, nil
}

// Collect asks every service that receives e.Name and gathers their replies
// until the deadline, as the package's Collect does, checking each reply's
// name as Call does.
func (e Endpoint[Req, Rep]) Collect(ctx context.Context, s *Service, req Req) ([]Rep, error) {
	var (
		out   []Rep
		first error
	)
	_, err := s.call(ctx, troupe.KindRequest, e.Name, req, func(env *troupe.Envelope) bool {
		if terr := env.Err(); terr != nil {
			first = cmpOr(first, error(terr))
			return true
		}
		var rep Rep
		if err := e.decodeReply(env, &rep); err != nil {
			first = cmpOr(first, err)
			return true
		}
		out = append(out, rep)
		return true
	}, nil, nil)
	if errors.Is(err, troupe.ErrNoReceiver) {
		return nil, nil
	}
	if err != nil {
		return out, err
	}
	return out, first
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func (e Endpoint[Req, Rep]) decodeReply(env *troupe.Envelope, rep *Rep) error {
	fallback := env.Name == FallbackName && env.Headers[HeaderFallback] != ""
	if e.Reply != "" && env.Name != e.Reply && !fallback {
		return &troupe.Error{Code: troupe.CodeInternal, Msg: fmt.Sprintf("%s: the reply is named %q, want %q", e.Name, env.Name, e.Reply)}
	}
	if decodeInto(env, rep, isPlain(reflect.TypeFor[Rep]())) { // plain.go
		return nil
	}
	if len(env.Payload) > 0 {
		if err := json.Unmarshal(env.Payload, rep); err != nil {
			return &troupe.Error{Code: troupe.CodeInternal, Msg: fmt.Sprintf("%s: reply %s: %s", e.Name, env.Name, strictjson.Describe(err)), Err: err}
		}
	}
	return nil
}

// On registers h as the handler of e's messages: On(s, e.Name, h), and Start
// checks e against the manifest.
func (e Event[Msg]) On(s *Service, h func(ctx context.Context, msg Msg) error) error {
	if err := On(s, e.Name, h); err != nil {
		return err
	}
	s.declare(e.declaration(), true)
	return nil
}

// Publish publishes msg as an event e.Name on behalf of s. Declare e with
// s.Sends to have Start check it.
func (e Event[Msg]) Publish(ctx context.Context, s *Service, msg Msg) error {
	return s.Publish(ctx, e.Name, msg)
}

// Send sends msg as a one-way notification e.Name on behalf of s. Declare e
// with s.Sends to have Start check it.
func (e Event[Msg]) Send(ctx context.Context, s *Service, msg Msg) error {
	return s.Send(ctx, e.Name, msg)
}

// Sends declares the endpoints this service calls and the events it sends or
// publishes, so that Start (and Check) compare their names and Go types with
// the manifest. It does not change what the service may send: the manifest
// decides that.
func (s *Service) Sends(ds ...Declaration) {
	for _, d := range ds {
		s.declare(d.declaration(), false)
	}
}

func (s *Service) declare(d declared, handled bool) {
	d.handled = handled
	s.mu.Lock()
	defer s.mu.Unlock()
	s.decls = append(s.decls, d)
}

// Check compares the service's declarations (the Endpoints and Events it
// handles, and those it declared with Sends) with app, the manifest:
//
//   - the service is declared, and receives what it handles and sends what
//     it calls, sends or publishes (under the names its translations give);
//   - a request's reply name is one of the replies the manifest declares
//     for it, if it declares any;
//   - each Go type matches the JSON Schema of its message's payload, if the
//     manifest gives one: the same JSON types, the same object members both
//     ways, nothing required that Go leaves out when empty (the check is
//     structural; it accepts types with their own JSON encoding).
//
// It returns every problem at once, joined, or nil. Start calls it with the
// bus's App and does not start the service if it fails.
func (s *Service) Check(app *troupe.App) error {
	s.mu.Lock()
	decls := slices.Clone(s.decls)
	s.mu.Unlock()
	if len(decls) == 0 {
		return nil
	}
	name := s.cfg.Name
	decl := app.Service(name)
	if decl == nil {
		return fmt.Errorf("service %s: check: the manifest does not declare the service", name)
	}
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	for _, d := range decls {
		appName := decl.AppName(d.name)
		what := "event " + quoted(d.name, appName)
		if d.rep != nil {
			what = "endpoint " + quoted(d.name, appName)
		}
		switch {
		case d.handled && !slices.Contains(decl.Receives, appName):
			add("%s: the manifest does not list it in the service's receives", what)
		case !d.handled && !slices.Contains(decl.Sends, appName):
			add("%s: the manifest does not list it in the service's sends", what)
		}
		md := app.Message(appName)
		if md != nil {
			for _, p := range schema.CheckType(app, md.Payload, d.req) {
				add("%s: request type %s and the payload schema disagree %s", what, d.req, p)
			}
		}
		if d.rep == nil {
			continue
		}
		replyApp := decl.AppName(d.reply)
		if md != nil && len(md.Replies) > 0 && !slices.Contains(md.Replies, replyApp) {
			add("%s: reply %s is not one of the replies the manifest declares, %v", what, quoted(d.reply, replyApp), md.Replies)
		}
		if rd := app.Message(replyApp); rd != nil {
			for _, p := range schema.CheckType(app, rd.Payload, d.rep) {
				add("%s: reply type %s and the schema of %q disagree %s", what, d.rep, replyApp, p)
			}
		}
	}
	if len(problems) == 0 {
		return nil
	}
	errs := make([]error, len(problems))
	for i, p := range problems {
		errs[i] = errors.New(p)
	}
	return fmt.Errorf("service %s: the code and the manifest disagree:\n\t%w", name, joinLines(errs))
}

// joinLines joins errors one per line, indented.
func joinLines(errs []error) error {
	var b strings.Builder
	for i, e := range errs {
		if i > 0 {
			b.WriteString("\n\t")
		}
		b.WriteString(e.Error())
	}
	return errors.New(b.String())
}

func quoted(local, app string) string {
	if local == app {
		return fmt.Sprintf("%q", app)
	}
	return fmt.Sprintf("%q (%s)", local, app)
}
