package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/intakehq/intake/api"
	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/internal/seal"
	"github.com/intakehq/intake/internal/testdb"
	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/notify"
	"github.com/intakehq/intake/pages"
	"github.com/intakehq/intake/submissions"
	"github.com/intakehq/intake/webhooks"
)

// testBundle is one running Intake edge on its own database.
type testBundle struct {
	db      *pgxpool.Pool
	server  *httptest.Server
	api     *api.Server
	account *testfactory.Account
	form    *forms.Form
}

func setup(t testing.TB) *testBundle {
	t.Helper()
	ctx := context.Background()
	db, _ := testdb.New(t)
	return setupOn(t, ctx, db)
}

func setupOn(t testing.TB, ctx context.Context, db *pgxpool.Pool) *testBundle {
	t.Helper()
	pages, err := pages.New()
	if err != nil {
		t.Fatal(err)
	}
	val := forms.NewValidator()
	srv := &api.Server{
		DB:        db,
		Validator: val,
		Pages:     pages,
		Metrics:   api.NewMetrics(db),
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	ts := httptest.NewServer(nil)
	t.Cleanup(ts.Close)
	srv.BaseURL = ts.URL
	srv.Submissions = testfactory.Submissions(t, db, ts.URL)
	srv.River = testfactory.River(t, db)
	if srv.Sealer, err = seal.New("test secret key"); err != nil {
		t.Fatal(err)
	}
	links, err := notify.NewLinks("test secret key")
	if err != nil {
		t.Fatal(err)
	}
	srv.Recipients = &notify.RecipientSync{River: srv.River, Links: links}
	if srv.FileLinks, err = submissions.NewFileLinks("test secret key", ts.URL); err != nil {
		t.Fatal(err)
	}
	srv.Webhooks = &webhooks.DeliveryWorker{DB: db, Client: webhooks.NewHTTPClient(true), Sealer: srv.Sealer, FileLinks: srv.FileLinks, BaseURL: ts.URL}
	srv.Submissions.Secrets = srv.Sealer                         // as serve wires it: CAPTCHA secrets sealed by the API open here
	srv.Submissions.Replays = &submissions.ReplayCounter{DB: db} // flushed by the tests that read it
	// The API's rate limit as served by default, so its headers are
	// checked against the description on every answer.
	srv.RateLimit = &api.RateLimiter{PerMinute: api.DefaultRatePerMinute}
	srv.AuthLimit = &api.AuthLimiter{PerMinute: api.DefaultAuthFailuresPerMinute}
	ts.Config.Handler = srv.Handler()
	acct := testfactory.NewAccount(ctx, t, db)
	return &testBundle{
		db:      db,
		server:  ts,
		api:     srv,
		account: acct,
		form:    testfactory.NewForm(ctx, t, db, acct.User.AccountID, nil),
	}
}

// do sends a request to the bundle's server; body may be nil.
func (b *testBundle) do(t *testing.T, method, path string, body string, header map[string]string) *http.Response {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, b.server.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	// Read the answer to check it against the description, then hand it
	// back unread.
	out, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(out))
	if err := checkExchange(method, req.URL.String(), req.Header, []byte(body), resp.StatusCode, resp.Header, out); err != nil {
		t.Fatal(err)
	}
	return resp
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (b *testBundle) count(t testing.TB, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := b.db.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestHealth(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		resp := b.do(t, "GET", path, "", nil)
		if body := readBody(t, resp); resp.StatusCode != 200 || !strings.Contains(body, `"ok"`) {
			t.Errorf("GET %s = %d %s", path, resp.StatusCode, body)
		}
	}
}

// reply is a response read in full.
type reply struct {
	Status int
	Header http.Header
	Body   string
}

func (r reply) String() string { return http.StatusText(r.Status) + " " + r.Body }

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// call sends a request with full control of the headers (a key may repeat,
// to send a header line twice) and reads the whole answer.
func (b *testBundle) call(t testing.TB, method, path string, body []byte, header http.Header) reply {
	t.Helper()
	r, err := b.send(method, path, body, header)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// send is call for goroutines other than the test's: it returns its error.
func (b *testBundle) send(method, path string, body []byte, header http.Header) (reply, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, b.server.URL+path, r)
	if err != nil {
		return reply{}, err
	}
	for k, vs := range header {
		req.Header[http.CanonicalHeaderKey(k)] = append(req.Header[http.CanonicalHeaderKey(k)], vs...)
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		return reply{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	r2 := reply{Status: resp.StatusCode, Header: resp.Header, Body: string(out)}
	// Every answer must match the OpenAPI description (api/openapi.json).
	return r2, checkExchange(method, req.URL.String(), req.Header, body, resp.StatusCode, resp.Header, out)
}

// hdr builds a header from name, value pairs; a repeated name adds a line.
func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h[http.CanonicalHeaderKey(kv[i])] = append(h[http.CanonicalHeaderKey(kv[i])], kv[i+1])
	}
	return h
}

// Content types of the public endpoint.
const (
	ctForm = "application/x-www-form-urlencoded"
	ctJSON = "application/json"
)

// submit posts body to /f/{formID} with the content type and extra header
// pairs.
func (b *testBundle) submit(t testing.TB, formID, contentType, body string, kv ...string) reply {
	t.Helper()
	h := hdr(kv...)
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	return b.call(t, http.MethodPost, "/f/"+formID, []byte(body), h)
}

// apiGet is an authenticated GET of the management API.
func (b *testBundle) apiGet(t testing.TB, path, apiKey string) reply {
	t.Helper()
	return b.call(t, http.MethodGet, path, nil, hdr("Authorization", "Bearer "+apiKey))
}

// submission fetches a stored submission through the API as the bundle's account.
func (b *testBundle) submission(t testing.TB, id string) map[string]any {
	t.Helper()
	r := b.apiGet(t, "/api/v1/submissions/"+id, b.account.APIKey)
	if r.Status != http.StatusOK {
		t.Fatalf("GET submission %s = %s", id, r)
	}
	return decodeObject(t, r.Body)
}

// newForm makes another form for the bundle's account.
func (b *testBundle) newForm(t testing.TB, opts *testfactory.FormOpts) *forms.Form {
	t.Helper()
	return testfactory.NewForm(context.Background(), t, b.db, b.account.User.AccountID, opts)
}

// stored is what the database holds for one form.
type stored struct{ Submissions, Keys, Jobs int }

// stored counts the form's submissions, idempotency keys and the River jobs
// that point at its submissions.
func (b *testBundle) stored(t testing.TB, f *forms.Form) stored {
	t.Helper()
	return stored{
		Submissions: b.count(t, `SELECT count(*) FROM submissions WHERE form_id = $1`, f.ID),
		Keys:        b.count(t, `SELECT count(*) FROM idempotency_keys WHERE form_id = $1`, f.ID),
		Jobs: b.count(t, `SELECT count(*) FROM river_job j JOIN submissions s ON s.id = (j.args->>'submission_id')::uuid
			WHERE s.form_id = $1`, f.ID),
	}
}

func decodeObject(t testing.TB, body string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, body)
	}
	return m
}

