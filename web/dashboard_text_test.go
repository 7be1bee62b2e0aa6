package web_test

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/intakehq/intake/api"
	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/internal/testdb"
	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/pages"
	"github.com/intakehq/intake/web"
)

// Every text input of the dashboard, each with a NUL and with invalid
// UTF-8 (as a browser would percent-encode them), answers 400 naming the
// input — never a 500 from the database — and nothing is stored or
// changed (docs/errors.md).
func TestDashboardText(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	br := b.loggedIn(t)
	f := b.form.PublicID
	editor := url.Values{
		"name": {"Texts"}, "field_count": {"1"}, "f0.name": {"email"}, "f0.type": {"email"}, "f0.label": {"Email"},
		"f0.rules": {""}, "f0.options": {""},
		"redirect_url": {"https://example.com/thanks"}, "allowed_redirect_hosts": {"example.com"}, "allowed_origins": {"https://example.com"},
		"idempotency_retention": {"24h"}, "implicit_dedupe_window": {"10m"}, "unknown_fields": {"accept"}, "honeypot_field": {"_gotcha"},
		"notify_emails": {"ops@example.com"}, "autoresponse.subject": {"Thanks"}, "autoresponse.body": {"We got it."},
		"blocked_words": {"casino"}, "blocked_emails": {"@spam.example"}, "blocked_ips": {"203.0.113.0/24"},
		"min_fill_seconds": {"0"}, "captcha.provider": {""}, "captcha.site_key": {""}, "captcha.secret": {""}, "captcha.on_outage": {"fail_closed"},
		"submission_retention": {"30"},
	}
	if a := br.post(t, "/forms/new", editor); a.Status != http.StatusSeeOther {
		t.Fatalf("the editor's values as they are: %d %s", a.Status, a.Body)
	}
	formsBefore := b.count(t, `SELECT count(*) FROM forms WHERE account_id = $1`, b.acct.User.AccountID)
	updatedBefore := b.count(t, `SELECT count(*) FROM forms WHERE public_id = $1 AND updated_at = created_at`, f)

	type post struct {
		path   string
		values url.Values
	}
	var posts []post
	for _, input := range []string{"name", "f0.name", "f0.label", "f0.type", "f0.rules", "f0.options", "redirect_url",
		"allowed_redirect_hosts", "allowed_origins", "idempotency_retention", "implicit_dedupe_window", "unknown_fields",
		"honeypot_field", "notify_emails", "autoresponse.subject", "autoresponse.body", "blocked_words", "blocked_emails",
		"blocked_ips", "min_fill_seconds", "captcha.provider", "captcha.site_key", "captcha.secret", "captcha.on_outage", "submission_retention"} {
		for _, path := range []string{"/forms/new", "/forms/" + f + "/edit"} {
			posts = append(posts, post{path, with(editor, input, editor.Get(input)+"$")})
		}
	}
	posts = append(posts,
		post{"/apikeys", url.Values{"name": {"ci$"}}},
		post{"/apikeys", url.Values{"name": {"ci"}, "scope": {"read_only$"}}},
		post{"/forms/" + f + "/webhooks", url.Values{"url": {"https://example.com/hooks/$"}}},
		post{"/account/password", url.Values{"current": {testPassword + "$"}, "new": {"a new password"}, "confirm": {"a new password"}}},
		post{"/account/password", url.Values{"current": {testPassword}, "new": {"a new password$"}, "confirm": {"a new password$"}}},
		post{"/account/people", url.Values{"email": {"a$@example.com"}}},
		post{"/account/people/export", url.Values{"email": {"a$@example.com"}}},
		post{"/account/people/erase/confirm", url.Values{"email": {"a$@example.com"}}},
		post{"/account/people/erase", url.Values{"email": {"a$@example.com"}}},
	)
	for _, p := range posts {
		for _, bad := range []string{"\x00", "\xff"} {
			v := url.Values{}
			var input string
			// The page names the first bad input by name, as badText reads them.
			for _, k := range slices.Sorted(maps.Keys(p.values)) {
				for _, s := range p.values[k] {
					if strings.Contains(s, "$") && input == "" {
						input = k
					}
					v.Add(k, strings.ReplaceAll(s, "$", bad))
				}
			}
			a := br.post(t, p.path, v)
			if a.Status != http.StatusBadRequest || !strings.Contains(a.Body, "The input &#34;"+input+"&#34;") {
				t.Errorf("POST %s with %q in %s: %d, want 400 naming the input\n%s", p.path, bad, input, a.Status, excerpt(a.Body))
			}
		}
	}
	// A name that is not text, too.
	a := br.post(t, "/apikeys", url.Values{"name\x00": {"x"}})
	wantStatus(t, "a NUL in an input's name", a, http.StatusBadRequest)

	if n := b.count(t, `SELECT count(*) FROM forms WHERE account_id = $1`, b.acct.User.AccountID); n != formsBefore {
		t.Errorf("%d forms, want %d", n, formsBefore)
	}
	if n := b.count(t, `SELECT count(*) FROM forms WHERE public_id = $1 AND updated_at = created_at`, f); n != updatedBefore {
		t.Errorf("the form was changed")
	}
	if n := b.count(t, `SELECT count(*) FROM api_keys WHERE account_id = $1`, b.acct.User.AccountID); n != 1 {
		t.Errorf("%d API keys, want the one there was", n)
	}
	if n := b.count(t, `SELECT count(*) FROM webhook_endpoints WHERE form_id = $1`, b.form.ID); n != 0 {
		t.Errorf("%d webhook endpoints stored", n)
	}
	// The password is the one it was: logging in with it still works.
	b.browser(t).login(t, b.acct.User.Email, testPassword)

	// Logged out: the log-in and sign-up pages.
	out := b.browser(t)
	for _, p := range []post{
		{"/login", url.Values{"email": {b.acct.User.Email + "$"}, "password": {testPassword}}},
		{"/login", url.Values{"email": {b.acct.User.Email}, "password": {testPassword + "$"}}},
		{"/signup", url.Values{"email": {"new$@example.com"}, "password": {"a long enough password"}}},
	} {
		for _, bad := range []string{"\x00", "\xff"} {
			v := url.Values{}
			for k, vs := range p.values {
				v.Set(k, strings.ReplaceAll(vs[0], "$", bad))
			}
			if a := out.post(t, p.path, v); a.Status != http.StatusBadRequest {
				t.Errorf("POST %s with %q: %d, want 400\n%s", p.path, bad, a.Status, excerpt(a.Body))
			}
		}
	}
	if n := b.count(t, `SELECT count(*) FROM users WHERE email LIKE 'new%'`); n != 0 {
		t.Errorf("%d users signed up", n)
	}
}

