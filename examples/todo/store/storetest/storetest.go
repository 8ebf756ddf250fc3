// Package storetest is the conformance suite of [store.Store]: every
// implementation runs it, so the SQLite and the PostgreSQL store are proven
// to behave the same.
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "todo.db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/examples/todo/store"
)

// Run runs the suite against the stores newStore makes. Each call of
// newStore must return a new, empty store (only the default list) and
// arrange for it to be closed when t ends; Close must be safe to call twice,
// as the suite closes some stores itself.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"DefaultList", testDefaultList},
		{"CreateGet", testCreateGet},
		{"Validation", testValidation},
		{"PatchValidation", testPatchValidation},
		{"NotFound", testNotFound},
		{"Update", testUpdate},
		{"FiltersAndCounts", testFiltersAndCounts},
		{"Lists", testLists},
		{"DeleteList", testDeleteList},
		{"Delete", testDelete},
		{"ClearCompleted", testClearCompleted},
		{"Ordering", testOrdering},
		{"CompareAndSet", testCompareAndSet},
		{"CompareAndSetConcurrent", testCompareAndSetConcurrent},
		{"LastWriteWinsConcurrent", testLastWriteWinsConcurrent},
		{"ConcurrentCreates", testConcurrentCreates},
		{"IdempotentCreate", testIdempotentCreate},
		{"IdempotentCreateConcurrent", testIdempotentCreateConcurrent},
		{"FailedCreateWritesNothing", testFailedCreateWritesNothing},
		{"VerbatimTitles", testVerbatimTitles},
		{"LargeList", testLargeList},
		{"Pages", testPages},
		{"PagesFiltered", testPagesFiltered},
		{"PagesStable", testPagesStable},
		{"BadPages", testBadPages},
		{"CountsKept", testCountsKept},
		{"ListsPages", testListsPages},
		{"GetList", testGetList},
		{"DeadlinePassed", testDeadlinePassed},
		{"Closed", testClosed},
		{"Changes", testChanges},
		{"ChangesConcurrent", testChangesConcurrent},
	}
	tests = append(tests, accountTests...) // accounts.go
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newStore(t))
		})
	}
}

// ignoreSeq leaves the change numbers out of comparisons of lists, todos
// and listings; testChanges checks them.
var ignoreSeq = cmp.Options{
	cmpopts.IgnoreFields(store.Todo{}, "ListSeq"),
	cmpopts.IgnoreFields(store.Listing{}, "Seq"),
	cmpopts.IgnoreFields(store.List{}, "Seq"),
}

// mustCreate creates a todo in list or fails the test.
func mustCreate(t testing.TB, s store.Store, list, title string) store.Todo {
	t.Helper()
	td, err := s.Create(context.Background(), store.NewTodo{ListID: list, Title: title})
	if err != nil {
		t.Fatalf("Create(%q, %q): %v", list, title, err)
	}
	return td
}

// mustList returns every todo of list that passes f, following the pages
// of MaxLimit todos, with the counts (which every page must agree on), or
// fails the test.
func mustList(t testing.TB, s store.Store, list string, f store.Filter) store.Listing {
	t.Helper()
	var all store.Listing
	p := store.Page{Limit: store.MaxLimit}
	for i := 0; ; i++ {
		l, err := s.List(context.Background(), list, f, p)
		if err != nil {
			t.Fatalf("List(%q, %q, %+v): %v", list, f, p, err)
		}
		if i == 0 {
			all.Counts, all.Todos, all.Seq = l.Counts, l.Todos, l.Seq
		} else {
			if l.Counts != all.Counts {
				t.Fatalf("List(%q, %q) page %d: counts %+v, page 0 had %+v", list, f, i, l.Counts, all.Counts)
			}
			all.Todos = append(all.Todos, l.Todos...)
		}
		if l.Next == "" {
			return all
		}
		if len(l.Todos) != p.Limit {
			t.Fatalf("List(%q, %q) page %d: %d todos and a next page, want %d", list, f, i, len(l.Todos), p.Limit)
		}
		p.Cursor = l.Next
	}
}

// mustLists returns every list, following the pages, or fails the test.
func mustLists(t testing.TB, s store.Store) []store.List {
	t.Helper()
	var all []store.List
	p := store.Page{Limit: store.MaxLimit}
	for {
		ls, err := s.Lists(context.Background(), p)
		if err != nil {
			t.Fatalf("Lists(%+v): %v", p, err)
		}
		all = append(all, ls.Lists...)
		if ls.Next == "" {
			return all
		}
		p.Cursor = ls.Next
	}
}

func ptr[T any](v T) *T { return &v }

// wantCode fails the test unless err is a *troupe.Error with code c.
func wantCode(t *testing.T, what string, err error, c troupe.Code) {
	t.Helper()
	var te *troupe.Error
	if !errors.As(err, &te) {
		t.Fatalf("%s: err = %v (%T), want a *troupe.Error with code %s", what, err, err, c)
	}
	if te.Code != c {
		t.Fatalf("%s: code = %s (%v), want %s", what, te.Code, err, c)
	}
}

func titles(ts []store.Todo) []string {
	out := make([]string, len(ts))
	for i, td := range ts {
		out[i] = td.Title
	}
	return out
}

func testDefaultList(t *testing.T, s store.Store) {
	ls := mustLists(t, s)
	if len(ls) != 1 {
		t.Fatalf("Lists: got %d lists, want 1: %+v", len(ls), ls)
	}
	if got, want := ls[0].ID, store.DefaultListID; got != want {
		t.Errorf("default list id: got %q, want %q", got, want)
	}
	if got, want := ls[0].Name, store.DefaultListName; got != want {
		t.Errorf("default list name: got %q, want %q", got, want)
	}
	if ls[0].CreatedAt.IsZero() {
		t.Errorf("default list CreatedAt is zero")
	}
	l := mustList(t, s, store.DefaultListID, store.FilterAll)
	if got, want := l, (store.Listing{Todos: []store.Todo{}}); !cmp.Equal(got, want) {
		t.Errorf("List(default): got %+v, want %+v", got, want)
	}
}

func testCreateGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	td := mustCreate(t, s, store.DefaultListID, "  buy milk \n")
	if got, want := td.Title, "buy milk"; got != want {
		t.Errorf("title: got %q, want %q (trimmed)", got, want)
	}
	if td.ID == "" || td.ListID != store.DefaultListID || td.Completed || td.Version != 1 {
		t.Errorf("Create: got %+v, want an id, the default list, not completed, version 1", td)
	}
	if td.CreatedAt.IsZero() || !td.UpdatedAt.Equal(td.CreatedAt) {
		t.Errorf("Create: CreatedAt %v, UpdatedAt %v: want equal and set", td.CreatedAt, td.UpdatedAt)
	}
	got, err := s.Get(ctx, td.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(td, got, ignoreSeq); diff != "" {
		t.Errorf("Get differs from Create (-create +get):\n%s", diff)
	}
	l := mustList(t, s, store.DefaultListID, store.FilterAll)
	if diff := cmp.Diff(store.Listing{Todos: []store.Todo{td}, Counts: store.Counts{Active: 1, Total: 1}}, l, ignoreSeq); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
}

