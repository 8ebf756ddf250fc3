// Package apidoc generates an application's API documents from its
// declaration (troupe.App, the manifest): the AsyncAPI 3.0 document of its
// bus ([AsyncAPI]: NATS bindings, a channel per subject, operations per
// service, the payload and reply schemas) and the OpenAPI 3.1 document of
// its gateway's routes ([OpenAPI]). `troupe api` writes them and the gateway
// serves them at /asyncapi.json and /openapi.json.
//
//	async, err := apidoc.AsyncAPI(app)
//	open, err := apidoc.OpenAPI(app)
//
// Both documents take the manifest's payload schemas (JSON Schema 2020-12)
// as they are, shared schemas under components.schemas, and each message's
// description. The tests validate them with validators from npm that no one
// here wrote (@asyncapi/parser, @apidevtools/swagger-parser, @redocly/cli):
// .ci/npm-tools.sh installs them.
package apidoc
