package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/intakehq/intake/captcha"
	"github.com/intakehq/intake/internal/captchatest"
)

// captchaBundle is a bundle whose submissions are verified by one loopback
// server per provider, each accepting the secret "form-secret".
func captchaBundle(t *testing.T) (*testBundle, map[captcha.Provider]*captchatest.Server) {
	t.Helper()
	b := setup(t)
	servers := map[captcha.Provider]*captchatest.Server{}
	v := &captcha.Verifier{URLs: map[captcha.Provider]string{}, Timeout: 300 * time.Millisecond}
	for _, p := range captcha.Providers {
		servers[p] = captchatest.New(t, p, "form-secret")
		v.URLs[p] = servers[p].URL
	}
	b.api.Submissions.Captcha = v
	return b, servers
}

// createCaptchaForm makes a form through the API with p's CAPTCHA.
func (b *testBundle) createCaptchaForm(t *testing.T, p captcha.Provider, onOutage string) (id string) {
	t.Helper()
	r := b.apiCall(t, http.MethodPost, "/api/v1/forms", fmt.Sprintf(`{"name":"Guarded","fields":[{"name":"email","type":"email","required":true}],
		"settings":{"captcha":{"provider":%q,"site_key":"site-key-1","secret":"form-secret","on_outage":%q}}}`, p, onOutage))
	if r.Status != http.StatusCreated {
		t.Fatalf("create form = %s", r)
	}
	return decodeObject(t, r.Body)["id"].(string)
}

func (b *testBundle) countFor(t *testing.T, table, formID string) int {
	t.Helper()
	return b.count(t, `SELECT count(*) FROM `+table+` WHERE form_id = (SELECT id FROM forms WHERE public_id = $1)`, formID)
}

