package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/intakehq/intake/api"
	"github.com/intakehq/intake/submissions"
	"github.com/intakehq/intake/web"
)

// TestHeadOnEveryGetRoute walks every GET route of the edge, the
// dashboard's included, and checks that HEAD answers as GET does without a
// body (RFC 9110 §9.1, §9.3.2), and that a 405 there lists both GET and
// HEAD in Allow (RFC 9110 §15.5.6).
func TestHeadOnEveryGetRoute(t *testing.T) {
	t.Parallel()
	b := setup(t)
	dash, err := web.NewDashboard(b.db, b.api.River, b.api.Validator, b.api.BaseURL, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	b.api.Dashboard = dash
	h := b.api.Handler()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)

	// Each route's parameters get a value that exists where one is at hand
	// (the form), or a made-up one: a 404 must be answered alike too.
	param := regexp.MustCompile(`\{[^}]+\}`)
	fill := func(pattern string) string {
		return param.ReplaceAllStringFunc(pattern, func(p string) string {
			if strings.Contains(strings.ToLower(p), "form") {
				return b.form.PublicID
			}
			return "x1"
		})
	}
	methods := map[string][]string{}
	err = chi.Walk(h.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		methods[route] = append(methods[route], method)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	for route, ms := range methods {
		if slices.Contains(ms, http.MethodGet) && !strings.HasSuffix(route, "*") {
			routes = append(routes, route)
		}
	}
	slices.Sort(routes)
	if len(routes) < 30 {
		t.Fatalf("walked only %d GET routes: %v", len(routes), routes)
	}

	send := func(t *testing.T, method, path string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, ts.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", bearer(b.account.APIKey))
		resp, err := noRedirects.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	for _, route := range routes {
		t.Run(route, func(t *testing.T) {
			path := fill(route)
			get := send(t, http.MethodGet, path)
			io.Copy(io.Discard, get.Body)
			head := send(t, http.MethodHead, path)
			body, _ := io.ReadAll(head.Body)
			if head.StatusCode != get.StatusCode || head.Header.Get("Content-Type") != get.Header.Get("Content-Type") {
				t.Errorf("HEAD %s = %d %q, GET = %d %q", path, head.StatusCode, head.Header.Get("Content-Type"), get.StatusCode, get.Header.Get("Content-Type"))
			}
			if len(body) != 0 {
				t.Errorf("HEAD %s sent a body of %d bytes", path, len(body))
			}
			// A method the route lacks answers 405 with Allow listing GET
			// and HEAD.
			for _, m := range []string{http.MethodDelete, http.MethodPut, http.MethodPatch} {
				if slices.Contains(methods[route], m) {
					continue
				}
				r := send(t, m, path)
				allow := strings.Join(r.Header.Values("Allow"), ",")
				if r.StatusCode != http.StatusMethodNotAllowed || !headerListHas(allow, "GET") || !headerListHas(allow, "HEAD") {
					t.Errorf("%s %s = %d with Allow %q, want 405 listing GET and HEAD", m, path, r.StatusCode, allow)
				}
				break
			}
		})
	}
}

// TestShowFormVariesOnAccept: GET /f/{id} answers the JSON Schema to the
// schema's own media type too, and says its answer depends on Accept and is
// not to be kept by caches, errors included.
func TestShowFormVariesOnAccept(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name, path, accept, contentType string
		status                          int
	}{
		{"schema+json", "/f/" + b.form.PublicID, "application/schema+json", "application/schema+json", 200},
		{"schema+json over HTML", "/f/" + b.form.PublicID, "text/html;q=0.9, application/schema+json", "application/schema+json", 200},
		{"JSON", "/f/" + b.form.PublicID, "application/json", "application/schema+json", 200},
		{"browser", "/f/" + b.form.PublicID, "text/html,application/xhtml+xml,*/*;q=0.8", "text/html", 200},
		{"unknown form, schema+json", "/f/zzzzzzzz", "application/schema+json", "application/problem+json", 404},
		{"unknown form, browser", "/f/zzzzzzzz", "text/html", "text/html", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := b.call(t, http.MethodGet, tt.path, nil, hdr("Accept", tt.accept))
			if r.Status != tt.status || !strings.HasPrefix(r.Header.Get("Content-Type"), tt.contentType) {
				t.Fatalf("got %d %s, want %d %s", r.Status, r.Header.Get("Content-Type"), tt.status, tt.contentType)
			}
			if !headerListHas(strings.Join(r.Header.Values("Vary"), ","), "Accept") {
				t.Errorf("Vary = %q, want it to list Accept", r.Header.Values("Vary"))
			}
			if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", cc)
			}
		})
	}
}