func testValidation(t *testing.T, s store.Store) {
	ctx := t.Context()
	tests := []struct {
		name    string
		todo    store.NewTodo
		wantMsg string // "" means the create succeeds
		want    string // the stored title, when it succeeds
	}{
		{name: "empty", todo: store.NewTodo{Title: ""}, wantMsg: "title: must not be empty"},
		{name: "whitespace", todo: store.NewTodo{Title: " \t\n\u00a0\u3000 "}, wantMsg: "title: must not be empty"},
		{name: "501 runes", todo: store.NewTodo{Title: strings.Repeat("é", 501)}, wantMsg: "title: must be at most 500 characters, not 501"},
		{name: "invalid UTF-8", todo: store.NewTodo{Title: "ab\xffcd"}, wantMsg: "title: must be valid UTF-8"},
		{name: "NUL", todo: store.NewTodo{Title: "a\x00b"}, wantMsg: "title: must not contain control characters"},
		{name: "newline inside", todo: store.NewTodo{Title: "a\nb"}, wantMsg: "title: must not contain control characters"},
		{name: "no list", todo: store.NewTodo{ListID: "-", Title: "x"}, wantMsg: "listId: must not be empty"},
		{name: "key too long", todo: store.NewTodo{Title: "x", IdempotencyKey: strings.Repeat("k", store.MaxKeyBytes+1)}, wantMsg: "idempotency key: must be at most 200 bytes"},
		{name: "500 runes", todo: store.NewTodo{Title: strings.Repeat("é", 500)}, want: strings.Repeat("é", 500)},
		{name: "500 runes and spaces", todo: store.NewTodo{Title: "  " + strings.Repeat("z", 500) + "  "}, want: strings.Repeat("z", 500)},
		{name: "emoji", todo: store.NewTodo{Title: "🎉 party 🎉"}, want: "🎉 party 🎉"},
	}
	created := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nt := tt.todo
			switch nt.ListID {
			case "":
				nt.ListID = store.DefaultListID
			case "-":
				nt.ListID = ""
			}
			td, err := s.Create(ctx, nt)
			if tt.wantMsg == "" {
				if err != nil {
					t.Fatalf("Create: %v", err)
				}
				created++
				if got, want := td.Title, tt.want; got != want {
					t.Errorf("title: got %q, want %q", got, want)
				}
				return
			}
			wantCode(t, "Create", err, troupe.CodeBadRequest)
			if !errors.Is(err, troupe.ErrBadRequest) {
				t.Errorf("errors.Is(%v, ErrBadRequest) = false", err)
			}
			if got, want := err.Error(), tt.wantMsg; got != want {
				t.Errorf("message: got %q, want %q", got, want)
			}
		})
	}
	l := mustList(t, s, store.DefaultListID, store.FilterAll)
	if got, want := l.Counts.Total, created; got != want {
		t.Errorf("todos after validation: got %d, want %d (bad input must change nothing)", got, want)
	}
}

func testPatchValidation(t *testing.T, s store.Store) {
	ctx := t.Context()
	td := mustCreate(t, s, store.DefaultListID, "original")
	tests := []struct {
		name    string
		patch   store.Patch
		wantMsg string
	}{
		{"empty patch", store.Patch{}, "patch: must change the title or completed"},
		{"version only", store.Patch{Version: 1}, "patch: must change the title or completed"},
		{"empty title", store.Patch{Title: ptr("   ")}, "title: must not be empty"},
		{"long title", store.Patch{Title: ptr(strings.Repeat("x", 501))}, "title: must be at most 500 characters, not 501"},
		{"invalid UTF-8", store.Patch{Title: ptr("\xc3\x28")}, "title: must be valid UTF-8"},
		{"negative version", store.Patch{Completed: ptr(true), Version: -1}, "version: must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Update(ctx, td.ID, tt.patch)
			wantCode(t, "Update", err, troupe.CodeBadRequest)
			if got, want := err.Error(), tt.wantMsg; got != want {
				t.Errorf("message: got %q, want %q", got, want)
			}
		})
	}
	got, err := s.Get(ctx, td.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(td, got, ignoreSeq); diff != "" {
		t.Errorf("todo changed by rejected patches (-before +after):\n%s", diff)
	}
}

func testNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	other := mustCreate(t, s, store.DefaultListID, "bystander")
	ids := []string{troupe.NewID(), "nope", "", strings.Repeat("x", 10000), "\xff\xfe", "a\x00b", "'; DROP TABLE todos; --"}
	for _, id := range ids {
		name := fmt.Sprintf("%.20q", id)
		t.Run(name, func(t *testing.T) {
			_, err := s.Get(ctx, id)
			wantCode(t, "Get", err, troupe.CodeNotFound)
			_, err = s.Update(ctx, id, store.Patch{Completed: ptr(true)})
			wantCode(t, "Update", err, troupe.CodeNotFound)
			_, err = s.Delete(ctx, id)
			wantCode(t, "Delete", err, troupe.CodeNotFound)
			_, err = s.List(ctx, id, store.FilterAll, store.Page{})
			wantCode(t, "List", err, troupe.CodeNotFound)
			_, err = s.ClearCompleted(ctx, id)
			wantCode(t, "ClearCompleted", err, troupe.CodeNotFound)
			err = s.DeleteList(ctx, id)
			wantCode(t, "DeleteList", err, troupe.CodeNotFound)
			if id != "" {
				_, err = s.Create(ctx, store.NewTodo{ListID: id, Title: "x"})
				wantCode(t, "Create", err, troupe.CodeNotFound)
				if !errors.Is(err, troupe.ErrNotFound) {
					t.Errorf("errors.Is(%v, ErrNotFound) = false", err)
				}
			}
		})
	}
	l := mustList(t, s, store.DefaultListID, store.FilterAll)
	if diff := cmp.Diff([]store.Todo{other}, l.Todos, ignoreSeq); diff != "" {
		t.Errorf("default list changed (-want +got):\n%s", diff)
	}
}

