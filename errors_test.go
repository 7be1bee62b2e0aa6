package intake_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/intakehq/intake"
)

// TestErrorsDocumented holds docs/errors.md and the OpenAPI description to
// the error vocabulary: every problem type declared in errors.go has a row
// in docs/errors.md with the statuses the code answers it with, and is
// listed in openapi.json's Problem.type; every row names a declared type.
//
// Types and statuses are found in the source, not listed here: a problem
// type is a string constant named Type… in errors.go, and every
// intake.Error literal anywhere in the repository names its Kind and Type,
// so adding an error needs only its literal and, for a new type, its
// constant and its row.
func TestErrorsDocumented(t *testing.T) {
	t.Parallel()
	code := problemTypesInCode(t)
	doc := problemTypesInDoc(t)

	for _, typ := range slices.Sorted(maps.Keys(code)) {
		c := code[typ]
		d, ok := doc[typ]
		if !ok {
			status := "<status>"
			if len(c.statuses) > 0 {
				status = strings.Join(statusList(c.statuses), ", ")
			}
			t.Errorf("problem type %q (%s, %s) has no row in docs/errors.md: add one to its table, such as\n"+
				"| `%s` | %s | <Formspree code or —> | <when it is answered> | <what the client should do> |",
				typ, c.constant, c.declaredAt, typ, status)
			continue
		}
		if want := statusList(c.statuses); !slices.Equal(statusList(d.statuses), want) {
			t.Errorf("docs/errors.md line %d gives %q the status %q; the code answers it with %s",
				d.line, typ, d.statusCell, strings.Join(want, ", "))
		}
	}
	for _, typ := range slices.Sorted(maps.Keys(doc)) {
		if _, ok := code[typ]; !ok {
			t.Errorf("docs/errors.md line %d documents the problem type %q, which errors.go does not declare: "+
				"remove the row, or declare the type (const Type… = %q) and answer it", doc[typ].line, typ, typ)
		}
	}

	raw, err := os.ReadFile("api/openapi.json")
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
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	listed := strings.Join(spec.Components.Schemas.Problem.Properties.Type.Examples, " ") + " "
	for typ := range code {
		if !strings.Contains(listed, "https://intake.dev/problems/"+typ+" ") {
			t.Errorf("openapi.json's Problem.type does not list %s", typ)
		}
	}
}

// codeType is a problem type as the code declares and answers it.
type codeType struct {
	constant   string       // e.g. TypeRateLimited
	declaredAt string       // file:line
	statuses   map[int]bool // the statuses of the Kinds its Errors have
}

// problemTypesInCode finds the Type… constants of errors.go and, in every
// non-test Go file of the repository, the Kind each intake.Error literal
// pairs with its Type.
func problemTypesInCode(t *testing.T) map[string]*codeType {
	t.Helper()
	fset := token.NewFileSet()
	var files []*ast.File
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") && path != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	byConst := map[string]*codeType{}
	types := map[string]*codeType{}
	for _, f := range files {
		if fset.Position(f.Pos()).Filename != "errors.go" {
			continue
		}
		for _, decl := range f.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.CONST {
				continue
			}
			for _, spec := range gen.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !isTypeConstant(name.Name) || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						continue
					}
					typ, _ := strconv.Unquote(lit.Value)
					pos := fset.Position(name.Pos())
					if other, ok := types[typ]; ok {
						t.Errorf("%s: %s repeats the problem type %q of %s", pos, name.Name, typ, other.constant)
						continue
					}
					c := &codeType{constant: name.Name, declaredAt: pos.Filename + ":" + strconv.Itoa(pos.Line), statuses: map[int]bool{}}
					byConst[name.Name], types[typ] = c, c
				}
			}
		}
	}
	if len(types) < 20 {
		t.Fatalf("found only %d problem types in errors.go: has the way they are declared changed? (teach this test)", len(types))
	}

	kinds := kindStatuses()
	literals := 0
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok || !isErrorType(lit.Type) {
				return true
			}
			literals++
			pos := fset.Position(lit.Pos())
			var kind, typ string
			for _, elt := range lit.Elts {
				kv, ok := elt.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				switch kv.Key.(*ast.Ident).Name {
				case "Kind":
					kind = lastName(kv.Value)
				case "Type":
					typ = lastName(kv.Value)
				}
			}
			c := byConst[typ]
			status, known := kinds[kind]
			if c == nil || !known {
				t.Errorf("%s: an intake.Error names its Kind (intake.NotFound…) and its Type (intake.Type…), so docs/errors.md can be checked against it", pos)
				return true
			}
			c.statuses[status] = true
			return true
		})
	}
	if literals < 20 {
		t.Fatalf("found only %d intake.Error literals: has the way errors are declared changed? (teach this test)", literals)
	}
	return types
}

