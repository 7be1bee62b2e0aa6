package api_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/intakehq/intake/api"
)

// TestOpenAPIForTools holds, without the tools, what Redocly's recommended
// rules and oapi-codegen need of api/openapi.json (`make openapi-check`
// runs the tools themselves):
//   - every operation — paths, webhooks and callbacks — declares its
//     security, `[]` when it takes no API key (Redocly's security-defined:
//     there is no root-level security);
//   - every component schema is reached from the paths, following $refs
//     through callbacks and components but not through the 3.1 webhooks
//     (oapi-codegen prunes what the paths do not reach, and its client then
//     fails to compile when a webhook's body was one of them);
//   - operationIds are unique over paths, webhooks and callbacks
//     (oapi-codegen names types after them).
func TestOpenAPIForTools(t *testing.T) {
	t.Parallel()
	var doc map[string]any
	if err := json.Unmarshal(api.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	components, _ := doc["components"].(map[string]any)

	type operation struct {
		where string
		op    map[string]any
	}
	var ops []operation
	var collect func(where string, items map[string]any)
	collect = func(where string, items map[string]any) {
		for path, item := range items {
			item, _ := item.(map[string]any)
			for _, m := range []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"} {
				op, ok := item[m].(map[string]any)
				if !ok {
					continue
				}
				w := where + " " + strings.ToUpper(m) + " " + path
				ops = append(ops, operation{w, op})
				callbacks, _ := op["callbacks"].(map[string]any)
				for name, cb := range callbacks {
					cb, _ := cb.(map[string]any)
					collect(w+" callback "+name+":", cb)
				}
			}
		}
	}
	paths, _ := doc["paths"].(map[string]any)
	webhooks, _ := doc["webhooks"].(map[string]any)
	collect("path", paths)
	collect("webhook", webhooks)
	if len(ops) < 30 {
		t.Fatalf("found only %d operations", len(ops))
	}

	ids := map[string]string{}
	for _, o := range ops {
		if sec, ok := o.op["security"].([]any); !ok {
			t.Errorf("%s declares no security; an operation without an API key says `\"security\": []`", o.where)
		} else if len(sec) == 0 && strings.HasPrefix(o.where, "path") && strings.Contains(o.where, " /api/v1/") && !strings.Contains(o.where, "callback") {
			t.Errorf("%s is under /api/v1 but declares no API key", o.where)
		}
		id, _ := o.op["operationId"].(string)
		if id == "" {
			t.Errorf("%s has no operationId", o.where)
		} else if other, dup := ids[id]; dup {
			t.Errorf("operationId %q is both %s and %s", id, other, o.where)
		}
		ids[id] = o.where
	}

	// The refs reached from the paths, followed through components.
	reached := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok && !reached[ref] {
				reached[ref] = true
				if target := resolve(components, ref); target != nil {
					walk(target)
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(paths)
	schemas, _ := components["schemas"].(map[string]any)
	var unreached []string
	for name := range schemas {
		if !reached["#/components/schemas/"+name] {
			unreached = append(unreached, name)
		}
	}
	slices.Sort(unreached)
	if len(unreached) > 0 {
		t.Errorf("component schemas no path reaches (oapi-codegen prunes them): %v", unreached)
	}
}

// resolve finds a local "#/components/<kind>/<name>" ref in components.
func resolve(components map[string]any, ref string) any {
	rest, ok := strings.CutPrefix(ref, "#/components/")
	if !ok {
		return nil
	}
	kind, name, _ := strings.Cut(rest, "/")
	group, _ := components[kind].(map[string]any)
	return group[name]
}
