// Package todo is the todo service of the todo application: it owns the
// store (store.Store) and answers requests about lists and todos over the
// bus, and it publishes an event for every change so that other services
// (the web service's live updates) can follow without asking.
//
// # Messages
//
// Requests and their replies (the reply names are what the gateway writes as
// "type"):
//
//	list.all      {}                                  → lists        {"lists": [...]}
//	list.create   {"name"}                            → list         {"id", "name", "createdAt"}
//	todo.list     {"list", "filter"}                  → todo.listing {"list", "todos", "counts", "epoch", "seq"}
//	todo.get      {"list", "id"}                      → todo         a Todo
//	todo.create   {"list", "title"}                   → todo         the new Todo
//	todo.update   {"list", "id", "title", "completed", "version"} → todo
//	todo.delete   {"list", "id"}                      → deleted      {"list", "id"}
//	todo.clear    {"list", "completed": "true"}       → cleared      {"list", "cleared"}
//
// Errors are *troupe.Error values and keep their codes across the bus:
// bad_request for invalid input (an empty title, one over 500 characters),
// not_found for an unknown list or todo (or a todo of another list), conflict
// for an update whose version is stale.
//
// # Events
//
// Every change is published as an Event: todo.created, todo.updated,
// todo.deleted, todo.cleared and list.created. An event carries the list id,
// the todo as it is now (and, for updates and deletes, whether it was
// completed before), so a browser can apply it without asking again, and a
// per-list sequence number: the n-th change of a list since the service
// started has Seq n, under the service instance's Epoch. A todo.listing
// carries the epoch and sequence number of the state it shows, so a client
// that holds a listing applies the events with the next numbers and, when it
// sees a gap or another epoch, asks for the listing again.
//
// Writes and listings of one instance are serialized against each other, so
// a listing and its sequence number always agree.
//
// One more event, token.revoked, is for the gateway: deleting an API token
// publishes it, naming the token's user, and every gateway instance, which
// keeps who a token belongs to for a minute, drops its answers about the
// user (the manifest's gateway revoked, docs/gateway.md).
//
// # Redelivery
//
// todo.create may be declared durable: the service passes the bus message id
// to the store as the idempotency key, so a create delivered twice makes one
// todo.
package todo
