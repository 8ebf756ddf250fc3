package apidoc

import (
	"fmt"
	"slices"

	"github.com/troupe-go/troupe"
)

// AsyncAPIVersion is the AsyncAPI version of the document AsyncAPI writes.
const AsyncAPIVersion = "3.0.0"

// natsBinding is the version of the AsyncAPI NATS bindings used.
const natsBinding = "0.1.0"

// repliesChannel is the id of the channel that carries every reply.
const repliesChannel = "replies"

// AsyncAPI returns the AsyncAPI 3.0 document (JSON) of app's bus, as the
// NATS transport carries it (docs/protocol.md, "Transport: NATS"):
//
//   - one channel per message name some service sends or receives, at its
//     subject: troupe.<app>.msg.<name>, or troupe.<app>.durable.<name> for a
//     durable name; and the channel of replies,
//     troupe.<app>.reply.{service}.{instance}.{request};
//   - per service, a receive operation for each name it receives (with the
//     NATS queue group, the service's name, and the reply channel and reply
//     messages when the manifest declares the name's replies) and a send
//     operation for each name it sends;
//   - per message, the envelope (components.schemas["troupe.Envelope"]) with
//     the message's name and its payload schema from the manifest.
//
// The manifest's shared schemas are components.schemas; their references
// (#/schemas/N) become #/components/schemas/N.
func AsyncAPI(app *troupe.App) ([]byte, error) {
	if app == nil {
		return nil, fmt.Errorf("apidoc: asyncapi: no app")
	}
	schemas, err := components(app)
	if err != nil {
		return nil, err
	}
	schemas[envelopeSchemaName] = envelopeSchema()
	names := messageNames(app)
	replies := replyNames(app, names)
	prefix := "troupe." + app.Name
	messages := map[string]any{}
	message := func(name string, kind string) (map[string]any, error) {
		p, err := payloadOf(app, name)
		if err != nil {
			return nil, err
		}
		if name == troupe.ErrorName {
			p = map[string]any{"$ref": componentPrefix + errorSchemaName}
		}
		m := map[string]any{
			"name":        name,
			"title":       name,
			"contentType": "application/json",
			"payload":     envelopeOf(name, kind, p),
		}
		if d := description(app, name); d != "" {
			m["summary"] = d
		}
		return m, nil
	}
	channels := map[string]any{}
	for _, n := range names {
		kind := "request, send or publish"
		if len(repliesOf(app, n)) > 0 {
			kind = "request"
		}
		m, err := message(n, kind)
		if err != nil {
			return nil, err
		}
		messages[n] = m
		addr := prefix + ".msg." + n
		desc := fmt.Sprintf("At-most-once envelopes named %s; each receiving service is a NATS queue group of its name.", n)
		if app.IsDurable(n) {
			addr = prefix + ".durable." + n
			desc = fmt.Sprintf("Durable envelopes named %s, stored in the JetStream stream troupe-%s and delivered at least once to each receiving service.", n, app.Name)
		}
		if d := description(app, n); d != "" {
			desc = d + " " + desc
		}
		channels[n] = map[string]any{
			"address":     addr,
			"description": desc,
			"messages":    map[string]any{n: ref("#/components/messages/" + n)},
		}
	}
	replyMsgs := map[string]any{troupe.ErrorName: ref("#/components/messages/" + troupe.ErrorName)}
	for _, r := range slices.Concat(replies, []string{troupe.ErrorName}) {
		m, err := message(r, "reply")
		if err != nil {
			return nil, err
		}
		messages[r] = m
		replyMsgs[r] = ref("#/components/messages/" + r)
	}
	channels[repliesChannel] = map[string]any{
		"address":     prefix + ".reply.{service}.{instance}.{request}",
		"description": "The replies to a request, published by each replier to the requesting member.",
		"messages":    replyMsgs,
		"parameters": map[string]any{
			"service":  map[string]any{"description": "The requester's service."},
			"instance": map[string]any{"description": "The requester's instance."},
			"request":  map[string]any{"description": "The id of the request."},
		},
	}
	operations := map[string]any{}
	for _, s := range app.Services {
		for _, n := range s.Receives {
			op := map[string]any{
				"action":   "receive",
				"channel":  ref("#/channels/" + n),
				"messages": []any{ref("#/channels/" + n + "/messages/" + n)},
				"bindings": map[string]any{"nats": map[string]any{"queue": s.Name, "bindingVersion": natsBinding}},
			}
			if d := description(app, n); d != "" {
				op["summary"] = d
			}
			if rs := repliesOf(app, n); len(rs) > 0 {
				var refs []any
				for _, r := range slices.Concat(rs, []string{troupe.ErrorName}) {
					refs = append(refs, ref("#/channels/"+repliesChannel+"/messages/"+r))
				}
				op["reply"] = map[string]any{"channel": ref("#/channels/" + repliesChannel), "messages": refs}
			}
			operations[s.Name+".receive."+n] = op
		}
		for _, n := range s.Sends {
			operations[s.Name+".send."+n] = map[string]any{
				"action":   "send",
				"channel":  ref("#/channels/" + n),
				"messages": []any{ref("#/channels/" + n + "/messages/" + n)},
			}
		}
	}
	doc := map[string]any{
		"asyncapi": AsyncAPIVersion,
		"id":       "urn:troupe:" + app.Name,
		"info": map[string]any{
			"title":   app.Name,
			"version": Version,
			"description": "The messages of the troupe application " + app.Name + " on its bus, as the NATS transport carries them " +
				"(troupe wire protocol version 1: every NATS message is one envelope whose payload is the message).",
		},
		"defaultContentType": "application/json",
		"servers": map[string]any{
			"embedded": map[string]any{
				"host":        "127.0.0.1:4222",
				"protocol":    "nats",
				"description": "The NATS server that troupe run embeds (-nats-port); a cluster has its own address.",
			},
		},
		"channels":   channels,
		"operations": operations,
		"components": map[string]any{"messages": messages, "schemas": schemas},
	}
	return marshal(doc)
}

