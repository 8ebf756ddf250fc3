package apidoc

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/troupe-go/troupe"
)

// OpenAPIVersion is the OpenAPI version of the document OpenAPI writes.
const OpenAPIVersion = "3.1.0"

// OpenAPI returns the OpenAPI 3.1 document (JSON) of the gateway's routes
// (docs/gateway.md):
//
//   - a REST route (method, path, message) is an operation whose path
//     parameters, and for GET and DELETE its query parameters, or for POST,
//     PUT and PATCH its JSON body, are the members of the message's payload
//     schema; its success (201 for POST, 200 otherwise) is a JSON object
//     {"type": reply, ...the reply's payload} for each declared reply;
//   - a protocol route (path, types) is a POST whose body is
//     {"type": T, ...the payload of T} for each of its types;
//   - every failure is {"type": "Error", "msg", "code", "incident"}: 4XX and
//     5XX, whose status the error code decides (gateway.StatusOf).
//
// JSON Schema 2020-12 is OpenAPI 3.1's own dialect, so the manifest's
// schemas go in as they are; shared ones are components.schemas.
func OpenAPI(app *troupe.App) ([]byte, error) {
	if app == nil {
		return nil, fmt.Errorf("apidoc: openapi: no app")
	}
	schemas, err := components(app)
	if err != nil {
		return nil, err
	}
	schemas["troupe.ErrorResponse"] = map[string]any{
		"description": "Every failure: seed 001's {\"type\": \"Error\", \"msg\": reason}, with the code and the incident when known.",
		"allOf": []any{
			ref(componentPrefix + errorSchemaName),
			map[string]any{"type": "object", "required": []string{"type", "msg"}, "properties": map[string]any{"type": map[string]any{"const": troupe.ErrorName}}},
		},
	}
	paths := map[string]map[string]any{}
	ids := map[string]int{}
	opID := func(base string) string {
		id := strings.NewReplacer("/", "_", "{", "", "}", "", "$", "", ".", "_").Replace(base)
		ids[id]++
		if n := ids[id]; n > 1 {
			id = fmt.Sprintf("%s_%d", id, n)
		}
		return id
	}
	for _, r := range app.Routes {
		path := strings.NewReplacer("{$}", "", "...}", "}").Replace(r.Path)
		if paths[path] == nil {
			paths[path] = map[string]any{}
		}
		var op map[string]any
		if r.Message != "" {
			op, err = restOperation(app, r)
		} else {
			op, err = protocolOperation(app, r)
		}
		if err != nil {
			return nil, err
		}
		method := r.Method
		if method == "" {
			method = http.MethodPost
		}
		base := r.Message
		if base == "" {
			base = "protocol " + r.Path
		}
		if _, dup := ids[strings.NewReplacer("/", "_", "{", "", "}", "", "$", "", ".", "_").Replace(base)]; dup {
			base += " " + strings.ToLower(method)
		}
		op["operationId"] = opID(strings.ReplaceAll(base, " ", "_"))
		paths[path][strings.ToLower(method)] = op
	}
	ps := map[string]any{}
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		ps[p] = paths[p]
	}
	doc := map[string]any{
		"openapi": OpenAPIVersion,
		"info": map[string]any{
			"title":   app.Name,
			"version": Version,
			"description": "The HTTP API of the troupe application " + app.Name + ", served by its gateway: each route is a request on the bus. " +
				"Every reply is a JSON object whose \"type\" member names the bus reply; every failure is {\"type\": \"Error\", \"msg\", \"code\"}.",
		},
		"servers":    []any{map[string]any{"url": "/", "description": "The gateway that serves this document."}},
		"paths":      ps,
		"components": map[string]any{"schemas": schemas},
	}
	return marshal(doc)
}

// errorResponses are the failures of every operation.
func errorResponses(out map[string]any) {
	for _, status := range []string{"4XX", "5XX"} {
		out[status] = map[string]any{
			"description": "A failure; the status follows its code (bad_request 400, not_found 404, forbidden 403, conflict 409, timeout 504, unavailable 503, internal 500).",
			"content":     map[string]any{"application/json": map[string]any{"schema": ref(componentPrefix + "troupe.ErrorResponse")}},
		}
	}
}

// replyBody is the schema of the response body of a reply named name:
// {"type": name} and the members of its payload.
func replyBody(app *troupe.App, name string) (any, error) {
	typ := map[string]any{"type": "object", "required": []string{"type"}, "properties": map[string]any{"type": map[string]any{"const": name}}}
	p, err := payloadOf(app, name)
	if err != nil || p == nil {
		return typ, err
	}
	if m := resolve(app, p); m != nil && m["type"] != nil && m["type"] != "object" {
		// A payload that is not an object comes as {"type": name, "value": payload}.
		typ["properties"].(map[string]any)["value"] = p
		return typ, nil
	}
	return map[string]any{"allOf": []any{typ, p}}, nil
}

