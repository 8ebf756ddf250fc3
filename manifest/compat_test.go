package manifest_test

import (
	"strings"
	"testing"

	"github.com/troupe-go/troupe/manifest"
)

// base is the old version of the application in TestBreaking.
const base = `app: shop
schemas:
  Item:
    type: object
    required: [sku]
    properties:
      sku: {type: string}
      qty: {type: integer, minimum: 1}
messages:
  order.place:
    payload:
      type: object
      required: [items]
      properties:
        items: {type: array, items: {$ref: "#/schemas/Item"}}
        note: {type: [string, "null"], maxLength: 200}
        rush: {type: boolean}
        size: {enum: [s, m, l]}
    replies: [order, order.queued]
  order:
    payload:
      type: object
      required: [id]
      properties:
        id: {type: string}
        total: {type: number}
  order.queued: {}
  price.tick:
    payload: {type: object}
    validate: false
services:
  web:
    sends: [order.place, order.get, price.tick]
  orders:
    receives: [order.place, order.get]
    sends: [order.placed]
    durable: [order.place]
  mail:
    receives: [order.placed, price.tick]
gateway:
  routes:
    - {path: /, types: [order.get, order.place]}
    - {method: GET, path: "/api/orders/{id}", message: order.get}
`

// edit returns base with each old string replaced by its new one.
func edit(t *testing.T, pairs ...string) string {
	t.Helper()
	s := base
	for i := 0; i+1 < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			t.Fatalf("base has no %q", pairs[i])
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	return s
}

