// Package web is the web service of the todo application: HTML pages that
// show a list by asking the todo service over the bus (todo.list →
// todo.listing), forms that change it, and live updates to every browser
// that shows a list.
//
//	svc, h, err := web.New(service.Config{}, web.Options{})
//	err = svc.Start(ctx, b, sys) // joins the bus as "web"
//	http.Handle("/", h)          // pages, /static/, /live
//	...
//	svc.Stop(ctx)
//	h.Close(ctx)                 // disconnects live browsers
//
// # Pages
//
// The pages are rendered with html/template, so every title is escaped, and
// work without JavaScript: each change is a form post answered with a
// redirect back to the list (post/redirect/get), filters are links with a
// query (?filter=active), editing a title opens a form (?edit=ID). A
// validation error (an empty title, one over 500 characters) renders the
// list again with the message and status 400. A failing todo service or
// store gives an error page with the status the gateway would use for the
// same error code (503 when the store is down, 404 for an unknown list).
//
// The embedded script (static/app.js, no framework) posts the same forms with
// fetch and applies live events in place.
//
// # Live updates
//
// The service receives the todo service's events (todo.created,
// todo.updated, todo.deleted, todo.cleared, list.created) and fans each out
// to the WebSocket connections (GET /live?list=ID) of the browsers showing
// that list. Each connection has a bounded queue (Options.QueueLen); a
// browser whose queue is full is disconnected rather than allowed to slow
// the others, and its script reconnects. On connecting, a browser first gets
// the list's current epoch and sequence number; events carry the next
// numbers, so a browser that missed some (a dropped connection, a gap)
// loads the list again and goes on from there.
//
// # REST API
//
// The REST API is the gateway's (examples/todo/troupe.yaml declares its
// routes, and each message's payload schema and replies); the gateway serves
// its OpenAPI 3.1 document, generated from the manifest, at /openapi.json,
// which Combine also serves at /api/openapi.json, and the AsyncAPI document
// of the bus at /asyncapi.json.
//
// The service calls the todo service through its typed endpoints
// (todo.List, todo.Create, ...), declared with Service.Sends, so the Go
// types of both services are checked against the manifest when they start.
package web
