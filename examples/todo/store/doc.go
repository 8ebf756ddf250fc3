// Package store is the storage of the todo application: the domain types
// ([List], [Todo]), their validation, and the [Store] interface that the todo
// service keeps them behind.
//
// Two packages implement Store: store/sqlite (a file under the data
// directory, the embedded default) and store/postgres (chosen by a DSN). Both
// embed their schema migrations and apply them at Open, and both pass the one
// conformance suite in store/storetest.
//
// # Lists and todos
//
// A store holds named lists; the list [DefaultListID] ("default", named
// "Todo") exists from the first migration on and cannot be deleted. A todo
// belongs to one list; [Store.List] returns a list's todos in the order they
// were created, filtered by [Filter], with the [Counts] of the whole list.
//
// # Validation
//
// Titles are trimmed and must be valid UTF-8 without control characters, not
// empty, and at most [MaxTitleRunes] (500) runes long; see [NormalizeTitle].
// Titles are stored verbatim otherwise: escaping them is the job of whatever
// renders them.
//
// # Errors
//
// Every error a Store returns is a *troupe.Error: bad_request (with a message
// such as "title: must not be empty") when input is invalid, not_found for
// unknown list or todo ids, conflict for a stale version, unavailable when
// the database cannot be reached, timeout when the context ended. Test them
// with errors.Is(err, troupe.ErrNotFound) and the other sentinels. A call
// that fails changes nothing: every write is one transaction.
//
// # Concurrent edits
//
// Every update increments [Todo.Version]. An update whose [Patch] carries a
// Version is compare-and-set: it fails with a conflict error if the todo has
// changed since that version. An update without one is last-write-wins.
//
// # Redelivery
//
// [NewTodo.IdempotencyKey] makes a create idempotent: the todo service passes
// the bus message id, so a durable todo.create that is delivered twice makes
// one todo.
package store
