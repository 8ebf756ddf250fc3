package todo

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/examples/todo/store"
)

// ListLists is the request list.all: one page of the lists (see
// store.Page: Limit 1 to store.MaxLimit, default store.DefaultLimit; Cursor
// the Next of the page before).
type ListLists struct {
	Limit  Int    `json:"limit,omitempty"`
	Cursor string `json:"cursor,omitempty"`
}

// Lists is the reply to list.all: one page of the lists, and the cursor of
// the next page ("" on the last).
type Lists struct {
	Lists []store.List `json:"lists"`
	Next  string       `json:"next,omitempty"`
}

// CreateList is the request list.create.
type CreateList struct {
	Name string `json:"name"`
}

// ListTodos is the request todo.list: one page of the todos of a list.
// Filter is "", "all", "active" or "completed"; Limit is the page size, 1 to
// store.MaxLimit (zero means store.DefaultLimit); Cursor is "" for the first
// page, else the Next of the page before.
//
// A client that holds a listing may send its Epoch and Seq: if the list has
// not changed since, the reply says NotModified and carries no todos, which
// spares the store and the encoding (the web service caches listings so).
type ListTodos struct {
	List   string `json:"list"`
	Filter string `json:"filter,omitempty"`
	Limit  Int    `json:"limit,omitempty"`
	Cursor string `json:"cursor,omitempty"`
	Epoch  string `json:"epoch,omitempty"`
	Seq    Int    `json:"seq,omitempty"`
}

// Listing is the reply todo.listing: the list, one page of the todos that
// pass the filter, the counts of the whole list, the cursor of the next page,
// and the epoch and sequence number of the last change it shows (see Event).
type Listing struct {
	List   store.List   `json:"list"`
	Filter store.Filter `json:"filter"`
	Todos  []store.Todo `json:"todos"`
	Counts store.Counts `json:"counts"`
	// Next is the cursor of the next page, "" on the last one.
	Next  string `json:"next,omitempty"`
	Epoch string `json:"epoch"`
	Seq   uint64 `json:"seq"`
	// NotModified says that the list is still at the Epoch and Seq the
	// request named; Todos and Counts are then empty.
	NotModified bool `json:"notModified,omitempty"`
}

// TodoRef names one todo of one list: the requests todo.get and todo.delete.
type TodoRef struct {
	List string `json:"list"`
	ID   string `json:"id"`
}

// CreateTodo is the request todo.create.
type CreateTodo struct {
	List  string `json:"list"`
	Title string `json:"title"`
}

// UpdateTodo is the request todo.update: nil fields are left as they are.
// Version, if not zero, makes the update compare-and-set (a conflict error
// if the todo changed since); without it the last write wins.
type UpdateTodo struct {
	List      string  `json:"list"`
	ID        string  `json:"id"`
	Title     *string `json:"title,omitempty"`
	Completed *Bool   `json:"completed,omitempty"`
	Version   Int     `json:"version,omitempty"`
}

// ClearTodos is the request todo.clear: it deletes the completed todos of a
// list, and says so with Completed, which must be true.
type ClearTodos struct {
	List      string `json:"list"`
	Completed Bool   `json:"completed"`
}

// Deleted is the reply to todo.delete.
type Deleted struct {
	List string `json:"list"`
	ID   string `json:"id"`
}

// Cleared is the reply to todo.clear: how many todos were deleted.
type Cleared struct {
	List    string `json:"list"`
	Cleared int    `json:"cleared"`
}

// The kinds of Event.
const (
	KindCreated     = "created"
	KindUpdated     = "updated"
	KindDeleted     = "deleted"
	KindCleared     = "cleared"
	KindListCreated = "list"
	KindListShared  = "shared" // a list.created event: a list was shared with User
)

// An Event is what the service publishes after a change. Seq numbers the
// changes of List under Epoch (one epoch per service instance run); a
// follower that applied change n of an epoch applies n+1 next, and asks for
// the listing again on a gap or another epoch. list.created events carry no
// sequence number.
type Event struct {
	Kind  string `json:"kind"`
	List  string `json:"list"`
	Epoch string `json:"epoch"`
	Seq   uint64 `json:"seq,omitempty"`
	// Todo is the todo as it is after the change (created, updated), or as
	// it was (deleted).
	Todo *store.Todo `json:"todo,omitempty"`
	// WasCompleted is whether the todo was completed before an update or
	// delete, for followers that keep counts.
	WasCompleted bool `json:"wasCompleted,omitempty"`
	// Cleared is how many completed todos todo.cleared deleted.
	Cleared int `json:"cleared,omitempty"`
	// ListInfo is the new list of a list.created event.
	ListInfo *store.List `json:"listInfo,omitempty"`
	// User is whom a list.created event is for: the owner of the new
	// list, or the user it was shared with; only that user's browsers
	// hear of it.
	User string `json:"user,omitempty"`
}

// Bool is a bool that also decodes from the strings "true" and "false", as
// the gateway passes query parameters ("?completed=true").
type Bool bool

// UnmarshalJSON accepts true, false, "true" and "false".
func (b *Bool) UnmarshalJSON(data []byte) error {
	switch string(bytes.TrimSpace(data)) {
	case "true", `"true"`:
		*b = true
	case "false", `"false"`, "null":
		*b = false
	default:
		return troupe.Errorf(troupe.CodeBadRequest, "want true or false, got %.40s", data)
	}
	return nil
}

// Int is an int64 that also decodes from a string of decimal digits, as the
// gateway passes query parameters ("?version=3").
type Int int64

// UnmarshalJSON accepts a JSON integer or a string holding one.
func (n *Int) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if string(data) == "null" {
		return nil
	}
	s := string(data)
	if len(data) > 0 && data[0] == '"' {
		if err := json.Unmarshal(data, &s); err != nil {
			return troupe.Errorf(troupe.CodeBadRequest, "want an integer, got %.40s", data)
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return troupe.Errorf(troupe.CodeBadRequest, "want an integer, got %.40s", data)
	}
	*n = Int(v)
	return nil
}
