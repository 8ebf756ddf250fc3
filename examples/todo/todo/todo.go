package todo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/examples/todo/store"
	"github.com/troupe-go/troupe/service"
)

// Name is the service's name in the manifest.
const Name = "todo"

// The requests the service receives.
const (
	MsgListAll    = "list.all"
	MsgListCreate = "list.create"
	MsgList       = "todo.list"
	MsgGet        = "todo.get"
	MsgCreate     = "todo.create"
	MsgUpdate     = "todo.update"
	MsgDelete     = "todo.delete"
	MsgClear      = "todo.clear"
)

// The replies it sends back.
const (
	ReplyLists   = "lists"
	ReplyList    = "list"
	ReplyListing = "todo.listing"
	ReplyTodo    = "todo"
	ReplyDeleted = "deleted"
	ReplyCleared = "cleared"
)

// The events it publishes.
const (
	EventCreated     = "todo.created"
	EventUpdated     = "todo.updated"
	EventDeleted     = "todo.deleted"
	EventCleared     = "todo.cleared"
	EventListCreated = "list.created"
)

// The service's endpoints: each request name with its Go request and reply
// types and its reply name. The service serves them and the web service
// calls them, so the two cannot disagree on a type; both check them against
// the manifest when they start (service.Check).
var (
	ListAll    = service.Endpoint[ListLists, Lists]{Name: MsgListAll, Reply: ReplyLists}
	ListCreate = service.Endpoint[CreateList, store.List]{Name: MsgListCreate, Reply: ReplyList}
	List       = service.Endpoint[ListTodos, Listing]{Name: MsgList, Reply: ReplyListing}
	Get        = service.Endpoint[TodoRef, store.Todo]{Name: MsgGet, Reply: ReplyTodo}
	Create     = service.Endpoint[CreateTodo, store.Todo]{Name: MsgCreate, Reply: ReplyTodo}
	Update     = service.Endpoint[UpdateTodo, store.Todo]{Name: MsgUpdate, Reply: ReplyTodo}
	Delete     = service.Endpoint[TodoRef, Deleted]{Name: MsgDelete, Reply: ReplyDeleted}
	Clear      = service.Endpoint[ClearTodos, Cleared]{Name: MsgClear, Reply: ReplyCleared}
)

// The service's events, all of type Event.
var (
	TodoCreated = service.Event[Event]{Name: EventCreated}
	TodoUpdated = service.Event[Event]{Name: EventUpdated}
	TodoDeleted = service.Event[Event]{Name: EventDeleted}
	TodoCleared = service.Event[Event]{Name: EventCleared}
	ListCreated = service.Event[Event]{Name: EventListCreated}
)

// AllEvents lists the service's events, for the services that follow them.
var AllEvents = []service.Event[Event]{TodoCreated, TodoUpdated, TodoDeleted, TodoCleared, ListCreated}

// Receives lists every name the service handles, for its manifest
// declaration: its requests.
var Receives = slices.Concat([]string{MsgListAll, MsgListCreate, MsgList, MsgGet, MsgCreate, MsgUpdate, MsgDelete, MsgClear}, AccountReceives)

// Events lists the events the service publishes for the services that
// follow it.
var Events = []string{EventCreated, EventUpdated, EventDeleted, EventCleared, EventListCreated}

// Sends lists every name the service sends, for its manifest declaration:
// its Events and token.revoked, which the gateway receives (accounts.go).
var Sends = slices.Concat(Events, []string{EventTokenRevoked})

// Limits are the service's receiving-side limits (service.Config.Limits),
// applied when its Config sets none: the store does its reads through a few
// connections (four for SQLite) and the writes to one list one at a time
// (each takes the list's next change number), so more requests in progress
// would only wait inside it, unseen; they wait in the limit's queue instead,
// where one that cannot be served in time (100 ms for a read, 500 ms for a
// write, which takes a disk flush) is shed with an unavailable error at once
// instead of timing out. The other messages keep the SDK's defaults.
var Limits = []troupe.LimitPolicy{
	{Name: MsgList, Concurrency: 8, Queue: 64},
	{Name: MsgGet, Concurrency: 8, Queue: 64},
	{Name: MsgListAll, Concurrency: 8, Queue: 64},
	{Name: MsgCreate, Concurrency: 4, Queue: 64, MaxWait: 500 * time.Millisecond},
	{Name: MsgUpdate, Concurrency: 4, Queue: 64, MaxWait: 500 * time.Millisecond},
	{Name: MsgDelete, Concurrency: 4, Queue: 64, MaxWait: 500 * time.Millisecond},
	{Name: MsgClear, Concurrency: 4, Queue: 64, MaxWait: 500 * time.Millisecond},
	{Name: MsgListCreate, Concurrency: 4, Queue: 64, MaxWait: 500 * time.Millisecond},
}

