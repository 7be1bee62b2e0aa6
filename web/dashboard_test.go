package web_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/api"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/internal/seal"
	"github.com/intakehq/intake/internal/testdb"
	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/notify"
	"github.com/intakehq/intake/pages"
	"github.com/intakehq/intake/submissions"
	"github.com/intakehq/intake/web"
	"github.com/intakehq/intake/webhooks"
)

// dashBundle is a whole Intake edge with the dashboard, on its own database.
type dashBundle struct {
	db     *pgxpool.Pool
	url    string
	dash   *web.Dashboard
	acct   *testfactory.Account
	form   *forms.Form
	sealer *seal.Sealer
}

// links are the dashboard's confirmation and unsubscribe link keys.
func (b *dashBundle) links() *notify.Links { return b.dash.Links }

// testPassword is testfactory's password for every account it makes.
const testPassword = "correct horse battery"

func setupDashboard(t *testing.T) *dashBundle {
	t.Helper()
	ctx := context.Background()
	db, _ := testdb.New(t)
	pages, err := pages.New()
	if err != nil {
		t.Fatal(err)
	}
	val := forms.NewValidator()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := &api.Server{DB: db, Validator: val, Pages: pages, Metrics: api.NewMetrics(db), Logger: logger}
	ts := httptest.NewServer(nil)
	t.Cleanup(ts.Close)
	srv.BaseURL = ts.URL
	srv.Submissions = testfactory.Submissions(t, db, ts.URL)
	dash, err := web.NewDashboard(db, testfactory.River(t, db), val, ts.URL, logger)
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := seal.New("test secret key")
	if err != nil {
		t.Fatal(err)
	}
	dash.Sealer, srv.Sealer = sealer, sealer
	links, err := notify.NewLinks("test secret key")
	if err != nil {
		t.Fatal(err)
	}
	dash.Links = links
	dash.Submissions = srv.Submissions
	dash.Recipients = &notify.RecipientSync{River: dash.River, Links: links}
	srv.Dashboard = dash
	ts.Config.Handler = srv.Handler()
	acct := testfactory.NewAccount(ctx, t, db)
	return &dashBundle{db: db, url: ts.URL, dash: dash, acct: acct, form: testfactory.NewForm(ctx, t, db, acct.User.AccountID, nil), sealer: sealer}
}

func (b *dashBundle) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := b.db.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// submit posts a JSON submission to form through the public endpoint and
// returns its public id.
func (b *dashBundle) submit(t *testing.T, form *forms.Form, body string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", b.url+"/f/"+form.PublicID, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("submit: %d %s", resp.StatusCode, out)
	}
	m := regexp.MustCompile(`"id":"(sub_[a-z0-9]+)"`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("submit: no id in %s", out)
	}
	return m[1]
}

// browser is one visitor with its own cookies. It does not follow
// redirects, so each test sees them.
type browser struct {
	b      *dashBundle
	client *http.Client
}