// TestBreaking runs Breaking on one change at a time: each breaking change
// must be reported (with the words given), each additive one must pass.
func TestBreaking(t *testing.T) {
	tests := []struct {
		name  string
		edits []string
		want  string // a part of the one breaking change; "" for none
	}{
		// Breaking.
		{"message removed", []string{"sends: [order.place, order.get, price.tick]", "sends: [order.place, order.get]", "receives: [order.placed, price.tick]", "receives: [order.placed]"}, `message "price.tick" is removed`},
		{"message received by nobody", []string{"receives: [order.placed, price.tick]", "receives: [order.placed]"}, `"price.tick" is received by no service any more`},
		{"send taken away", []string{"    sends: [order.placed]\n", ""}, `service "orders" may no longer send "order.placed"`},
		{"durable dropped", []string{"    durable: [order.place]\n", ""}, `"order.place" is now not durable`},
		{"durable added", []string{"durable: [order.place]", "durable: [order.place, order.get]"}, `"order.get" is now durable`},
		{"field removed", []string{"        rush: {type: boolean}\n", ""}, `field "rush" is removed`},
		{"reply field removed", []string{"        total: {type: number}\n", ""}, `message "order": payload at /: field "total" is removed`},
		{"type narrowed", []string{"total: {type: number}", "total: {type: integer}"}, `at /total: the type is narrowed from number to integer`},
		{"null no longer allowed", []string{`note: {type: [string, "null"], maxLength: 200}`, `note: {type: string, maxLength: 200}`}, "the type is narrowed from string or null to string"},
		{"new required field", []string{"required: [items]", "required: [items, who]", "rush: {type: boolean}", "rush: {type: boolean}\n        who: {type: string}"}, `field "who" is new and required`},
		{"field made required", []string{"required: [items]", "required: [items, rush]"}, `field "rush" is now required`},
		{"nested field made required", []string{"required: [sku]", "required: [sku, qty]"}, `at /items/*: field "qty" is now required`},
		{"bound narrowed", []string{"maxLength: 200", "maxLength: 100"}, "maxLength is narrowed from 200 to 100"},
		{"minimum raised", []string{"minimum: 1", "minimum: 2"}, "minimum is narrowed from 1 to 2"},
		{"enum value removed", []string{"enum: [s, m, l]", "enum: [s, m]"}, `the value "l" is no longer allowed`},
		{"additional fields refused", []string{"        size: {enum: [s, m, l]}\n", "        size: {enum: [s, m, l]}\n      additionalProperties: false\n"}, "other fields are no longer allowed"},
		{"reply removed", []string{"replies: [order, order.queued]", "replies: [order]"}, `reply "order.queued" is removed`},
		{"replies declared", []string{"  price.tick:\n    payload: {type: object}", "  price.tick:\n    replies: [ok]\n    payload: {type: object}"}, `"price.tick" now declares its replies [ok]`},
		{"schema added", []string{"messages:\n", "messages:\n  order.get:\n    payload: {type: object}\n"}, `"order.get" now has a payload schema`},
		{"validation on", []string{"    validate: false\n", ""}, `"price.tick": validation is turned on`},
		{"route removed", []string{"    - {method: GET, path: \"/api/orders/{id}\", message: order.get}\n", ""}, "route GET /api/orders/{id} is removed"},
		{"protocol type removed", []string{"types: [order.get, order.place]", "types: [order.get]"}, `route POST / no longer accepts type "order.place"`},
		{"app renamed", []string{"app: shop", "app: store"}, `the app is renamed from "shop" to "store"`},
		{"shared schema narrowed", []string{"sku: {type: string}", "sku: {type: string, minLength: 3}"}, "at /items/*/sku: minLength 3 is new"},
		// Additive.
		{"message added", []string{"receives: [order.placed, price.tick]", "receives: [order.placed, price.tick, news]", "sends: [order.placed]", "sends: [order.placed, news]"}, ""},
		{"optional field added", []string{"rush: {type: boolean}", "rush: {type: boolean}\n        gift: {type: boolean}"}, ""},
		{"type widened", []string{"rush: {type: boolean}", "rush: {type: [boolean, string]}"}, ""},
		{"bound widened", []string{"maxLength: 200", "maxLength: 500"}, ""},
		{"enum value added", []string{"enum: [s, m, l]", "enum: [s, m, l, xl]"}, ""},
		{"reply added", []string{"replies: [order, order.queued]", "replies: [order, order.queued, order.held]"}, ""},
		{"field made optional", []string{"required: [sku]", "required: []"}, ""},
		{"receiver added", []string{"receives: [order.placed, price.tick]", "receives: [order.placed, price.tick, order.get]"}, ""},
		{"route added", []string{"    - {method: GET, path: \"/api/orders/{id}\", message: order.get}\n", "    - {method: GET, path: \"/api/orders/{id}\", message: order.get}\n    - {method: POST, path: /api/orders, message: order.place}\n"}, ""},
		{"validation off", []string{"  order.queued: {}\n", "  order.queued: {}\n  order:\n    validate: false\n"}, "duplicate"},
		{"schema removed", []string{"  price.tick:\n    payload: {type: object}\n    validate: false\n", ""}, ""},
		{"description added", []string{"  order.queued: {}", "  order.queued: {description: Queued.}"}, ""},
	}
	oldApp, err := manifest.Parse("old.yaml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if got := manifest.Breaking(oldApp, oldApp); len(got) != 0 {
		t.Fatalf("Breaking(base, base) = %v", got)
	}
	breaking := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			newApp, err := manifest.Parse("new.yaml", []byte(edit(t, tt.edits...)))
			if tt.want == "duplicate" {
				// A manifest that names a message twice does not parse;
				// nothing to compare.
				if err == nil {
					t.Fatal("a duplicate key parsed")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := manifest.Breaking(oldApp, newApp)
			if tt.want == "" {
				if len(got) > 0 {
					t.Errorf("an additive change is reported as breaking: %v", got)
				}
				if all := manifest.Compare(oldApp, newApp); len(all) == 0 {
					t.Error("Compare reports no change")
				}
				return
			}
			breaking++
			if len(got) != 1 || !strings.Contains(got[0].Msg, tt.want) {
				var lines []string
				for _, c := range got {
					lines = append(lines, c.String())
				}
				t.Errorf("Breaking:\n%s\nwant one change with %q", strings.Join(lines, "\n"), tt.want)
			}
			if len(got) > 0 && !got[0].Breaking {
				t.Error("a breaking change without Breaking set")
			}
		})
	}
	if breaking < 20 {
		t.Errorf("%d breaking changes tested, want at least 20", breaking)
	}
}

func TestChangeString(t *testing.T) {
	oldApp, err := manifest.Parse("old.yaml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	newApp, err := manifest.Parse("new.yaml", []byte(strings.Replace(base, "maxLength: 200", "maxLength: 100", 1)))
	if err != nil {
		t.Fatal(err)
	}
	got := manifest.Breaking(oldApp, newApp)
	want := `new.yaml:10:3: breaking: message "order.place": payload at /note: maxLength is narrowed from 200 to 100`
	if len(got) != 1 || got[0].String() != want {
		t.Errorf("Breaking = %v, want %s", got, want)
	}
}