// Options configure the service.
type Options struct {
	// Store keeps the lists and todos. Required. The service does not close
	// it: its owner does, after stopping the service.
	Store store.Store
	// Logger receives a record for each event that could not be published.
	// Nil means slog.Default().
	Logger *slog.Logger
}

// New returns the todo service with its handlers registered.
func New(cfg service.Config, opt Options) (*service.Service, error) {
	if opt.Store == nil {
		return nil, errors.New("todo: Options.Store is required")
	}
	if cfg.Name == "" {
		cfg.Name = Name
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if cfg.Limits == nil {
		cfg.Limits = Limits
	}
	s := service.New(cfg)
	t := &server{st: opt.Store, svc: s, log: opt.Logger}
	errs := []error{
		ListAll.Handle(s, t.listAll),
		ListCreate.Handle(s, t.listCreate),
		List.Handle(s, t.list),
		Get.Handle(s, t.get),
		Create.Handle(s, t.create),
		Update.Handle(s, t.update),
		Delete.Handle(s, t.delete),
		Clear.Handle(s, t.clear),
		// accounts.go
		SignUp.Handle(s, t.signUp),
		Login.Handle(s, t.login),
		Logout.Handle(s, t.logout),
		Authenticate.Handle(s, t.authenticate),
		TokenCreate.Handle(s, t.tokenCreate),
		TokenList.Handle(s, t.tokenList),
		TokenDelete.Handle(s, t.tokenDelete),
		ListShare.Handle(s, t.listShare),
	}
	for _, e := range AllEvents {
		s.Sends(e)
	}
	s.Sends(TokenRevoked)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("todo: %w", err)
	}
	return s, nil
}

// server holds the handlers' state. It has no lock: the store numbers each
// change of a list in the change's own transaction (store.Store, "Changes"),
// so that events and listings carry the database's order, the same for every
// instance of the service; writes to different lists run in parallel.
type server struct {
	st  store.Store
	svc *service.Service
	log *slog.Logger
}

func (t *server) listAll(ctx context.Context, req ListLists) (Lists, error) {
	p, err := user(ctx)
	if err != nil {
		return Lists{}, err
	}
	ls, err := t.st.ListsFor(ctx, p.ID, store.Page{Limit: int(req.Limit), Cursor: req.Cursor})
	if err != nil {
		return Lists{}, err
	}
	return Lists{Lists: ls.Lists, Next: ls.Next}, nil
}

func (t *server) listCreate(ctx context.Context, req CreateList) (store.List, error) {
	p, err := user(ctx)
	if err != nil {
		return store.List{}, err
	}
	l, err := t.st.CreateListFor(ctx, p.ID, req.Name)
	if err != nil {
		return store.List{}, err
	}
	t.publish(ctx, ListCreated, Event{Kind: KindListCreated, List: l.ID, Epoch: t.st.Epoch(), ListInfo: &l, User: p.ID})
	return l, nil
}

// findList returns the list with id if the user of ctx's message may see
// it, else a not_found error: another user's list does not exist for them.
func (t *server) findList(ctx context.Context, id string) (store.List, error) {
	p, err := user(ctx)
	if err != nil {
		return store.List{}, err
	}
	return t.st.ListFor(ctx, p.ID, id)
}

func (t *server) list(ctx context.Context, req ListTodos) (Listing, error) {
	f, err := store.ParseFilter(req.Filter)
	if err != nil {
		return Listing{}, err
	}
	page := store.Page{Limit: int(req.Limit), Cursor: req.Cursor}
	if _, _, err := store.CheckPage(page); err != nil {
		return Listing{}, err
	}
	l, err := t.findList(ctx, req.List)
	if err != nil {
		return Listing{}, err
	}
	epoch := t.st.Epoch()
	// l.Seq was read with the list: if the caller has that change, it has
	// everything up to it.
	if req.Epoch != "" && req.Epoch == epoch && uint64(req.Seq) == l.Seq {
		return Listing{List: l, Filter: f, Epoch: epoch, Seq: l.Seq, NotModified: true}, nil
	}
	lst, err := t.st.List(ctx, req.List, f, page)
	if err != nil {
		return Listing{}, err
	}
	if lst.Todos == nil {
		lst.Todos = []store.Todo{}
	}
	return Listing{List: l, Filter: f, Todos: lst.Todos, Counts: lst.Counts, Next: lst.Next, Epoch: epoch, Seq: lst.Seq}, nil
}

