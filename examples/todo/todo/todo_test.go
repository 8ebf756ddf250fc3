package todo_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/examples/todo/internal/apptest"
	"github.com/troupe-go/troupe/examples/todo/store"
	"github.com/troupe-go/troupe/examples/todo/todo"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// requester is the test member, as a user or as itself.
type requester interface {
	Request(ctx context.Context, name string, payload any) (*troupe.Envelope, error)
}

// asUser is the test member sending on behalf of a user.
type asUser struct {
	c *bus.Client
	u *apptest.User
}

func (a asUser) Request(ctx context.Context, name string, payload any) (*troupe.Envelope, error) {
	return a.c.Request(a.u.Ctx(ctx), name, payload)
}

// as returns the test member of a sending on behalf of a new user name.
func as(t *testing.T, a *apptest.App, name string) (asUser, *apptest.User) {
	u := a.SignUp(t, name)
	return asUser{a.Client, u}, u
}

// request sends a request as the test member and decodes the reply.
func request[Rep any](t *testing.T, c requester, name string, req any) (Rep, error) {
	t.Helper()
	var rep Rep
	env, err := c.Request(context.Background(), name, req)
	if err != nil {
		return rep, err
	}
	if err := json.Unmarshal(env.Payload, &rep); err != nil {
		t.Fatalf("%s: reply %s: %v", name, env.Payload, err)
	}
	return rep, nil
}

// events collects the events the test member receives.
type events struct {
	mu  sync.Mutex
	evs []todo.Event
	ch  chan struct{}
}

func follow(t *testing.T, c *bus.Client) *events {
	e := &events{ch: make(chan struct{}, 100)}
	for _, name := range todo.Events {
		if err := c.Handle(name, bus.HandlerFunc(func(_ context.Context, m *bus.Msg) {
			var ev todo.Event
			if err := json.Unmarshal(m.Env.Payload, &ev); err != nil {
				t.Errorf("event %s: %v", m.Env.Name, err)
			}
			e.mu.Lock()
			e.evs = append(e.evs, ev)
			e.mu.Unlock()
			m.Done(nil)
			e.ch <- struct{}{}
		})); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// wait waits for n events in all and returns them sorted by sequence number.
func (e *events) wait(t *testing.T, n int) []todo.Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		e.mu.Lock()
		if len(e.evs) >= n {
			out := append([]todo.Event(nil), e.evs...)
			e.mu.Unlock()
			sortBySeq(out)
			return out
		}
		e.mu.Unlock()
		select {
		case <-e.ch:
		case <-deadline:
			t.Fatalf("got %d events, want %d", len(e.evs), n)
		}
	}
}

func sortBySeq(evs []todo.Event) {
	for i := 1; i < len(evs); i++ {
		for j := i; j > 0 && evs[j].Seq < evs[j-1].Seq; j-- {
			evs[j], evs[j-1] = evs[j-1], evs[j]
		}
	}
}

