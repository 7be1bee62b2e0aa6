package api_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// errorsDoc is the page that documents every problem type.
const errorsDoc = "../docs/errors.md"

// TestErrorsDocumented holds docs/errors.md to the code: every problem type
// package api declares has a row there, with the statuses the code answers
// it with, and every row names a type the code declares.
//
// The types are found in the package's source, not listed here: a problem
// type is a string constant named Type… (see problem.go), and problem()
// is always handed one. So adding a type — in problem.go or in a file of
// its own — needs only its row in docs/errors.md.
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
		if want := statusList(c.statuses); len(want) > 0 && !slices.Equal(statusList(d.statuses), want) {
			t.Errorf("docs/errors.md line %d gives %q the status %q; the code answers it with %s",
				d.line, typ, d.statusCell, strings.Join(want, ", "))
		}
	}
	for _, typ := range slices.Sorted(maps.Keys(doc)) {
		if _, ok := code[typ]; !ok {
			t.Errorf("docs/errors.md line %d documents the problem type %q, which package api does not declare: "+
				"remove the row, or declare the type (const Type… = %q) and answer it", doc[typ].line, typ, typ)
		}
	}
}

// codeType is a problem type as the code declares and answers it.
type codeType struct {
	constant   string       // e.g. TypeRateLimited
	declaredAt string       // file:line
	statuses   map[int]bool // what problem() is called with for it
}

// problemTypesInCode finds the Type… string constants of package api and
// the statuses each is answered with, from the package's non-test source.
func problemTypesInCode(t *testing.T) map[string]*codeType {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var parsed []*ast.File
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		// Named from the repository's root, as the failure messages say.
		f, err := parser.ParseFile(fset, "api/"+name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		parsed = append(parsed, f)
	}

	byConst := map[string]*codeType{} // by constant name
	types := map[string]*codeType{}   // by type
	for _, f := range parsed {
		for _, decl := range f.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.CONST {
				continue
			}
			for _, spec := range gen.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !isTypeConstant(name.Name) {
						continue
					}
					pos := fset.Position(name.Pos())
					var lit *ast.BasicLit
					if i < len(vs.Values) {
						lit, _ = vs.Values[i].(*ast.BasicLit)
					}
					if lit == nil || lit.Kind != token.STRING {
						t.Errorf("%s: declare the problem type %s as a string literal (const %s = \"…\"), so this test can read it",
							pos, name.Name, name.Name)
						continue
					}
					typ, _ := strconv.Unquote(lit.Value)
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
	if len(types) < 10 {
		t.Fatalf("found only %d problem types in package api: has the way they are declared changed? (teach this test)", len(types))
	}

	statuses := statusByName()
	for _, f := range parsed {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			if fn, ok := call.Fun.(*ast.Ident); !ok || fn.Name != "problem" || len(call.Args) < 2 {
				return true
			}
			pos := fset.Position(call.Pos())
			var constant string
			if id, ok := call.Args[1].(*ast.Ident); ok {
				constant = id.Name
			}
			c := byConst[constant]
			if c == nil {
				t.Errorf("%s: problem() must be handed a Type… constant, so docs/errors.md can be checked against it", pos)
				return true
			}
			sel, ok := call.Args[0].(*ast.SelectorExpr)
			status, known := 0, false
			if ok {
				status, known = statuses[sel.Sel.Name]
			}
			if !known {
				t.Errorf("%s: problem() must be handed an http.Status… constant, so docs/errors.md can be checked against it", pos)
				return true
			}
			c.statuses[status] = true
			return true
		})
	}
	return types
}

func isTypeConstant(name string) bool {
	rest, ok := strings.CutPrefix(name, "Type")
	return ok && rest != "" && unicode.IsUpper(rune(rest[0]))
}

// statusByName maps net/http's status constant names (StatusNotFound) to
// their codes, from the status texts they are named after.
func statusByName() map[string]int {
	out := map[string]int{}
	for code := 100; code < 600; code++ {
		if text := http.StatusText(code); text != "" {
			out["Status"+strings.NewReplacer(" ", "", "-", "", "'", "").Replace(text)] = code
		}
	}
	return out
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
	raw, err := os.ReadFile(errorsDoc)
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
