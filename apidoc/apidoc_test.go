package apidoc_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/troupe-go/troupe/apidoc"
	"github.com/troupe-go/troupe/internal/npmcheck"
	"github.com/troupe-go/troupe/manifest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// apps are the manifests the documents are generated from: the test's own,
// the repository's demo and the todo example.
var apps = []string{
	filepath.Join("testdata", "shop.yaml"),
	filepath.Join("..", "troupe.yaml"),
	filepath.Join("..", "examples", "todo", "troupe.yaml"),
}

func golden(t *testing.T, file string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", file, diff)
	}
}

// TestGolden pins the shop's documents.
func TestGolden(t *testing.T) {
	app, err := manifest.Load(apps[0])
	if err != nil {
		t.Fatal(err)
	}
	async, err := apidoc.AsyncAPI(app)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join("testdata", "shop.asyncapi.json"), async)
	open, err := apidoc.OpenAPI(app)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join("testdata", "shop.openapi.json"), open)
}

// TestValidators checks every generated document with validators from npm
// that no one here wrote.
func TestValidators(t *testing.T) {
	npmcheck.Dir(t)
	for _, file := range apps {
		t.Run(filepath.Base(filepath.Dir(file))+"/"+filepath.Base(file), func(t *testing.T) {
			app, err := manifest.Load(file)
			if err != nil {
				t.Fatal(err)
			}
			async, err := apidoc.AsyncAPI(app)
			if err != nil {
				t.Fatal(err)
			}
			npmcheck.AsyncAPI(t, async)
			open, err := apidoc.OpenAPI(app)
			if err != nil {
				t.Fatal(err)
			}
			npmcheck.OpenAPI(t, open)
		})
	}
}

// TestAsyncAPIShape checks what a client of the bus relies on: a channel
// per subject, the operations of each service, the reply channel.
func TestAsyncAPIShape(t *testing.T) {
	app, err := manifest.Load(apps[0])
	if err != nil {
		t.Fatal(err)
	}
	out, err := apidoc.AsyncAPI(app)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		AsyncAPI string `json:"asyncapi"`
		Channels map[string]struct {
			Address string `json:"address"`
		} `json:"channels"`
		Operations map[string]struct {
			Action   string `json:"action"`
			Bindings struct {
				NATS struct {
					Queue string `json:"queue"`
				} `json:"nats"`
			} `json:"bindings"`
			Reply *struct{} `json:"reply"`
		} `json:"operations"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.AsyncAPI != "3.0.0" {
		t.Errorf("asyncapi %q", doc.AsyncAPI)
	}
	for name, want := range map[string]string{
		"order.place":  "troupe.shop.durable.order.place",
		"order.get":    "troupe.shop.msg.order.get",
		"order.placed": "troupe.shop.msg.order.placed",
		"replies":      "troupe.shop.reply.{service}.{instance}.{request}",
	} {
		if got := doc.Channels[name].Address; got != want {
			t.Errorf("channel %s address %q, want %q", name, got, want)
		}
	}
	op := doc.Operations["orders.receive.order.get"]
	if op.Action != "receive" || op.Bindings.NATS.Queue != "orders" || op.Reply == nil {
		t.Errorf("orders.receive.order.get = %+v, want a receive in queue orders with a reply", op)
	}
	if op := doc.Operations["orders.send.order.placed"]; op.Action != "send" {
		t.Errorf("orders.send.order.placed = %+v", op)
	}
	if op := doc.Operations["gateway.send.Ping"]; op.Action != "send" {
		t.Errorf("the gateway's send of Ping = %+v", op)
	}
	if !bytes.Contains(out, []byte(`"$ref": "#/components/schemas/Item"`)) || bytes.Contains(out, []byte(`"#/schemas/`)) {
		t.Error("references to shared schemas are not rewritten to #/components/schemas/")
	}
}

// TestOpenAPIShape checks the REST mapping: path and query parameters, the
// body, the statuses.
func TestOpenAPIShape(t *testing.T) {
	app, err := manifest.Load(apps[0])
	if err != nil {
		t.Fatal(err)
	}
	out, err := apidoc.OpenAPI(app)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]struct {
			OperationID string `json:"operationId"`
			Parameters  []struct {
				Name, In string
				Required bool
			} `json:"parameters"`
			RequestBody *struct{}                  `json:"requestBody"`
			Responses   map[string]json.RawMessage `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	get := doc.Paths["/api/orders/{id}"]["get"]
	var params []string
	for _, p := range get.Parameters {
		params = append(params, p.Name+" in "+p.In+map[bool]string{true: " required", false: ""}[p.Required])
	}
	if diff := cmp.Diff([]string{"id in path required", "fields in query"}, params); diff != "" {
		t.Errorf("GET /api/orders/{id} parameters (-want +got):\n%s", diff)
	}
	post := doc.Paths["/api/orders"]["post"]
	if post.RequestBody == nil || post.Responses["201"] == nil || post.Responses["4XX"] == nil || post.Responses["5XX"] == nil {
		t.Errorf("POST /api/orders = %+v, want a body, 201, 4XX and 5XX", post)
	}
	if proto := doc.Paths["/"]["post"]; proto.RequestBody == nil || !strings.Contains(string(proto.Responses["200"]), `"Pong"`) {
		t.Errorf("POST / = %+v, want a body and the Pong reply", proto)
	}
}