func testUpdate(t *testing.T, s store.Store) {
	ctx := t.Context()
	td := mustCreate(t, s, store.DefaultListID, "write tests")
	tests := []struct {
		name          string
		patch         store.Patch
		wantTitle     string
		wantCompleted bool
	}{
		{"complete", store.Patch{Completed: ptr(true)}, "write tests", true},
		{"rename", store.Patch{Title: ptr("  write more tests ")}, "write more tests", true},
		{"uncomplete", store.Patch{Completed: ptr(false)}, "write more tests", false},
		{"both", store.Patch{Title: ptr("ship"), Completed: ptr(true)}, "ship", true},
		{"same again", store.Patch{Completed: ptr(true)}, "ship", true},
	}
	version := td.Version
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Update(ctx, td.ID, tt.patch)
			if err != nil {
				t.Fatal(err)
			}
			version++
			want := td
			want.Title, want.Completed, want.Version, want.UpdatedAt = tt.wantTitle, tt.wantCompleted, version, got.UpdatedAt
			if diff := cmp.Diff(want, got, ignoreSeq); diff != "" {
				t.Errorf("Update (-want +got):\n%s", diff)
			}
			if got.UpdatedAt.Before(td.CreatedAt) {
				t.Errorf("UpdatedAt %v before CreatedAt %v", got.UpdatedAt, td.CreatedAt)
			}
			again, err := s.Get(ctx, td.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, again, ignoreSeq); diff != "" {
				t.Errorf("Get after Update (-update +get):\n%s", diff)
			}
		})
	}
}

func testFiltersAndCounts(t *testing.T, s store.Store) {
	ctx := t.Context()
	var all []store.Todo
	for i := range 5 {
		all = append(all, mustCreate(t, s, store.DefaultListID, fmt.Sprintf("todo %d", i)))
	}
	for _, i := range []int{1, 3} {
		td, err := s.Update(ctx, all[i].ID, store.Patch{Completed: ptr(true)})
		if err != nil {
			t.Fatal(err)
		}
		all[i] = td
	}
	counts := store.Counts{Active: 3, Completed: 2, Total: 5}
	tests := []struct {
		filter store.Filter
		want   []store.Todo
	}{
		{"", all},
		{store.FilterAll, all},
		{store.FilterActive, []store.Todo{all[0], all[2], all[4]}},
		{store.FilterCompleted, []store.Todo{all[1], all[3]}},
	}
	for _, tt := range tests {
		t.Run(string(tt.filter), func(t *testing.T) {
			got := mustList(t, s, store.DefaultListID, tt.filter)
			if diff := cmp.Diff(store.Listing{Todos: tt.want, Counts: counts}, got, ignoreSeq); diff != "" {
				t.Errorf("List(%q) (-want +got):\n%s", tt.filter, diff)
			}
		})
	}
	t.Run("bad filter", func(t *testing.T) {
		_, err := s.List(ctx, store.DefaultListID, "done", store.Page{})
		wantCode(t, "List", err, troupe.CodeBadRequest)
	})
}

func testLists(t *testing.T, s store.Store) {
	ctx := t.Context()
	work, err := s.CreateList(ctx, "  Work ")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := work.Name, "Work"; got != want {
		t.Errorf("list name: got %q, want %q", got, want)
	}
	home, err := s.CreateList(ctx, "Home <b>")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "  ", strings.Repeat("n", store.MaxListNameRunes+1), "\xff"} {
		if _, err := s.CreateList(ctx, bad); err == nil {
			t.Errorf("CreateList(%.20q): no error", bad)
		} else {
			wantCode(t, "CreateList", err, troupe.CodeBadRequest)
		}
	}
	ls := mustLists(t, s)
	var ids []string
	for _, l := range ls {
		ids = append(ids, l.ID)
	}
	if diff := cmp.Diff([]string{store.DefaultListID, work.ID, home.ID}, ids, ignoreSeq); diff != "" {
		t.Errorf("Lists ids (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]store.List{work, home}, ls[1:], ignoreSeq); diff != "" {
		t.Errorf("Lists (-want +got):\n%s", diff)
	}

	w1 := mustCreate(t, s, work.ID, "report")
	h1 := mustCreate(t, s, home.ID, "dishes")
	h2 := mustCreate(t, s, home.ID, "laundry")
	for _, tt := range []struct {
		list string
		want []store.Todo
	}{
		{work.ID, []store.Todo{w1}},
		{home.ID, []store.Todo{h1, h2}},
		{store.DefaultListID, []store.Todo{}},
	} {
		got := mustList(t, s, tt.list, store.FilterAll)
		if diff := cmp.Diff(tt.want, got.Todos, ignoreSeq); diff != "" {
			t.Errorf("List(%q) (-want +got):\n%s", tt.list, diff)
		}
		if got, want := got.Counts.Total, len(tt.want); got != want {
			t.Errorf("List(%q) total: got %d, want %d", tt.list, got, want)
		}
	}
}

