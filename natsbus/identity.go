package natsbus

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
	"github.com/troupe-go/troupe"
	"github.com/troupe-go/troupe/bus"
)

// Identity on NATS (docs/protocol.md, "Identity"):
//
//   - A sender publishes under its own service's token
//     (troupe.<app>.msg.<service>.<name>, troupe.<app>.durable.<service>.<name>)
//     and a replier under its own too (troupe.<app>.reply.<requester
//     service>.<instance>.<id>.<replier>); the server's publish permissions
//     let each user publish under its own service's token only. The
//     receiving transport takes the token as the envelope's From, and
//     refuses an envelope whose sender names another service.
//   - A refused request is answered at once on its NATS reply subject with
//     an Error reply, unless that subject belongs to another service (an
//     answer there would reach the service the forger named).
//   - Each service logs in with its own nkey.

// receive delivers an at-most-once envelope that arrived on the
// subscription to name, after the transport's half of the checks.
func (p *port) receive(msg *nats.Msg, name string, d bus.Deliverer) {
	t := p.t
	from, subjName := t.subj.sender(msg.Subject)
	env, err := troupe.DecodeEnvelopeOwned(msg.Data)
	switch {
	case err != nil:
		p.refuse(msg, from, nil, &t.malformed, "malformed", err.(*troupe.Error))
	case subjName != name || env.Name != name || env.Kind == troupe.KindReply:
		p.refuse(msg, from, env, &t.malformed, "wrong subject",
			troupe.Errorf(troupe.CodeBadRequest, "natsbus: a %s named %q on the subject %s", env.Kind, env.Name, msg.Subject))
	case env.Sender.Service != from:
		p.refuse(msg, from, env, &t.forged, "forged sender",
			troupe.Errorf(troupe.CodeForbidden, "natsbus: sent with the credentials of service %q, the envelope claims to be from %q", from, env.Sender.Service))
	default:
		env.From = from
		if msg.Reply != "" && env.Kind == troupe.KindRequest && !strings.HasPrefix(msg.Reply, t.subj.prefix+".reply.") &&
			!t.subj.ownedByOther(msg.Reply, from) {
			// A raw client that asked from an inbox of its own (a NATS
			// tool, a client in another language): its replies, the
			// bus's refusals included, go there (Reply).
			p.rememberRaw(env.ID, msg.Reply, env.Deadline)
		}
		d.Deliver(env, nil)
	}
}

// rawReply is where a raw client's request is answered, until its deadline.
type rawReply struct {
	subject string
	until   time.Time
}

// Bounds of a port's raw reply subjects: past rawPrune the expired ones
// go; past rawMax a raw client's request is answered on the troupe reply
// subject only (which such a client does not read).
const (
	rawPrune = 1024
	rawMax   = 4096
)

// rememberRaw notes that request id is answered on subject.
func (p *port) rememberRaw(id troupe.ID, subject string, until time.Time) {
	p.rawMu.Lock()
	defer p.rawMu.Unlock()
	if p.raw == nil {
		p.raw = map[troupe.ID]rawReply{}
	}
	// A scan happens only once the earliest deadline has passed, so that
	// many requests in flight at once do not each scan all the others.
	if len(p.raw) >= rawPrune {
		if now := time.Now(); now.After(p.rawNext) {
			p.rawScans++
			next := time.Time{}
			for k, r := range p.raw {
				if now.After(r.until) {
					delete(p.raw, k)
				} else if next.IsZero() || r.until.Before(next) {
					next = r.until
				}
			}
			p.rawNext = next
		}
	}
	if len(p.raw) < rawMax {
		p.raw[id] = rawReply{subject: subject, until: until}
		if len(p.raw) == 1 || until.Before(p.rawNext) {
			p.rawNext = until
		}
		p.rawAny.Store(true)
	}
}

