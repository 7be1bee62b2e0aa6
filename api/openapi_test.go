package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/go-chi/chi/v5"

	"github.com/intakehq/intake/api"
)

// Every response in the tests is checked against the OpenAPI
// description. b.send and b.do pass each exchange to checkExchange.

// openapiSpec is the description served at /api/openapi.json, loaded,
// validated and routed once for all the package's tests.
var openapiSpec = sync.OnceValues(func() (*spec, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.OpenAPI())
	if err != nil {
		return nil, fmt.Errorf("load openapi.json: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapi.json is not a valid OpenAPI document: %w", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route openapi.json: %w", err)
	}
	// Bodies that are not JSON are checked by status and content type; their
	// schemas are strings (NDJSON lines are checked one by one below).
	for _, ct := range []string{"text/html", "text/markdown", "application/x-ndjson"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.PlainBodyDecoder)
	}
	return &spec{doc: doc, router: router}, nil
})

type spec struct {
	doc    *openapi3.T
	router routers.Router
}

// Paths the description leaves out on purpose: static assets and metrics are
// not part of the API.
func undescribed(path string) bool {
	// A form's colour stylesheet is an asset of its hosted pages, as
	// /static/ holds Intake's own.
	return path == "/metrics" || path == "/favicon.ico" || strings.HasPrefix(path, "/js/") || strings.HasPrefix(path, "/static/") ||
		strings.HasPrefix(path, "/f/") && strings.HasSuffix(path, "/style.css")
}

// checkExchange checks one request and its response against the description.
// The request is checked only when the server accepted it (status < 400):
// tests send malformed requests on purpose, and the answer to those is what
// the description must get right. The response is always checked: its
// status must be one the operation lists, its headers and body must match.
func checkExchange(method, url string, reqHeader http.Header, reqBody []byte, status int, header http.Header, body []byte) error {
	s, err := openapiSpec()
	if err != nil {
		return err
	}
	req, err := http.NewRequest(method, url, bytes.NewReader(reqBody))
	if err != nil {
		return err
	}
	req.Header = reqHeader.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	where := fmt.Sprintf("OpenAPI: %s %s → %d", method, req.URL.Path, status)
	if undescribed(req.URL.Path) {
		return nil
	}

	route, pathParams, err := s.router.FindRoute(req)
	switch {
	case errors.Is(err, routers.ErrPathNotFound):
		// Not a route: the answer must be the 404 problem.
		if status != http.StatusNotFound {
			return fmt.Errorf("%s: the path is not in the description, but the server answered %d (a route missing from openapi.json?)", where, status)
		}
		return s.checkProblem(where, header, body)
	case errors.Is(err, routers.ErrMethodNotAllowed):
		if status != http.StatusMethodNotAllowed && status != http.StatusNotFound {
			return fmt.Errorf("%s: the method is not in the description, but the server answered %d (an operation missing from openapi.json?)", where, status)
		}
		return s.checkProblem(where, header, body)
	case err != nil:
		return fmt.Errorf("%s: find route: %w", where, err)
	}
	where = fmt.Sprintf("OpenAPI: %s %s (%s) → %d", method, req.URL.Path, route.Path, status)

	opts := &openapi3filter.Options{
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true,
		MultiError:            true,
	}
	opts.WithCustomSchemaErrorFunc(schemaErrorMessage)
	if strings.HasPrefix(reqHeader.Get("Content-Type"), "multipart/") {
		// kin-openapi's multipart decoder cannot check parts against
		// additionalProperties (a form's fields are not known in advance);
		// the other two encodings of the same body are checked.
		opts.ExcludeRequestBody = true
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: pathParams, Route: route, Options: opts}
	if status < 400 {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			return fmt.Errorf("%s: the request does not match the description: %v", where, err)
		}
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: header, Options: opts}
	out.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		return fmt.Errorf("%s: the response does not match the description: %v\nbody: %.600s", where, err, body)
	}
	if ct := header.Get("Content-Type"); strings.HasPrefix(ct, "application/x-ndjson") {
		return s.checkNDJSON(where, body)
	}
	return nil
}

// checkProblem checks an answer the description has no operation for (an
// unknown route, a method a path lacks): a problem+json body.
func (s *spec) checkProblem(where string, header http.Header, body []byte) error {
	if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		return fmt.Errorf("%s: Content-Type %q, want application/problem+json", where, ct)
	}
	return s.checkValue(where, "Problem", body)
}

// checkNDJSON checks each line of an NDJSON export as a Submission.
func (s *spec) checkNDJSON(where string, body []byte) error {
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		if err := s.checkValue(fmt.Sprintf("%s, line %d", where, n), "Submission", sc.Bytes()); err != nil {
			return err
		}
	}
	return sc.Err()
}

func (s *spec) checkValue(where, schema string, body []byte) error {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("%s: not JSON: %v: %.300s", where, err, body)
	}
	ref := s.doc.Components.Schemas[schema]
	if ref == nil {
		return fmt.Errorf("%s: no schema %s in the description", where, schema)
	}
	if err := ref.Value.VisitJSON(v, openapi3.EnableJSONSchema2020(), openapi3.MultiErrors(), openapi3.VisitAsResponse()); err != nil {
		return fmt.Errorf("%s: the body does not match #/components/schemas/%s: %v\nbody: %.600s", where, schema, err, body)
	}
	return nil
}