// The CAPTCHA secret is write-only: taken on create and PATCH, stored
// sealed, never in an answer (which says only secret_set).
func TestCaptchaSecretWriteOnly(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const secret = "0x4AAAAAAA-very-secret"
	noSecret := func(r reply) {
		t.Helper()
		if strings.Contains(r.Body, secret) || strings.Contains(r.Body, "sealed:") {
			t.Fatalf("an answer shows the secret: %s", r.Body)
		}
	}
	captchaOf := func(r reply) map[string]any {
		t.Helper()
		noSecret(r)
		settings, _ := decodeObject(t, r.Body)["settings"].(map[string]any)
		c, _ := settings["captcha"].(map[string]any)
		return c
	}

	r := b.apiCall(t, http.MethodPost, "/api/v1/forms", `{"name":"Guarded","settings":{"captcha":{"provider":"turnstile","site_key":"0x4AAAAAAAsite","secret":"`+secret+`"}}}`)
	if r.Status != http.StatusCreated {
		t.Fatalf("create = %s", r)
	}
	c := captchaOf(r)
	if c["provider"] != "turnstile" || c["site_key"] != "0x4AAAAAAAsite" || c["secret_set"] != true || c["on_outage"] != "fail_closed" {
		t.Errorf("created captcha = %v", c)
	}
	id := decodeObject(t, r.Body)["id"].(string)
	var stored, settings string
	if err := b.db.QueryRow(context.Background(), `SELECT captcha_secret, settings::text FROM forms WHERE public_id = $1`, id).Scan(&stored, &settings); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stored, "sealed:v1:") || strings.Contains(stored, secret) || strings.Contains(settings, secret) {
		t.Errorf("stored %q with settings %s; want the secret sealed, beside the settings", stored, settings)
	}

	path := "/api/v1/forms/" + id
	for _, r := range []reply{b.apiCall(t, http.MethodGet, path, ""), b.apiCall(t, http.MethodGet, "/api/v1/forms", "")} {
		noSecret(r)
	}
	// A change of another member keeps the secret; so does sending back a
	// form as it was read (secret_set is ignored).
	if c := captchaOf(b.apiCall(t, http.MethodPatch, path, `{"settings":{"captcha":{"on_outage":"fail_open","secret_set":false}}}`)); c["secret_set"] != true || c["on_outage"] != "fail_open" {
		t.Errorf("after a PATCH of on_outage: %v", c)
	}
	// A provider cannot lose its secret.
	r = b.apiCall(t, http.MethodPatch, path, `{"settings":{"captcha":{"secret":""}}}`)
	if e := mustProblem(t, r, http.StatusUnprocessableEntity, "validation-error"); !strings.Contains(r.Body, "#/settings/captcha/secret") {
		t.Errorf("clearing the secret of a provider: %v", e)
	}
	// A secret kept for one provider is no secret for another: a change of
	// provider needs its own (else a fail-open form would send Turnstile's
	// secret to hCaptcha, be refused, and let everything in).
	r = b.apiCall(t, http.MethodPatch, path, `{"settings":{"captcha":{"provider":"hcaptcha"}}}`)
	if e := mustProblem(t, r, http.StatusUnprocessableEntity, "validation-error"); !strings.Contains(r.Body, "#/settings/captcha/secret") {
		t.Errorf("a change of provider without a secret: %v", e)
	}
	if c := captchaOf(b.apiCall(t, http.MethodPatch, path, `{"settings":{"captcha":{"provider":"hcaptcha","secret":"hcaptcha-secret"}}}`)); c["secret_set"] != true || c["provider"] != "hcaptcha" {
		t.Errorf("a change of provider with its secret: %v", c)
	}
	// Turning the CAPTCHA off and forgetting the secret.
	if c := captchaOf(b.apiCall(t, http.MethodPatch, path, `{"settings":{"captcha":{"provider":"","secret":""}}}`)); c["secret_set"] != false || c["provider"] != "" {
		t.Errorf("after turning it off: %v", c)
	}
	if err := b.db.QueryRow(context.Background(), `SELECT captcha_secret FROM forms WHERE public_id = $1`, id).Scan(&stored); err != nil || stored != "" {
		t.Errorf("secret kept as %q (%v) after it was cleared", stored, err)
	}

	// secret_set cannot stand in for a secret.
	for _, body := range []string{
		`{"name":"x","settings":{"captcha":{"provider":"hcaptcha"}}}`,
		`{"name":"x","settings":{"captcha":{"provider":"hcaptcha","secret_set":true}}}`,
	} {
		r := b.apiCall(t, http.MethodPost, "/api/v1/forms", body)
		mustProblem(t, r, http.StatusUnprocessableEntity, "validation-error")
		if !strings.Contains(r.Body, "#/settings/captcha/secret") {
			t.Errorf("%s: %s, want the secret named", body, r.Body)
		}
	}
	for _, body := range []string{
		`{"name":"x","settings":{"captcha":{"provider":"friendlycaptcha","secret":"s"}}}`,
		`{"name":"x","settings":{"captcha":{"provider":"turnstile","secret":"s","on_outage":"sometimes"}}}`,
		`{"name":"x","settings":{"min_fill_seconds":-1}}`,
	} {
		mustProblem(t, b.apiCall(t, http.MethodPost, "/api/v1/forms", body), http.StatusUnprocessableEntity, "validation-error")
	}
	mustProblem(t, b.apiCall(t, http.MethodPost, "/api/v1/forms", `{"name":"x","settings":{"captcha":{"secrets":"typo"}}}`), http.StatusBadRequest, "malformed-request")
}