func testDeleteList(t *testing.T, s store.Store) {
	ctx := t.Context()
	l, err := s.CreateList(ctx, "doomed")
	if err != nil {
		t.Fatal(err)
	}
	td := mustCreate(t, s, l.ID, "goes with it")
	keep := mustCreate(t, s, store.DefaultListID, "stays")
	if err := s.DeleteList(ctx, l.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.Get(ctx, td.ID)
	wantCode(t, "Get of a todo of a deleted list", err, troupe.CodeNotFound)
	_, err = s.List(ctx, l.ID, store.FilterAll, store.Page{})
	wantCode(t, "List of a deleted list", err, troupe.CodeNotFound)
	wantCode(t, "DeleteList again", s.DeleteList(ctx, l.ID), troupe.CodeNotFound)
	wantCode(t, "DeleteList(default)", s.DeleteList(ctx, store.DefaultListID), troupe.CodeBadRequest)
	got := mustList(t, s, store.DefaultListID, store.FilterAll)
	if diff := cmp.Diff([]store.Todo{keep}, got.Todos, ignoreSeq); diff != "" {
		t.Errorf("default list (-want +got):\n%s", diff)
	}
}

func testDelete(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := mustCreate(t, s, store.DefaultListID, "a")
	b := mustCreate(t, s, store.DefaultListID, "b")
	gone, err := s.Delete(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, gone, ignoreSeq); diff != "" {
		t.Errorf("Delete returned (-want +got):\n%s", diff)
	}
	_, err = s.Get(ctx, a.ID)
	wantCode(t, "Get after Delete", err, troupe.CodeNotFound)
	_, err = s.Delete(ctx, a.ID)
	wantCode(t, "Delete again", err, troupe.CodeNotFound)
	_, err = s.Update(ctx, a.ID, store.Patch{Completed: ptr(true)})
	wantCode(t, "Update after Delete", err, troupe.CodeNotFound)
	got := mustList(t, s, store.DefaultListID, store.FilterAll)
	if diff := cmp.Diff(store.Listing{Todos: []store.Todo{b}, Counts: store.Counts{Active: 1, Total: 1}}, got, ignoreSeq); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
}

func testClearCompleted(t *testing.T, s store.Store) {
	ctx := t.Context()
	other, err := s.CreateList(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	otherDone := mustCreate(t, s, other.ID, "done elsewhere")
	if otherDone, err = s.Update(ctx, otherDone.ID, store.Patch{Completed: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	var active []store.Todo
	for i := range 6 {
		td := mustCreate(t, s, store.DefaultListID, fmt.Sprint(i))
		if i%2 == 0 {
			if _, err := s.Update(ctx, td.ID, store.Patch{Completed: ptr(true)}); err != nil {
				t.Fatal(err)
			}
			continue
		}
		active = append(active, td)
	}
	c, err := s.ClearCompleted(ctx, store.DefaultListID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Count, 3; got != want {
		t.Errorf("ClearCompleted: got %d, want %d", got, want)
	}
	got := mustList(t, s, store.DefaultListID, store.FilterAll)
	if diff := cmp.Diff(store.Listing{Todos: active, Counts: store.Counts{Active: 3, Total: 3}}, got, ignoreSeq); diff != "" {
		t.Errorf("List after ClearCompleted (-want +got):\n%s", diff)
	}
	if c, err := s.ClearCompleted(ctx, store.DefaultListID); err != nil || c != (store.Cleared{}) {
		t.Errorf("ClearCompleted again: got %+v, %v, want nothing cleared", c, err)
	}
	gotOther := mustList(t, s, other.ID, store.FilterAll)
	if diff := cmp.Diff([]store.Todo{otherDone}, gotOther.Todos, ignoreSeq); diff != "" {
		t.Errorf("other list (-want +got):\n%s", diff)
	}
}

func testOrdering(t *testing.T, s store.Store) {
	ctx := t.Context()
	var want []string
	var ids []string
	for i := range 30 {
		// Titles that sort differently from their creation order.
		title := fmt.Sprintf("%c item %d", 'z'-i%26, i)
		want = append(want, title)
		ids = append(ids, mustCreate(t, s, store.DefaultListID, title).ID)
	}
	// Updating todos must not move them.
	for _, i := range []int{0, 7, 29} {
		if _, err := s.Update(ctx, ids[i], store.Patch{Completed: ptr(true)}); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		got := mustList(t, s, store.DefaultListID, store.FilterAll)
		if diff := cmp.Diff(want, titles(got.Todos), ignoreSeq); diff != "" {
			t.Errorf("order (-want +got):\n%s", diff)
		}
	}
}

func testCompareAndSet(t *testing.T, s store.Store) {
	ctx := t.Context()
	td := mustCreate(t, s, store.DefaultListID, "v1")
	v2, err := s.Update(ctx, td.ID, store.Patch{Title: ptr("v2"), Version: td.Version})
	if err != nil {
		t.Fatalf("Update with the current version: %v", err)
	}
	if got, want := v2.Version, td.Version+1; got != want {
		t.Errorf("version: got %d, want %d", got, want)
	}
	_, err = s.Update(ctx, td.ID, store.Patch{Title: ptr("stale"), Version: td.Version})
	wantCode(t, "Update with a stale version", err, troupe.CodeConflict)
	if !errors.Is(err, troupe.ErrConflict) {
		t.Errorf("errors.Is(%v, ErrConflict) = false", err)
	}
	_, err = s.Update(ctx, td.ID, store.Patch{Title: ptr("future"), Version: v2.Version + 5})
	wantCode(t, "Update with a future version", err, troupe.CodeConflict)
	got, err := s.Get(ctx, td.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(v2, got, ignoreSeq); diff != "" {
		t.Errorf("todo after conflicts (-want +got):\n%s", diff)
	}
	// Without a version the update is last-write-wins.
	if _, err := s.Update(ctx, td.ID, store.Patch{Title: ptr("v3")}); err != nil {
		t.Errorf("Update without a version: %v", err)
	}
}

const writers = 8

func testCompareAndSetConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	td := mustCreate(t, s, store.DefaultListID, "contended")
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Go(func() {
			_, errs[i] = s.Update(ctx, td.ID, store.Patch{Title: ptr(fmt.Sprint("writer ", i)), Version: td.Version})
		})
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if won >= 0 {
				t.Errorf("writers %d and %d both won a compare-and-set on version %d", won, i, td.Version)
			}
			won = i
		case troupe.CodeOf(err) != troupe.CodeConflict:
			t.Errorf("writer %d: err = %v, want a conflict", i, err)
		}
	}
	if won < 0 {
		t.Fatalf("no writer won: %v", errs)
	}
	got, err := s.Get(ctx, td.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := got.Title, fmt.Sprint("writer ", won); got != want {
		t.Errorf("title: got %q, want the winner's %q", got, want)
	}
	if got, want := got.Version, td.Version+1; got != want {
		t.Errorf("version: got %d, want %d", got, want)
	}
}

func testLastWriteWinsConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	td := mustCreate(t, s, store.DefaultListID, "contended")
	var wg sync.WaitGroup
	results := make([]store.Todo, writers)
	errs := make([]error, writers)
	for i := range writers {
		wg.Go(func() {
			results[i], errs[i] = s.Update(ctx, td.ID, store.Patch{Title: ptr(fmt.Sprint("writer ", i))})
		})
	}
	wg.Wait()
	var versions []int64
	last := -1
	for i, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", i, err)
		}
		versions = append(versions, results[i].Version)
		if results[i].Version == td.Version+writers {
			last = i
		}
	}
	slices.Sort(versions)
	var want []int64
	for v := range int64(writers) {
		want = append(want, td.Version+1+v)
	}
	if diff := cmp.Diff(want, versions, ignoreSeq); diff != "" {
		t.Errorf("versions returned to the writers (-want +got):\n%s", diff)
	}
	got, err := s.Get(ctx, td.ID)
	if err != nil {
		t.Fatal(err)
	}
	if last < 0 {
		t.Fatalf("no writer got the last version")
	}
	if diff := cmp.Diff(results[last], got, ignoreSeq); diff != "" {
		t.Errorf("the todo is not what the last writer wrote (-last +get):\n%s", diff)
	}
}

func testConcurrentCreates(t *testing.T, s store.Store) {
	ctx := t.Context()
	const each = 20
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if _, err := s.Create(ctx, store.NewTodo{ListID: store.DefaultListID, Title: fmt.Sprintf("w%d-%d", w, i)}); err != nil {
					errs <- err
				}
				if _, err := s.List(ctx, store.DefaultListID, store.FilterActive, store.Page{}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent create or list: %v", err)
	}
	l := mustList(t, s, store.DefaultListID, store.FilterAll)
	if got, want := l.Counts.Total, writers*each; got != want {
		t.Errorf("todos: got %d, want %d", got, want)
	}
}

func testIdempotentCreate(t *testing.T, s store.Store) {
	ctx := t.Context()
	nt := store.NewTodo{ListID: store.DefaultListID, Title: "once", IdempotencyKey: troupe.NewID()}
	first, err := s.Create(ctx, nt)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.Create(ctx, nt)
	if err != nil {
		t.Fatalf("Create redelivered: %v", err)
	}
	if diff := cmp.Diff(first, again, ignoreSeq); diff != "" {
		t.Errorf("redelivered Create (-first +again):\n%s", diff)
	}
	// The key decides, even if the rest differs.
	changed := nt
	changed.Title = "twice?"
	if again, err = s.Create(ctx, changed); err != nil || again.ID != first.ID {
		t.Errorf("Create with the same key and another title: got %+v, %v, want the first todo", again, err)
	}
	other, err := s.Create(ctx, store.NewTodo{ListID: store.DefaultListID, Title: "once", IdempotencyKey: troupe.NewID()})
	if err != nil {
		t.Fatal(err)
	}
	if other.ID == first.ID {
		t.Errorf("another key made no new todo")
	}
	plain1 := mustCreate(t, s, store.DefaultListID, "no key")
	plain2 := mustCreate(t, s, store.DefaultListID, "no key")
	if plain1.ID == plain2.ID {
		t.Errorf("creates without a key were deduplicated")
	}
	l := mustList(t, s, store.DefaultListID, store.FilterAll)
	if got, want := l.Counts.Total, 4; got != want {
		t.Errorf("todos: got %d, want %d", got, want)
	}
	// A redelivery after the todo was deleted does not bring it back.
	if _, err := s.Delete(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.Create(ctx, nt)
	wantCode(t, "Create redelivered after Delete", err, troupe.CodeNotFound)
	l = mustList(t, s, store.DefaultListID, store.FilterAll)
	if got, want := l.Counts.Total, 3; got != want {
		t.Errorf("todos after redelivery of a deleted todo: got %d, want %d", got, want)
	}
}

func testIdempotentCreateConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	nt := store.NewTodo{ListID: store.DefaultListID, Title: "exactly once", IdempotencyKey: "msg-" + troupe.NewID()}
	var wg sync.WaitGroup
	results := make([]store.Todo, writers)
	errs := make([]error, writers)
	for i := range writers {
		wg.Go(func() { results[i], errs[i] = s.Create(ctx, nt) })
	}
	wg.Wait()
	for i := range writers {
		if errs[i] != nil {
			t.Fatalf("Create %d: %v", i, errs[i])
		}
		if diff := cmp.Diff(results[0], results[i], ignoreSeq); diff != "" {
			t.Errorf("Create %d returned another todo (-0 +%d):\n%s", i, i, diff)
		}
	}
	l := mustList(t, s, store.DefaultListID, store.FilterAll)
	if got, want := l.Counts.Total, 1; got != want {
		t.Errorf("todos: got %d, want %d", got, want)
	}
}

func testFailedCreateWritesNothing(t *testing.T, s store.Store) {
	ctx := t.Context()
	key := troupe.NewID()
	_, err := s.Create(ctx, store.NewTodo{ListID: "no-such-list", Title: "lost", IdempotencyKey: key})
	wantCode(t, "Create in an unknown list", err, troupe.CodeNotFound)
	_, err = s.Create(ctx, store.NewTodo{ListID: store.DefaultListID, Title: " ", IdempotencyKey: key})
	wantCode(t, "Create with an empty title", err, troupe.CodeBadRequest)
	// The key was not recorded by the failed creates: it works now.
	td, err := s.Create(ctx, store.NewTodo{ListID: store.DefaultListID, Title: "found", IdempotencyKey: key})
	if err != nil {
		t.Fatalf("Create after failed creates with the same key: %v", err)
	}
	l := mustList(t, s, store.DefaultListID, store.FilterAll)
	if diff := cmp.Diff([]store.Todo{td}, l.Todos, ignoreSeq); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
}

func testVerbatimTitles(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, title := range []string{
		`<script>alert("x")</script>`,
		`<img src=x onerror=alert(1)>`,
		`'; DROP TABLE todos; --`,
		`" OR 1=1 --`,
		`Robert'); DELETE FROM lists;--`,
		`{{.}} ${x} %s %v \x00`,
		`&lt;escaped&gt; &amp;`,
		"日本語のタイトル",
		"emoji 👩‍👩‍👧‍👦 and RTL \u202eabc",
	} {
		t.Run(fmt.Sprintf("%.16q", title), func(t *testing.T) {
			td := mustCreate(t, s, store.DefaultListID, title)
			got, err := s.Get(ctx, td.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Title != title {
				t.Errorf("title: got %q, want %q stored verbatim", got.Title, title)
			}
		})
	}
	if ls := mustLists(t, s); len(ls) != 1 {
		t.Errorf("Lists after injection attempts: %d lists", len(ls))
	}
}

func testLargeList(t *testing.T, s store.Store) {
	const n = 1000
	var want []string
	for i := range n {
		title := fmt.Sprintf("todo %04d", i)
		want = append(want, title)
		mustCreate(t, s, store.DefaultListID, title)
	}
	l := mustList(t, s, store.DefaultListID, store.FilterAll)
	if got, want := l.Counts, (store.Counts{Active: n, Total: n}); got != want {
		t.Errorf("counts: got %+v, want %+v", got, want)
	}
	if diff := cmp.Diff(want, titles(l.Todos), ignoreSeq); diff != "" {
		t.Errorf("titles (-want +got):\n%s", diff)
	}
}

// page lists one page or fails the test.
func page(t *testing.T, s store.Store, list string, f store.Filter, p store.Page) store.Listing {
	t.Helper()
	l, err := s.List(t.Context(), list, f, p)
	if err != nil {
		t.Fatalf("List(%q, %q, %+v): %v", list, f, p, err)
	}
	return l
}

func testPages(t *testing.T, s store.Store) {
	var want []store.Todo
	for i := range store.DefaultLimit*2 + 7 {
		want = append(want, mustCreate(t, s, store.DefaultListID, fmt.Sprintf("todo %03d", i)))
	}
	counts := store.Counts{Active: len(want), Total: len(want)}

	// The default page size, then the pages that follow, the last one short.
	first := page(t, s, store.DefaultListID, store.FilterAll, store.Page{})
	if diff := cmp.Diff(want[:store.DefaultLimit], first.Todos, ignoreSeq); diff != "" {
		t.Errorf("first page (-want +got):\n%s", diff)
	}
	if first.Counts != counts || first.Next == "" {
		t.Errorf("first page: counts %+v, next %q; want %+v and a next page", first.Counts, first.Next, counts)
	}
	second := page(t, s, store.DefaultListID, store.FilterAll, store.Page{Cursor: first.Next})
	if diff := cmp.Diff(want[store.DefaultLimit:2*store.DefaultLimit], second.Todos, ignoreSeq); diff != "" {
		t.Errorf("second page (-want +got):\n%s", diff)
	}
	last := page(t, s, store.DefaultListID, store.FilterAll, store.Page{Cursor: second.Next})
	if diff := cmp.Diff(want[2*store.DefaultLimit:], last.Todos, ignoreSeq); diff != "" {
		t.Errorf("last page (-want +got):\n%s", diff)
	}
	if last.Next != "" || last.Counts != counts {
		t.Errorf("last page: next %q, counts %+v; want none and %+v", last.Next, last.Counts, counts)
	}

	// Other sizes: every todo once, in order; a page that ends exactly at
	// the end of the list says so (no empty page after it).
	for _, limit := range []int{1, 7, len(want), store.MaxLimit} {
		t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
			var got []store.Todo
			p := store.Page{Limit: limit}
			for pages := 0; ; pages++ {
				if pages > len(want) {
					t.Fatal("more pages than todos")
				}
				l := page(t, s, store.DefaultListID, store.FilterAll, p)
				if len(l.Todos) > limit {
					t.Fatalf("page of %d todos, limit %d", len(l.Todos), limit)
				}
				got = append(got, l.Todos...)
				if l.Next == "" {
					break
				}
				p.Cursor = l.Next
			}
			if diff := cmp.Diff(titles(want), titles(got)); diff != "" {
				t.Errorf("todos (-want +got):\n%s", diff)
			}
		})
	}
	exact := page(t, s, store.DefaultListID, store.FilterAll, store.Page{Limit: len(want)})
	if exact.Next != "" || len(exact.Todos) != len(want) {
		t.Errorf("a page as long as the list: %d todos, next %q; want %d and no next page", len(exact.Todos), exact.Next, len(want))
	}

	// An empty list has one empty page.
	empty, err := s.CreateList(t.Context(), "empty")
	if err != nil {
		t.Fatal(err)
	}
	if got := page(t, s, empty.ID, store.FilterAll, store.Page{Limit: 1}); len(got.Todos) != 0 || got.Next != "" {
		t.Errorf("empty list: %+v, want no todos and no next page", got)
	}
}