// TestRateLimitResetMeansOneThing: every limiter that sends the RateLimit
// headers means by RateLimit-Reset the seconds until the quota is whole
// again, on a 429 as on a 200, while Retry-After is the wait for the next
// request. An emptied bucket of 3 a minute is whole in 60 s and gives a
// token every 20 s; one of 20 a minute, every 3 s.
func TestRateLimitResetMeansOneThing(t *testing.T) {
	t.Parallel()
	type limited struct {
		name         string
		send         func(t *testing.T, b *testBundle) reply
		limit        int
		reset, retry [2]int // inclusive bounds: a running clock may give back a little
	}
	tests := []limited{
		{"API key", func(t *testing.T, b *testBundle) reply {
			b.api.RateLimit = &api.RateLimiter{PerMinute: 3}
			b.server.Config.Handler = b.api.Handler()
			var r reply
			for i := range 4 {
				r = b.apiGet(t, "/api/v1/forms", b.account.APIKey)
				if i == 0 && r.Header.Get("RateLimit-Reset") != "20" {
					t.Errorf("after one request of 3 a minute, RateLimit-Reset = %q, want 20", r.Header.Get("RateLimit-Reset"))
				}
			}
			return r
		}, 3, [2]int{59, 60}, [2]int{19, 20}},
		{"unknown keys", func(t *testing.T, b *testBundle) reply {
			b.api.AuthLimit = &api.AuthLimiter{PerMinute: api.DefaultAuthFailuresPerMinute}
			api.FreezeAuthForTest(b.api.AuthLimit, time.Now())
			b.server.Config.Handler = b.api.Handler()
			var r reply
			for range api.DefaultAuthFailuresPerMinute + 1 {
				r = b.call(t, http.MethodGet, "/api/v1/forms", nil, hdr("Authorization", "Bearer intk_0123456789abcdef0123456789abcdef"))
			}
			return r
		}, api.DefaultAuthFailuresPerMinute, [2]int{60, 60}, [2]int{3, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			r := tt.send(t, b)
			mustProblem(t, r, http.StatusTooManyRequests, "rate-limited")
			reset, err1 := strconv.Atoi(r.Header.Get("RateLimit-Reset"))
			retry, err2 := strconv.Atoi(r.Header.Get("Retry-After"))
			if err1 != nil || err2 != nil || reset < tt.reset[0] || reset > tt.reset[1] || retry < tt.retry[0] || retry > tt.retry[1] {
				t.Errorf("RateLimit-Reset %q, Retry-After %q; want %v and %v", r.Header.Get("RateLimit-Reset"), r.Header.Get("Retry-After"), tt.reset, tt.retry)
			}
			if r.Header.Get("RateLimit-Remaining") != "0" || r.Header.Get("RateLimit-Limit") != strconv.Itoa(tt.limit) {
				t.Errorf("RateLimit-Remaining %q, RateLimit-Limit %q", r.Header.Get("RateLimit-Remaining"), r.Header.Get("RateLimit-Limit"))
			}
		})
	}
}