// A form with a CAPTCHA through /f/ in JSON mode, for each provider: the
// problems a client gets, nothing stored until the token passes, the same
// key then accepted, and retries replayed without asking the provider again.
func TestSubmitCaptcha(t *testing.T) {
	t.Parallel()
	b, servers := captchaBundle(t)
	for _, p := range captcha.Providers {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			srv := servers[p]
			id := b.createCaptchaForm(t, p, "fail_closed")
			body := func(token string) string {
				if token == "" {
					return `{"email":"ada@example.com"}`
				}
				return fmt.Sprintf(`{"email":"ada@example.com",%q:%q}`, p.TokenField(), token)
			}

			r := b.submit(t, id, ctJSON, body(""), "Idempotency-Key", "k1")
			mustFormspree(t, mustProblem(t, r, http.StatusUnprocessableEntity, "captcha-failed"), "CAPTCHA_MISSING")
			if r.Header.Get("Idempotency-Key") != "k1" {
				t.Errorf("Idempotency-Key not echoed on the refusal")
			}
			r = b.submit(t, id, ctJSON, body(captchatest.BadToken), "Idempotency-Key", "k1")
			mustFormspree(t, mustProblem(t, r, http.StatusUnprocessableEntity, "captcha-failed"), "CAPTCHA_FAILED")
			if !strings.Contains(r.Body, "invalid-input-response") {
				t.Errorf("the refusal does not say the provider's code: %s", r.Body)
			}
			if s, k := b.countFor(t, "submissions", id), b.countFor(t, "idempotency_keys", id); s != 0 || k != 0 {
				t.Fatalf("stored %d submissions, %d keys after refusals; want none", s, k)
			}

			first := b.submit(t, id, ctJSON, body("good-"+string(p)+"-1"), "Idempotency-Key", "k1")
			if first.Status != http.StatusCreated {
				t.Fatalf("a fresh token with the same key = %s", first)
			}
			for _, token := range []string{"good-" + string(p) + "-1", "good-" + string(p) + "-2", ""} {
				again := b.submit(t, id, ctJSON, body(token), "Idempotency-Key", "k1")
				if again.Status != http.StatusCreated || again.Body != first.Body || again.Header.Get("Idempotent-Replayed") != "true" {
					t.Fatalf("retry with token %q = %s, want the stored answer replayed", token, again)
				}
			}
			if n := len(srv.Hits()); n != 2 {
				t.Errorf("the provider was asked %d times, want 2 (a replay is never verified again)", n)
			}
			sub := b.submission(t, decodeObject(t, first.Body)["id"].(string))
			meta, _ := sub["meta"].(map[string]any)
			if c, _ := meta["captcha"].(map[string]any); c["provider"] != string(p) || c["verified"] != true {
				t.Errorf("meta.captcha = %v, want verified by %s", meta["captcha"], p)
			}
			if data, _ := sub["data"].(map[string]any); data[p.TokenField()] != nil || len(data) != 1 {
				t.Errorf("stored data = %v, want only the email", data)
			}

			// The contract as JSON Schema names the token.
			schema := decodeObject(t, b.call(t, http.MethodGet, "/f/"+id, nil, hdr("Accept", "application/json")).Body)
			if req := fmt.Sprint(schema["required"]); !strings.Contains(req, p.TokenField()) {
				t.Errorf("schema required = %s, want %s", req, p.TokenField())
			}
		})
	}
}

// A provider outage: fail closed is a 503 with Retry-After and nothing
// stored; fail open takes the submission and the API shows it unverified.
func TestSubmitCaptchaOutage(t *testing.T) {
	t.Parallel()
	b, servers := captchaBundle(t)
	srv := servers[captcha.Turnstile]
	srv.SetMode(captchatest.Down)

	closed := b.createCaptchaForm(t, captcha.Turnstile, "fail_closed")
	r := b.submit(t, closed, ctJSON, `{"email":"ada@example.com","cf-turnstile-response":"good-1"}`, "Idempotency-Key", "k")
	mustFormspree(t, mustProblem(t, r, http.StatusServiceUnavailable, "captcha-unavailable"), "CAPTCHA_UNAVAILABLE")
	if r.Header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	if s, k := b.countFor(t, "submissions", closed), b.countFor(t, "idempotency_keys", closed); s != 0 || k != 0 {
		t.Fatalf("fail closed stored %d submissions, %d keys", s, k)
	}

	open := b.createCaptchaForm(t, captcha.Turnstile, "fail_open")
	r = b.submit(t, open, ctJSON, `{"email":"ada@example.com","cf-turnstile-response":"good-2"}`, "Idempotency-Key", "k")
	if r.Status != http.StatusCreated {
		t.Fatalf("fail open = %s, want it taken", r)
	}
	sub := b.submission(t, decodeObject(t, r.Body)["id"].(string))
	meta, _ := sub["meta"].(map[string]any)
	c, _ := meta["captcha"].(map[string]any)
	if c["verified"] != false || c["reason"] != "answered HTTP 503" || sub["spam"] != false {
		t.Errorf("meta.captcha = %v, spam %v; want not verified, with the reason, and not spam", c, sub["spam"])
	}
	// Unverified is not spam: the owner is told as for any submission.
	if n := b.count(t, `SELECT count(*) FROM river_job WHERE kind = 'email.send' AND args->>'submission_id' = (SELECT id::text FROM submissions WHERE form_id = (SELECT id FROM forms WHERE public_id = $1))`, open); n != 1 {
		t.Errorf("notifications = %d, want 1", n)
	}
}

