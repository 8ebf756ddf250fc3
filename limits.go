package troupe

import "time"

// LimitPolicy bounds the work in progress at one place where requests queue:
// one route of the gateway, or one message name at one instance of a
// service. At most Concurrency requests are handled at once; the others wait
// their turn, first come first served, at most Queue of them and each at
// most MaxWait; a request that cannot be handled in time is shed: it fails at
// once with an unavailable Error (the gateway answers 503 with Retry-After)
// instead of waiting out its budget and timing out.
//
// A request is also shed on arrival, rather than after MaxWait, when the
// service times measured so far say that its turn would come later than
// MaxWait or that it would miss its deadline; and when its turn comes, if
// too little of its budget is left for a handling of the usual length. So
// the queue adapts to how slow the handling is, and the requests that are
// accepted are answered within their budget.
//
// A zero field means the default of the side that applies the policy
// (docs/gateway.md, "Limits and load shedding"); a negative Queue means no
// queue (shed as soon as Concurrency requests are in progress).
type LimitPolicy struct {
	// Name is the route pattern ("GET /api/lists/{list}/todos", "POST /")
	// or the message name ("todo.list") the policy applies to; empty in a
	// policy for every route or message.
	Name string
	// Off turns the limit off: every request is handled at once.
	Off bool
	// Concurrency is the number of requests handled at once.
	Concurrency int
	// Queue is the number of requests that may wait for their turn.
	Queue int
	// MaxWait is the longest a request waits for its turn.
	MaxWait time.Duration
}

// LimitStats are the counts of one limit since it was made, for metrics,
// alarms and the dashboard. Counts only grow; take differences over a
// window for rates.
type LimitStats struct {
	// Service is the service whose instance applies the limit, or
	// GatewayService for a route of the gateway.
	Service string
	// Instance is the instance that applies it.
	Instance string
	// Name is the message name or the route pattern.
	Name string

	Concurrency int // the limit in force
	InFlight    int // requests being handled now
	Queued      int // requests waiting now

	Arrived uint64 // requests that arrived
	Shed    uint64 // requests refused: queue full, waited too long, would miss their deadline
	Late    uint64 // requests handled that missed their deadline
	Delayed uint64 // requests that waited more than half of MaxWait for their turn
	// Waited is the time the requests handled waited for their turn, in
	// all.
	Waited time.Duration
	// ServiceTime is the moving average of the time a request takes once
	// its turn came.
	ServiceTime time.Duration
}
