package pages

import (
	"bytes"
	"cmp"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"text/template/parse"

	"github.com/intakehq/intake/captcha"
)

//go:embed templates static
var embedded embed.FS

// layoutFile is the template every page is rendered inside; it calls the
// page's "title" and "content" templates and may call its "head" template.
const layoutFile = "layout.html"

// partialsFile defines the templates that this package's pages and the
// dashboard's (ParseLayout) share: an error page's body.
const partialsFile = "partials.html"

// Page template files, one per page.
const (
	pageThanks           = "thanks.html"
	pageSubmissionErrors = "submission_errors.html"
	pageError            = "error.html"
	pageForm             = "form.html"
)

var pageFiles = []string{pageThanks, pageSubmissionErrors, pageError, pageForm}

// intakeJS is the client script. It counts as used even if no template named
// it: sites link to it through /js/intake.js.
const intakeJS = "intake.js"

// dashboardJS is the dashboard's script. Package web's layout names it; it
// is here so that one handler serves every asset, and it counts as used
// here because no public page names it.
const dashboardJS = "dashboard.js"

// Pages renders Intake's public HTML pages and serves its static assets.
type Pages struct {
	pages  map[string]*template.Template // by page file name
	assets map[string]*asset             // by file name under static/
	routes map[string]route              // by URL path
	// partials is partialsFile's text, parsed into every page's set,
	// the dashboard's too.
	partials string
}

// New parses every embedded template at boot and fails if one is broken or if
// an embedded template/static file is never used.
func New() (*Pages, error) {
	return newPages(embedded)
}

// newPages builds Pages from fsys, which holds templates/*.html and static/*.
func newPages(fsys fs.FS) (*Pages, error) {
	p := &Pages{routes: make(map[string]route)}
	var err error
	if p.assets, err = loadAssets(fsys); err != nil {
		return nil, err
	}
	for _, a := range p.assets {
		p.routes[a.path] = route{asset: a, cacheControl: cacheImmutable}
	}
	for _, name := range []string{intakeJS, dashboardJS} {
		if _, ok := p.assets[name]; !ok {
			return nil, fmt.Errorf("pages: static/%s is missing", name)
		}
	}
	p.routes["/js/"+intakeJS] = route{asset: p.assets[intakeJS], cacheControl: cacheAlias}

	if err := checkTemplateFiles(fsys); err != nil {
		return nil, err
	}
	partials, err := fs.ReadFile(fsys, "templates/"+partialsFile)
	if err != nil {
		return nil, fmt.Errorf("pages: %w", err)
	}
	p.partials = string(partials)
	used := map[string]bool{intakeJS: true, dashboardJS: true}
	if p.pages, err = p.parsePages(fsys, layoutFile, template.FuncMap{}, pageFiles, []string{"title", "content"}, used); err != nil {
		return nil, fmt.Errorf("pages: %w", err)
	}
	for _, name := range slices.Sorted(maps.Keys(p.assets)) {
		if !used[name] {
			return nil, fmt.Errorf("pages: static/%s is not used by any template", name)
		}
	}
	return p, nil
}

// checkTemplateFiles fails for a file under templates/ that is neither the
// layout nor a page, so a stray template cannot hide in the binary.
func checkTemplateFiles(fsys fs.FS) error {
	entries, err := fs.ReadDir(fsys, "templates")
	if err != nil {
		return fmt.Errorf("pages: read templates: %w", err)
	}
	known := append([]string{layoutFile, partialsFile}, pageFiles...)
	for _, e := range entries {
		if !slices.Contains(known, e.Name()) {
			return fmt.Errorf("pages: templates/%s is not used by any page", e.Name())
		}
	}
	return nil
}

// ParseLayout parses another package's pages (the dashboard's) the way New
// parses these: each of names, under templates/ in fsys, over a clone of
// layoutName, with funcs and the asset function, which gives the
// content-hash URL of one of these static files. It fails for a template
// that does not parse, lacks one of blocks, or names an asset not here.
func (p *Pages) ParseLayout(fsys fs.FS, layoutName string, funcs template.FuncMap, names, blocks []string) (map[string]*template.Template, error) {
	return p.parsePages(fsys, layoutName, funcs, names, blocks, map[string]bool{})
}