func testPagesFiltered(t *testing.T, s store.Store) {
	ctx := t.Context()
	var active, completed []string
	for i := range 30 {
		td := mustCreate(t, s, store.DefaultListID, fmt.Sprintf("todo %02d", i))
		if i%3 == 0 {
			if _, err := s.Update(ctx, td.ID, store.Patch{Completed: ptr(true)}); err != nil {
				t.Fatal(err)
			}
			completed = append(completed, td.Title)
			continue
		}
		active = append(active, td.Title)
	}
	for _, tt := range []struct {
		filter store.Filter
		want   []string
	}{{store.FilterActive, active}, {store.FilterCompleted, completed}} {
		t.Run(string(tt.filter), func(t *testing.T) {
			var got []string
			p := store.Page{Limit: 4}
			for {
				l := page(t, s, store.DefaultListID, tt.filter, p)
				if want := (store.Counts{Active: 20, Completed: 10, Total: 30}); l.Counts != want {
					t.Errorf("counts: got %+v, want %+v", l.Counts, want)
				}
				for _, td := range l.Todos {
					if td.Completed != (tt.filter == store.FilterCompleted) {
						t.Errorf("%q in the %s page", td.Title, tt.filter)
					}
				}
				got = append(got, titles(l.Todos)...)
				if l.Next == "" {
					break
				}
				p.Cursor = l.Next
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("todos (-want +got):\n%s", diff)
			}
		})
	}
}