func TestLifecycleAndEvents(t *testing.T) {
	a := apptest.Start(t, apptest.Options{})
	evs := follow(t, a.Client)
	c, u := as(t, a, "ann")

	milk, err := request[store.Todo](t, c, todo.MsgCreate, todo.CreateTodo{List: u.List, Title: "  buy milk "})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := milk.Title, "buy milk"; got != want {
		t.Errorf("title %q, want %q", got, want)
	}
	bread, err := request[store.Todo](t, c, todo.MsgCreate, todo.CreateTodo{List: u.List, Title: "bread"})
	if err != nil {
		t.Fatal(err)
	}
	done := todo.Bool(true)
	upd, err := request[store.Todo](t, c, todo.MsgUpdate, todo.UpdateTodo{List: u.List, ID: milk.ID, Completed: &done})
	if err != nil {
		t.Fatal(err)
	}
	if !upd.Completed || upd.Version != 2 {
		t.Errorf("updated %+v, want completed at version 2", upd)
	}
	if _, err := request[todo.Deleted](t, c, todo.MsgDelete, todo.TodoRef{List: u.List, ID: bread.ID}); err != nil {
		t.Fatal(err)
	}
	cl, err := request[todo.Cleared](t, c, todo.MsgClear, todo.ClearTodos{List: u.List, Completed: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cl.Cleared, 1; got != want {
		t.Errorf("cleared %d, want %d", got, want)
	}

	evsGot := evs.wait(t, 5)
	type short struct {
		Kind         string
		Seq          uint64
		ID           string
		WasCompleted bool
		Cleared      int
	}
	var shorts []short
	for _, ev := range evsGot {
		s := short{Kind: ev.Kind, Seq: ev.Seq, WasCompleted: ev.WasCompleted, Cleared: ev.Cleared}
		if ev.Todo != nil {
			s.ID = ev.Todo.ID
		}
		if ev.List != u.List || ev.Epoch == "" {
			t.Errorf("event %+v: list or epoch wrong", ev)
		}
		shorts = append(shorts, s)
	}
	want := []short{
		{Kind: todo.KindCreated, Seq: 1, ID: milk.ID},
		{Kind: todo.KindCreated, Seq: 2, ID: bread.ID},
		{Kind: todo.KindUpdated, Seq: 3, ID: milk.ID},
		{Kind: todo.KindDeleted, Seq: 4, ID: bread.ID},
		{Kind: todo.KindCleared, Seq: 5, Cleared: 1},
	}
	if diff := cmp.Diff(want, shorts); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}

	lst, err := request[todo.Listing](t, c, todo.MsgList, todo.ListTodos{List: u.List})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := lst.Seq, uint64(5); got != want {
		t.Errorf("listing seq %d, want %d", got, want)
	}
	if got, want := lst.Epoch, evsGot[0].Epoch; got != want {
		t.Errorf("listing epoch %q, want %q", got, want)
	}
	if len(lst.Todos) != 0 || lst.Counts != (store.Counts{}) {
		t.Errorf("listing %+v, want empty", lst)
	}
}

func TestErrorsKeepTheirCodes(t *testing.T) {
	a := apptest.Start(t, apptest.Options{})
	c, u := as(t, a, "ann")
	td, err := request[store.Todo](t, c, todo.MsgCreate, todo.CreateTodo{List: u.List, Title: "one"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := request[store.List](t, c, todo.MsgListCreate, todo.CreateList{Name: "other"})
	if err != nil {
		t.Fatal(err)
	}
	title := "two"
	for _, tt := range []struct {
		name string
		msg  string
		req  any
		want *troupe.Error
	}{
		{"empty title", todo.MsgCreate, todo.CreateTodo{List: u.List, Title: "  "}, troupe.ErrBadRequest},
		{"long title", todo.MsgCreate, todo.CreateTodo{List: u.List, Title: strings.Repeat("x", 501)}, troupe.ErrBadRequest},
		{"unknown list", todo.MsgCreate, todo.CreateTodo{List: "nope", Title: "x"}, troupe.ErrNotFound},
		{"list unknown list", todo.MsgList, todo.ListTodos{List: "nope"}, troupe.ErrNotFound},
		{"bad filter", todo.MsgList, todo.ListTodos{List: u.List, Filter: "some"}, troupe.ErrBadRequest},
		{"unknown todo", todo.MsgGet, todo.TodoRef{List: u.List, ID: "nope"}, troupe.ErrNotFound},
		{"todo of another list", todo.MsgGet, todo.TodoRef{List: other.ID, ID: td.ID}, troupe.ErrNotFound},
		{"delete from another list", todo.MsgDelete, todo.TodoRef{List: other.ID, ID: td.ID}, troupe.ErrNotFound},
		{"update changes nothing", todo.MsgUpdate, todo.UpdateTodo{List: u.List, ID: td.ID}, troupe.ErrBadRequest},
		{"stale version", todo.MsgUpdate, todo.UpdateTodo{List: u.List, ID: td.ID, Title: &title, Version: 7}, troupe.ErrConflict},
		{"clear without completed", todo.MsgClear, todo.ClearTodos{List: u.List}, troupe.ErrBadRequest},
		{"malformed payload", todo.MsgCreate, json.RawMessage(`{"title": 5}`), troupe.ErrBadRequest},
		{"malformed bool", todo.MsgUpdate, json.RawMessage(`{"list":"default","id":"x","completed":"yes"}`), troupe.ErrBadRequest},
		{"empty list name", todo.MsgListCreate, todo.CreateList{Name: ""}, troupe.ErrBadRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Request(context.Background(), tt.msg, tt.req)
			if !errors.Is(err, tt.want) {
				t.Errorf("error %v (code %s), want code %s", err, troupe.CodeOf(err), tt.want.Code)
			}
		})
	}
	// Nothing changed.
	got, err := request[store.Todo](t, c, todo.MsgGet, todo.TodoRef{List: u.List, ID: td.ID})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(td, got); diff != "" {
		t.Errorf("todo changed (-before +after):\n%s", diff)
	}
}

func TestScalarsFromQueryStrings(t *testing.T) {
	for _, tt := range []struct {
		in       string
		wantBool todo.Bool
		boolErr  bool
		wantInt  todo.Int
		intErr   bool
	}{
		{in: `true`, wantBool: true, intErr: true},
		{in: `"true"`, wantBool: true, intErr: true},
		{in: `false`, intErr: true},
		{in: `"false"`, intErr: true},
		{in: `null`},
		{in: `3`, boolErr: true, wantInt: 3},
		{in: `"42"`, boolErr: true, wantInt: 42},
		{in: `"-1"`, boolErr: true, wantInt: -1},
		{in: `"yes"`, boolErr: true, intErr: true},
		{in: `1.5`, boolErr: true, intErr: true},
		{in: `"99999999999999999999"`, boolErr: true, intErr: true},
		{in: `{}`, boolErr: true, intErr: true},
	} {
		t.Run(tt.in, func(t *testing.T) {
			var b todo.Bool
			err := json.Unmarshal([]byte(tt.in), &b)
			if (err != nil) != tt.boolErr || err == nil && b != tt.wantBool {
				t.Errorf("Bool: got %v, %v; want %v, error %v", b, err, tt.wantBool, tt.boolErr)
			}
			var n todo.Int
			err = json.Unmarshal([]byte(tt.in), &n)
			if (err != nil) != tt.intErr || err == nil && n != tt.wantInt {
				t.Errorf("Int: got %v, %v; want %v, error %v", n, err, tt.wantInt, tt.intErr)
			}
		})
	}
}

// FuzzUpdateTodo decodes client input (a todo.update payload, as the gateway
// builds it from a PATCH) and checks that it never panics and that what
// decodes encodes again.
func FuzzUpdateTodo(f *testing.F) {
	for _, s := range []string{
		`{"list":"default","id":"x","title":"milk","completed":true,"version":3}`,
		`{"list":"default","id":"x","completed":"false","version":"2"}`,
		`{"completed":"maybe"}`, `{"version":1e400}`, `null`, `[]`, `{"title":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var u todo.UpdateTodo
		if err := json.Unmarshal(data, &u); err != nil {
			return
		}
		out, err := json.Marshal(u)
		if err != nil {
			t.Fatalf("decoded %q but cannot encode %+v: %v", data, u, err)
		}
		var again todo.UpdateTodo
		if err := json.Unmarshal(out, &again); err != nil {
			t.Fatalf("re-decoding %s: %v", out, err)
		}
		if diff := cmp.Diff(u, again); diff != "" {
			t.Errorf("round trip (-first +second):\n%s", diff)
		}
	})
}

// TestListingNotModified: a todo.list that names the epoch and sequence
// number the caller has is answered without todos until the list changes.
func TestListingNotModified(t *testing.T) {
	a := apptest.Start(t, apptest.Options{})
	c, u := as(t, a, "ann")
	if _, err := request[store.Todo](t, c, todo.MsgCreate, todo.CreateTodo{List: u.List, Title: "one"}); err != nil {
		t.Fatal(err)
	}
	full, err := request[todo.Listing](t, c, todo.MsgList, todo.ListTodos{List: u.List})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		req     todo.ListTodos
		wantNot bool
		wantLen int
	}{
		{"same state", todo.ListTodos{List: u.List, Epoch: full.Epoch, Seq: todo.Int(full.Seq)}, true, 0},
		{"older seq", todo.ListTodos{List: u.List, Epoch: full.Epoch, Seq: todo.Int(full.Seq - 1)}, false, 1},
		{"other epoch", todo.ListTodos{List: u.List, Epoch: "other", Seq: todo.Int(full.Seq)}, false, 1},
		{"no epoch", todo.ListTodos{List: u.List}, false, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := request[todo.Listing](t, c, todo.MsgList, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if got.NotModified != tt.wantNot || len(got.Todos) != tt.wantLen || got.Seq != full.Seq {
				t.Errorf("notModified %v with %d todos at seq %d; want %v, %d, seq %d", got.NotModified, len(got.Todos), got.Seq, tt.wantNot, tt.wantLen, full.Seq)
			}
		})
	}
	if _, err := request[store.Todo](t, c, todo.MsgCreate, todo.CreateTodo{List: u.List, Title: "two"}); err != nil {
		t.Fatal(err)
	}
	got, err := request[todo.Listing](t, c, todo.MsgList, todo.ListTodos{List: u.List, Epoch: full.Epoch, Seq: todo.Int(full.Seq)})
	if err != nil {
		t.Fatal(err)
	}
	if got.NotModified || len(got.Todos) != 2 || got.Seq != full.Seq+1 {
		t.Errorf("after a change: notModified %v, %d todos, seq %d; want a full listing of 2 at seq %d", got.NotModified, len(got.Todos), got.Seq, full.Seq+1)
	}
	if _, err := c.Request(context.Background(), todo.MsgList, todo.ListTodos{List: "nope", Epoch: got.Epoch}); !errors.Is(err, troupe.ErrNotFound) {
		t.Errorf("unknown list with the epoch: %v, want not_found", err)
	}
}

// TestListingsArePaged: todo.list and list.all return one page and the
// cursor of the next; a limit out of range or a foreign cursor is a
// bad_request, and the counts are those of the whole list on every page.
func TestListingsArePaged(t *testing.T) {
	a := apptest.Start(t, apptest.Options{})
	c, u := as(t, a, "ann")
	const n = store.DefaultLimit + 3
	for i := range n {
		if _, err := request[store.Todo](t, c, todo.MsgCreate, todo.CreateTodo{List: u.List, Title: fmt.Sprintf("todo %02d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	first, err := request[todo.Listing](t, c, todo.MsgList, todo.ListTodos{List: u.List})
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Todos) != store.DefaultLimit || first.Next == "" || first.Counts.Total != n {
		t.Fatalf("first page: %d todos, next %q, total %d; want %d, a next page, %d", len(first.Todos), first.Next, first.Counts.Total, store.DefaultLimit, n)
	}
	// The gateway passes query parameters as strings.
	raw := json.RawMessage(fmt.Sprintf(`{"list":%q,"limit":"2","cursor":%q}`, u.List, first.Next))
	second, err := request[todo.Listing](t, c, todo.MsgList, raw)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(second.Todos), 2; got != want || second.Next == "" || second.Todos[0].Title != fmt.Sprintf("todo %02d", store.DefaultLimit) {
		t.Errorf("second page: %d todos from %q, next %q; want %d from todo %02d", got, second.Todos[0].Title, second.Next, want, store.DefaultLimit)
	}
	last, err := request[todo.Listing](t, c, todo.MsgList, todo.ListTodos{List: u.List, Cursor: second.Next})
	if err != nil {
		t.Fatal(err)
	}
	if len(last.Todos) != 1 || last.Next != "" || last.Counts != first.Counts {
		t.Errorf("last page: %d todos, next %q, counts %+v; want 1, none, %+v", len(last.Todos), last.Next, last.Counts, first.Counts)
	}
	for _, bad := range []todo.ListTodos{
		{List: u.List, Limit: store.MaxLimit + 1},
		{List: u.List, Limit: -1},
		{List: u.List, Cursor: "nope"},
	} {
		if _, err := c.Request(context.Background(), todo.MsgList, bad); !errors.Is(err, troupe.ErrBadRequest) {
			t.Errorf("todo.list %+v: %v, want bad_request", bad, err)
		}
	}
	for i := range 3 {
		if _, err := request[store.List](t, c, todo.MsgListCreate, todo.CreateList{Name: fmt.Sprint("list ", i)}); err != nil {
			t.Fatal(err)
		}
	}
	ls, err := request[todo.Lists](t, c, todo.MsgListAll, todo.ListLists{Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(ls.Lists) != 3 || ls.Lists[0].ID != u.List || ls.Next == "" {
		t.Fatalf("list.all limit 3: %+v; want the user's first list first and a next page", ls)
	}
	rest, err := request[todo.Lists](t, c, todo.MsgListAll, todo.ListLists{Cursor: ls.Next})
	if err != nil {
		t.Fatal(err)
	}
	if len(rest.Lists) != 1 || rest.Next != "" {
		t.Errorf("list.all after the cursor: %+v; want one list and no next page", rest)
	}
}