func ref(to string) map[string]any { return map[string]any{"$ref": to} }

// envelopeOf is the schema of the envelope that carries message name with
// payload p (nil: any).
func envelopeOf(name, kind string, p any) map[string]any {
	props := map[string]any{"name": map[string]any{"const": name}}
	if p != nil {
		props["payload"] = p
	}
	return map[string]any{
		"description": "The envelope of a " + kind + " named " + name + ".",
		"allOf": []any{
			ref(componentPrefix + envelopeSchemaName),
			map[string]any{"type": "object", "properties": props},
		},
	}
}

// envelopeSchema describes the wire form of an envelope (docs/protocol.md).
func envelopeSchema() map[string]any {
	id := map[string]any{"type": "string", "pattern": "^[0-7][0-9A-HJKMNP-TV-Z]{25}$", "description": "A ULID."}
	str := func(d string) map[string]any { return map[string]any{"type": "string", "description": d} }
	return map[string]any{
		"type":        "object",
		"description": "A troupe envelope, wire version 1 (docs/protocol.md).",
		"required":    []string{"v", "kind", "name", "id", "sender", "sentAt"},
		"properties": map[string]any{
			"v":          map[string]any{"const": troupe.WireVersion},
			"kind":       map[string]any{"type": "string", "enum": []string{"request", "send", "publish", "reply"}},
			"name":       str("The message name: the routing key."),
			"id":         id,
			"activity":   id,
			"responseTo": id,
			"sender": map[string]any{
				"type":     "object",
				"required": []string{"service", "instance"},
				"properties": map[string]any{
					"service":  str("The sending service."),
					"instance": str("The sending instance."),
				},
			},
			"sentAt":   map[string]any{"type": "string", "format": "date-time"},
			"deadline": map[string]any{"type": "string", "format": "date-time"},
			"headers":  map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}},
			"more":     map[string]any{"type": "boolean"},
			"durable":  map[string]any{"type": "boolean"},
			"payload":  map[string]any{"description": "The message body."},
		},
	}
}