// TestMetricsHelpNamesLabelValues exercises the submission outcomes, an
// unmatched route and River jobs in every state, then gathers the registry:
// each label value emitted must be named in its metric's help, so that
// /metrics alone tells what a series means. Route patterns and status codes
// are open-ended and only described.
func TestMetricsHelpNamesLabelValues(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.api.Submissions.Limiter = &submissions.Limiter{PerMinute: 4}
	b.server.Config.Handler = b.api.Handler()
	f := b.form.PublicID
	b.submit(t, f, ctJSON, `{"email":"m@example.com"}`, "Idempotency-Key", "m")
	b.submit(t, f, ctJSON, `{"email":"m@example.com"}`, "Idempotency-Key", "m")
	b.submit(t, f, ctJSON, `{"email":"spam@example.com","_gotcha":"bot"}`)
	b.submit(t, f, ctJSON, `{"email":"not an address"}`)
	for i := 0; i < 5 && b.submit(t, f, ctJSON, `{"email":"more@example.com"}`).Status != http.StatusTooManyRequests; i++ {
	}
	b.call(t, http.MethodGet, "/no/such/route", nil, nil)
	_, err := b.db.Exec(context.Background(), `
		INSERT INTO river_job (args, kind, max_attempts, state, finalized_at)
		SELECT '{}', 'metrics_help_test', 1, s, CASE WHEN s IN ('completed', 'cancelled', 'discarded') THEN now() END
		FROM unnest(enum_range(NULL::river_job_state)) AS s`)
	if err != nil {
		t.Fatal(err)
	}

	families, err := b.api.Metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, mf := range families {
		if !strings.HasPrefix(mf.GetName(), "intake_") {
			continue // Go's and the process's own collectors
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				v := l.GetValue()
				if l.GetName() == "code" || l.GetName() == "route" && strings.HasPrefix(v, "/") {
					continue
				}
				seen[mf.GetName()+" "+l.GetName()+"="+v] = true
				if !regexp.MustCompile(`\b` + regexp.QuoteMeta(v) + `\b`).MatchString(mf.GetHelp()) {
					t.Errorf("%s{%s=%q}: the help %q does not name %s", mf.GetName(), l.GetName(), v, mf.GetHelp(), v)
				}
			}
		}
	}
	// The paths above did emit what they were meant to.
	for _, want := range []string{
		"intake_submissions_total outcome=created", "intake_submissions_total outcome=replayed",
		"intake_submissions_total outcome=spam", "intake_submissions_total outcome=invalid",
		"intake_submissions_total outcome=limited", "intake_submit_duration_seconds outcome=limited",
		"intake_http_requests_total route=unmatched",
		"intake_queue_jobs state=completed", "intake_queue_jobs state=discarded", "intake_queue_jobs state=running",
	} {
		if !seen[want] {
			t.Errorf("the registry has no %s (seen: %v)", want, seen)
		}
	}
}

// TestOpenAPIDocumentCORS: browser tools (Swagger UI, Redocly) on another
// origin can load /api/openapi.json, preflight and revalidation included.
func TestOpenAPIDocumentCORS(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const origin = "https://editor.example"
	get := b.call(t, http.MethodGet, "/api/openapi.json", nil, hdr("Origin", origin))
	if get.Status != http.StatusOK || get.Header.Get("Access-Control-Allow-Origin") != "*" || !headerListHas(get.Header.Get("Access-Control-Expose-Headers"), "ETag") {
		t.Fatalf("GET = %d, Access-Control-Allow-Origin %q, Expose-Headers %q", get.Status, get.Header.Get("Access-Control-Allow-Origin"), get.Header.Get("Access-Control-Expose-Headers"))
	}
	pre := b.call(t, http.MethodOptions, "/api/openapi.json", nil, hdr("Origin", origin,
		"Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "if-none-match"))
	methods := pre.Header.Get("Access-Control-Allow-Methods")
	if pre.Status != http.StatusNoContent || pre.Header.Get("Access-Control-Allow-Origin") != "*" ||
		!headerListHas(methods, "GET") || !headerListHas(methods, "HEAD") || !headerListHas(methods, "OPTIONS") ||
		!headerListHas(pre.Header.Get("Access-Control-Allow-Headers"), "If-None-Match") {
		t.Fatalf("preflight = %d %v", pre.Status, pre.Header)
	}
	again := b.call(t, http.MethodGet, "/api/openapi.json", nil, hdr("Origin", origin, "If-None-Match", get.Header.Get("ETag")))
	if again.Status != http.StatusNotModified || again.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("revalidation = %d, Access-Control-Allow-Origin %q", again.Status, again.Header.Get("Access-Control-Allow-Origin"))
	}
}
