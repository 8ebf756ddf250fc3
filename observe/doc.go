// Package observe lets an operator see a running application: every
// service and instance across processes and machines, their traffic per
// message, supervision trees, alarms, crash reports and dead letters, the
// hops of one activity, and the messages themselves as they flow.
//
// A tour:
//
//   - Each node (one process) runs an [Agent] over its bus, actor system
//     and alarm monitor. [Agent.Node] is its snapshot; [Agent.ServeNATS]
//     answers the observe protocol on NATS (docs/protocol.md, "Observing")
//     and [Agent.ServeMicro] makes an instance answer NATS's own service
//     discovery ($SRV.PING, $SRV.INFO, $SRV.STATS), so that `nats micro ls`
//     lists troupe services. The host package runs an agent in every node.
//   - A [Client] asks every node at once: over NATS ([NewClient], logged in
//     as the operator) or, on the in-process bus, the agents of this
//     process ([Local]). [Client.Nodes] gathers the snapshots,
//     [Client.Activity] the recorded hops of an activity, [Client.Tap]
//     streams the hops that a [Filter] selects. The dashboard package and
//     the troupe tap and top commands are built on it.
//
// Watching is read-only and cheap. An agent taps the bus only while a tap
// session is open or a dashboard asked it to record; then it does bounded
// work per message: it records a sample of the activities (each one whole)
// once traffic passes [RecordRate] hops per second, and a tap that cannot
// keep up loses hops (each frame says how many) instead of slowing the
// services or buffering without bound.
package observe
