package api_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/intakehq/intake/api"
)

// Every problem type the API can answer (the Type… constants of
// problem.go) has its row in docs/errors.md and is listed in the OpenAPI
// description's Problem.type, so a new rejection cannot ship undocumented.
func TestEveryProblemTypeIsDocumented(t *testing.T) {
	t.Parallel()
	file, err := parser.ParseFile(token.NewFileSet(), "problem.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	ast.Inspect(file, func(n ast.Node) bool {
		spec, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, name := range spec.Names {
			if strings.HasPrefix(name.Name, "Type") && i < len(spec.Values) {
				if lit, ok := spec.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					v, _ := strconv.Unquote(lit.Value)
					types = append(types, v)
				}
			}
		}
		return true
	})
	if len(types) < 20 {
		t.Fatalf("found %d problem types in problem.go; the parse is wrong", len(types))
	}
	doc, err := os.ReadFile("../docs/errors.md")
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Components struct {
			Schemas struct {
				Problem struct {
					Properties struct {
						Type struct {
							Examples []string `json:"examples"`
						} `json:"type"`
					} `json:"properties"`
				} `json:"Problem"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(api.OpenAPI(), &spec); err != nil {
		t.Fatal(err)
	}
	listed := strings.Join(spec.Components.Schemas.Problem.Properties.Type.Examples, " ")
	for _, typ := range types {
		if !strings.Contains(string(doc), "| `"+typ+"` |") {
			t.Errorf("docs/errors.md has no row for %s", typ)
		}
		if !strings.Contains(listed+" ", api.ProblemBase+typ+" ") {
			t.Errorf("openapi.json's Problem.type does not list %s", typ)
		}
	}
}