// schemaErrorMessage keeps a schema error to what failed and where, without
// the schema and value kin-openapi would print in full.
func schemaErrorMessage(err *openapi3.SchemaError) string {
	if p := err.JSONPointer(); len(p) > 0 {
		return fmt.Sprintf("at #/%s: %s", strings.Join(p, "/"), err.Reason)
	}
	return err.Reason
}

// TestOpenAPIDocument: the description is a valid OpenAPI 3.1 document, it
// describes exactly the routes the router has, and it is served.
func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	s, err := openapiSpec()
	if err != nil {
		t.Fatal(err)
	}
	if !s.doc.IsOpenAPI31OrLater() {
		t.Errorf("openapi = %q, want 3.1", s.doc.OpenAPI)
	}

	b := setup(t)
	t.Run("every route is described, and only those", func(t *testing.T) {
		// {formID} and {form_id} are the same path.
		param := regexp.MustCompile(`\{[^}]*\}`)
		norm := func(method, path string) string { return method + " " + param.ReplaceAllString(path, "{}") }

		routed := map[string]string{} // normalised → as chi has it
		err := chi.Walk(b.api.Handler().(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
			route = strings.TrimSuffix(route, "/") // chi.Walk writes a mounted group's root with a slash
			if route == "" || undescribed(route) || strings.HasSuffix(route, "/*") {
				return nil
			}
			routed[norm(method, route)] = method + " " + route
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		described := map[string]string{}
		for path, item := range s.doc.Paths.Map() {
			for method := range item.Operations() {
				described[norm(method, path)] = method + " " + path
			}
		}
		var missing, extra []string
		for k, v := range routed {
			if _, ok := described[k]; !ok {
				missing = append(missing, v)
			}
		}
		for k, v := range described {
			if _, ok := routed[k]; !ok {
				extra = append(extra, v)
			}
		}
		sort.Strings(missing)
		sort.Strings(extra)
		if len(missing) > 0 {
			t.Errorf("routes missing from openapi.json:\n\t%s", strings.Join(missing, "\n\t"))
		}
		if len(extra) > 0 {
			t.Errorf("openapi.json describes routes the router does not have:\n\t%s", strings.Join(extra, "\n\t"))
		}
	})

	t.Run("every operation has an id, a summary and its error answers", func(t *testing.T) {
		ids := map[string]bool{}
		for path, item := range s.doc.Paths.Map() {
			for method, op := range item.Operations() {
				name := method + " " + path
				if op.OperationID == "" || ids[op.OperationID] {
					t.Errorf("%s: operationId %q missing or not unique", name, op.OperationID)
				}
				ids[op.OperationID] = true
				if op.Summary == "" {
					t.Errorf("%s: no summary", name)
				}
				if strings.HasPrefix(path, "/api/v1/") {
					for _, status := range []int{401, 429, 500, 503} {
						if op.Responses.Status(status) == nil {
							t.Errorf("%s: no %d answer", name, status)
						}
					}
					if op.Security == nil || len(*op.Security) == 0 {
						t.Errorf("%s: no security requirement", name)
					}
				}
			}
		}
	})

	t.Run("served at /api/openapi.json", func(t *testing.T) {
		r := b.call(t, http.MethodGet, "/api/openapi.json", nil, nil)
		if r.Status != http.StatusOK || r.Body != string(api.OpenAPI()) {
			t.Fatalf("GET /api/openapi.json = %d, %d bytes; want 200 and the embedded document", r.Status, len(r.Body))
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
		if cc := r.Header.Get("Cache-Control"); cc != "public, max-age=300" {
			t.Errorf("Cache-Control = %q", cc)
		}
		etag := r.Header.Get("ETag")
		if !regexp.MustCompile(`^"[0-9a-f]{32}"$`).MatchString(etag) {
			t.Fatalf("ETag = %q, want a strong ETag", etag)
		}
		again := b.call(t, http.MethodGet, "/api/openapi.json", nil, hdr("If-None-Match", etag))
		if again.Status != http.StatusNotModified || again.Body != "" || again.Header.Get("ETag") != etag {
			t.Errorf("If-None-Match: %d %q ETag %q, want 304 with the ETag and no body", again.Status, again.Body, again.Header.Get("ETag"))
		}
		if r := b.call(t, http.MethodGet, "/api/openapi.json", nil, hdr("If-None-Match", `"other"`)); r.Status != http.StatusOK {
			t.Errorf("a stale If-None-Match = %d, want 200", r.Status)
		}
	})
}

// TestOpenAPICheckerCatchesDrift makes sure the checker is not vacuous: a
// response that contradicts the description fails.
func TestOpenAPICheckerCatchesDrift(t *testing.T) {
	t.Parallel()
	const base = "http://intake.test"
	jsonHdr := http.Header{"Content-Type": {"application/json"}}
	problemHdr := http.Header{"Content-Type": {"application/problem+json"}}
	tests := []struct {
		name           string
		method, path   string
		status         int
		header         http.Header
		body           string
		wantErrContain string // "" means the exchange is valid
	}{
		{"healthz as described", "GET", "/healthz", 200, jsonHdr, `{"status":"ok"}`, ""},
		{"healthz with a wrong member type", "GET", "/healthz", 200, jsonHdr, `{"status":1}`, "does not match"},
		{"a status the operation does not list", "GET", "/healthz", 418, jsonHdr, `{}`, "status is not supported"},
		{"a content type the operation does not list", "GET", "/healthz", 200, http.Header{"Content-Type": {"text/plain"}}, "ok", "Content-Type"},
		{"an unknown path answered 200", "GET", "/nowhere", 200, jsonHdr, `{}`, "not in the description"},
		{"an unknown path answered with a problem", "GET", "/nowhere", 404, problemHdr,
			`{"type":"https://intake.dev/problems/not-found","title":"Not found","status":404}`, ""},
		{"a problem of the wrong type for its status", "GET", "/f/abcdefgh", 404, problemHdr,
			`{"type":"https://intake.dev/problems/internal-error","title":"x","status":404,"error":"x","errors":[{"code":"X","message":"x"}]}`, "does not match"},
		{"a /f/ problem without Formspree's members", "GET", "/f/abcdefgh", 404, problemHdr,
			`{"type":"https://intake.dev/problems/not-found","title":"x","status":404}`, "does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := checkExchange(tt.method, base+tt.path, http.Header{"Accept": {"application/json"}}, nil, tt.status, tt.header, []byte(tt.body))
			switch {
			case tt.wantErrContain == "" && err != nil:
				t.Errorf("valid exchange refused: %v", err)
			case tt.wantErrContain != "" && err == nil:
				t.Errorf("drift not caught (want an error saying %q)", tt.wantErrContain)
			case tt.wantErrContain != "" && !strings.Contains(err.Error(), tt.wantErrContain):
				t.Errorf("error %q does not say %q", err, tt.wantErrContain)
			}
		})
	}
}

// TestAgentDocs: GET /docs/agents as Markdown for agents that ask for it,
// as HTML otherwise, with this server's URL in its examples.
func TestAgentDocs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	mentions := []string{"Idempotency-Key", "Idempotent-Replayed", "409", "Retry-After", "idempotency-key-reused",
		"validation-error", "submissions.csv", "submissions.ndjson", "/api/openapi.json"}
	tests := []struct {
		name, accept, contentType string
	}{
		{"Markdown", "text/markdown", "text/markdown; charset=utf-8"},
		{"Markdown preferred by q", "text/html;q=0.5, text/markdown", "text/markdown; charset=utf-8"},
		{"a browser", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/html; charset=utf-8"},
		{"HTML preferred by q", "text/markdown;q=0.2, text/html", "text/html; charset=utf-8"},
		{"anything", "*/*", "text/html; charset=utf-8"},
		{"no Accept", "", "text/html; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			if tt.accept != "" {
				h.Set("Accept", tt.accept)
			}
			r := b.call(t, http.MethodGet, "/docs/agents", nil, h)
			if r.Status != http.StatusOK || r.Header.Get("Content-Type") != tt.contentType {
				t.Fatalf("GET /docs/agents = %d %q, want 200 %q", r.Status, r.Header.Get("Content-Type"), tt.contentType)
			}
			if !strings.Contains(r.Header.Get("Vary"), "Accept") {
				t.Errorf("Vary = %q, want Accept", r.Header.Get("Vary"))
			}
			if strings.Contains(r.Body, "{{BASE_URL}}") || !strings.Contains(r.Body, b.server.URL+"/f/") {
				t.Errorf("the page does not use the server's URL %s", b.server.URL)
			}
			for _, m := range mentions {
				if !strings.Contains(r.Body, m) {
					t.Errorf("the page does not mention %s", m)
				}
			}
			if strings.HasPrefix(tt.contentType, "text/markdown") {
				if !strings.HasPrefix(r.Body, "# ") || strings.Contains(r.Body, "<table>") {
					t.Errorf("not Markdown: %.200s", r.Body)
				}
				return
			}
			for _, want := range []string{"<!doctype html>", `<nav aria-label="Intake"><a href="/">Intake</a> · <a href="/forms">Your forms</a>`, "<h1", "<table>", "<th>", "<pre><code", "<code>Idempotency-Key</code>",
				`<a href="` + b.server.URL + `/api/openapi.json">`} {
				if !strings.Contains(r.Body, want) {
					t.Errorf("HTML page has no %s", want)
				}
			}
			// Everything is escaped: code samples show their quotes and
			// brackets as text, not markup.
			if strings.Contains(r.Body, `<intake`) || !strings.Contains(r.Body, "&#34;") {
				t.Errorf("the HTML is not escaped")
			}
			if !slices.Contains(strings.Split(r.Header.Get("Content-Security-Policy"), ";"), "default-src 'none'") {
				t.Errorf("Content-Security-Policy = %q", r.Header.Get("Content-Security-Policy"))
			}
		})
	}
}