// mustProblem checks that r is an RFC 9457 problem with status and, unless
// typ is "", type ProblemBase+typ, and returns it decoded.
func mustProblem(t testing.TB, r reply, status int, typ string) map[string]any {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d; body %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Errorf("Content-Type = %q, want application/problem+json", ct)
	}
	p := decodeObject(t, r.Body)
	if got, _ := p["status"].(float64); int(got) != status {
		t.Errorf("body status = %v, want %d", p["status"], status)
	}
	if typ != "" && p["type"] != api.ProblemBase+typ {
		t.Errorf("type = %v, want %s", p["type"], api.ProblemBase+typ)
	}
	if title, _ := p["title"].(string); title == "" {
		t.Errorf("problem has no title: %s", r.Body)
	}
	return p
}

// mustFormspree checks Formspree's error members on a problem of /f/: a
// non-empty "error" string and an "errors" entry with code.
func mustFormspree(t testing.TB, p map[string]any, code string) map[string]any {
	t.Helper()
	if e, _ := p["error"].(string); e == "" {
		t.Errorf(`problem has no "error" string: %v`, p)
	}
	for _, e := range errorsOf(p) {
		if e["code"] == code {
			return e
		}
	}
	t.Errorf(`problem's "errors" has no code %s: %v`, code, p["errors"])
	return nil
}

func errorsOf(p map[string]any) []map[string]any {
	list, _ := p["errors"].([]any)
	out := make([]map[string]any, 0, len(list))
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// multipartBody is a multipart/form-data body of fields (name, value pairs)
// and files; it returns the body and its Content-Type.
func multipartBody(t testing.TB, fields [][2]string, files []testFile) (string, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range files {
		w, err := mw.CreateFormFile(f.Field, f.Name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(f.Content)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String(), mw.FormDataContentType()
}

type testFile struct {
	Field, Name string
	Content     []byte
}