// testPagesStable checks keyset paging: todos created or deleted between two
// pages neither shift nor repeat the todos of the next page.
func testPagesStable(t *testing.T, s store.Store) {
	ctx := t.Context()
	var ts []store.Todo
	for i := range 10 {
		ts = append(ts, mustCreate(t, s, store.DefaultListID, fmt.Sprintf("todo %d", i)))
	}
	first := page(t, s, store.DefaultListID, store.FilterAll, store.Page{Limit: 4})
	// The first page's todos go, and so does the first of the next page.
	for _, td := range append(slices.Clone(ts[:4]), ts[4]) {
		if _, err := s.Delete(ctx, td.ID); err != nil {
			t.Fatal(err)
		}
	}
	added := mustCreate(t, s, store.DefaultListID, "added")
	var got []string
	for p := (store.Page{Limit: 4, Cursor: first.Next}); ; {
		l := page(t, s, store.DefaultListID, store.FilterAll, p)
		got = append(got, titles(l.Todos)...)
		if l.Next == "" {
			break
		}
		p.Cursor = l.Next
	}
	want := append(titles(ts[5:]), added.Title)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pages after changes (-want +got):\n%s", diff)
	}
	// The cursor of a deleted todo still works: it names a position.
	if l := page(t, s, store.DefaultListID, store.FilterAll, store.Page{Cursor: first.Next}); len(l.Todos) != 6 {
		t.Errorf("page after a deleted todo's cursor: %d todos, want 6", len(l.Todos))
	}
}

func testBadPages(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreate(t, s, store.DefaultListID, "one")
	mustCreate(t, s, store.DefaultListID, "two")
	good := page(t, s, store.DefaultListID, store.FilterAll, store.Page{Limit: 1})
	if good.Next == "" {
		t.Fatal("no next page after the first of two todos")
	}
	tests := []struct {
		name string
		p    store.Page
		msg  string
	}{
		{"negative limit", store.Page{Limit: -1}, "limit: must be 1 to 200, not -1"},
		{"limit too large", store.Page{Limit: store.MaxLimit + 1}, "limit: must be 1 to 200, not 201"},
		{"garbage", store.Page{Cursor: "abc"}, ""},
		{"no position", store.Page{Cursor: "c1."}, ""},
		{"zero", store.Page{Cursor: "c1.0"}, ""},
		{"negative", store.Page{Cursor: "c1.-1"}, ""},
		{"not canonical", store.Page{Cursor: "c1.01"}, ""},
		{"upper case", store.Page{Cursor: strings.ToUpper(good.Next)}, ""},
		{"long", store.Page{Cursor: good.Next + strings.Repeat("0", 100)}, ""},
		{"injection", store.Page{Cursor: "c1.1; DROP TABLE todos"}, ""},
		{"invalid UTF-8", store.Page{Cursor: "c1.\xff"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.List(ctx, store.DefaultListID, store.FilterAll, tt.p)
			wantCode(t, "List", err, troupe.CodeBadRequest)
			if tt.msg != "" && err.Error() != tt.msg {
				t.Errorf("List: %q, want %q", err, tt.msg)
			}
			_, err = s.Lists(ctx, tt.p)
			wantCode(t, "Lists", err, troupe.CodeBadRequest)
		})
	}
	if l := mustList(t, s, store.DefaultListID, store.FilterAll); len(l.Todos) != 2 {
		t.Errorf("after bad pages: %d todos, want 2", len(l.Todos))
	}
}

