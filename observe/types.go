package observe

import (
	"encoding/json"
	"time"
)

// The observe protocol's messages, in JSON (docs/protocol.md, "Observing").

// Node is what one node (one operating-system process) says of itself and
// of the instances it runs, in answer to a Nodes query.
type Node struct {
	ID      string    `json:"id"`      // the node's id, unique across processes and machines
	App     string    `json:"app"`     // the application's name
	Host    string    `json:"host"`    // the machine's host name
	PID     int       `json:"pid"`     // the operating system's process id
	Version string    `json:"version"` // the binary's version
	Started time.Time `json:"started"`
	At      time.Time `json:"at"` // when this snapshot was taken

	Instances   []Instance   `json:"instances"`
	Alarms      []Alarm      `json:"alarms,omitempty"`      // every alarm's current state
	AlarmEvents []AlarmEvent `json:"alarmEvents,omitempty"` // the last raised and cleared events, oldest first
	Crashes     []Crash      `json:"crashes,omitempty"`     // the last crash reports, oldest first
	DeadLetters []DeadLetter `json:"deadLetters,omitempty"` // the last dead letters, oldest first
	// Processes counts the node's live processes outside any service
	// instance's supervision tree.
	Processes int `json:"processes"`
	// Sampling is the share of activities whose hops the node records
	// (see Activity): 1 records every one, 1/8 one in eight; 0 while
	// nobody watches.
	Sampling float64 `json:"sampling"`
}

// Instance is one service instance and its traffic.
type Instance struct {
	Service  string    `json:"service"`
	ID       string    `json:"id"`
	Started  time.Time `json:"started"`
	Messages []Message `json:"messages"` // per name its service sends or receives, by name
	// Tree is the instance's supervision tree (nil when not asked for,
	// or for the gateway, which has none).
	Tree      *Process `json:"tree,omitempty"`
	Processes int      `json:"processes"` // live processes in its tree
	Mailbox   int      `json:"mailbox"`   // messages waiting in their mailboxes (estimated)
	Crashes   uint64   `json:"crashes"`   // crashes in its tree, ever
	Restarts  uint64   `json:"restarts"`  // restarts by its supervisors, ever
}

// Message is one instance's counters for one message name since it
// joined. Sent, Errors, Codes, InFlight and Latency count the requests,
// sends and publishes it made; Received, HandlerErrors, DeadLetters and
// Handled what was delivered to it.
type Message struct {
	Name          string            `json:"name"`
	Sends         bool              `json:"sends,omitempty"`    // its service sends the name
	Receives      bool              `json:"receives,omitempty"` // its service receives it
	Sent          uint64            `json:"sent"`
	Received      uint64            `json:"received"`
	Errors        uint64            `json:"errors"`
	Codes         map[string]uint64 `json:"codes,omitempty"` // Errors by code
	HandlerErrors uint64            `json:"handlerErrors"`
	Refusals      uint64            `json:"refusals"`
	Dropped       uint64            `json:"dropped"` // late, expired and other drops
	DeadLetters   uint64            `json:"deadLetters"`
	InFlight      int64             `json:"inFlight"`
	Latency       Histogram         `json:"latency"`
	Handled       uint64            `json:"handled"`        // final replies its handlers sent
	HandledTime   float64           `json:"handledSeconds"` // their time from delivery, summed, in seconds
}

// Histogram is a latency histogram: Buckets maps the index of a bucket (its
// upper bound is 1µs·√2^index, see bus.LatencyBounds; index 49 is slower
// than every bound) to its count; empty buckets are left out.
type Histogram struct {
	Count   uint64         `json:"count"`
	Sum     float64        `json:"sum"` // seconds
	Buckets map[int]uint64 `json:"buckets,omitempty"`
}

// Process is one process of a supervision tree.
type Process struct {
	Name       string    `json:"name"`            // its name, or ""
	Child      string    `json:"child,omitempty"` // its name in its supervisor's spec
	PID        string    `json:"pid,omitempty"`
	Supervisor bool      `json:"supervisor,omitempty"`
	Mailbox    int       `json:"mailbox"`
	Restarts   int       `json:"restarts"`
	Restarting bool      `json:"restarting,omitempty"`
	Children   []Process `json:"children,omitempty"`
	More       int       `json:"more,omitempty"` // children not listed
}

