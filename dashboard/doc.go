// Package dashboard is the web page of a running troupe application:
// Erlang's observer and Phoenix's LiveDashboard for every process and
// machine at once. It shows the services and each of their instances
// (found over the bus by the observe protocol, not from one process's
// state), the traffic per message (rates, errors by code, latency
// percentiles, drawn as charts over the last five minutes), the alarms and
// their history, recent crash reports with their stacks and incident ids,
// each instance's supervision tree with mailbox depths and restarts, the
// dead letters, one activity followed across services as a timeline of its
// hops, and a live tap of the messages.
//
// A node serves it on its admin listener (host.HTTPConfig.AdminAddr, on
// loopback by default); [New] gives the http.Handler for any other
// listener. The page is one HTML file, a script and a style sheet,
// embedded, with no other origin: it works offline and in headless
// Chromium. It updates itself from one server-sent event stream; the
// dashboard asks the nodes once a second only while a page is open, and a
// page that falls behind is disconnected rather than buffered for.
package dashboard