// rawSubject returns the raw client's reply subject of request id, if it
// has one, and forgets it with the final reply.
func (p *port) rawSubject(id troupe.ID, final bool) (string, bool) {
	if !p.rawAny.Load() {
		return "", false // no raw client ever asked: the common case, lock-free
	}
	p.rawMu.Lock()
	defer p.rawMu.Unlock()
	r, ok := p.raw[id]
	if ok && final {
		delete(p.raw, id)
	}
	return r.subject, ok
}

// refuse counts and logs an envelope the transport refuses, and answers it
// on its NATS reply subject when it has one that may be answered: not one
// of another service (which a forger could name to make its victim receive
// the answer). env is nil when the data did not decode.
func (p *port) refuse(msg *nats.Msg, from string, env *troupe.Envelope, counter interface{ Add(uint64) uint64 }, reason string, e *troupe.Error) {
	t := p.t
	counter.Add(1)
	t.log.Warn("natsbus: refused envelope", "member", p.m.String(), "reason", reason, "subject", msg.Subject,
		"from", from, "size", len(msg.Data), "err", e.Msg)
	if msg.Reply == "" || t.subj.ownedByOther(msg.Reply, from) {
		return
	}
	id := refusedID(env, msg.Data)
	ans := &troupe.Envelope{
		Kind: troupe.KindReply, Name: troupe.ErrorName, ID: troupe.NewID(), ActivityID: id, ResponseTo: id,
		Sender: p.m, SentAt: time.Now(),
	}
	ans.Payload, _ = json.Marshal(&troupe.Error{Code: e.Code, Msg: e.Msg})
	data, err := ans.MarshalJSON()
	if err == nil {
		err = p.nc.Publish(msg.Reply, data)
	}
	if err != nil {
		t.log.Debug("natsbus: refusal not answered", "member", p.m.String(), "subject", msg.Reply, "err", err)
	}
}

// refusedID is the id a refusal answers: the envelope's, or, when it did not
// decode, its "id" member if that is an ID, else the zero ID.
func refusedID(env *troupe.Envelope, data []byte) troupe.ID {
	if env != nil {
		return env.ID
	}
	var v struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(data, &v) == nil && troupe.ValidID(v.ID) {
		return v.ID
	}
	return zeroID
}

// zeroID is the responseTo of an answer to data that held no request id.
const zeroID = "00000000000000000000000000"

// nkeyOption logs in with the nkey whose seed is seed: the server sends a
// nonce, the client signs it; the seed never leaves the process.
func nkeyOption(seed string) (nats.Option, error) {
	kp, err := nkeys.FromSeed([]byte(seed))
	if err != nil {
		return nil, fmt.Errorf("nkey seed: %w", err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("nkey seed: %w", err)
	}
	if !nkeys.IsValidPublicUserKey(pub) {
		return nil, fmt.Errorf("nkey seed: not a user key")
	}
	return nats.Nkey(pub, kp.Sign), nil
}

// Option returns the nats.go option that logs in with c: its nkey if it
// has a seed, else its user name and password. It is how a program of one's
// own (a test, a tool) connects as a service.
func (c Credential) Option() (nats.Option, error) {
	if c.Seed != "" {
		return nkeyOption(c.Seed)
	}
	return nats.UserInfo(c.User, c.Password), nil
}

// NewSeed returns the seed of a new NATS user nkey ("SU..."), for a
// service's credential.
func NewSeed() (string, error) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		return "", fmt.Errorf("natsbus: nkey: %w", err)
	}
	seed, err := kp.Seed()
	if err != nil {
		return "", fmt.Errorf("natsbus: nkey: %w", err)
	}
	return string(seed), nil
}

// PublicKey returns the public key ("U...") of the user nkey seed: what a
// NATS server's configuration lists for the user (nkey: U...).
func PublicKey(seed string) (string, error) {
	kp, err := nkeys.FromSeed([]byte(seed))
	if err != nil {
		return "", fmt.Errorf("natsbus: nkey seed: %w", err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return "", fmt.Errorf("natsbus: nkey seed: %w", err)
	}
	return pub, nil
}