// getIn returns todo id if it belongs to list and the user may see list.
func (t *server) getIn(ctx context.Context, list, id string) (store.Todo, error) {
	if _, err := t.findList(ctx, list); err != nil {
		return store.Todo{}, err
	}
	td, err := t.st.Get(ctx, id)
	if err != nil {
		return store.Todo{}, err
	}
	if td.ListID != list {
		return store.Todo{}, store.TodoNotFound(id)
	}
	return td, nil
}

func (t *server) get(ctx context.Context, req TodoRef) (store.Todo, error) {
	return t.getIn(ctx, req.List, req.ID)
}

func (t *server) create(ctx context.Context, req CreateTodo) (store.Todo, error) {
	nt, err := store.CheckNewTodo(store.NewTodo{ListID: req.List, Title: req.Title})
	if err != nil {
		return store.Todo{}, err
	}
	// The store checks that the user may see the list in the create's own
	// statement: no ListFor round trip first.
	p, err := user(ctx)
	if err != nil {
		return store.Todo{}, err
	}
	nt.User = p.ID
	if env := bus.EnvelopeFrom(ctx); env != nil {
		nt.IdempotencyKey = env.ID
	}
	td, err := t.st.Create(ctx, nt)
	if err != nil {
		return store.Todo{}, err
	}
	if td.ListSeq != 0 { // 0: a redelivered create, already made and told
		t.changed(ctx, TodoCreated, td.ListSeq, Event{Kind: KindCreated, List: td.ListID, Todo: &td})
	}
	return td, nil
}

func (t *server) update(ctx context.Context, req UpdateTodo) (store.Todo, error) {
	p := store.Patch{Title: req.Title, Version: int64(req.Version)}
	if req.Completed != nil {
		c := bool(*req.Completed)
		p.Completed = &c
	}
	p, err := store.CheckPatch(p)
	if err != nil {
		return store.Todo{}, err
	}
	before, err := t.getIn(ctx, req.List, req.ID)
	if err != nil {
		return store.Todo{}, err
	}
	td, err := t.st.Update(ctx, req.ID, p)
	if err != nil {
		return store.Todo{}, err
	}
	// WasCompleted is as this instance read it before: a concurrent update
	// may have changed it in between; followers recount on a gap.
	t.changed(ctx, TodoUpdated, td.ListSeq, Event{Kind: KindUpdated, List: td.ListID, Todo: &td, WasCompleted: before.Completed})
	return td, nil
}

func (t *server) delete(ctx context.Context, req TodoRef) (Deleted, error) {
	if _, err := t.getIn(ctx, req.List, req.ID); err != nil {
		return Deleted{}, err
	}
	gone, err := t.st.Delete(ctx, req.ID)
	if err != nil {
		return Deleted{}, err
	}
	t.changed(ctx, TodoDeleted, gone.ListSeq, Event{Kind: KindDeleted, List: gone.ListID, Todo: &gone, WasCompleted: gone.Completed})
	return Deleted{List: gone.ListID, ID: gone.ID}, nil
}

func (t *server) clear(ctx context.Context, req ClearTodos) (Cleared, error) {
	if !req.Completed {
		return Cleared{}, troupe.Errorf(troupe.CodeBadRequest, "completed: only completed todos can be cleared; say completed=true")
	}
	if _, err := t.findList(ctx, req.List); err != nil {
		return Cleared{}, err
	}
	c, err := t.st.ClearCompleted(ctx, req.List)
	if err != nil {
		return Cleared{}, err
	}
	if c.Count > 0 {
		t.changed(ctx, TodoCleared, c.Seq, Event{Kind: KindCleared, List: req.List, Cleared: c.Count})
	}
	return Cleared{List: req.List, Cleared: c.Count}, nil
}

// changed publishes the event of the change numbered seq of ev.List.
func (t *server) changed(ctx context.Context, e service.Event[Event], seq uint64, ev Event) {
	ev.Seq = seq
	ev.Epoch = t.st.Epoch()
	t.publish(ctx, e, ev)
}

// publish publishes an event. A change that was made stays made if its event
// cannot be published: followers see a gap in the sequence numbers (or
// nothing, until the next change) and ask for the listing again.
func (t *server) publish(ctx context.Context, e service.Event[Event], ev Event) {
	if err := e.Publish(context.WithoutCancel(ctx), t.svc, ev); err != nil {
		t.log.Warn("todo: publish failed", "event", e.Name, "list", ev.List, "err", err)
	}
}
