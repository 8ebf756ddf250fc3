package natsbus

import "github.com/troupe-go/troupe"

// observePermissions adds what user needs to be seen by the operator's tools
// (docs/protocol.md, "Observing"). Each service instance answers NATS's
// service discovery protocol ($SRV.PING, $SRV.INFO and $SRV.STATS, alone,
// with its service's name, and with its instance's id), each node the
// observe queries (troupe.<app>.observe.*), both on the reply subject of
// whoever asked (allow_responses), and sends tap frames
// (troupe.<app>.tap.*). The operator asks: it publishes the queries,
// receives the frames, and receives answers on NATS's default inbox too, so
// that `nats micro ls` works as the operator without an inbox prefix.
func observePermissions(p *Permission, s subjects, user string) {
	if user == troupe.OperatorService {
		p.Publish = append(p.Publish, "$SRV.>", s.prefix+".observe.*")
		p.Subscribe = append(p.Subscribe, s.prefix+".tap.*", "_INBOX.>")
		return
	}
	for _, verb := range []string{"PING", "INFO", "STATS"} {
		p.Subscribe = append(p.Subscribe, "$SRV."+verb, "$SRV."+verb+"."+user, "$SRV."+verb+"."+user+".*")
	}
	p.Subscribe = append(p.Subscribe, s.prefix+".observe.*")
	p.Publish = append(p.Publish, s.prefix+".tap.*")
	p.AllowResponses = true
}
