package observe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/troupe-go/troupe"
)

// The observe protocol over NATS (docs/protocol.md, "Observing"): every
// node's agent subscribes to troupe.<app>.observe.* and answers each query
// on its reply subject; a tap session's frames go to troupe.<app>.tap.<id>.
// The operator publishes the queries and subscribes to the frames; the
// services' NATS users may subscribe to the queries, publish frames, and
// answer what they received (natsbus.Permissions).

// ObserveSubject returns the subject of the observe query what ("nodes",
// "tap", "activity") of app.
func ObserveSubject(app, what string) string { return "troupe." + app + ".observe." + what }

// TapSubject returns the subject that the frames of tap session id of app go
// to.
func TapSubject(app, id string) string { return "troupe." + app + ".tap." + id }

// maxQuery bounds the size of an observe query.
const maxQuery = 64 << 10

var errConnClosed = nats.ErrConnectionClosed

// ServeNATS makes the agent answer the observe protocol on nc, a connection
// logged in as one of the node's services (or the operator). It answers
// until Close.
func (a *Agent) ServeNATS(nc *nats.Conn) error {
	app := a.cfg.App.Name
	sub, err := nc.Subscribe(ObserveSubject(app, "*"), func(msg *nats.Msg) {
		if msg.Reply == "" || len(msg.Data) > maxQuery {
			return
		}
		what := msg.Subject[strings.LastIndexByte(msg.Subject, '.')+1:]
		out, err := a.answer(nc, what, msg.Data)
		if err != nil {
			out, _ = json.Marshal(map[string]string{"node": a.cfg.Node, "error": err.Error()})
		}
		if err := msg.Respond(out); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			a.log.Debug("observe: reply not sent", "query", what, "err", err)
		}
	})
	if err != nil {
		return fmt.Errorf("observe: serve: %w", err)
	}
	if err := nc.Flush(); err != nil {
		_ = sub.Unsubscribe()
		return fmt.Errorf("observe: serve: %w", err)
	}
	return a.keep(sub)
}

// keep remembers a subscription to end in Close.
func (a *Agent) keep(sub subscription) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		_ = sub.Unsubscribe()
		return errors.New("observe: agent closed")
	}
	a.subs = append(a.subs, sub)
	return nil
}

// answer handles one observe query.
func (a *Agent) answer(nc *nats.Conn, what string, data []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	switch what {
	case "nodes":
		var req nodesRequest
		if err := unmarshal(data, &req); err != nil {
			return nil, err
		}
		return json.Marshal(a.Node(ctx, NodeOptions(req)))
	case "activity":
		var req activityRequest
		if err := unmarshal(data, &req); err != nil {
			return nil, err
		}
		return json.Marshal(activityReply{Node: a.cfg.Node, Hops: a.recorded(req.Activity, req.Limit)})
	case "tap":
		var req tapRequest
		if err := unmarshal(data, &req); err != nil {
			return nil, err
		}
		if !validSession(req.Session) {
			return nil, fmt.Errorf("tap: session %q is not a subject token of 1 to 64 letters, digits, '-' and '_'", truncate(req.Session, 70))
		}
		subject := TapSubject(a.cfg.App.Name, req.Session)
		err := a.openTap(req, func(f tapFrame) error {
			out, err := json.Marshal(f)
			if err != nil {
				return err
			}
			return nc.Publish(subject, out)
		})
		if err != nil {
			return nil, err
		}
		return json.Marshal(map[string]string{"node": a.cfg.Node})
	}
	return nil, fmt.Errorf("unknown query %q", truncate(what, 40))
}

func unmarshal(data []byte, v any) error {
	if len(data) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return troupe.Errorf(troupe.CodeBadRequest, "query: %v", err)
	}
	return nil
}

func validSession(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