func (b *dashBundle) browser(t *testing.T) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{b: b, client: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// loggedIn returns a browser logged in as the bundle's account.
func (b *dashBundle) loggedIn(t *testing.T) *browser {
	t.Helper()
	br := b.browser(t)
	br.login(t, b.acct.User.Email, testPassword)
	return br
}

// answer is a response read in full.
type answer struct {
	Status int
	Header http.Header
	Body   string
}

func (a answer) location() string { return a.Header.Get("Location") }

func (br *browser) do(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := br.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{Status: resp.StatusCode, Header: resp.Header, Body: string(out)}
}

func (br *browser) get(t *testing.T, path string) answer {
	t.Helper()
	req, err := http.NewRequest("GET", br.b.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return br.do(t, req)
}

// post submits a form as a browser does from one of the dashboard's own
// pages: same-origin.
func (br *browser) post(t *testing.T, path string, form url.Values) answer {
	t.Helper()
	return br.postWith(t, path, form, map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": br.b.url})
}

func (br *browser) postWith(t *testing.T, path string, form url.Values, header map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest("POST", br.b.url+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return br.do(t, req)
}

// follow fetches where a 303 points.
func (br *browser) follow(t *testing.T, a answer) answer {
	t.Helper()
	if a.Status != http.StatusSeeOther {
		t.Fatalf("want 303, got %d: %s", a.Status, a.Body)
	}
	return br.get(t, a.location())
}

func (br *browser) login(t *testing.T, email, password string) answer {
	t.Helper()
	a := br.post(t, "/login", url.Values{"email": {email}, "password": {password}})
	if a.Status != http.StatusSeeOther {
		t.Fatalf("log in as %s: %d %s", email, a.Status, a.Body)
	}
	return a
}

func wantStatus(t *testing.T, what string, a answer, status int) {
	t.Helper()
	if a.Status != status {
		t.Fatalf("%s: status %d, want %d\n%s", what, a.Status, status, a.Body)
	}
}

func wantContains(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

// delivery makes a failed delivery of sub to e, with one attempt, as the
// worker would have logged it; it returns the delivery's public id.
func (b *dashBundle) delivery(t *testing.T, e *webhooks.Endpoint, sub string) string {
	t.Helper()
	ctx := context.Background()
	id, err := submissions.ParseID(sub)
	if err != nil {
		t.Fatal(err)
	}
	pub := "dlv_" + strings.ToLower(strings.ReplaceAll(e.PublicID+sub[4:12], "_", ""))
	var dID int64
	err = b.db.QueryRow(ctx, `INSERT INTO deliveries (public_id, endpoint_id, submission_id, message_id, state, attempts, last_status, last_error)
VALUES ($1, $2, $3, $4, 'failed', 1, 500, 'HTTP 500') RETURNING id`, pub, e.ID, id, webhooks.MessageID(id, e.ID)).Scan(&dID)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.db.Exec(ctx, `INSERT INTO delivery_attempts (delivery_id, status, latency_ms, response_body, error)
VALUES ($1, 500, 42, '<b>receiver down</b>', 'HTTP 500')`, dID)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// email stores an outbound email of the account about sub, as the email
// worker records one without SMTP; it returns its id.
func (b *dashBundle) email(t *testing.T, accountID int64, sub, subject string) int64 {
	t.Helper()
	var subID any
	if sub != "" {
		id, err := submissions.ParseID(sub)
		if err != nil {
			t.Fatal(err)
		}
		subID = id
	}
	var id int64
	err := b.db.QueryRow(context.Background(), `INSERT INTO outbound_emails (account_id, submission_id, kind, message_id, recipient, subject, body_text, state)
VALUES ($1, $2, 'notification', $3, 'owner@example.com', $4, 'Hello from the outbox.', 'outbox') RETURNING id`,
		accountID, subID, fmt.Sprintf("<%d.%s@test>", time.Now().UnixNano(), subject), subject).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestDashboardLoggedOutRedirects(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	br := b.browser(t)
	f := b.form.PublicID
	for _, path := range []string{
		"/forms", "/forms/new", "/forms/" + f, "/forms/" + f + "/edit", "/forms/" + f + "/submissions?spam=true&q=ada",
		"/forms/" + f + "/submissions.csv", "/forms/" + f + "/webhooks", "/webhooks/wh_x", "/deliveries/dlv_x",
		"/outbox", "/apikeys", "/account",
	} {
		a := br.get(t, path)
		if a.Status != http.StatusSeeOther || a.location() != "/login?next="+url.QueryEscape(path) {
			t.Errorf("GET %s: %d to %q, want 303 to /login?next=…", path, a.Status, a.location())
		}
	}
	if a := br.get(t, "/"); a.location() != "/login" {
		t.Errorf("GET / logged out goes to %q", a.location())
	}
	a := br.post(t, "/forms/"+f+"/archive", nil)
	if a.Status != http.StatusSeeOther || a.location() != "/login" {
		t.Errorf("POST logged out: %d to %q", a.Status, a.location())
	}
	if n := b.count(t, `SELECT count(*) FROM forms WHERE archived_at IS NOT NULL`); n != 0 {
		t.Error("a logged-out POST archived the form")
	}

	// After logging in, the visitor is back where they were going, and
	// only ever on this site.
	for _, tt := range []struct{ next, want string }{
		{"/forms/" + f + "/submissions?spam=true", "/forms/" + f + "/submissions?spam=true"},
		{"https://evil.example/", "/forms"},
		{"//evil.example/", "/forms"},
		{"/\\evil.example", "/forms"},
		{"", "/forms"},
	} {
		br := b.browser(t)
		a := br.post(t, "/login", url.Values{"email": {b.acct.User.Email}, "password": {testPassword}, "next": {tt.next}})
		if a.location() != tt.want {
			t.Errorf("log in with next %q goes to %q, want %q", tt.next, a.location(), tt.want)
		}
	}
	if body := br.get(t, "/login?next=%2F%2Fevil.example").Body; strings.Contains(body, "evil.example") {
		t.Error("the log-in page carries a foreign next")
	}
}

func TestDashboardPages(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	ctx := context.Background()
	br := b.loggedIn(t)
	f := b.form
	sub := b.submit(t, f, `{"email":"ada@example.com","message":"Hello <b>there</b>","extra":"kept"}`)
	e, _, err := webhooks.Create(ctx, b.db, b.sealer, webhooks.URLPolicy{}, audit.System, f, webhooks.Input{URL: ptr("https://example.com/hooks/intake")})
	if err != nil {
		t.Fatal(err)
	}
	dlv := b.delivery(t, e, sub)
	mail := b.email(t, b.acct.User.AccountID, sub, "New submission to Contact")

	pages := []struct {
		path  string
		wants []string
	}{
		{"/forms", []string{"<h1>Forms</h1>", f.Name, "/f/" + f.PublicID, `aria-current="page">Forms`, `<svg class="chart-svg"`,
			`role="img"`, "<title id=\"chart-1-title\">", "<desc id=\"chart-1-desc\">1 submission", "1 submitted"}},
		{"/forms/new", []string{"New form", `name="field_count" value="2"`, `id="f0-name"`, `id="s-redirect_url"`, `id="s-honeypot_field"`,
			`value="add"`, `value="up:1"`, `value="remove:0"`, `<select id="f0-type"`}},
		{"/forms/" + f.PublicID, []string{b.url + "/f/" + f.PublicID, `data-copy="#endpoint"`, "HTML form with intake.js",
			`data-intake`, b.url + `/js/intake.js`, "crypto.randomUUID()", "Idempotency-Key", "curl", "uuidgen",
			`name=&#34;_gotcha&#34;`, "/forms/" + f.PublicID + "/schema.json", "contract version 1"}},
		{"/forms/" + f.PublicID + "/edit", []string{"Edit “Contact”", `value="email"`, `value="max=500"`, `name="idempotency_retention" value="24h"`}},
		{"/forms/" + f.PublicID + "/submissions", []string{`aria-current="page">Inbox`, "ada@example.com", sub, "Export CSV"}},
		{"/forms/" + f.PublicID + "/submissions/" + sub, []string{"ada@example.com", "Hello &lt;b&gt;there&lt;/b&gt;", "not in the current contract",
			"kept", "Mark as spam", "Contract version", "127.0.0.1", "/delete"}},
		{"/forms/" + f.PublicID + "/submissions/" + sub + "/delete", []string{"Delete the submission", `action="/forms/` + f.PublicID + "/submissions/" + sub + `/delete"`}},
		{"/forms/" + f.PublicID + "/webhooks", []string{"https://example.com/hooks/intake", "Add an endpoint"}},
		{"/webhooks/" + e.PublicID, []string{"Reveal secret", "Delivery log", dlv, "failed", "HTTP 500", "Redeliver"}},
		{"/webhooks/" + e.PublicID + "/rotate", []string{"Rotate the signing secret"}},
		{"/webhooks/" + e.PublicID + "/delete", []string{"Delete the webhook"}},
		{"/deliveries/" + dlv, []string{webhooks.MessageID(mustParse(t, sub), e.ID), "HTTP 500", "42 ms", "&lt;b&gt;receiver down&lt;/b&gt;", "<pre"}},
		{"/outbox", []string{"New submission to Contact", "outbox", "owner@example.com", `aria-current="page"><span class="nav-long">Email outbox</span>`}},
		{"/outbox/" + strconv.FormatInt(mail, 10), []string{"Hello from the outbox.", "View the submission"}},
		{"/apikeys", []string{"Create a key", b.acct.APIKey[:11] + "…", "Revoke"}},
		{"/account", []string{"Change your password", b.acct.User.Email, "<strong>Free</strong> plan", "of 1000 used in", "<progress"}},
	}
	for _, p := range pages {
		a := br.get(t, p.path)
		wantStatus(t, "GET "+p.path, a, http.StatusOK)
		wantContains(t, "GET "+p.path, a.Body, p.wants...)
		for name, want := range map[string]string{
			"Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
			"Referrer-Policy":         "same-origin",
			"X-Content-Type-Options":  "nosniff",
			"Cache-Control":           "no-store",
			"Content-Type":            "text/html; charset=utf-8",
		} {
			if got := a.Header.Get(name); got != want {
				t.Errorf("GET %s: %s = %q, want %q", p.path, name, got, want)
			}
		}
		// A strict CSP comes next: nothing inline.
		for _, bad := range []string{"<script>", " style=", "<style", "onclick="} {
			if strings.Contains(a.Body, bad) {
				t.Errorf("GET %s has inline %q", p.path, bad)
			}
		}
	}

	a := br.get(t, "/forms/"+f.PublicID+"/schema.json")
	wantStatus(t, "schema", a, http.StatusOK)
	wantContains(t, "schema", a.Body, `"$schema"`, `"email"`)

	// The home page sends a logged-in owner to the forms.
	if a := br.get(t, "/"); a.location() != "/forms" {
		t.Errorf("GET / logged in goes to %q", a.location())
	}
	// Error pages: a clean 404 with a way back, not the error.
	a = br.get(t, "/forms/zzzzzzzz")
	wantStatus(t, "missing form", a, http.StatusNotFound)
	wantContains(t, "404 page", a.Body, "Not found", `href="/forms"`)
}

func ptr[T any](v T) *T { return &v }

func mustParse(t *testing.T, sub string) [16]byte {
	t.Helper()
	id, err := submissions.ParseID(sub)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestDashboardEmptyState(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	br := b.browser(t)
	a := br.post(t, "/signup", url.Values{"email": {"new@example.com"}, "password": {"a long password"}})
	a = br.follow(t, a)
	wantContains(t, "first visit", a.Body, "Welcome to Intake", "Your first form", `href="/forms/new"`)
	if strings.Contains(a.Body, "<svg") {
		t.Error("an empty account shows a chart")
	}
}

// TestDashboardOtherAccount checks that another account's objects answer
// 404 — never 403, never the object — to pages and to state changes alike.
func TestDashboardOtherAccount(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	ctx := context.Background()
	other := testfactory.NewAccount(ctx, t, b.db)
	theirs := testfactory.NewForm(ctx, t, b.db, other.User.AccountID, &testfactory.FormOpts{Name: "Their form"})
	sub := b.submit(t, theirs, `{"email":"secret@example.com"}`)
	e, _, err := webhooks.Create(ctx, b.db, b.sealer, webhooks.URLPolicy{}, audit.System, theirs, webhooks.Input{URL: ptr("https://example.com/theirs")})
	if err != nil {
		t.Fatal(err)
	}
	dlv := b.delivery(t, e, sub)
	mail := b.email(t, other.User.AccountID, sub, "Their email")
	keys, err := accounts.APIKeys(ctx, b.db, other.User.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	key := keys[0].PublicID
	// Their submission under our own form's URL is not found either.
	mine := b.form.PublicID

	br := b.loggedIn(t)
	for _, path := range []string{
		"/forms/" + theirs.PublicID, "/forms/" + theirs.PublicID + "/edit", "/forms/" + theirs.PublicID + "/submissions",
		"/forms/" + theirs.PublicID + "/submissions.csv", "/forms/" + theirs.PublicID + "/schema.json",
		"/forms/" + theirs.PublicID + "/submissions/" + sub, "/forms/" + mine + "/submissions/" + sub,
		"/forms/" + theirs.PublicID + "/webhooks", "/webhooks/" + e.PublicID, "/deliveries/" + dlv,
		"/outbox/" + strconv.FormatInt(mail, 10), "/apikeys/" + key + "/revoke", "/forms/" + theirs.PublicID + "/archive",
	} {
		a := br.get(t, path)
		wantStatus(t, "GET "+path, a, http.StatusNotFound)
		for _, leak := range []string{"Their form", "secret@example.com", "example.com/theirs", "Their email"} {
			if strings.Contains(a.Body, leak) {
				t.Errorf("GET %s shows %q", path, leak)
			}
		}
	}
	for _, path := range []string{
		"/forms/" + theirs.PublicID + "/edit", "/forms/" + theirs.PublicID + "/archive",
		"/forms/" + theirs.PublicID + "/submissions/" + sub + "/spam", "/forms/" + mine + "/submissions/" + sub + "/delete",
		"/forms/" + theirs.PublicID + "/submissions/" + sub + "/delete", "/forms/" + theirs.PublicID + "/webhooks",
		"/webhooks/" + e.PublicID, "/webhooks/" + e.PublicID + "/secret", "/webhooks/" + e.PublicID + "/rotate",
		"/webhooks/" + e.PublicID + "/disable", "/webhooks/" + e.PublicID + "/delete", "/deliveries/" + dlv + "/redeliver",
		"/apikeys/" + key + "/revoke",
	} {
		a := br.post(t, path, url.Values{"name": {"x"}, "url": {"https://example.com/mine"}, "field_count": {"0"}})
		wantStatus(t, "POST "+path, a, http.StatusNotFound)
		if strings.Contains(a.Body, "whsec_") {
			t.Errorf("POST %s shows a secret", path)
		}
	}
	if n := b.count(t, `SELECT count(*) FROM submissions WHERE NOT spam`); n != 1 {
		t.Errorf("their submission was changed or deleted (%d left)", n)
	}
	if n := b.count(t, `SELECT count(*) FROM webhook_endpoints WHERE enabled AND previous_secret IS NULL`); n != 1 {
		t.Error("their webhook was changed")
	}
	if n := b.count(t, `SELECT count(*) FROM forms WHERE archived_at IS NULL AND name = 'Their form'`); n != 1 {
		t.Error("their form was changed")
	}
	if _, err := accounts.Authenticate(ctx, b.db, other.APIKey); err != nil {
		t.Error("their API key was revoked")
	}
}

func TestDashboardCrossOrigin(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	br := b.loggedIn(t)
	sub := b.submit(t, b.form, `{"email":"ada@example.com"}`)
	path := "/forms/" + b.form.PublicID + "/submissions/" + sub + "/delete"
	for name, header := range map[string]map[string]string{
		"SecFetchSite": {"Sec-Fetch-Site": "cross-site"},
		"SameSite":     {"Sec-Fetch-Site": "same-site"},
		"Origin":       {"Origin": "https://evil.example"},
	} {
		a := br.postWith(t, path, nil, header)
		wantStatus(t, name, a, http.StatusForbidden)
		wantContains(t, name, a.Body, "Request refused")
	}
	// Log-in and log-out are state changes too.
	a := b.browser(t).postWith(t, "/login", url.Values{"email": {b.acct.User.Email}, "password": {testPassword}},
		map[string]string{"Sec-Fetch-Site": "cross-site"})
	wantStatus(t, "cross-site log-in", a, http.StatusForbidden)
	wantStatus(t, "cross-site log-out", br.postWith(t, "/logout", nil, map[string]string{"Origin": "https://evil.example"}), http.StatusForbidden)
	if n := b.count(t, `SELECT count(*) FROM submissions`); n != 1 {
		t.Fatal("a cross-origin POST deleted the submission")
	}
	// The same request from the dashboard itself goes through.
	wantStatus(t, "same-origin", br.post(t, path, nil), http.StatusSeeOther)
	if n := b.count(t, `SELECT count(*) FROM submissions`); n != 0 {
		t.Fatal("the same-origin POST did not delete")
	}
}

// sessionCookie returns the browser's session cookie.
func (br *browser) sessionCookie(t *testing.T) *http.Cookie {
	t.Helper()
	u, _ := url.Parse(br.b.url)
	for _, c := range br.client.Jar.Cookies(u) {
		if c.Name == "intake_session" {
			return c
		}
	}
	return nil
}

func TestDashboardAccountLifecycle(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	const email, pw1, pw2 = "lifecycle@example.com", "first password", "second password"

	// Sign up: refused with reasons, then accepted and logged in.
	br := b.browser(t)
	a := br.post(t, "/signup", url.Values{"email": {"not an email"}, "password": {"short"}})
	wantStatus(t, "bad sign-up", a, http.StatusUnprocessableEntity)
	wantContains(t, "bad sign-up", a.Body, `id="email-error"`, `id="password-error"`, "at least 8 characters", `aria-invalid="true"`, `value="not an email"`)
	a = br.post(t, "/signup", url.Values{"email": {b.acct.User.Email}, "password": {pw1}})
	wantStatus(t, "taken email", a, http.StatusUnprocessableEntity)
	wantContains(t, "taken email", a.Body, "An account with this email exists")
	a = br.post(t, "/signup", url.Values{"email": {email}, "password": {pw1}})
	if a.Status != http.StatusSeeOther || a.location() != "/forms" {
		t.Fatalf("sign-up: %d to %q", a.Status, a.location())
	}
	c := br.sessionCookie(t)
	if c == nil {
		t.Fatal("no session cookie after sign-up")
	}
	setCookie := strings.Join(a.Header.Values("Set-Cookie"), "\n")
	wantContains(t, "session cookie", setCookie, "intake_session=", "HttpOnly", "SameSite=Lax", "Path=/")
	if strings.Contains(setCookie, "Secure") {
		t.Error("Secure cookie on an http base URL")
	}
	wantStatus(t, "forms after sign-up", br.get(t, "/forms"), http.StatusOK)

	// A log-in makes a new session and ends the one the browser had.
	second := b.browser(t)
	second.login(t, email, pw1)
	firstToken := c.Value
	br.login(t, email, pw1)
	if br.sessionCookie(t).Value == firstToken {
		t.Error("log-in kept the old session token")
	}
	if _, err := accounts.SessionFor(context.Background(), b.db, firstToken); err == nil {
		t.Error("the session before log-in still works")
	}

	// Change the password: a wrong current one is refused, the right one
	// ends every other session and keeps this browser logged in.
	a = br.post(t, "/account/password", url.Values{"current": {"wrong password"}, "new": {pw2}, "confirm": {pw2}})
	wantStatus(t, "wrong current", a, http.StatusUnprocessableEntity)
	wantContains(t, "wrong current", a.Body, `id="current-error"`, "The current password is wrong")
	a = br.post(t, "/account/password", url.Values{"current": {pw1}, "new": {pw2}, "confirm": {"typo"}})
	wantStatus(t, "mismatch", a, http.StatusUnprocessableEntity)
	wantContains(t, "mismatch", a.Body, `id="confirm-error"`)
	before := br.sessionCookie(t).Value
	a = br.post(t, "/account/password", url.Values{"current": {pw1}, "new": {pw2}, "confirm": {pw2}})
	wantStatus(t, "change password", a, http.StatusSeeOther)
	wantContains(t, "after the change", br.follow(t, a).Body, "Password changed")
	if br.sessionCookie(t).Value == before {
		t.Error("the password change kept the session token")
	}
	if a := second.get(t, "/forms"); a.Status != http.StatusSeeOther || !strings.HasPrefix(a.location(), "/login") {
		t.Errorf("another session survived the password change: %d", a.Status)
	}
	wantStatus(t, "this browser after the change", br.get(t, "/forms"), http.StatusOK)
	wantStatus(t, "old password", b.browser(t).post(t, "/login", url.Values{"email": {email}, "password": {pw1}}), http.StatusUnauthorized)

	// Log out ends the session on the server, not just the cookie.
	token := br.sessionCookie(t).Value
	a = br.post(t, "/logout", nil)
	if a.Status != http.StatusSeeOther || a.location() != "/login" {
		t.Fatalf("log-out: %d to %q", a.Status, a.location())
	}
	wantContains(t, "after log-out", br.follow(t, a).Body, "You are logged out")
	if _, err := accounts.SessionFor(context.Background(), b.db, token); err == nil {
		t.Error("the session works after log-out")
	}
	if a := br.get(t, "/forms"); a.Status != http.StatusSeeOther {
		t.Errorf("forms after log-out: %d", a.Status)
	}
	b.browser(t).login(t, email, pw2)
}

// When the server extends a session (at most once an hour), the cookie is
// set again with the new lifetime: else the browser would drop it when the
// log-in's Max-Age runs out, while the server still honours the session.
func TestDashboardSessionCookieRenewed(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	br := b.loggedIn(t)
	token := br.sessionCookie(t).Value
	sessionSetCookie := func(a answer) *http.Cookie {
		for _, c := range (&http.Response{Header: a.Header}).Cookies() {
			if c.Name == "intake_session" {
				return c
			}
		}
		return nil
	}
	if c := sessionSetCookie(br.get(t, "/forms")); c != nil {
		t.Errorf("a page view within the hour sets the session cookie again: %v", c)
	}
	if _, err := b.db.Exec(context.Background(), `UPDATE sessions SET last_seen_at = now() - interval '2 hours', expires_at = now() + interval '1 day'`); err != nil {
		t.Fatal(err)
	}
	a := br.get(t, "/forms")
	wantStatus(t, "forms", a, http.StatusOK)
	c := sessionSetCookie(a)
	if c == nil {
		t.Fatal("the server extended the session but not its cookie")
	}
	lifetime := int(accounts.SessionLifetime.Seconds())
	if c.Value != token || c.MaxAge < lifetime-60 || c.MaxAge > lifetime || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
		t.Errorf("renewed cookie %+v, want the same token for %d s, HttpOnly, SameSite=Lax, Path=/", c, lifetime)
	}
	if c := sessionSetCookie(br.get(t, "/forms")); c != nil {
		t.Errorf("the next page view sets the cookie again: %v", c)
	}
}

func TestDashboardLoginThrottle(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	br := b.browser(t)
	start := time.Now()
	for i := range 10 {
		a := br.post(t, "/login", url.Values{"email": {b.acct.User.Email}, "password": {"guess " + strconv.Itoa(i)}})
		wantStatus(t, "failed log-in", a, http.StatusUnauthorized)
		wantContains(t, "failed log-in", a.Body, "Wrong email or password", `role="alert"`, `value="`+b.acct.User.Email+`"`)
	}
	// The eleventh try from that address is refused before the password is
	// looked at, even the right one, and says when to come back: when the
	// first failure leaves the 15-minute window (ten argon2id checks on a
	// busy machine can take a while, so that is measured, not assumed).
	a := br.post(t, "/login", url.Values{"email": {strings.ToUpper(b.acct.User.Email)}, "password": {testPassword}})
	wantStatus(t, "throttled", a, http.StatusTooManyRequests)
	wantContains(t, "throttled", a.Body, "Too many attempts", "Try again in ")
	left := int((15*time.Minute - time.Since(start)).Seconds())
	if ra, err := strconv.Atoi(a.Header.Get("Retry-After")); err != nil || ra < left-1 || ra > 900 {
		t.Errorf("Retry-After = %q, want between %d and 900", a.Header.Get("Retry-After"), left)
	}
	if br.sessionCookie(t) != nil {
		t.Error("a throttled log-in got a session")
	}
	// Another account from the same address still may.
	ctx := context.Background()
	other := testfactory.NewAccount(ctx, t, b.db)
	b.browser(t).login(t, other.User.Email, testPassword)
}

func TestDashboardFormEditor(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	br := b.loggedIn(t)
	editor := url.Values{
		"name": {"Job application"}, "field_count": {"3"},
		"f0.name": {"email"}, "f0.type": {"email"}, "f0.required": {"1"}, "f0.label": {"Email"},
		"f1.name": {"age"}, "f1.type": {"number"}, "f1.rules": {"gte=18,bogus"},
		"f2.name": {"role"}, "f2.type": {"select"}, "f2.options": {"Engineer\r\nDesigner\r\n"},
		"redirect_url": {""}, "allowed_redirect_hosts": {""}, "allowed_origins": {""}, "notify_emails": {"hr@example.com"},
		"idempotency_retention": {"24h"}, "implicit_dedupe_window": {"10m"}, "unknown_fields": {"reject"},
		"honeypot_field": {"_gotcha"}, "autoresponse.subject": {""}, "autoresponse.body": {""},
	}
	forms0 := b.count(t, `SELECT count(*) FROM forms`)

	// An invalid rule: 422, the error next to that row's rules input,
	// everything as typed, nothing created.
	a := br.post(t, "/forms/new", editor)
	wantStatus(t, "invalid rule", a, http.StatusUnprocessableEntity)
	errAt := strings.Index(a.Body, `<p class="field-error" id="f1-rules-error">`)
	inputAt := strings.Index(a.Body, `id="f1-rules" name="f1.rules" value="gte=18,bogus"`)
	if errAt < 0 || inputAt < 0 || errAt > inputAt || inputAt-errAt > 600 {
		t.Errorf("the rule error is not next to the rules input (error at %d, input at %d)", errAt, inputAt)
	}
	wantContains(t, "invalid rule", a.Body, `role="alert"`, `href="#f1-rules"`, `aria-describedby="f1-rules-hint f1-rules-error"`, "bogus",
		`value="Job application"`, `>hr@example.com</textarea>`, ">Engineer\nDesigner</textarea>", `<option value="reject" selected>`)
	if n := b.count(t, `SELECT count(*) FROM forms`); n != forms0 {
		t.Fatal("an invalid form was created")
	}

	// Row operations re-render without saving.
	add := cloneValues(editor)
	add.Set("op", "add")
	a = br.post(t, "/forms/new", add)
	wantStatus(t, "add a field", a, http.StatusOK)
	wantContains(t, "add a field", a.Body, `name="field_count" value="4"`, `id="f3-name" name="f3.name" value=""`)
	up := cloneValues(editor)
	up.Set("op", "up:2")
	a = br.post(t, "/forms/new", up)
	if strings.Index(a.Body, `value="role"`) > strings.Index(a.Body, `value="age"`) {
		t.Error("up did not move the row up")
	}
	remove := cloneValues(editor)
	remove.Set("op", "remove:0")
	a = br.post(t, "/forms/new", remove)
	wantContains(t, "remove", a.Body, `name="field_count" value="2"`)
	if strings.Contains(a.Body, `value="email"`) {
		t.Error("remove kept the row")
	}
	if n := b.count(t, `SELECT count(*) FROM forms`); n != forms0 {
		t.Fatal("a row operation saved the form")
	}

	// Bad settings are shown next to their inputs too.
	bad := cloneValues(editor)
	bad.Set("f1.rules", "gte=18")
	bad.Set("idempotency_retention", "forever")
	bad.Set("notify_emails", "hr@example.com\nnot-an-address")
	a = br.post(t, "/forms/new", bad)
	wantStatus(t, "bad settings", a, http.StatusUnprocessableEntity)
	wantContains(t, "bad settings", a.Body, `id="s-idempotency_retention-error"`, `id="s-notify_emails-error">Notification emails, line 2 must be one plain email address such as ops@example.com.`, "There are 2 problems")

	// Valid: created, with its contract and settings.
	ok := cloneValues(editor)
	ok.Set("f1.rules", "gte=18")
	a = br.post(t, "/forms/new", ok)
	wantStatus(t, "valid form", a, http.StatusSeeOther)
	id := strings.TrimPrefix(a.location(), "/forms/")
	f, err := forms.ForAccount(context.Background(), b.db, b.acct.User.AccountID, id)
	if err != nil {
		t.Fatalf("the created form: %v", err)
	}
	if f.Name != "Job application" || len(f.Contract.Fields) != 3 || f.Contract.Fields[1].Rules != "gte=18" ||
		strings.Join(f.Contract.Fields[2].Options, "|") != "Engineer|Designer" || !f.Contract.Fields[0].Required ||
		f.Settings.UnknownFields != forms.UnknownReject || f.Settings.NotifyEmails[0] != "hr@example.com" {
		t.Errorf("created form = %+v", f)
	}
	wantContains(t, "the new form's page", br.follow(t, a).Body, "created", b.url+"/f/"+id)

	// Edit: a change of fields is a new contract version; settings alone are not.
	edit := cloneValues(ok)
	edit.Set("implicit_dedupe_window", "0")
	a = br.post(t, "/forms/"+id+"/edit", edit)
	wantStatus(t, "settings change", a, http.StatusSeeOther)
	edit.Set("f1.required", "1")
	a = br.post(t, "/forms/"+id+"/edit", edit)
	wantStatus(t, "fields change", a, http.StatusSeeOther)
	wantContains(t, "after the change", br.follow(t, a).Body, "contract version 2")
	f, _ = forms.ForAccount(context.Background(), b.db, b.acct.User.AccountID, id)
	if f.Contract.Version != 2 || !f.Contract.Fields[1].Required || f.Settings.ImplicitWindow() != 0 {
		t.Errorf("after the edits: version %d, fields %+v, window %v", f.Contract.Version, f.Contract.Fields, f.Settings.ImplicitWindow())
	}

	// Block lists: shown next to their input when wrong, kept when right.
	blocks := cloneValues(edit)
	blocks.Set("blocked_words", "casino\ncrypto giveaway")
	blocks.Set("blocked_emails", "@spam.example")
	blocks.Set("blocked_ips", "not an address")
	a = br.post(t, "/forms/"+id+"/edit", blocks)
	wantStatus(t, "bad block list", a, http.StatusUnprocessableEntity)
	wantContains(t, "bad block list", a.Body, `id="s-blocked_ips-error">Blocked IP addresses, line 1 must be an address (203.0.113.7) or a CIDR range (203.0.113.0/24).`, `href="#s-blocked_ips"`, ">casino\ncrypto giveaway</textarea>")
	blocks.Set("blocked_ips", "203.0.113.0/24")
	wantStatus(t, "block lists", br.post(t, "/forms/"+id+"/edit", blocks), http.StatusSeeOther)
	f, _ = forms.ForAccount(context.Background(), b.db, b.acct.User.AccountID, id)
	if fmt.Sprint(f.Settings.BlockedWords, f.Settings.BlockedEmails, f.Settings.BlockedIPs) != "[casino crypto giveaway] [@spam.example] [203.0.113.0/24]" {
		t.Errorf("block lists after save: %v %v %v", f.Settings.BlockedWords, f.Settings.BlockedEmails, f.Settings.BlockedIPs)
	}
	if f.Contract.Version != 2 {
		t.Errorf("a settings save made contract version %d", f.Contract.Version)
	}
	wantContains(t, "the editor again", br.get(t, "/forms/"+id+"/edit").Body, ">casino\ncrypto giveaway</textarea>", ">203.0.113.0/24</textarea>")

	// Two tabs: the save of the one opened on an older version is refused
	// with its input kept, and a second save, made knowingly, goes through.
	stale := cloneValues(blocks)
	stale.Set("updated_at", f.UpdatedAt.UTC().Format(time.RFC3339Nano))
	other := cloneValues(blocks)
	other.Set("name", "Renamed elsewhere")
	wantStatus(t, "the other tab's save", br.post(t, "/forms/"+id+"/edit", other), http.StatusSeeOther)
	stale.Set("name", "Mine")
	a = br.post(t, "/forms/"+id+"/edit", stale)
	wantStatus(t, "stale save", a, http.StatusUnprocessableEntity)
	wantContains(t, "stale save", html.UnescapeString(a.Body), "changed elsewhere", `value="Mine"`)
	if f, _ = forms.ForAccount(context.Background(), b.db, b.acct.User.AccountID, id); f.Name != "Renamed elsewhere" {
		t.Errorf("the stale save overwrote the other: name %q", f.Name)
	}
	m := regexp.MustCompile(`name="updated_at" value="([^"]+)"`).FindStringSubmatch(a.Body)
	if m == nil {
		t.Fatal("the re-rendered editor has no updated_at")
	}
	stale.Set("updated_at", html.UnescapeString(m[1]))
	wantStatus(t, "save again", br.post(t, "/forms/"+id+"/edit", stale), http.StatusSeeOther)
	if f, _ = forms.ForAccount(context.Background(), b.db, b.acct.User.AccountID, id); f.Name != "Mine" {
		t.Errorf("the knowing save did not go through: name %q", f.Name)
	}

	// Archive, through its confirmation.
	wantStatus(t, "archive page", br.get(t, "/forms/"+id+"/archive"), http.StatusOK)
	a = br.post(t, "/forms/"+id+"/archive", nil)
	wantStatus(t, "archive", a, http.StatusSeeOther)
	if strings.Contains(br.follow(t, a).Body, "Job application") {
		t.Error("the archived form is still listed")
	}
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func TestDashboardSubmissions(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	br := b.loggedIn(t)
	f := b.form
	list := "/forms/" + f.PublicID + "/submissions"
	ada := b.submit(t, f, `{"email":"ada@example.com","message":"first"}`)
	grace := b.submit(t, f, `{"email":"grace@example.com","message":"=HYPERLINK(\"x\")"}`)

	// Search.
	a := br.get(t, list+"?q=grace")
	wantContains(t, "search", a.Body, grace, `value="grace"`)
	if strings.Contains(a.Body, ada) {
		t.Error("the search shows a submission it does not match")
	}
	wantContains(t, "no match", br.get(t, list+"?q=nobody").Body, "Nothing in the inbox matches")

	// Mark spam: it leaves the inbox for the spam tab; and back.
	a = br.post(t, list+"/"+ada+"/spam", nil)
	wantStatus(t, "mark spam", a, http.StatusSeeOther)
	wantContains(t, "after marking", br.follow(t, a).Body, "Marked as spam", "Not spam", "marked by the owner")
	if body := br.get(t, list).Body; strings.Contains(body, ada) || !strings.Contains(body, grace) {
		t.Error("the inbox still shows the spam, or lost the other")
	}
	wantContains(t, "spam tab", br.get(t, list+"?spam=true").Body, ada, `aria-current="page">Spam`)
	wantStatus(t, "not spam", br.post(t, list+"/"+ada+"/not-spam", nil), http.StatusSeeOther)
	if n := b.count(t, `SELECT count(*) FROM submissions WHERE spam`); n != 0 {
		t.Error("not spam did not take")
	}

	// CSV export: a download of the tab, formula-safe.
	a = br.get(t, "/forms/"+f.PublicID+"/submissions.csv?spam=false")
	wantStatus(t, "CSV", a, http.StatusOK)
	if a.Header.Get("Content-Type") != "text/csv; charset=utf-8" || !strings.HasPrefix(a.Header.Get("Content-Disposition"), "attachment;") {
		t.Errorf("CSV headers: %v", a.Header)
	}
	wantContains(t, "CSV", a.Body, "id,created_at,spam,email,message", ada+",", "ada@example.com", `'=HYPERLINK`)

	// Delete, through its confirmation.
	a = br.get(t, list+"/"+ada+"/delete")
	wantStatus(t, "confirm page", a, http.StatusOK)
	wantContains(t, "confirm page", a.Body, `method="post" action="`+list+"/"+ada+`/delete"`, "Delete submission", "Cancel")
	a = br.post(t, list+"/"+ada+"/delete", nil)
	if a.Status != http.StatusSeeOther || a.location() != list {
		t.Fatalf("delete: %d to %q", a.Status, a.location())
	}
	wantContains(t, "after delete", br.follow(t, a).Body, "Submission deleted")
	wantStatus(t, "deleted submission", br.get(t, list+"/"+ada), http.StatusNotFound)
	wantStatus(t, "delete twice", br.post(t, list+"/"+ada+"/delete", nil), http.StatusNotFound)

	// Pages: keyset, newest first, no repeats.
	testfactory.BulkSubmissions(context.Background(), t, b.db, f, 120, time.Now().Add(-time.Hour))
	seen := map[string]bool{}
	next := list
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		a := br.get(t, next)
		wantStatus(t, "page", a, http.StatusOK)
		for _, m := range regexp.MustCompile(`submissions/(sub_[a-z0-9]+)"`).FindAllStringSubmatch(a.Body, -1) {
			if seen[m[1]] {
				t.Fatalf("%s on two pages", m[1])
			}
			seen[m[1]] = true
		}
		next = ""
		if m := regexp.MustCompile(`<a href="([^"]+)">Older →</a>`).FindStringSubmatch(a.Body); m != nil {
			next = strings.ReplaceAll(m[1], "&amp;", "&")
			if pages == 0 {
				wantContains(t, "second page", br.get(t, next).Body, "← Newest")
			}
		}
	}
	if len(seen) != 121 {
		t.Errorf("the pages list %d submissions, want 121", len(seen))
	}
}

func TestDashboardWebhooks(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	br := b.loggedIn(t)
	f := b.form
	hooks := "/forms/" + f.PublicID + "/webhooks"

	a := br.post(t, hooks, url.Values{"url": {"ftp://example.com/x"}})
	wantStatus(t, "bad URL", a, http.StatusUnprocessableEntity)
	wantContains(t, "bad URL", a.Body, `id="wh-url-error"`, `value="ftp://example.com/x"`, `aria-invalid="true"`)

	// Created: the secret is shown once, on the page the redirect lands on.
	a = br.post(t, hooks, url.Values{"url": {"https://example.com/hooks/intake"}, "include_spam": {"1"}})
	wantStatus(t, "create", a, http.StatusSeeOther)
	page := a.location()
	e, err := webhooks.ForAccount(context.Background(), b.db, b.acct.User.AccountID, strings.TrimPrefix(page, "/webhooks/"))
	if err != nil {
		t.Fatal(err)
	}
	if !e.IncludeSpam || !e.Enabled {
		t.Errorf("created endpoint %+v", e)
	}
	// The secret is stored sealed; the pages show it in clear.
	sealed := e.Secret
	if e.Secret, err = b.sealer.Open(sealed, e.PublicID); err != nil || e.Secret == sealed || !strings.HasPrefix(e.Secret, "whsec_") {
		t.Fatalf("stored secret %q opens to %q (%v)", sealed, e.Secret, err)
	}
	// html/template writes "+" in an attribute as "&#43;": compare the text.
	wantContains(t, "first view", html.UnescapeString(br.follow(t, a).Body), e.Secret, `data-copy="#flash-secret"`, "Signing secret")
	again := br.get(t, page)
	if strings.Contains(html.UnescapeString(again.Body), e.Secret) || strings.Contains(again.Body, "whsec_") {
		t.Error("the secret is shown a second time")
	}
	// Revealing it is a POST that changes nothing.
	a = br.post(t, page+"/secret", nil)
	wantStatus(t, "reveal", a, http.StatusOK)
	wantContains(t, "reveal", html.UnescapeString(a.Body), e.Secret)

	// Rotate: a new secret, shown once; the old one still signs.
	a = br.post(t, page+"/rotate", nil)
	wantStatus(t, "rotate", a, http.StatusSeeOther)
	rotated, _ := webhooks.ForAccount(context.Background(), b.db, b.acct.User.AccountID, e.PublicID)
	if rotated.PreviousSecret != sealed {
		t.Error("rotate did not keep the old secret signing")
	}
	if rotated.Secret, err = b.sealer.Open(rotated.Secret, e.PublicID); err != nil || rotated.Secret == e.Secret {
		t.Errorf("rotate did not rotate: %v", err)
	}
	wantContains(t, "after rotate", html.UnescapeString(br.follow(t, a).Body), rotated.Secret, "New signing secret", "previous secret signs too")

	// Edit; disable and enable.
	a = br.post(t, page, url.Values{"url": {"https://example.com/v2"}, "enabled": {"1"}})
	wantStatus(t, "edit", a, http.StatusSeeOther)
	a = br.post(t, page, url.Values{"url": {"not a url"}, "enabled": {"1"}})
	wantStatus(t, "bad edit", a, http.StatusUnprocessableEntity)
	wantContains(t, "bad edit", a.Body, `id="wh-url-error"`, `value="not a url"`)
	wantStatus(t, "disable", br.post(t, page+"/disable", nil), http.StatusSeeOther)
	e, _ = webhooks.ForAccount(context.Background(), b.db, b.acct.User.AccountID, e.PublicID)
	if e.URL != "https://example.com/v2" || e.IncludeSpam || e.Enabled {
		t.Errorf("after edit and disable: %+v", e)
	}

	// Redeliver: refused with a message while disabled, queued when enabled.
	sub := b.submit(t, f, `{"email":"ada@example.com"}`)
	dlv := b.delivery(t, e, sub)
	jobs := b.count(t, `SELECT count(*) FROM river_job WHERE kind = 'webhook.deliver'`)
	a = br.post(t, "/deliveries/"+dlv+"/redeliver", nil)
	wantStatus(t, "redeliver disabled", a, http.StatusConflict)
	wantContains(t, "redeliver disabled", a.Body, `role="alert"`, "This webhook is disabled", "HTTP 500")
	wantStatus(t, "enable", br.post(t, page+"/enable", nil), http.StatusSeeOther)
	a = br.post(t, "/deliveries/"+dlv+"/redeliver", nil)
	wantStatus(t, "redeliver", a, http.StatusSeeOther)
	wantContains(t, "after redeliver", br.follow(t, a).Body, "Redelivery queued", "pending")
	if n := b.count(t, `SELECT count(*) FROM river_job WHERE kind = 'webhook.deliver'`); n != jobs+1 {
		t.Errorf("redeliver queued %d jobs", n-jobs)
	}

	// Delete.
	a = br.post(t, page+"/delete", nil)
	if a.Status != http.StatusSeeOther || a.location() != hooks {
		t.Fatalf("delete: %d to %q", a.Status, a.location())
	}
	wantStatus(t, "deleted webhook", br.get(t, page), http.StatusNotFound)
}

func TestDashboardAPIKeys(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	ctx := context.Background()
	br := b.loggedIn(t)
	a := br.post(t, "/apikeys", url.Values{"name": {"deploy script"}})
	wantStatus(t, "create", a, http.StatusSeeOther)
	first := br.follow(t, a)
	// Where to keep it, in words for a key (not a webhook receiver's secret).
	wantContains(t, "the key's hint", html.UnescapeString(first.Body), "never in a web page or a repository")
	m := regexp.MustCompile(`value="(intk_[a-z2-7]+)"`).FindStringSubmatch(first.Body)
	if m == nil {
		t.Fatalf("the new key is not shown:\n%s", first.Body)
	}
	key := m[1]
	wantContains(t, "first view", first.Body, "deploy script", "shown only this once", `data-copy="#flash-secret"`)
	if _, err := accounts.Authenticate(ctx, b.db, key); err != nil {
		t.Fatalf("the shown key does not work: %v", err)
	}
	again := br.get(t, "/apikeys")
	if strings.Contains(again.Body, key) {
		t.Fatal("the key is shown a second time")
	}
	wantContains(t, "list", again.Body, key[:11]+"…", "deploy script", "never", "<td data-label=\"Scope\">read and write</td>")
	if p, err := accounts.Authenticate(ctx, b.db, key); err != nil || p.Scope != accounts.ScopeReadWrite {
		t.Errorf("a key made without a choice: %+v %v, want read_write", p, err)
	}

	keys, _ := accounts.APIKeys(ctx, b.db, b.acct.User.AccountID)
	id := keys[0].PublicID
	a = br.get(t, "/apikeys/"+id+"/revoke")
	wantStatus(t, "confirm", a, http.StatusOK)
	wantContains(t, "confirm", a.Body, "Revoke API key “deploy script”?", `action="/apikeys/`+id+`/revoke"`)
	a = br.post(t, "/apikeys/"+id+"/revoke", nil)
	wantStatus(t, "revoke", a, http.StatusSeeOther)
	wantContains(t, "after revoke", br.follow(t, a).Body, "revoked")
	if _, err := accounts.Authenticate(ctx, b.db, key); err == nil {
		t.Error("the revoked key still works")
	}
	wantStatus(t, "revoke twice", br.post(t, "/apikeys/"+id+"/revoke", nil), http.StatusNotFound)
}

// The API keys page offers the scope, read and write by default; a key
// made read only is read only and listed so; any other scope is refused
// with the page and what was typed, and no key is made.
func TestDashboardAPIKeyScopes(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	ctx := context.Background()
	br := b.loggedIn(t)
	page := br.get(t, "/apikeys")
	wantStatus(t, "page", page, http.StatusOK)
	wantContains(t, "page", page.Body, `name="scope" value="read_write" checked`, `name="scope" value="read_only">`)

	a := br.post(t, "/apikeys", url.Values{"name": {"reports"}, "scope": {"read_only"}})
	wantStatus(t, "create read only", a, http.StatusSeeOther)
	m := regexp.MustCompile(`value="(intk_[a-z2-7]+)"`).FindStringSubmatch(br.follow(t, a).Body)
	if m == nil {
		t.Fatal("the new key is not shown")
	}
	if p, err := accounts.Authenticate(ctx, b.db, m[1]); err != nil || p.Scope != accounts.ScopeReadOnly {
		t.Errorf("the key made read only: %+v %v", p, err)
	}
	list := br.get(t, "/apikeys")
	wantContains(t, "list", list.Body, "<td class=\"cell-main\">reports</td>\n<td data-label=\"Scope\">read only</td>", "<td data-label=\"Scope\">read and write</td>")

	for _, scope := range []string{"admin", "READ_ONLY", ""} {
		before := b.count(t, `SELECT count(*) FROM api_keys WHERE account_id = $1`, b.acct.User.AccountID)
		a := br.post(t, "/apikeys", url.Values{"name": {"escalate"}, "scope": {scope}})
		if scope == "" {
			// An empty choice is the default, as in the API.
			wantStatus(t, "empty scope", a, http.StatusSeeOther)
			continue
		}
		wantStatus(t, "scope "+scope, a, http.StatusUnprocessableEntity)
		wantContains(t, "scope "+scope, a.Body, "Choose read and write, or read only.", `value="escalate"`, `aria-describedby="key-scope-error"`)
		if n := b.count(t, `SELECT count(*) FROM api_keys WHERE account_id = $1`, b.acct.User.AccountID); n != before {
			t.Errorf("scope %q made a key", scope)
		}
	}
	// A bad name keeps the scope chosen.
	a = br.post(t, "/apikeys", url.Values{"name": {strings.Repeat("n", 201)}, "scope": {"read_only"}})
	wantStatus(t, "long name", a, http.StatusUnprocessableEntity)
	wantContains(t, "long name", a.Body, `name="scope" value="read_only" checked`)
}

func TestDashboardOutbox(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	br := b.loggedIn(t)
	sub := b.submit(t, b.form, `{"email":"ada@example.com"}`)
	var ids []int64
	for i := range 55 {
		ids = append(ids, b.email(t, b.acct.User.AccountID, sub, fmt.Sprintf("Email number %d", i)))
	}
	a := br.get(t, "/outbox")
	wantStatus(t, "outbox", a, http.StatusOK)
	wantContains(t, "outbox", a.Body, "Email number 54", "Older →", "Whoever runs it can set one up")
	if strings.Contains(a.Body, "Email number 4<") {
		t.Error("the first page shows the oldest emails")
	}
	m := regexp.MustCompile(`<a href="(/outbox\?before=\d+)">Older`).FindStringSubmatch(a.Body)
	if m == nil {
		t.Fatal("no link to older emails")
	}
	older := br.get(t, m[1])
	wantContains(t, "older", older.Body, "Email number 4<", "Email number 0<", "← Newest")
	a = br.get(t, "/outbox/"+strconv.FormatInt(ids[3], 10))
	wantStatus(t, "email", a, http.StatusOK)
	wantContains(t, "email", a.Body, "Email number 3", "Hello from the outbox.", "/forms/"+b.form.PublicID+"/submissions/"+sub)
	wantStatus(t, "bad id", br.get(t, "/outbox/x"), http.StatusNotFound)
}

func TestDashboardFlashCannotBeForged(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	br := b.loggedIn(t)
	u, _ := url.Parse(b.url)
	// A cookie planted by someone without the session's token: ignored.
	br.client.Jar.SetCookies(u, []*http.Cookie{{Name: "intake_flash", Value: "eyJrIjoic3VjY2VzcyIsIm0iOiJQV05FRCJ9.AAAA", Path: "/"}})
	if a := br.get(t, "/forms"); strings.Contains(a.Body, "PWNED") {
		t.Error("a forged flash is shown")
	}
}

// The dashboard's CSV download defuses header cells (field names) as well
// as values: it is the API's export (submissions.Exporter).
func TestDashboardExportDefusesFieldNames(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	br := b.loggedIn(t)
	f := b.form
	b.submit(t, f, `{"email":"ada@example.com","=HYPERLINK(\"http://evil.example\")":"@SUM(1)"}`)
	a := br.get(t, "/forms/"+f.PublicID+"/submissions.csv")
	wantStatus(t, "CSV", a, http.StatusOK)
	wantContains(t, "CSV", a.Body, `id,created_at,spam,email,message,"'=HYPERLINK(""http://evil.example"")"`, `,'@SUM(1)`)
}