// parsePages parses each of names over a clone of the layout file, checks
// that it defines blocks, and marks the assets it names as used. It fails
// for a template that does not parse or names an asset not in static/.
func (p *Pages) parsePages(fsys fs.FS, layoutName string, extra template.FuncMap, names, blocks []string, used map[string]bool) (map[string]*template.Template, error) {
	funcs := template.FuncMap{"asset": p.assetPath}
	maps.Copy(funcs, extra)
	layout, err := template.New(layoutName).Funcs(funcs).ParseFS(fsys, "templates/"+layoutName)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", layoutName, err)
	}
	if _, err := layout.New(partialsFile).Parse(p.partials); err != nil {
		return nil, fmt.Errorf("parse %s: %w", partialsFile, err)
	}
	out := make(map[string]*template.Template, len(names))
	for _, name := range names {
		t, err := layout.Clone()
		if err == nil {
			t, err = t.ParseFS(fsys, "templates/"+name)
		}
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		for _, block := range blocks {
			if t.Lookup(block) == nil {
				return nil, fmt.Errorf("%s does not define %q", name, block)
			}
		}
		for _, tt := range t.Templates() {
			if tt.Tree == nil {
				continue
			}
			for _, ref := range assetRefs(tt.Tree.Root) {
				if _, ok := p.assets[ref]; !ok {
					return nil, fmt.Errorf("%s uses asset %q, which is not in static/", name, ref)
				}
				used[ref] = true
			}
		}
		out[name] = t
	}
	return out, nil
}

// assetRefs returns the constant names passed to the asset function anywhere
// under node. A name computed at run time is not seen, so templates name
// their assets with string constants.
func assetRefs(node parse.Node) []string {
	var refs []string
	var walk func(parse.Node)
	walk = func(node parse.Node) {
		switch n := node.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					walk(c)
				}
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n == nil {
				return
			}
			for _, cmd := range n.Cmds {
				if len(cmd.Args) == 2 {
					ident, ok1 := cmd.Args[0].(*parse.IdentifierNode)
					str, ok2 := cmd.Args[1].(*parse.StringNode)
					if ok1 && ok2 && ident.Ident == "asset" {
						refs = append(refs, str.Text)
					}
				}
				for _, arg := range cmd.Args {
					walk(arg)
				}
			}
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.TemplateNode:
			walk(n.Pipe)
		}
	}
	walk(node)
	return refs
}

// assetPath is the templates' asset function: the content-hash URL path of a
// file under static/.
func (p *Pages) assetPath(name string) (string, error) {
	a, ok := p.assets[name]
	if !ok {
		return "", fmt.Errorf("pages: no asset %q", name)
	}
	return a.path, nil
}

// IntakeJSPath returns the content-hash URL path of intake.js, e.g. "/js/intake.3f9a1c2b.js".
func (p *Pages) IntakeJSPath() string {
	return p.assets[intakeJS].path
}

// Brand is a form's look on its hosted pages (the form's branding
// setting): a logo above the title, a line under the hosted form's title,
// the thank-you page's message, and the URL of the stylesheet of its
// colour. Each empty keeps Intake's own.
type Brand struct {
	LogoURL, Intro, ThankYou, StyleURL string
}

// ThanksView is the data of the hosted thank-you page.
type ThanksView struct {
	Brand
	FormName string // may be empty
	BackURL  string // where "back to the site" goes; may be empty (then no link)
	// Duplicate says the entry repeated one already received (a form's
	// unique value) and was not stored again.
	Duplicate bool
}

// FieldError is one field's validation error, as listed on the 422 page.
type FieldError struct {
	Field   string // field name
	Label   string // human label, may be empty (fall back to Field)
	Message string // what is wrong and what to do, e.g. "email must be a valid email address"
}

// ErrorsView is the data of the 422 page that lists a submission's field errors.
type ErrorsView struct {
	Brand
	FormName string
	Errors   []FieldError
	// BackURL is the page the user came from (Referer); when empty the page
	// tells the user to use the browser's Back button.
	BackURL string
}

// ErrorView is the data of the generic error page.
type ErrorView struct {
	Title   string // e.g. "Form not found"; empty falls back to the status text
	Message string // what happened
	Hint    string // what to do next, may be empty
	BackURL string // may be empty
}

// FormView is the data of the hosted form page.
type FormView struct {
	Brand
	FormID string
	Name   string
	Action string // absolute or relative URL the form posts to (POST /f/{id})
	Fields []FormField
	// HoneypotField is the name of the honeypot input, e.g. "_gotcha"; it is
	// rendered visually hidden and out of the tab order. Empty: no honeypot.
	HoneypotField string
	// Captcha is the CAPTCHA widget to show; zero: none.
	Captcha CaptchaWidget
}

// CaptchaWidget is a provider's CAPTCHA widget with the form's public site
// key; the provider's script fills the token field the form then sends.
type CaptchaWidget struct {
	Provider string // turnstile, hcaptcha or recaptcha
	SiteKey  string
}

// FormField is one field of a hosted form.
type FormField struct {
	Name     string
	Label    string // fall back to Name when empty
	Type     string // text, email, number, url, tel, date, textarea, select, checkbox, hidden, file
	Required bool
	Options  []string // for select (one <option> each) and checkbox (one checkbox per option, same name; a single checkbox with value "on" when empty)
}