// with returns a copy of v with key set to value.
func with(v url.Values, key, value string) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	out.Set(key, value)
	return out
}

func excerpt(s string) string {
	if i := strings.Index(s, "<main"); i >= 0 {
		s = s[i:]
	}
	if len(s) > 600 {
		s = s[:600]
	}
	return s
}

// A dashboard form sent too slowly (the server's ReadTimeout passing while
// its body arrives) is a 408 page, the client's, not a 400 or a 500.
func TestDashboardSlowPost(t *testing.T) {
	t.Parallel()
	db, _ := testdb.New(t)
	pages, err := pages.New()
	if err != nil {
		t.Fatal(err)
	}
	val := forms.NewValidator()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := &api.Server{DB: db, Validator: val, Pages: pages, Metrics: api.NewMetrics(db), Logger: logger}
	dash, err := web.NewDashboard(db, testfactory.River(t, db), val, "http://intake.test", logger)
	if err != nil {
		t.Fatal(err)
	}
	srv.Dashboard = dash
	ts := httptest.NewUnstartedServer(srv.Handler())
	ts.Config.ReadTimeout = 500 * time.Millisecond
	ts.Start()
	t.Cleanup(ts.Close)

	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := "email=slow%40example.com&password="
	fmt.Fprintf(conn, "POST /login HTTP/1.1\r\nHost: %s\r\nOrigin: %s\r\nSec-Fetch-Site: same-origin\r\n"+
		"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s", ts.Listener.Addr(), ts.URL, len(body)+100, body)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(page), "too slowly") {
		t.Errorf("%d, want 408\n%s", resp.StatusCode, excerpt(string(page)))
	}
}

// Bytes a client sends outside a form's inputs are not text either: a
// User-Agent with a byte that is not UTF-8 (stored with the session), and
// an email over 254 bytes whose cut would split a character (asked of the
// database). Neither is a 500.
func TestDashboardHeaderAndCutText(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	br := b.browser(t)
	a := br.postWith(t, "/signup", url.Values{"email": {"uatest@example.com"}, "password": {"long enough 1"}},
		map[string]string{"User-Agent": "Mozilla \xff\xfe/5.0"})
	wantStatus(t, "sign-up with a User-Agent that is not UTF-8", a, http.StatusSeeOther)
	if n := b.count(t, `SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = 'uatest@example.com' AND s.user_agent = 'Mozilla /5.0'`); n != 1 {
		t.Errorf("%d sessions with the User-Agent's text kept, want 1", n)
	}
	a = b.browser(t).post(t, "/login", url.Values{"email": {strings.Repeat("a", 253) + "é"}, "password": {"whatever1"}})
	wantStatus(t, "log-in with a 255-byte email", a, http.StatusUnauthorized)
}