// isErrorType reports whether a composite literal's type is intake.Error
// (or Error, inside package intake).
func isErrorType(e ast.Expr) bool {
	switch x := e.(type) {
	case *ast.SelectorExpr:
		id, ok := x.X.(*ast.Ident)
		return ok && id.Name == "intake" && x.Sel.Name == "Error"
	case *ast.Ident:
		return x.Name == "Error"
	}
	return false
}

// lastName is the name an identifier or a selector ends with.
func lastName(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.SelectorExpr:
		return x.Sel.Name
	case *ast.Ident:
		return x.Name
	}
	return ""
}

// kindStatuses maps the Kind constants' names to their statuses.
func kindStatuses() map[string]int {
	out := map[string]int{}
	for _, k := range []struct {
		name string
		kind intake.Kind
	}{
		{"Internal", intake.Internal}, {"Malformed", intake.Malformed}, {"Unauthorized", intake.Unauthorized},
		{"Forbidden", intake.Forbidden}, {"NotFound", intake.NotFound}, {"MethodNotAllowed", intake.MethodNotAllowed},
		{"Timeout", intake.Timeout}, {"Conflict", intake.Conflict}, {"Gone", intake.Gone}, {"TooLarge", intake.TooLarge},
		{"Unsupported", intake.Unsupported}, {"Invalid", intake.Invalid}, {"Limited", intake.Limited}, {"Unavailable", intake.Unavailable},
	} {
		out[k.name] = k.kind.Status()
	}
	return out
}

func isTypeConstant(name string) bool {
	rest, ok := strings.CutPrefix(name, "Type")
	return ok && rest != "" && unicode.IsUpper(rune(rest[0]))
}

// docType is a row of the table in docs/errors.md.
type docType struct {
	line       int
	statusCell string
	statuses   map[int]bool
}

var (
	docTypeCell = regexp.MustCompile("^`([a-z0-9-]+)`$")
	statusCode  = regexp.MustCompile(`\b[1-5][0-9][0-9]\b`)
)

// problemTypesInDoc reads the types table of docs/errors.md: the rows whose
// first cell is a type in backticks; the second cell is its status.
func problemTypesInDoc(t *testing.T) map[string]*docType {
	t.Helper()
	raw, err := os.ReadFile("docs/errors.md")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*docType{}
	for i, line := range strings.Split(string(raw), "\n") {
		cells := strings.Split(line, "|")
		if !strings.HasPrefix(line, "|") || len(cells) < 4 {
			continue
		}
		m := docTypeCell.FindStringSubmatch(strings.TrimSpace(cells[1]))
		if m == nil {
			continue
		}
		typ, cell := m[1], strings.TrimSpace(cells[2])
		if prev, ok := out[typ]; ok {
			t.Errorf("docs/errors.md lines %d and %d both document %q: keep one row", prev.line, i+1, typ)
		}
		d := &docType{line: i + 1, statusCell: cell, statuses: map[int]bool{}}
		for _, s := range statusCode.FindAllString(cell, -1) {
			n, _ := strconv.Atoi(s)
			d.statuses[n] = true
		}
		out[typ] = d
	}
	if len(out) < 10 {
		t.Fatalf("found only %d rows in docs/errors.md's table: has its layout changed? (teach this test)", len(out))
	}
	return out
}

func statusList(set map[int]bool) []string {
	var out []string
	for _, n := range slices.Sorted(maps.Keys(set)) {
		out = append(out, strconv.Itoa(n))
	}
	return out
}
