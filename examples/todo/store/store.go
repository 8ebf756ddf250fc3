package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/troupe-go/troupe"
)

// DefaultListID is the id of the list that every store has from its first
// migration on. It cannot be deleted.
const DefaultListID = "default"

// DefaultListName is the name of the default list.
const DefaultListName = "Todo"

// Limits on what a client may store.
const (
	MaxTitleRunes    = 500 // the longest todo title, in runes, after trimming
	MaxListNameRunes = 100 // the longest list name, in runes, after trimming
	MaxKeyBytes      = 200 // the longest idempotency key, in bytes
	MaxIDBytes       = 200 // the longest id a store looks up; longer ids are not found
)

// A List is a named list of todos.
type List struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
	// Owner is the id of the user who made the list (accounts.go); ""
	// for a list that belongs to nobody, as the store's first, which only
	// CreateList and Lists see.
	Owner string `json:"owner,omitempty"`
	// Seq is the number of changes to the list's todos so far, as
	// [Store.Lists] or [Store.GetList] read it (see Changes).
	Seq uint64 `json:"-"`
}

// A Todo is one item of a list.
//
// Version starts at 1 and grows by one with every update. An update that
// carries a Version is applied only if it is still the todo's current version
// (compare-and-set); see [Patch].
type Todo struct {
	ID        string    `json:"id"`
	ListID    string    `json:"listId"`
	Title     string    `json:"title"`
	Completed bool      `json:"completed"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	Version   int64     `json:"version"`
	// ListSeq is the change number of the Create, Update or Delete that
	// returned the todo in its list (see Changes); 0 from Get, and from a
	// Create that an idempotency key made a no-op.
	ListSeq uint64 `json:"-"`
}

// NewTodo is what [Store.Create] needs to make a todo.
type NewTodo struct {
	// ListID is the list the todo goes into. It must exist.
	ListID string
	// Title is normalized with [NormalizeTitle].
	Title string
	// User, if not empty, is the user the todo is created for: the list
	// must be one it may see (its own or one shared with it, as
	// [Accounts.ListFor] says), or Create fails with not_found and makes
	// nothing. The check is made in the create's own statement, so that
	// the todo service needs no ListFor round trip before it.
	User string
	// IdempotencyKey, if not empty, makes the create idempotent: a second
	// Create with the same key makes nothing and returns the todo the first
	// one made (even if its other fields differ). The todo service passes the
	// bus message id here, so a redelivered durable todo.create does not make
	// a duplicate. If the todo was deleted since, the second Create returns a
	// not_found error rather than making it again.
	IdempotencyKey string
}

// Patch is a partial update of a todo: nil fields are left as they are.
//
// With Version zero the update is last-write-wins: it is applied to whatever
// the todo holds at the time. With Version set it is compare-and-set: it is
// applied only if the todo's version is still Version, and otherwise fails
// with a conflict error (errors.Is(err, troupe.ErrConflict)) and changes
// nothing.
type Patch struct {
	Title     *string `json:"title,omitempty"`
	Completed *bool   `json:"completed,omitempty"`
	Version   int64   `json:"version,omitempty"`
}

// Filter selects the todos of a list that [Store.List] returns. The zero
// value is FilterAll.
type Filter string

// The filters.
const (
	FilterAll       Filter = "all"
	FilterActive    Filter = "active"
	FilterCompleted Filter = "completed"
)

// ParseFilter returns the filter named s ("", "all", "active" or
// "completed"), or a bad_request error.
func ParseFilter(s string) (Filter, error) {
	switch Filter(s) {
	case "", FilterAll:
		return FilterAll, nil
	case FilterActive, FilterCompleted:
		return Filter(s), nil
	}
	return "", troupe.Errorf(troupe.CodeBadRequest, "filter: must be all, active or completed, not %q", truncate(s, 40))
}

// Counts are the numbers of todos of a list, whatever the filter.
type Counts struct {
	Active    int `json:"active"`
	Completed int `json:"completed"`
	Total     int `json:"total"`
}

// A Listing is what [Store.List] returns: one page of the todos that passed
// the filter, in the order they were created, the counts of the whole list,
// and the cursor of the next page.
type Listing struct {
	Todos  []Todo `json:"todos"`
	Counts Counts `json:"counts"`
	// Seq is the list's change number the listing shows the state after.
	Seq uint64 `json:"-"`
	// Next is the cursor of the page after this one (give it back in
	// [Page.Cursor]), or "" if this page is the last.
	Next string `json:"next,omitempty"`
}

// A ListsPage is what [Store.Lists] returns: one page of the lists, in the
// order they were created, and the cursor of the next page.
type ListsPage struct {
	Lists []List `json:"lists"`
	// Next is the cursor of the page after this one, or "" if this page is
	// the last.
	Next string `json:"next,omitempty"`
}

// Paging: a listing returns at most this many items per page.
const (
	DefaultLimit = 50  // the page size when Page.Limit is zero
	MaxLimit     = 200 // the largest Page.Limit
)

// Page selects one page of a listing: at most Limit items, starting after
// the item that Cursor names. The zero value is the first page of
// [DefaultLimit] items.
//
// Pages are keyset pages: a cursor names the last item of the page before,
// so an item created or deleted meanwhile neither shifts nor repeats the
// items of later pages, and a page costs the same however deep it is. A
// cursor is opaque: give back the Next of the listing before, unchanged.
type Page struct {
	// Limit is the page size, 1 to MaxLimit; zero means DefaultLimit.
	Limit int `json:"limit,omitempty"`
	// Cursor is "" for the first page, else the Next of the page before.
	Cursor string `json:"cursor,omitempty"`
}

// cursorPrefix starts every cursor, so that one from another version of the
// encoding is refused rather than misread.
const cursorPrefix = "c1."

// maxCursorBytes bounds the cursors a store decodes.
const maxCursorBytes = 40

// CheckPage returns the page size of p and the position its cursor names
// (zero for the first page), or a bad_request error for a limit out of
// range or a cursor that no store made. Implementations of Store call it.
func CheckPage(p Page) (limit int, after int64, err error) {
	switch {
	case p.Limit == 0:
		limit = DefaultLimit
	case p.Limit < 0 || p.Limit > MaxLimit:
		return 0, 0, troupe.Errorf(troupe.CodeBadRequest, "limit: must be 1 to %d, not %d", MaxLimit, p.Limit)
	default:
		limit = p.Limit
	}
	if p.Cursor == "" {
		return limit, 0, nil
	}
	bad := troupe.Errorf(troupe.CodeBadRequest, "cursor: %q is not a cursor of this listing; give back the next of the page before", truncate(p.Cursor, 40))
	rest, ok := strings.CutPrefix(p.Cursor, cursorPrefix)
	if !ok || len(p.Cursor) > maxCursorBytes || rest == "" {
		return 0, 0, bad
	}
	after, err = strconv.ParseInt(rest, 36, 64)
	if err != nil || after <= 0 || strconv.FormatInt(after, 36) != rest {
		return 0, 0, bad
	}
	return limit, after, nil
}

// Cursor returns the cursor that names position pos (a store's row
// sequence number, positive) for [Page.Cursor].
func Cursor(pos int64) string {
	return cursorPrefix + strconv.FormatInt(pos, 36)
}

// Cleared is what [Store.ClearCompleted] returns: how many todos it
// deleted, and the change number of the deletion (0 if it deleted none).
type Cleared struct {
	Count int
	Seq   uint64
}

// # Changes
//
// Every change to a list's todos (a create, an update, a delete, a clear)
// takes the list's next change number, in the same transaction, so that the
// numbers of one list follow the order the database applied the changes in,
// whichever process made them; a listing says which change number it shows
// the state after. Followers of a list (the web pages' live updates) use them
// to order events and to see a gap. Epoch names the database's numbering: it
// stays the same for the database's life, so two services over one database
// agree on both.
//
// Store keeps lists and their todos. Implementations are safe for concurrent
// use. Their errors are *troupe.Error values: bad_request for invalid input
// (nothing is changed), not_found for unknown list or todo ids, conflict for
// a stale [Patch.Version], unavailable when the database cannot be reached,
// timeout when the context's deadline passed, and internal otherwise. A
// failed call changes nothing.
type Store interface {
	// Accounts are the users and who may see what (accounts.go).
	Accounts

	// CreateList makes a new, empty list.
	CreateList(ctx context.Context, name string) (List, error)
	// Lists returns one page of all the lists in the order they were
	// created, the default list first, whoever owns them: an operator's
	// view. What a user sees is Accounts.ListsFor; the todo service
	// checks Accounts.ListFor before every call below that names a list
	// or a todo (Create checks it itself, given NewTodo.User), so that
	// another user's list is not found.
	Lists(ctx context.Context, p Page) (ListsPage, error)
	// GetList returns one list.
	GetList(ctx context.Context, id string) (List, error)
	// DeleteList deletes a list and all its todos. The default list cannot
	// be deleted.
	DeleteList(ctx context.Context, id string) error

	// Create makes a todo in an existing list.
	Create(ctx context.Context, t NewTodo) (Todo, error)
	// Get returns one todo.
	Get(ctx context.Context, id string) (Todo, error)
	// List returns one page of the todos of a list that pass the filter,
	// and the counts of the list. Its cost does not grow with the list:
	// the counts are kept as the todos change, not counted.
	List(ctx context.Context, listID string, f Filter, p Page) (Listing, error)
	// Update changes a todo's title and/or completion; see [Patch].
	Update(ctx context.Context, id string, p Patch) (Todo, error)
	// Delete deletes a todo and returns it as it was, with the change
	// number of its deletion.
	Delete(ctx context.Context, id string) (Todo, error)
	// ClearCompleted deletes the completed todos of a list and returns how
	// many it deleted.
	ClearCompleted(ctx context.Context, listID string) (Cleared, error)
	// Epoch names the database's change numbering (see Changes).
	Epoch() string

	// Close releases the database. Calls after Close fail.
	Close() error
}

// NormalizeTitle returns the title as it is stored: s with leading and
// trailing white space removed. It returns a bad_request error if s is not
// valid UTF-8, contains control characters, is empty after trimming, shows
// nothing (only invisible characters: zero-width spaces, combining marks,
// Hangul fillers and the like), or is longer than [MaxTitleRunes] runes.
func NormalizeTitle(s string) (string, error) {
	return normalizeText("title", s, MaxTitleRunes)
}

// NormalizeListName is [NormalizeTitle] for list names, which may be at most
// [MaxListNameRunes] runes long.
func NormalizeListName(s string) (string, error) {
	return normalizeText("name", s, MaxListNameRunes)
}

func normalizeText(field, s string, maxRunes int) (string, error) {
	if !utf8.ValidString(s) {
		return "", troupe.Errorf(troupe.CodeBadRequest, "%s: must be valid UTF-8", field)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return "", troupe.Errorf(troupe.CodeBadRequest, "%s: must not be empty", field)
	}
	n, shown := 0, false
	for _, r := range s {
		if unicode.IsControl(r) {
			return "", troupe.Errorf(troupe.CodeBadRequest, "%s: must not contain control characters", field)
		}
		shown = shown || !invisible(r)
		n++
	}
	if !shown {
		return "", troupe.Errorf(troupe.CodeBadRequest, "%s: must show something: it has only invisible characters", field)
	}
	if n > maxRunes {
		return "", troupe.Errorf(troupe.CodeBadRequest, "%s: must be at most %d characters, not %d", field, maxRunes, n)
	}
	return s, nil
}

// invisible reports whether r shows nothing by itself: white space, format
// characters (zero-width spaces and joiners, direction marks), combining
// marks and variation selectors (which only change the character before
// them), the code points Unicode says to ignore when they cannot be shown,
// and the fillers and blanks that are letters or symbols only in name
// (Hangul fillers, the blank braille pattern).
func invisible(r rune) bool {
	switch r {
	case '\u115F', '\u1160', '\u3164', '\uFFA0', '\u2800', '\u180E':
		return true
	}
	return unicode.IsSpace(r) || unicode.In(r, unicode.Cf, unicode.Mn, unicode.Me, unicode.Zs,
		unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point)
}

// CheckNewTodo normalizes t for [Store.Create]: it returns t with its title
// normalized, or a bad_request error. Implementations of Store call it; the
// todo service may call it to reject bad input before it reaches a store.
func CheckNewTodo(t NewTodo) (NewTodo, error) {
	if t.ListID == "" {
		return t, troupe.Errorf(troupe.CodeBadRequest, "listId: must not be empty")
	}
	if len(t.IdempotencyKey) > MaxKeyBytes {
		return t, troupe.Errorf(troupe.CodeBadRequest, "idempotency key: must be at most %d bytes", MaxKeyBytes)
	}
	if !utf8.ValidString(t.IdempotencyKey) {
		return t, troupe.Errorf(troupe.CodeBadRequest, "idempotency key: must be valid UTF-8")
	}
	title, err := NormalizeTitle(t.Title)
	if err != nil {
		return t, err
	}
	t.Title = title
	return t, nil
}

// CheckPatch normalizes p for [Store.Update]: it returns p with its title
// normalized, or a bad_request error if p changes nothing, its title is
// invalid, or its version is negative.
func CheckPatch(p Patch) (Patch, error) {
	if p.Title == nil && p.Completed == nil {
		return p, troupe.Errorf(troupe.CodeBadRequest, "patch: must change the title or completed")
	}
	if p.Version < 0 {
		return p, troupe.Errorf(troupe.CodeBadRequest, "version: must not be negative")
	}
	if p.Title != nil {
		title, err := NormalizeTitle(*p.Title)
		if err != nil {
			return p, err
		}
		p.Title = &title
	}
	return p, nil
}

// ValidID reports whether a store could hold an item with id: ids the
// stores look up are non-empty valid UTF-8 of at most [MaxIDBytes] bytes.
// Implementations report an invalid id as not found.
func ValidID(id string) bool {
	return id != "" && len(id) <= MaxIDBytes && utf8.ValidString(id) && !strings.ContainsRune(id, 0)
}

// ListNotFound returns the not_found error for an unknown list id.
func ListNotFound(id string) error {
	return troupe.Errorf(troupe.CodeNotFound, "list %q: not found", truncate(id, 40))
}

// TodoNotFound returns the not_found error for an unknown todo id.
func TodoNotFound(id string) error {
	return troupe.Errorf(troupe.CodeNotFound, "todo %q: not found", truncate(id, 40))
}

// Conflict returns the conflict error of an update that carried version
// want when the todo was at version got.
func Conflict(id string, want, got int64) error {
	return troupe.Errorf(troupe.CodeConflict, "todo %q: version %d is stale, the todo is at version %d", truncate(id, 40), want, got)
}

// Now returns the current time as stores record it: UTC, truncated to the
// microsecond (the precision both SQLite and PostgreSQL keep).
func Now() time.Time {
	return time.Now().UTC().Truncate(time.Microsecond)
}

// Unavailable wraps a database error that means the database cannot be
// reached in an unavailable *troupe.Error. The cause stays in the chain but
// not in the message, which may reach clients.
func Unavailable(err error) error {
	return &troupe.Error{Code: troupe.CodeUnavailable, Msg: "store: database unavailable", Err: err}
}

// Internal wraps an unexpected database error in an internal *troupe.Error.
func Internal(op string, err error) error {
	return &troupe.Error{Code: troupe.CodeInternal, Msg: "store: " + op + " failed", Err: fmt.Errorf("store: %s: %w", op, err)}
}

// Timeout wraps a context error in a timeout *troupe.Error.
func Timeout(err error) error {
	return &troupe.Error{Code: troupe.CodeTimeout, Msg: "store: " + err.Error(), Err: err}
}

// truncate shortens s, which may be client input, for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