// success is the successful response of a request named name.
func success(app *troupe.App, name, status string, out map[string]any) error {
	var bodies []any
	for _, r := range repliesOf(app, name) {
		b, err := replyBody(app, r)
		if err != nil {
			return err
		}
		bodies = append(bodies, b)
	}
	resp := map[string]any{"description": "The reply."}
	switch len(bodies) {
	case 0:
		resp["content"] = map[string]any{"application/json": map[string]any{"schema": map[string]any{
			"type": "object", "required": []string{"type"}, "properties": map[string]any{"type": map[string]any{"type": "string", "description": "The reply's name."}},
		}}}
	case 1:
		resp["content"] = map[string]any{"application/json": map[string]any{"schema": bodies[0]}}
	default:
		resp["content"] = map[string]any{"application/json": map[string]any{"schema": map[string]any{"oneOf": bodies}}}
	}
	out[status] = resp
	return nil
}

func restOperation(app *troupe.App, r troupe.Route) (map[string]any, error) {
	op := map[string]any{"summary": fmt.Sprintf("%s (bus request %s)", summary(app, r.Message), r.Message)}
	p, err := payloadOf(app, r.Message)
	if err != nil {
		return nil, err
	}
	obj := resolve(app, p)
	props, _ := obj["properties"].(map[string]any)
	var required []string
	if rs, ok := obj["required"].([]any); ok {
		for _, e := range rs {
			if s, ok := e.(string); ok {
				required = append(required, s)
			}
		}
	}
	params := []any{}
	inPath := troupe.PathParams(r.Path)
	for _, name := range inPath {
		s := props[name]
		if s == nil {
			s = map[string]any{"type": "string"}
		}
		params = append(params, map[string]any{"name": name, "in": "path", "required": true, "schema": s})
	}
	rest := map[string]any{}
	for _, k := range slices.Sorted(maps.Keys(props)) {
		if !slices.Contains(inPath, k) {
			rest[k] = props[k]
		}
	}
	var restRequired []string
	for _, k := range required {
		if !slices.Contains(inPath, k) {
			restRequired = append(restRequired, k)
		}
	}
	switch r.Method {
	case http.MethodGet, http.MethodDelete:
		for _, k := range slices.Sorted(maps.Keys(rest)) {
			params = append(params, map[string]any{"name": k, "in": "query", "required": slices.Contains(restRequired, k), "schema": rest[k]})
		}
	default:
		body := map[string]any{"type": "object", "properties": rest}
		if len(restRequired) > 0 {
			body["required"] = restRequired
		}
		if obj == nil {
			body = map[string]any{"type": "object", "description": "The members of the request's payload."}
		}
		op["requestBody"] = map[string]any{
			"required": len(restRequired) > 0,
			"content":  map[string]any{"application/json": map[string]any{"schema": body}},
		}
	}
	op["parameters"] = params
	responses := map[string]any{}
	status := "200"
	if r.Method == http.MethodPost {
		status = "201"
	}
	if err := success(app, r.Message, status, responses); err != nil {
		return nil, err
	}
	errorResponses(responses)
	op["responses"] = responses
	return op, nil
}

func protocolOperation(app *troupe.App, r troupe.Route) (map[string]any, error) {
	var bodies []any
	var replies []string
	for _, t := range r.Types {
		typ := map[string]any{"type": "object", "required": []string{"type"}, "properties": map[string]any{"type": map[string]any{"const": t}}}
		p, err := payloadOf(app, t)
		if err != nil {
			return nil, err
		}
		if p != nil {
			bodies = append(bodies, map[string]any{"allOf": []any{typ, p}})
		} else {
			bodies = append(bodies, typ)
		}
		for _, rn := range repliesOf(app, t) {
			if !slices.Contains(replies, rn) {
				replies = append(replies, rn)
			}
		}
	}
	var body any = map[string]any{"oneOf": bodies}
	if len(bodies) == 1 {
		body = bodies[0]
	}
	op := map[string]any{
		"summary":     "Seed 001's protocol: POST {\"type\": T, ...} for T in " + strings.Join(r.Types, ", ") + "; the reply is {\"type\": reply, ...}.",
		"requestBody": map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": body}}},
	}
	responses := map[string]any{}
	ok := map[string]any{"description": "The reply."}
	var rbodies []any
	for _, rn := range replies {
		b, err := replyBody(app, rn)
		if err != nil {
			return nil, err
		}
		rbodies = append(rbodies, b)
	}
	schema := any(map[string]any{"type": "object", "required": []string{"type"}, "properties": map[string]any{"type": map[string]any{"type": "string"}}})
	switch len(rbodies) {
	case 0:
	case 1:
		schema = rbodies[0]
	default:
		schema = map[string]any{"oneOf": rbodies}
	}
	ok["content"] = map[string]any{"application/json": map[string]any{"schema": schema}}
	responses["200"] = ok
	errorResponses(responses)
	op["responses"] = responses
	return op, nil
}

func summary(app *troupe.App, name string) string {
	if d := description(app, name); d != "" {
		return strings.TrimSuffix(d, ".")
	}
	return name
}