// testCountsKept checks the counts a store keeps as todos change against
// the todos themselves, through every kind of change and in two lists.
func testCountsKept(t *testing.T, s store.Store) {
	ctx := t.Context()
	other, err := s.CreateList(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	check := func(step string) {
		t.Helper()
		for _, list := range []string{store.DefaultListID, other.ID} {
			l := mustList(t, s, list, store.FilterAll)
			var want store.Counts
			for _, td := range l.Todos {
				want.Total++
				if td.Completed {
					want.Completed++
				} else {
					want.Active++
				}
			}
			if l.Counts != want {
				t.Errorf("%s: counts of %s: got %+v, want %+v (from its todos)", step, list, l.Counts, want)
			}
		}
	}
	check("new")
	var ts []store.Todo
	for i := range 6 {
		list := store.DefaultListID
		if i%2 == 1 {
			list = other.ID
		}
		ts = append(ts, mustCreate(t, s, list, fmt.Sprintf("todo %d", i)))
	}
	check("created")
	for _, i := range []int{0, 1, 2} {
		if _, err := s.Update(ctx, ts[i].ID, store.Patch{Completed: ptr(true)}); err != nil {
			t.Fatal(err)
		}
	}
	check("completed")
	// Completing a completed todo, renaming one: the counts stay.
	if _, err := s.Update(ctx, ts[0].ID, store.Patch{Completed: ptr(true), Title: ptr("renamed")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, ts[3].ID, store.Patch{Title: ptr("renamed too")}); err != nil {
		t.Fatal(err)
	}
	check("unchanged completion")
	if _, err := s.Update(ctx, ts[1].ID, store.Patch{Completed: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	check("reopened")
	// A failed compare-and-set changes nothing.
	if _, err := s.Update(ctx, ts[4].ID, store.Patch{Completed: ptr(true), Version: 99}); err == nil {
		t.Fatal("stale update succeeded")
	}
	check("stale update")
	if _, err := s.Delete(ctx, ts[2].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(ctx, ts[5].ID); err != nil {
		t.Fatal(err)
	}
	check("deleted")
	if _, err := s.ClearCompleted(ctx, store.DefaultListID); err != nil {
		t.Fatal(err)
	}
	check("cleared")
	// Concurrent writers of one list.
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range 5 {
				td, err := s.Create(ctx, store.NewTodo{ListID: other.ID, Title: fmt.Sprintf("w%d-%d", w, i)})
				if err != nil {
					t.Error(err)
					return
				}
				if i%2 == 0 {
					if _, err := s.Update(ctx, td.ID, store.Patch{Completed: ptr(true)}); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	check("concurrent writers")
	// A deleted list's counts go with it; a new list starts at zero.
	if err := s.DeleteList(ctx, other.ID); err != nil {
		t.Fatal(err)
	}
	again, err := s.CreateList(ctx, "other again")
	if err != nil {
		t.Fatal(err)
	}
	if l := page(t, s, again.ID, store.FilterAll, store.Page{}); l.Counts != (store.Counts{}) {
		t.Errorf("new list: counts %+v, want zero", l.Counts)
	}
}

func testListsPages(t *testing.T, s store.Store) {
	ctx := t.Context()
	want := []string{store.DefaultListID}
	for i := range 9 {
		l, err := s.CreateList(ctx, fmt.Sprintf("list %d", i))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, l.ID)
	}
	var got []string
	pages := 0
	for p := (store.Page{Limit: 3}); ; pages++ {
		ls, err := s.Lists(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if len(ls.Lists) > 3 {
			t.Fatalf("page of %d lists, limit 3", len(ls.Lists))
		}
		for _, l := range ls.Lists {
			got = append(got, l.ID)
		}
		if ls.Next == "" {
			break
		}
		p.Cursor = ls.Next
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lists (-want +got):\n%s", diff)
	}
	if pages != 3 {
		t.Errorf("%d pages after the first, want 3 (10 lists by 3)", pages)
	}
	first, err := s.Lists(ctx, store.Page{})
	if err != nil || len(first.Lists) != 10 || first.Next != "" {
		t.Errorf("Lists with the default page: %d lists, next %q, %v; want 10, none", len(first.Lists), first.Next, err)
	}
}

func testGetList(t *testing.T, s store.Store) {
	ctx := t.Context()
	l, err := s.CreateList(ctx, "Work")
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.GetList(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(l, got); diff != "" {
		t.Errorf("GetList (-created +got):\n%s", diff)
	}
	def, err := s.GetList(ctx, store.DefaultListID)
	if err != nil || def.Name != store.DefaultListName {
		t.Errorf("GetList(default) = %+v, %v; want the default list", def, err)
	}
	for _, id := range []string{"nope", "", strings.Repeat("x", 1000), "\xff", "a\x00b"} {
		_, err := s.GetList(ctx, id)
		wantCode(t, fmt.Sprintf("GetList(%.20q)", id), err, troupe.CodeNotFound)
	}
}

func testDeadlinePassed(t *testing.T, s store.Store) {
	td := mustCreate(t, s, store.DefaultListID, "before")
	ctx, cancel := context.WithTimeout(context.Background(), -time.Second)
	defer cancel()
	_, err := s.Create(ctx, store.NewTodo{ListID: store.DefaultListID, Title: "too late"})
	wantCode(t, "Create after the deadline", err, troupe.CodeTimeout)
	_, err = s.Update(ctx, td.ID, store.Patch{Title: ptr("too late")})
	wantCode(t, "Update after the deadline", err, troupe.CodeTimeout)
	_, err = s.List(ctx, store.DefaultListID, store.FilterAll, store.Page{})
	wantCode(t, "List after the deadline", err, troupe.CodeTimeout)
	l := mustList(t, s, store.DefaultListID, store.FilterAll)
	if diff := cmp.Diff([]store.Todo{td}, l.Todos, ignoreSeq); diff != "" {
		t.Errorf("todos after calls past their deadline (-want +got):\n%s", diff)
	}
}

func testClosed(t *testing.T, s store.Store) {
	ctx := t.Context()
	td := mustCreate(t, s, store.DefaultListID, "before close")
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	_, err := s.Get(ctx, td.ID)
	wantCode(t, "Get after Close", err, troupe.CodeUnavailable)
	_, err = s.Create(ctx, store.NewTodo{ListID: store.DefaultListID, Title: "after close"})
	wantCode(t, "Create after Close", err, troupe.CodeUnavailable)
	_, err = s.List(ctx, store.DefaultListID, store.FilterAll, store.Page{})
	wantCode(t, "List after Close", err, troupe.CodeUnavailable)
	if !errors.Is(err, troupe.ErrUnavailable) {
		t.Errorf("errors.Is(%v, ErrUnavailable) = false", err)
	}
}

// Bench runs the store benchmarks against the stores newStore makes (as for
// [Run]): Create (one todo per op), CreateParallel (the same from 4
// goroutines per CPU) and ListPage (one page of a list of 10,000 todos per
// op: the first, the last, the first of the active todos).
func Bench(b *testing.B, newStore func(b *testing.B) store.Store) {
	b.Run("Create", func(b *testing.B) {
		s := newStore(b)
		ctx := b.Context()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Create(ctx, store.NewTodo{ListID: store.DefaultListID, Title: "benchmark todo"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("CreateParallel", func(b *testing.B) {
		s := newStore(b)
		ctx := b.Context()
		b.ReportAllocs()
		b.SetParallelism(4)
		b.ResetTimer() // newStore may have made a database
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.Create(ctx, store.NewTodo{ListID: store.DefaultListID, Title: "benchmark todo"}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	// A page costs the same wherever it is and however long the list:
	// ListPage reads the first page of 50 of 10,000 todos, ListPageLast
	// the last one, ListPageActive the first page of active todos when
	// nine in ten are completed.
	pages := func(b *testing.B) (store.Store, []string) {
		s := newStore(b)
		ctx := b.Context()
		var cursors []string
		p := store.Page{}
		for i := range 10000 {
			td, err := s.Create(ctx, store.NewTodo{ListID: store.DefaultListID, Title: fmt.Sprintf("todo number %d", i)})
			if err != nil {
				b.Fatal(err)
			}
			if i%10 != 0 {
				if _, err := s.Update(ctx, td.ID, store.Patch{Completed: ptr(true)}); err != nil {
					b.Fatal(err)
				}
			}
		}
		for {
			l, err := s.List(ctx, store.DefaultListID, store.FilterAll, p)
			if err != nil {
				b.Fatal(err)
			}
			if l.Next == "" {
				return s, cursors
			}
			cursors = append(cursors, l.Next)
			p.Cursor = l.Next
		}
	}
	b.Run("ListPage", func(b *testing.B) {
		s, cursors := pages(b)
		for _, bb := range []struct {
			name   string
			filter store.Filter
			cursor string
		}{
			{"First", store.FilterAll, ""},
			{"Last", store.FilterAll, cursors[len(cursors)-1]},
			{"Active", store.FilterActive, ""},
		} {
			b.Run(bb.name, func(b *testing.B) {
				ctx := b.Context()
				b.ReportAllocs()
				for b.Loop() {
					l, err := s.List(ctx, store.DefaultListID, bb.filter, store.Page{Cursor: bb.cursor})
					if err != nil {
						b.Fatal(err)
					}
					if len(l.Todos) != store.DefaultLimit || l.Counts.Total != 10000 {
						b.Fatalf("got %d todos of %d, want %d of 10000", len(l.Todos), l.Counts.Total, store.DefaultLimit)
					}
				}
			})
		}
	})
}

// testChanges checks the change numbers: each change of a list's todos takes
// the list's next number, lists count apart, what changes nothing takes
// none, and listings say which change they show.
func testChanges(t *testing.T, s store.Store) {
	ctx := t.Context()
	if s.Epoch() == "" {
		t.Error("the store has no epoch")
	}
	other, err := s.CreateList(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	start := mustList(t, s, store.DefaultListID, store.FilterAll).Seq
	var seqs []uint64
	a := mustCreate(t, s, store.DefaultListID, "a")
	seqs = append(seqs, a.ListSeq)
	if o := mustCreate(t, s, other.ID, "elsewhere"); o.ListSeq != 1 {
		t.Errorf("the first change of a new list is %d, want 1", o.ListSeq)
	}
	u, err := s.Update(ctx, a.ID, store.Patch{Completed: ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	seqs = append(seqs, u.ListSeq)
	// A stale update and a redelivered create change nothing.
	if _, err := s.Update(ctx, a.ID, store.Patch{Title: ptr("x"), Version: 1}); err == nil {
		t.Fatal("a stale update succeeded")
	}
	nt := store.NewTodo{ListID: store.DefaultListID, Title: "once", IdempotencyKey: troupe.NewID()}
	once, err := s.Create(ctx, nt)
	if err != nil {
		t.Fatal(err)
	}
	seqs = append(seqs, once.ListSeq)
	if again, err := s.Create(ctx, nt); err != nil || again.ListSeq != 0 {
		t.Errorf("a redelivered create: change %d, %v; want 0 (nothing changed)", again.ListSeq, err)
	}
	c, err := s.ClearCompleted(ctx, store.DefaultListID)
	if err != nil {
		t.Fatal(err)
	}
	seqs = append(seqs, c.Seq)
	if c, err := s.ClearCompleted(ctx, store.DefaultListID); err != nil || c.Seq != 0 {
		t.Errorf("a clear of nothing: change %d, %v; want 0", c.Seq, err)
	}
	gone, err := s.Delete(ctx, once.ID)
	if err != nil {
		t.Fatal(err)
	}
	seqs = append(seqs, gone.ListSeq)
	want := []uint64{start + 1, start + 2, start + 3, start + 4, start + 5}
	if diff := cmp.Diff(want, seqs); diff != "" {
		t.Errorf("change numbers (-want +got):\n%s", diff)
	}
	if got := mustList(t, s, store.DefaultListID, store.FilterAll).Seq; got != start+5 {
		t.Errorf("the listing shows change %d, want %d", got, start+5)
	}
	for _, l := range mustLists(t, s) {
		if l.ID == store.DefaultListID && l.Seq != start+5 {
			t.Errorf("Lists says the default list is at change %d, want %d", l.Seq, start+5)
		}
	}
	if l, err := s.GetList(ctx, store.DefaultListID); err != nil || l.Seq != start+5 {
		t.Errorf("GetList says the default list is at change %d (%v), want %d", l.Seq, err, start+5)
	}
}

// testChangesConcurrent: concurrent writers of one list get every number
// once, with no gap.
func testChangesConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	start := mustList(t, s, store.DefaultListID, store.FilterAll).Seq
	const writers, each = 4, 10
	var mu sync.Mutex
	got := map[uint64]int{}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				td, err := s.Create(ctx, store.NewTodo{ListID: store.DefaultListID, Title: fmt.Sprintf("%d-%d", w, i)})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				got[td.ListSeq]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for n := start + 1; n <= start+writers*each; n++ {
		if got[n] != 1 {
			t.Errorf("change %d was taken %d times, want once", n, got[n])
		}
	}
}