// Alarm is the current state of one of a node's alarms.
type Alarm struct {
	Name    string    `json:"name"`
	Kind    string    `json:"kind,omitempty"`
	Active  bool      `json:"active"`
	Value   float64   `json:"value"`
	High    float64   `json:"high"`
	Low     float64   `json:"low"`
	Since   time.Time `json:"since,omitzero"`
	Message string    `json:"message,omitempty"`
}

// AlarmEvent is one alarm raised or cleared.
type AlarmEvent struct {
	Alarm   string    `json:"alarm"`
	State   string    `json:"state"` // raised or cleared
	Value   float64   `json:"value"`
	At      time.Time `json:"at"`
	Message string    `json:"message"`
	Subject string    `json:"subject,omitempty"`
}

// Crash is one crash report, as logged (see actor.CrashError).
type Crash struct {
	Incident    string    `json:"incident"`
	At          time.Time `json:"at"`
	Service     string    `json:"service,omitempty"`
	Instance    string    `json:"instance,omitempty"`
	Process     string    `json:"process"`
	PID         string    `json:"pid"`
	Supervisor  string    `json:"supervisor,omitempty"`
	Name        string    `json:"name,omitempty"`        // the message name handled
	MessageType string    `json:"messageType,omitempty"` // what was handled ("request todo.add")
	Activity    string    `json:"activity,omitempty"`
	TraceID     string    `json:"traceId,omitempty"`
	Panic       string    `json:"panic"`
	Stack       string    `json:"stack"`
}

// DeadLetter is one durable message a service gave up on.
type DeadLetter struct {
	At       time.Time `json:"at"`
	Name     string    `json:"name"`
	ID       string    `json:"id"`
	Activity string    `json:"activity,omitempty"`
	Service  string    `json:"service"`
	Reason   string    `json:"reason"`
}

// Hop is one envelope seen on its way by one node: sent by one of its
// members, delivered to one, or a reply one sent.
type Hop struct {
	At         time.Time       `json:"at"`
	Node       string          `json:"node"`
	Event      string          `json:"event"`    // sent, delivered, replied, dead_letter
	Service    string          `json:"service"`  // the member that sent, received or replied
	Instance   string          `json:"instance"` // ...
	Kind       string          `json:"kind"`     // request, send, publish, reply
	Name       string          `json:"name"`
	ID         string          `json:"id"`
	Activity   string          `json:"activity"`
	ResponseTo string          `json:"responseTo,omitempty"`
	From       string          `json:"from"`           // the envelope's sender, service/instance
	Code       string          `json:"code,omitempty"` // an Error reply's code
	Took       float64         `json:"took,omitempty"` // replied: seconds from delivery to this reply
	TraceID    string          `json:"traceId,omitempty"`
	Reason     string          `json:"reason,omitempty"`  // dead_letter: why
	Payload    json.RawMessage `json:"payload,omitempty"` // tap only: the payload, cut at MaxTapPayload
	Cut        bool            `json:"cut,omitempty"`     // the payload was longer
}

// Filter selects the hops a tap shows. An empty field selects everything.
type Filter struct {
	// Names are message names or patterns in path.Match's syntax
	// ("todo.*"); a hop matches one of them.
	Names []string `json:"names,omitempty"`
	// Services: a hop matches if its member, or its envelope's sender, is
	// an instance of one of them.
	Services []string `json:"services,omitempty"`
	// Activity, if set, selects the hops of one activity.
	Activity string `json:"activity,omitempty"`
}

// tapRequest starts or renews a tap session on every node.
type tapRequest struct {
	Session string `json:"session"`
	Filter  Filter `json:"filter"`
	Lease   int64  `json:"leaseMs"` // how long the session lasts without renewal
	Stop    bool   `json:"stop,omitempty"`
}

// tapFrame is a batch of hops one node sends to a tap session.
type tapFrame struct {
	Node    string `json:"node"`
	Hops    []Hop  `json:"hops"`
	Dropped uint64 `json:"dropped,omitempty"` // hops dropped since the last frame (the session fell behind)
}

// nodesRequest asks every node for its Node.
type nodesRequest struct {
	Trees  bool `json:"trees,omitempty"`  // include each instance's supervision tree
	Record bool `json:"record,omitempty"` // record hops for Activity for a while
}

// activityRequest asks every node for the hops it recorded of an activity
// (or, with an empty Activity, of the most recent ones).
type activityRequest struct {
	Activity string `json:"activity"`
	Limit    int    `json:"limit,omitempty"`
}

type activityReply struct {
	Node string `json:"node"`
	Hops []Hop  `json:"hops"`
}