// Thanks renders the hosted thank-you page (200).
func (p *Pages) Thanks(w http.ResponseWriter, r *http.Request, v ThanksView) {
	p.render(w, r, http.StatusOK, pageThanks, v)
}

// SubmissionErrors renders the 422 page listing field errors with a way back to the form.
func (p *Pages) SubmissionErrors(w http.ResponseWriter, r *http.Request, v ErrorsView) {
	p.render(w, r, http.StatusUnprocessableEntity, pageSubmissionErrors, v)
}

// errorPage is the data of error.html, whose body is the partial
// "error-body" the dashboard's error page draws too.
type errorPage struct {
	ErrorView
	Status    int
	Heading   string // Title
	RequestID string // never shown to a form's visitor
	BackLabel string
}

// Error renders a generic error page with the given HTTP status (404 form not found, 410 archived, 413, 415, 400, 409, 429, 503 ...).
//
// A status outside 400–599 becomes 500, and an empty Title becomes the
// status text. Headers the caller set before, such as Retry-After, are kept.
func (p *Pages) Error(w http.ResponseWriter, r *http.Request, status int, v ErrorView) {
	if status < 400 || status > 599 {
		status = http.StatusInternalServerError
	}
	if v.Title == "" {
		v.Title = http.StatusText(status)
		if v.Title == "" {
			v.Title = "Something went wrong"
		}
	}
	p.render(w, r, status, pageError, errorPage{ErrorView: v, Status: status, Heading: v.Title, BackLabel: "Go back"})
}

// formPage is the data of form.html: FormView resolved into what the
// template draws.
type formPage struct {
	Brand
	Title    string
	Action   string
	Enctype  string
	Fields   []formControl
	Honeypot string
	Captcha  *captchaWidget // nil: none
}

// captchaWidget is a CAPTCHA as drawn: the provider's script and the
// element it turns into the widget.
type captchaWidget struct {
	Script  string
	Class   string
	SiteKey string
}

// formControl is one field as drawn; Kind picks the markup.
type formControl struct {
	Kind     string // input, textarea, select, checkbox, checkboxes, hidden
	ID       string
	Name     string
	Label    string
	Type     string // the input's type attribute, for Kind "input"
	Required bool
	Options  []formOption
}

type formOption struct {
	ID    string
	Value string
}

// HostedForm renders the form's contract as an accessible HTML form (200) that posts to v.Action and uses intake.js.
func (p *Pages) HostedForm(w http.ResponseWriter, r *http.Request, v FormView) {
	page := formPage{
		Brand:    v.Brand,
		Title:    v.Name,
		Action:   v.Action,
		Enctype:  "application/x-www-form-urlencoded",
		Honeypot: v.HoneypotField,
	}
	if page.Title == "" {
		page.Title = "Send a message"
	}
	if p := captcha.Provider(v.Captcha.Provider); p.Valid() && v.Captcha.SiteKey != "" {
		page.Captcha = &captchaWidget{Script: p.WidgetScript(), Class: p.WidgetClass(), SiteKey: v.Captcha.SiteKey}
	}
	for i, f := range v.Fields {
		c := formControl{
			ID:       "field-" + strconv.Itoa(i+1),
			Name:     f.Name,
			Label:    cmp.Or(f.Label, f.Name),
			Required: f.Required,
		}
		switch t := strings.ToLower(f.Type); t {
		case "textarea", "select", "hidden":
			c.Kind = t
		case "checkbox":
			c.Kind = "checkbox"
			if len(f.Options) > 0 {
				c.Kind = "checkboxes"
			}
		case "email", "number", "url", "tel", "date", "file":
			c.Kind, c.Type = "input", t
			if t == "file" {
				page.Enctype = "multipart/form-data"
			}
		default: // text, and anything this page does not know
			c.Kind, c.Type = "input", "text"
		}
		for j, o := range f.Options {
			c.Options = append(c.Options, formOption{ID: c.ID + "-" + strconv.Itoa(j+1), Value: o})
		}
		page.Fields = append(page.Fields, c)
	}
	p.render(w, r, http.StatusOK, pageForm, page)
}

// render executes a page into a buffer first, so that a template error
// becomes a clean 500 instead of half a page under the wrong status. Pages
// answer requests that change state, so they are not stored by caches unless
// the caller set its own Cache-Control.
func (p *Pages) render(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	var buf bytes.Buffer
	if err := p.pages[page].ExecuteTemplate(&buf, layoutFile, data); err != nil {
		slog.ErrorContext(r.Context(), "pages: render page", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("X-Content-Type-Options", "nosniff")
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes()) // a failed write means the client is gone
	}
}