// Browser mode: a readable page, not JSON, with the status and a way on.
func TestSubmitCaptchaBrowser(t *testing.T) {
	t.Parallel()
	b, servers := captchaBundle(t)
	id := b.createCaptchaForm(t, captcha.HCaptcha, "fail_closed")
	post := func(token string) reply {
		v := url.Values{"email": {"ada@example.com"}}
		if token != "" {
			v.Set("h-captcha-response", token)
		}
		return b.submit(t, id, ctForm, v.Encode(), "Accept", "text/html", "Referer", "https://site.example/contact")
	}
	for _, tc := range []struct {
		token  string
		status int
		says   string
	}{
		{"", http.StatusUnprocessableEntity, "none came with it"},
		{captchatest.BadToken, http.StatusUnprocessableEntity, "did not pass"},
	} {
		r := post(tc.token)
		if r.Status != tc.status || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("token %q: %d %s, want %d HTML", tc.token, r.Status, r.Header.Get("Content-Type"), tc.status)
		}
		for _, want := range []string{"CAPTCHA not passed", tc.says, "complete the CAPTCHA", `href="https://site.example/contact"`} {
			if !strings.Contains(r.Body, want) {
				t.Errorf("token %q: the page lacks %q:\n%s", tc.token, want, r.Body)
			}
		}
		if strings.Contains(r.Body, "Idempotency-Key") {
			t.Errorf("the page speaks to programs: %s", r.Body)
		}
	}
	servers[captcha.HCaptcha].SetMode(captchatest.Garbage)
	r := post("good-1")
	if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" || !strings.Contains(r.Body, "cannot be checked") {
		t.Errorf("outage in browser mode = %d (Retry-After %q):\n%s", r.Status, r.Header.Get("Retry-After"), r.Body)
	}
	servers[captcha.HCaptcha].SetMode(captchatest.Normal)
	if r := post("good-2"); r.Status != http.StatusSeeOther {
		t.Errorf("a good token in browser mode = %s, want 303", r)
	}
}

// Minimum fill time through /f/: too fast is answered as a success and
// stored as spam with its reason, which the API shows; no report, no
// judgement.
func TestSubmitMinFillTime(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := b.apiCall(t, http.MethodPost, "/api/v1/forms", `{"name":"Slow down","settings":{"min_fill_seconds":2.5}}`)
	if r.Status != http.StatusCreated {
		t.Fatalf("create = %s", r)
	}
	if s := decodeObject(t, r.Body)["settings"].(map[string]any); s["min_fill_seconds"] != 2.5 || s["allow_cc"] != false {
		t.Errorf("settings = %v", s)
	}
	id := decodeObject(t, r.Body)["id"].(string)
	for _, tc := range []struct {
		body, reason string
		fill         any
	}{
		{"email=a%40example.com&_fill_ms=1200", "filled in 1.2 s; the form's minimum is 2.5 s", 1200.0},
		{"email=b%40example.com&_fill_ms=4000", "", 4000.0},
		{"email=c%40example.com", "", nil},
	} {
		r := b.submit(t, id, ctForm, tc.body, "Accept", acceptJSON)
		if r.Status != http.StatusCreated {
			t.Fatalf("%s = %s, want 201 (spam is answered as a success)", tc.body, r)
		}
		sub := b.submission(t, decodeObject(t, r.Body)["id"].(string))
		reason, _ := sub["spam_reason"].(string)
		if sub["spam"] != (tc.reason != "") || reason != tc.reason {
			t.Errorf("%s: spam %v %q, want %q", tc.body, sub["spam"], reason, tc.reason)
		}
		meta, _ := sub["meta"].(map[string]any)
		if meta["fill_ms"] != tc.fill {
			t.Errorf("%s: meta.fill_ms = %v, want %v", tc.body, meta["fill_ms"], tc.fill)
		}
		if data, _ := sub["data"].(map[string]any); data["_fill_ms"] != nil {
			t.Errorf("%s: _fill_ms stored as data", tc.body)
		}
	}
	list := decodeObject(t, b.apiGet(t, "/api/v1/forms/"+id+"/submissions?spam=true", b.account.APIKey).Body)
	if data, _ := list["data"].([]any); len(data) != 1 || data[0].(map[string]any)["spam_reason"] != "filled in 1.2 s; the form's minimum is 2.5 s" {
		t.Errorf("spam list = %v, want the one too fast, with its reason", list["data"])
	}
}
