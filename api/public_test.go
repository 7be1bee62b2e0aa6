package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/internal/testfactory"
)

// The public endpoint, POST /f/{form_id} and GET /f/{form_id}, as the README and docs/errors.md describe them.

const acceptJSON = "application/json"

// mustAccepted checks a JSON-mode success for form f and returns
// the body decoded.
func mustAccepted(t testing.TB, b *testBundle, f *forms.Form, r reply) map[string]any {
	t.Helper()
	if r.Status != http.StatusCreated {
		t.Fatalf("status = %d, want 201; body %s", r.Status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	body := decodeObject(t, r.Body)
	if body["ok"] != true {
		t.Errorf(`"ok" = %v, want true`, body["ok"])
	}
	if next, ok := body["next"].(string); !ok || next == "" {
		t.Errorf(`"next" = %v, want a non-empty string`, body["next"])
	}
	id, _ := body["id"].(string)
	if !strings.HasPrefix(id, "sub_") || len(id) != len("sub_")+26 {
		t.Errorf(`"id" = %q, want sub_ and 26 characters`, id)
	}
	if body["form"] != f.PublicID {
		t.Errorf(`"form" = %v, want %s`, body["form"], f.PublicID)
	}
	created, _ := body["created_at"].(string)
	if _, err := time.Parse(time.RFC3339Nano, created); err != nil {
		t.Errorf(`"created_at" = %q is not RFC 3339: %v`, created, err)
	}
	if loc, want := r.Header.Get("Location"), b.server.URL+"/api/v1/submissions/"+id; loc != want {
		t.Errorf("Location = %q, want %q", loc, want)
	}
	return body
}

func jsonBody(t testing.TB, r reply) map[string]any {
	t.Helper()
	return decodeObject(t, r.Body)
}

func TestSubmitContentTypes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	file := []byte("%PDF-1.4\nnot really a PDF\n")
	mpBody, mpType := multipartBody(t, [][2]string{{"email", "multi@example.com"}, {"message", "with a file"}},
		[]testFile{{Field: "attachment", Name: "cv.pdf", Content: file}})

	tests := []struct {
		name        string
		contentType string
		body        string
		header      []string
		email       string
		file        bool
	}{
		{"urlencoded with Accept JSON", ctForm, "email=form%40example.com&message=hello+there", []string{"Accept", acceptJSON}, "form@example.com", false},
		{"multipart with a file and Accept JSON", mpType, mpBody, []string{"Accept", acceptJSON}, "multi@example.com", true},
		{"JSON", ctJSON, `{"email":"json@example.com","message":"hello"}`, nil, "json@example.com", false},
		{"JSON with a browser Accept is still JSON mode", ctJSON, `{"email":"json2@example.com"}`, []string{"Accept", "text/html,application/xhtml+xml"}, "json2@example.com", false},
		{"urlencoded preferring JSON by q", ctForm, "email=q%40example.com", []string{"Accept", "text/html;q=0.5, application/json"}, "q@example.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := b.newForm(t, nil)
			r := b.submit(t, f.PublicID, tt.contentType, tt.body, tt.header...)
			body := mustAccepted(t, b, f, r)
			if got := r.Header.Get("Idempotent-Replayed"); got != "" {
				t.Errorf("a first request has Idempotent-Replayed %q", got)
			}

			// The Location is the submission's API URL, and it holds what was sent.
			loc := strings.TrimPrefix(r.Header.Get("Location"), b.server.URL)
			got := b.apiGet(t, loc, b.account.APIKey)
			if got.Status != http.StatusOK {
				t.Fatalf("GET Location %s = %s", loc, got)
			}
			sub := jsonBody(t, got)
			data, _ := sub["data"].(map[string]any)
			if data["email"] != tt.email {
				t.Errorf("stored email = %v, want %s", data["email"], tt.email)
			}
			if sub["id"] != body["id"] || sub["form"] != f.PublicID {
				t.Errorf("stored id/form = %v/%v, want %v/%s", sub["id"], sub["form"], body["id"], f.PublicID)
			}
			at1, _ := time.Parse(time.RFC3339Nano, body["created_at"].(string))
			at2, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(sub["created_at"]))
			if !at1.Equal(at2) {
				t.Errorf("created_at answered %v, stored %v", at1, at2)
			}
			if next := b.server.URL + "/f/" + f.PublicID + "/thanks"; body["next"] != next {
				t.Errorf(`"next" = %v, want the thank-you page %s`, body["next"], next)
			}
			if s := b.stored(t, f); s != (stored{Submissions: 1, Keys: 0, Jobs: 1}) {
				t.Errorf("stored %+v, want 1 submission, no key (keyless JSON mode), 1 job", s)
			}

			files := b.count(t, `SELECT count(*) FROM submission_files sf JOIN submissions s ON s.id = sf.submission_id WHERE s.form_id = $1`, f.ID)
			if !tt.file {
				if files != 0 {
					t.Errorf("%d files stored, want 0", files)
				}
				return
			}
			if files != 1 {
				t.Fatalf("%d files stored, want 1", files)
			}
			var (
				name, sum string
				size      int64
				content   []byte
			)
			err := b.db.QueryRow(context.Background(), `SELECT sf.filename, sf.size, sf.sha256, sf.content
				FROM submission_files sf JOIN submissions s ON s.id = sf.submission_id WHERE s.form_id = $1`, f.ID).
				Scan(&name, &size, &sum, &content)
			if err != nil {
				t.Fatal(err)
			}
			want := sha256.Sum256(file)
			if name != "cv.pdf" || size != int64(len(file)) || sum != hex.EncodeToString(want[:]) || string(content) != string(file) {
				t.Errorf("stored file %q, %d bytes, sha256 %s, content %q; want cv.pdf, %d bytes, %x", name, size, sum, content, len(file), want)
			}
			att, _ := data["attachment"].(map[string]any)
			if att["filename"] != "cv.pdf" || att["sha256"] != hex.EncodeToString(want[:]) {
				t.Errorf("data.attachment = %v, want the file's name and digest", data["attachment"])
			}
		})
	}
}

func TestSubmitBrowserRedirects(t *testing.T) {
	t.Parallel()
	b := setup(t)
	open := b.form
	hosts := b.newForm(t, &testfactory.FormOpts{Settings: forms.Settings{AllowedRedirectHosts: []string{"ok.example"}}})
	redirect := b.newForm(t, &testfactory.FormOpts{Settings: forms.Settings{RedirectURL: "https://site.example/thanks"}})
	mpBody, mpType := multipartBody(t, [][2]string{{"email", "mp@example.com"}}, []testFile{{Field: "cv", Name: "cv.txt", Content: []byte("hi")}})

	const (
		thanks   = "" // the hosted thank-you page
		noAccept = "no Accept header (curl): browser mode"
	)
	tests := []struct {
		name        string
		form        *forms.Form
		contentType string
		body        string
		want        string
	}{
		{"no _next: hosted thank-you page", open, ctForm, "email=a1%40example.com", thanks},
		{noAccept, open, ctForm, "email=a0%40example.com", thanks},
		{"multipart: hosted thank-you page", open, mpType, mpBody, thanks},
		{"_next to any host when the form restricts none", open, ctForm, "email=a2%40example.com&_next=" + url.QueryEscape("https://anywhere.example/done"), "https://anywhere.example/done"},
		{"_next that is not an http URL", open, ctForm, "email=a3%40example.com&_next=" + url.QueryEscape("javascript:alert(1)"), thanks},
		{"_next to an allowed host", hosts, ctForm, "email=b1%40example.com&_next=" + url.QueryEscape("https://ok.example/done"), "https://ok.example/done"},
		{"_next to a host not allowed", hosts, ctForm, "email=b2%40example.com&_next=" + url.QueryEscape("https://evil.example/x"), thanks},
		{"_next to a look-alike host", hosts, ctForm, "email=b3%40example.com&_next=" + url.QueryEscape("https://ok.example.evil.example/x"), thanks},
		{"redirect_url without _next", redirect, ctForm, "email=c1%40example.com", "https://site.example/thanks"},
		{"_next on the redirect_url's host", redirect, ctForm, "email=c2%40example.com&_next=" + url.QueryEscape("https://site.example/other"), "https://site.example/other"},
		{"_next to a host not allowed falls back to redirect_url", redirect, ctForm, "email=c3%40example.com&_next=" + url.QueryEscape("https://evil.example/"), "https://site.example/thanks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			accept := []string{"Accept", "text/html,application/xhtml+xml,*/*;q=0.8"}
			if tt.name == noAccept {
				accept = nil
			}
			r := b.submit(t, tt.form.PublicID, tt.contentType, tt.body, accept...)
			want := tt.want
			if want == thanks {
				want = b.server.URL + "/f/" + tt.form.PublicID + "/thanks"
			}
			if r.Status != http.StatusSeeOther || r.Header.Get("Location") != want {
				t.Fatalf("got %d Location %q, want 303 to %q; body %s", r.Status, r.Header.Get("Location"), want, r.Body)
			}
			if tt.want == thanks {
				page := b.call(t, http.MethodGet, strings.TrimPrefix(want, b.server.URL), nil, hdr("Accept", "text/html"))
				if page.Status != http.StatusOK || !strings.Contains(page.Body, "Thank you") {
					t.Errorf("thank-you page = %d %.200s", page.Status, page.Body)
				}
			}
		})
	}
	t.Cleanup(func() {
		// Every redirect above was a stored submission.
		n := b.count(t, `SELECT count(*) FROM submissions WHERE form_id = ANY($1)`, []int64{open.ID, hosts.ID, redirect.ID})
		if n != len(tests) {
			t.Errorf("%d submissions stored, want %d", n, len(tests))
		}
	})
}

func TestSubmitRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := b.form
	big := "email=big%40example.com&message=" + strings.Repeat("x", 1<<20)
	tests := []struct {
		name        string
		path        string
		contentType string
		body        string
		status      int
		typ         string
		code        string // Formspree code expected in errors; "" any
		detail      string // a substring of detail
	}{
		{"text/plain", "/f/" + f.PublicID, "text/plain", "email=a%40example.com", 415, "unsupported-media-type", "", ""},
		{"no Content-Type", "/f/" + f.PublicID, "", "email=a%40example.com", 415, "unsupported-media-type", "", ""},
		{"urlencoded over 1 MiB", "/f/" + f.PublicID, ctForm, big, 413, "payload-too-large", "FILES_TOO_BIG", ""},
		{"JSON over 1 MiB", "/f/" + f.PublicID, ctJSON, `{"email":"big@example.com","message":"` + strings.Repeat("x", 1<<20) + `"}`, 413, "payload-too-large", "", ""},
		{"unknown form", "/f/zzzzzzzz", ctJSON, `{"email":"a@example.com"}`, 404, "not-found", "FORM_NOT_FOUND", ""},
		{"malformed form id", "/f/NOT-AN-ID", ctJSON, `{"email":"a@example.com"}`, 404, "not-found", "FORM_NOT_FOUND", ""},
		{"empty JSON object", "/f/" + f.PublicID, ctJSON, `{}`, 422, "empty", "EMPTY", ""},
		{"empty urlencoded body", "/f/" + f.PublicID, ctForm, "", 422, "empty", "EMPTY", ""},
		{"only reserved fields", "/f/" + f.PublicID, ctForm, "_subject=Hi&_replyto=a%40example.com", 422, "empty", "EMPTY", ""},
		{"malformed JSON", "/f/" + f.PublicID, ctJSON, `{"email": nope}`, 400, "malformed-request", "", "byte"},
		{"truncated JSON", "/f/" + f.PublicID, ctJSON, `{"email":"a@example.com"`, 400, "malformed-request", "", ""},
		{"JSON array", "/f/" + f.PublicID, ctJSON, `["a@example.com"]`, 400, "malformed-request", "", ""},
		{"JSON null", "/f/" + f.PublicID, ctJSON, `null`, 400, "malformed-request", "", ""},
		{"nested JSON object", "/f/" + f.PublicID, ctJSON, `{"email":"a@example.com","address":{"city":"Paris"}}`, 400, "malformed-request", "", "address"},
		{"array of objects", "/f/" + f.PublicID, ctJSON, `{"email":"a@example.com","tags":[{"a":1}]}`, 400, "malformed-request", "", "tags"},
		{"two JSON values", "/f/" + f.PublicID, ctJSON, `{"email":"a@example.com"}{"email":"b@example.com"}`, 400, "malformed-request", "", ""},
		{"bad percent-encoding", "/f/" + f.PublicID, ctForm, "email=a%zz", 400, "malformed-request", "", ""},
	}
	t.Cleanup(func() {
		if s := b.stored(t, f); s != (stored{}) {
			t.Errorf("refused requests stored %+v, want nothing", s)
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := hdr("Accept", acceptJSON)
			if tt.contentType != "" {
				h.Set("Content-Type", tt.contentType)
			}
			r := b.call(t, http.MethodPost, tt.path, []byte(tt.body), h)
			p := mustProblem(t, r, tt.status, tt.typ)
			if tt.code != "" {
				mustFormspree(t, p, tt.code)
			} else if len(errorsOf(p)) == 0 || p["error"] == nil || p["error"] == "" {
				t.Errorf(`a JSON-mode error of /f/ lacks Formspree's "error"/"errors": %s`, r.Body)
			}
			if detail, _ := p["detail"].(string); !strings.Contains(detail, tt.detail) {
				t.Errorf("detail %q does not mention %q", detail, tt.detail)
			}
		})
	}
}

func TestSubmitRefusedBrowserMode(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name        string
		path        string
		contentType string
		body        string
		status      int
		text        string
	}{
		{"unknown form", "/f/zzzzzzzz", ctForm, "email=a%40example.com", 404, "Form not found"},
		{"text/plain", "/f/" + b.form.PublicID, "text/plain", "email=a%40example.com", 415, "Unsupported media type"},
		{"empty", "/f/" + b.form.PublicID, ctForm, "_subject=hi", 422, "Empty submission"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := b.call(t, http.MethodPost, tt.path, []byte(tt.body), hdr("Content-Type", tt.contentType, "Accept", "text/html"))
			if r.Status != tt.status {
				t.Fatalf("status = %d, want %d; body %.300s", r.Status, tt.status, r.Body)
			}
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("Content-Type = %q, want an HTML page", ct)
			}
			if !strings.Contains(r.Body, tt.text) {
				t.Errorf("page does not say %q: %.500s", tt.text, r.Body)
			}
		})
	}
}

func TestSubmitValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name        string
		contentType string
		body        string
		field, code string
	}{
		{"invalid email (JSON)", ctJSON, `{"email":"not-an-email","message":"hi"}`, "email", "TYPE_EMAIL"},
		{"invalid email (urlencoded)", ctForm, "email=not-an-email&message=hi", "email", "TYPE_EMAIL"},
		{"required field missing", ctJSON, `{"message":"hi"}`, "email", "REQUIRED_FIELD_MISSING"},
		{"required field empty", ctJSON, `{"email":"","message":"hi"}`, "email", "REQUIRED_FIELD_EMPTY"},
		{"required field blank", ctForm, "email=+++&message=hi", "email", "REQUIRED_FIELD_EMPTY"},
		{"message over max=500", ctJSON, `{"email":"a@example.com","message":"` + strings.Repeat("m", 501) + `"}`, "message", "TYPE_TEXT"},
		{"a list for a single-valued field", ctJSON, `{"email":["a@example.com","b@example.com"]}`, "email", "TYPE_TEXT"},
		// Intake's own code for a value outside the allowed ones: of a
		// select's or checkbox's options, or of a oneof rule.
		{"not one of a select's options", ctJSON, `{"email":"a@example.com","topic":"gold"}`, "topic", "TYPE_CHOICE"},
		{"not one of a checkbox's options", ctForm, "email=a%40example.com&topic=sales&topics=b&topics=z", "topics", "TYPE_CHOICE"},
		{"outside a oneof rule", ctJSON, `{"email":"a@example.com","tier":"gold"}`, "tier", "TYPE_CHOICE"},
	}
	choices := []forms.Field{
		{Name: "email", Type: forms.TypeEmail, Required: true},
		{Name: "topic", Type: forms.TypeSelect, Options: []string{"sales", "support"}},
		{Name: "topics", Type: forms.TypeCheckbox, Options: []string{"a", "b"}},
		{Name: "tier", Type: forms.TypeText, Rules: "oneof=free pro"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := &testfactory.FormOpts{}
			if tt.code == "TYPE_CHOICE" {
				opts.Fields = choices
			}
			f := b.newForm(t, opts)
			key := fmt.Sprintf("validation-%d", i)
			r := b.submit(t, f.PublicID, tt.contentType, tt.body, "Accept", acceptJSON, "Idempotency-Key", key)
			p := mustProblem(t, r, http.StatusUnprocessableEntity, "validation-error")
			e := mustFormspree(t, p, tt.code)
			if e != nil {
				if e["field"] != tt.field || e["pointer"] != "#/"+tt.field {
					t.Errorf("error %v, want field %s and pointer #/%s", e, tt.field, tt.field)
				}
				if msg, _ := e["message"].(string); msg == "" {
					t.Errorf("error %v has no message", e)
				}
			}
			if got := r.Header.Get("Idempotency-Key"); got != key {
				t.Errorf("Idempotency-Key echoed %q, want %q", got, key)
			}
			if s := b.stored(t, f); s != (stored{}) {
				t.Errorf("an invalid submission stored %+v, want nothing (not even the key)", s)
			}
		})
	}

	t.Run("browser mode: the 422 page in plain words", func(t *testing.T) {
		t.Parallel()
		f := b.newForm(t, &testfactory.FormOpts{Fields: []forms.Field{
			{Name: "email", Label: "Your email", Type: forms.TypeEmail, Required: true},
			{Name: "topic", Label: "Topic", Type: forms.TypeText, Required: true},
		}})
		r := b.submit(t, f.PublicID, ctForm, "email=nope&topic=", "Accept", "text/html")
		body := html.UnescapeString(r.Body)
		for _, want := range []string{"<strong>Your email</strong>: Must be a valid email address.", "<strong>Topic</strong>: Please fill this in."} {
			if !strings.Contains(body, want) {
				t.Errorf("page lacks %q: %.1200s", want, body)
			}
		}
		if strings.Contains(body, "email must be") || strings.Contains(body, "was sent empty") {
			t.Errorf("the page speaks the API's words: %.1200s", body)
		}
	})

	t.Run("browser mode: 422 page listing the errors", func(t *testing.T) {
		t.Parallel()
		f := b.newForm(t, nil)
		r := b.submit(t, f.PublicID, ctForm, "email=not-an-email&message=hi", "Accept", "text/html", "Referer", "https://site.example/contact")
		if r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("status = %d, want 422; body %.300s", r.Status, r.Body)
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("Content-Type = %q, want text/html", ct)
		}
		for _, want := range []string{"Email", "Must be a valid email address.", `href="https://site.example/contact"`} {
			if !strings.Contains(r.Body, want) {
				t.Errorf("page lacks %q: %.800s", want, r.Body)
			}
		}
		if s := b.stored(t, f); s != (stored{}) {
			t.Errorf("stored %+v, want nothing", s)
		}
	})
}

func TestSubmitReservedFields(t *testing.T) {
	t.Parallel()
	b := setup(t)
	body := `{"email":"from@example.com","message":"hello",
		"_subject":"A question","_replyto":"reply@example.com","_cc":"a@example.com, b@example.com",
		"_next":"https://example.com/next","_language":"fr","_gotcha":"","_idempotency_key":"reserved-1",
		"g-recaptcha-response":"tok1","h-captcha-response":"tok2","cf-turnstile-response":"tok3"}`
	r := b.submit(t, b.form.PublicID, ctJSON, body, "User-Agent", "intake-test/1.0", "Referer", "https://site.example/contact")
	id := mustAccepted(t, b, b.form, r)["id"].(string)
	sub := b.submission(t, id)

	data, _ := sub["data"].(map[string]any)
	if len(data) != 2 || data["email"] != "from@example.com" || data["message"] != "hello" {
		t.Errorf("data = %v, want only email and message", data)
	}
	meta, _ := sub["meta"].(map[string]any)
	want := map[string]any{
		"subject":    "A question",
		"reply_to":   "reply@example.com",
		"cc":         []any{"a@example.com", "b@example.com"},
		"language":   "fr",
		"ip":         "127.0.0.1",
		"user_agent": "intake-test/1.0",
		"referrer":   "https://site.example/contact",
	}
	for k, v := range want {
		if fmt.Sprint(meta[k]) != fmt.Sprint(v) {
			t.Errorf("meta.%s = %v, want %v", k, meta[k], v)
		}
	}
	if sub["idempotency_key"] != "reserved-1" || sub["spam"] != false {
		t.Errorf("idempotency_key = %v, spam = %v; want reserved-1, false", sub["idempotency_key"], sub["spam"])
	}

	t.Run("email is the reply-to without _replyto", func(t *testing.T) {
		t.Parallel()
		r := b.submit(t, b.form.PublicID, ctForm, "email=plain%40example.com&_subject=Hi", "Accept", acceptJSON)
		sub := b.submission(t, mustAccepted(t, b, b.form, r)["id"].(string))
		meta, _ := sub["meta"].(map[string]any)
		if meta["reply_to"] != "plain@example.com" || meta["subject"] != "Hi" {
			t.Errorf("meta = %v, want reply_to plain@example.com and subject Hi", meta)
		}
		if data, _ := sub["data"].(map[string]any); len(data) != 1 {
			t.Errorf("data = %v, want only email", data)
		}
	})
}

func TestSubmitHoneypot(t *testing.T) {
	t.Parallel()
	b := setup(t)
	custom := &testfactory.FormOpts{Settings: forms.Settings{HoneypotField: "website"}}
	tests := []struct {
		name        string
		opts        *testfactory.FormOpts
		contentType string
		body        string
		header      []string
		status      int
		spam        bool
		stripped    string // a field that must not be in the stored data
	}{
		{"_gotcha filled (JSON)", nil, ctJSON, `{"email":"bot@example.com","message":"buy","_gotcha":"http://spam.example"}`, nil, 201, true, "_gotcha"},
		{"_gotcha filled (browser)", nil, ctForm, "email=bot%40example.com&_gotcha=x", []string{"Accept", "text/html"}, 303, true, "_gotcha"},
		{"_gotcha filled, invalid data: bots learn nothing", nil, ctJSON, `{"email":"not-an-email","_gotcha":"x"}`, nil, 201, true, "_gotcha"},
		{"_gotcha empty", nil, ctJSON, `{"email":"human@example.com","_gotcha":""}`, nil, 201, false, "_gotcha"},
		{"custom honeypot filled", custom, ctJSON, `{"email":"bot@example.com","website":"http://spam.example"}`, nil, 201, true, "website"},
		{"custom honeypot empty", custom, ctJSON, `{"email":"human@example.com","website":""}`, nil, 201, false, "website"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := b.newForm(t, tt.opts)
			r := b.submit(t, f.PublicID, tt.contentType, tt.body, tt.header...)
			var id string
			switch tt.status {
			case 201:
				id = mustAccepted(t, b, f, r)["id"].(string)
			case 303:
				if r.Status != 303 || r.Header.Get("Location") != b.server.URL+"/f/"+f.PublicID+"/thanks" {
					t.Fatalf("got %d to %q, want the normal 303 to the thank-you page", r.Status, r.Header.Get("Location"))
				}
			}
			var spam bool
			var reason *string
			if err := b.db.QueryRow(context.Background(), `SELECT spam, spam_reason FROM submissions WHERE form_id = $1`, f.ID).Scan(&spam, &reason); err != nil {
				t.Fatal(err)
			}
			if spam != tt.spam {
				t.Errorf("spam = %v, want %v", spam, tt.spam)
			}
			wantJobs := 1
			if tt.spam {
				wantJobs = 0
			}
			if s := b.stored(t, f); s.Submissions != 1 || s.Jobs != wantJobs {
				t.Errorf("stored %+v, want 1 submission and %d jobs (spam notifies no one)", s, wantJobs)
			}
			if id != "" {
				sub := b.submission(t, id)
				if sub["spam"] != tt.spam {
					t.Errorf("API spam = %v, want %v", sub["spam"], tt.spam)
				}
				if data, _ := sub["data"].(map[string]any); data[tt.stripped] != nil {
					t.Errorf("honeypot %s kept in data: %v", tt.stripped, data)
				}
			}
		})
	}
}

// postTwice sends the same request twice and checks the second is a
// byte-identical replay.
func postTwice(t *testing.T, b *testBundle, formID, contentType, body string, kv ...string) (first, second reply) {
	t.Helper()
	first = b.submit(t, formID, contentType, body, kv...)
	second = b.submit(t, formID, contentType, body, kv...)
	mustReplay(t, first, second)
	return first, second
}

func mustReplay(t testing.TB, first, second reply) {
	t.Helper()
	if first.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("first answer has Idempotent-Replayed %q", first.Header.Get("Idempotent-Replayed"))
	}
	if second.Status != first.Status || second.Body != first.Body {
		t.Errorf("replay = %d %q, want the stored %d %q byte for byte", second.Status, second.Body, first.Status, first.Body)
	}
	if got := second.Header.Get("Idempotent-Replayed"); got != "true" {
		t.Errorf("replay's Idempotent-Replayed = %q, want true", got)
	}
	for _, h := range []string{"Location", "Content-Type"} {
		if second.Header.Get(h) != first.Header.Get(h) {
			t.Errorf("replay's %s = %q, first %q", h, second.Header.Get(h), first.Header.Get(h))
		}
	}
}

func TestIdempotencySameKeyTwice(t *testing.T) {
	t.Parallel()
	b := setup(t)
	t.Run("JSON", func(t *testing.T) {
		t.Parallel()
		f := b.newForm(t, nil)
		first, second := postTwice(t, b, f.PublicID, ctJSON, `{"email":"twice@example.com","message":"hi"}`, "Idempotency-Key", "k-json")
		mustAccepted(t, b, f, first)
		for i, r := range []reply{first, second} {
			if got := r.Header.Get("Idempotency-Key"); got != "k-json" {
				t.Errorf("answer %d echoes Idempotency-Key %q, want k-json", i+1, got)
			}
		}
		if s := b.stored(t, f); s != (stored{1, 1, 1}) {
			t.Errorf("stored %+v, want one submission, key and job", s)
		}
	})
	t.Run("browser", func(t *testing.T) {
		t.Parallel()
		f := b.newForm(t, nil)
		first, _ := postTwice(t, b, f.PublicID, ctForm, "email=twice%40example.com", "Idempotency-Key", "k-browser", "Accept", "text/html")
		if first.Status != http.StatusSeeOther {
			t.Errorf("status = %d, want 303", first.Status)
		}
		if s := b.stored(t, f); s != (stored{1, 1, 1}) {
			t.Errorf("stored %+v, want one submission, key and job", s)
		}
	})
	t.Run("after a JSON request that replays, an expired key is a new submission", func(t *testing.T) {
		t.Parallel()
		f := b.newForm(t, nil)
		body := `{"email":"expired@example.com"}`
		first := b.submit(t, f.PublicID, ctJSON, body, "Idempotency-Key", "k-expired")
		mustAccepted(t, b, f, first)
		if _, err := b.db.Exec(context.Background(), `UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE form_id = $1`, f.ID); err != nil {
			t.Fatal(err)
		}
		again := b.submit(t, f.PublicID, ctJSON, body, "Idempotency-Key", "k-expired")
		mustAccepted(t, b, f, again)
		if again.Header.Get("Idempotent-Replayed") != "" || again.Body == first.Body {
			t.Errorf("a repeat after retention was replayed: %s", again.Body)
		}
		if s := b.stored(t, f); s != (stored{2, 1, 2}) {
			t.Errorf("stored %+v, want 2 submissions, 1 key, 2 jobs", s)
		}
	})
}

func TestIdempotencyKeySyntax(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name        string
		first, then []string // header pairs of the two requests
	}{
		{"quoted sf-string then bare token", []string{"Idempotency-Key", `"abc"`}, []string{"Idempotency-Key", "abc"}},
		{"bare token then quoted sf-string", []string{"Idempotency-Key", "xyz-1"}, []string{"Idempotency-Key", `"xyz-1"`}},
		{"sf-string escapes", []string{"Idempotency-Key", `"a\"b\\c"`}, []string{"Idempotency-Key", `a"b\c`}},
		{"header then _idempotency_key field", []string{"Idempotency-Key", "hdr-then-field"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := b.newForm(t, nil)
			first := b.submit(t, f.PublicID, ctForm, "email=k%40example.com", append([]string{"Accept", acceptJSON}, tt.first...)...)
			mustAccepted(t, b, f, first)
			var second reply
			if tt.then == nil {
				second = b.submit(t, f.PublicID, ctForm, "email=k%40example.com&_idempotency_key=hdr-then-field", "Accept", acceptJSON)
			} else {
				second = b.submit(t, f.PublicID, ctForm, "email=k%40example.com", append([]string{"Accept", acceptJSON}, tt.then...)...)
			}
			mustReplay(t, first, second)
			if s := b.stored(t, f); s != (stored{1, 1, 1}) {
				t.Errorf("stored %+v, want one submission, key and job", s)
			}
		})
	}
}

func TestIdempotencyKeyInvalid(t *testing.T) {
	t.Parallel()
	b := setup(t)
	long := strings.Repeat("k", 256)
	tests := []struct {
		name   string
		header http.Header
		body   string
		status int
	}{
		{"header sent twice", hdr("Idempotency-Key", "one", "Idempotency-Key", "two"), `{"email":"a@example.com"}`, 400},
		{"header sent twice, same value", hdr("Idempotency-Key", "same", "Idempotency-Key", "same"), `{"email":"a@example.com"}`, 400},
		{"256 characters", hdr("Idempotency-Key", long), `{"email":"a@example.com"}`, 400},
		{"255 characters", hdr("Idempotency-Key", long[:255]), `{"email":"a@example.com"}`, 201},
		{"non-ASCII", hdr("Idempotency-Key", "clé-1"), `{"email":"a@example.com"}`, 400},
		{"empty", hdr("Idempotency-Key", ""), `{"email":"a@example.com"}`, 400},
		{"empty sf-string", hdr("Idempotency-Key", `""`), `{"email":"a@example.com"}`, 400},
		{"unterminated sf-string", hdr("Idempotency-Key", `"abc`), `{"email":"a@example.com"}`, 400},
		{"_idempotency_key of 256 characters", nil, `{"email":"a@example.com","_idempotency_key":"` + long + `"}`, 400},
		{"_idempotency_key not ASCII", nil, `{"email":"a@example.com","_idempotency_key":"clé-2"}`, 400},
		{"_idempotency_key with a control character", nil, `{"email":"a@example.com","_idempotency_key":"a\u0001b"}`, 400},
		// The keys Intake makes for keyless posts are not a client's to
		// take: one could pre-empt another's keyless post.
		{"Intake's keyless JSON prefix", hdr("Idempotency-Key", "json:"+strings.Repeat("0", 64)), `{"email":"a@example.com"}`, 400},
		{"_idempotency_key with Intake's implicit prefix", nil, `{"email":"a@example.com","_idempotency_key":"auto:1"}`, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := b.newForm(t, nil)
			h := tt.header.Clone()
			if h == nil {
				h = http.Header{}
			}
			h.Set("Content-Type", ctJSON)
			r := b.call(t, http.MethodPost, "/f/"+f.PublicID, []byte(tt.body), h)
			want := stored{}
			if tt.status == 201 {
				mustAccepted(t, b, f, r)
				want = stored{1, 1, 1}
			} else {
				p := mustProblem(t, r, tt.status, "idempotency-key-invalid")
				mustFormspree(t, p, "IDEMPOTENCY_KEY_INVALID")
			}
			if s := b.stored(t, f); s != want {
				t.Errorf("stored %+v, want %+v", s, want)
			}
		})
	}
}

func TestIdempotencyKeyReused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := b.form
	first := b.submit(t, f.PublicID, ctJSON, `{"email":"first@example.com"}`, "Idempotency-Key", "reused")
	mustAccepted(t, b, f, first)

	for _, body := range []string{
		`{"email":"second@example.com"}`,
		`{"email":"first@example.com","message":"and more"}`,
		`{"email":"first@example.com","_subject":"reserved fields count too"}`,
	} {
		r := b.submit(t, f.PublicID, ctJSON, body, "Idempotency-Key", "reused")
		p := mustProblem(t, r, http.StatusUnprocessableEntity, "idempotency-key-reused")
		if e, _ := p["error"].(string); e == "" || len(errorsOf(p)) == 0 {
			t.Errorf("problem lacks Formspree's members: %s", r.Body)
		}
		if got := r.Header.Get("Idempotency-Key"); got != "reused" {
			t.Errorf("Idempotency-Key echoed %q, want reused", got)
		}
		if r.Header.Get("Idempotent-Replayed") != "" {
			t.Errorf("a refusal is marked Idempotent-Replayed")
		}
	}
	if s := b.stored(t, f); s != (stored{1, 1, 1}) {
		t.Errorf("stored %+v, want only the first submission", s)
	}
	// The key stays bound to the first payload.
	mustReplay(t, first, b.submit(t, f.PublicID, ctJSON, `{"email":"first@example.com"}`, "Idempotency-Key", "reused"))
}

func TestIdempotencyKeyInBody(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := b.form
	body := "email=field%40example.com&message=hi&_idempotency_key=from-the-body"
	first, _ := postTwice(t, b, f.PublicID, ctForm, body, "Accept", acceptJSON)
	id := mustAccepted(t, b, f, first)["id"].(string)
	if got := first.Header.Get("Idempotency-Key"); got != "from-the-body" {
		t.Errorf("Idempotency-Key echoed %q, want from-the-body", got)
	}
	if sub := b.submission(t, id); sub["idempotency_key"] != "from-the-body" {
		t.Errorf("submission's idempotency_key = %v", sub["idempotency_key"])
	}
	if n := b.count(t, `SELECT count(*) FROM idempotency_keys WHERE form_id = $1 AND key = 'from-the-body'`, f.ID); n != 1 {
		t.Errorf("%d key rows for from-the-body, want 1", n)
	}
	// The same key in the header, the same fields: the same submission.
	mustReplay(t, first, b.submit(t, f.PublicID, ctForm, "email=field%40example.com&message=hi", "Accept", acceptJSON, "Idempotency-Key", "from-the-body"))
	if s := b.stored(t, f); s != (stored{1, 1, 1}) {
		t.Errorf("stored %+v, want one submission, key and job", s)
	}
}

func TestIdempotencyKeyRequired(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := b.newForm(t, &testfactory.FormOpts{Settings: forms.Settings{RequireIdempotencyKey: true}})

	r := b.submit(t, f.PublicID, ctJSON, `{"email":"nokey@example.com"}`)
	p := mustProblem(t, r, http.StatusBadRequest, "idempotency-key-missing")
	mustFormspree(t, p, "IDEMPOTENCY_KEY_MISSING")

	// A keyless browser post does not get an implicit key on such a form.
	r = b.submit(t, f.PublicID, ctForm, "email=nokey%40example.com", "Accept", "text/html")
	if r.Status != http.StatusBadRequest || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Errorf("keyless browser post = %d %s, want a 400 page", r.Status, r.Header.Get("Content-Type"))
	}
	if s := b.stored(t, f); s != (stored{}) {
		t.Errorf("stored %+v without a key, want nothing", s)
	}

	mustAccepted(t, b, f, b.submit(t, f.PublicID, ctJSON, `{"email":"header@example.com"}`, "Idempotency-Key", "req-1"))
	mustAccepted(t, b, f, b.submit(t, f.PublicID, ctJSON, `{"email":"field@example.com","_idempotency_key":"req-2"}`))
	if s := b.stored(t, f); s != (stored{2, 2, 2}) {
		t.Errorf("stored %+v, want 2 submissions with their keys and jobs", s)
	}
}

func TestIdempotencyInvalidThenCorrected(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := b.form
	r := b.submit(t, f.PublicID, ctJSON, `{"email":"oops","message":"hi"}`, "Idempotency-Key", "fix-me")
	mustProblem(t, r, http.StatusUnprocessableEntity, "validation-error")
	if s := b.stored(t, f); s != (stored{}) {
		t.Fatalf("a validation failure stored %+v", s)
	}
	first := b.submit(t, f.PublicID, ctJSON, `{"email":"fixed@example.com","message":"hi"}`, "Idempotency-Key", "fix-me")
	mustAccepted(t, b, f, first)
	if first.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("the corrected request was answered as a replay")
	}
	mustReplay(t, first, b.submit(t, f.PublicID, ctJSON, `{"email":"fixed@example.com","message":"hi"}`, "Idempotency-Key", "fix-me"))
	if s := b.stored(t, f); s != (stored{1, 1, 1}) {
		t.Errorf("stored %+v, want one submission, key and job", s)
	}
}

func TestIdempotencyAcrossEncodings(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := b.form
	first := b.submit(t, f.PublicID, ctForm, "message=hi+there&email=same%40example.com&age=42", "Accept", acceptJSON, "Idempotency-Key", "enc")
	mustAccepted(t, b, f, first)
	mp, mpType := multipartBody(t, [][2]string{{"age", "42"}, {"email", "same@example.com"}, {"message", "hi there"}}, nil)
	for name, r := range map[string]reply{
		"JSON":      b.submit(t, f.PublicID, ctJSON, `{"email":"same@example.com","age":42,"message":"hi there"}`, "Idempotency-Key", "enc"),
		"multipart": b.submit(t, f.PublicID, mpType, mp, "Accept", acceptJSON, "Idempotency-Key", "enc"),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			mustReplay(t, first, r)
		})
	}
	if s := b.stored(t, f); s != (stored{1, 1, 1}) {
		t.Errorf("stored %+v, want one submission, key and job", s)
	}
}

func TestIdempotencyKeyScopedToForm(t *testing.T) {
	t.Parallel()
	b := setup(t)
	other := b.newForm(t, nil)
	body := `{"email":"scope@example.com"}`
	r1 := b.submit(t, b.form.PublicID, ctJSON, body, "Idempotency-Key", "shared")
	r2 := b.submit(t, other.PublicID, ctJSON, body, "Idempotency-Key", "shared")
	id1 := mustAccepted(t, b, b.form, r1)["id"]
	id2 := mustAccepted(t, b, other, r2)["id"]
	if id1 == id2 || r2.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("the second form's request was answered with the first's (%v, %v)", id1, id2)
	}
	for _, f := range []*forms.Form{b.form, other} {
		if s := b.stored(t, f); s != (stored{1, 1, 1}) {
			t.Errorf("form %s stored %+v, want one submission, key and job", f.PublicID, s)
		}
	}
}

func TestIdempotencyKeyEchoed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := b.form
	// A stored key to replay and to reuse.
	mustAccepted(t, b, f, b.submit(t, f.PublicID, ctJSON, `{"email":"stored@example.com"}`, "Idempotency-Key", "echo-stored"))
	tests := []struct {
		name        string
		path        string
		contentType string
		body        string
		key         string
		accept      string
		status      int
	}{
		{"created", "/f/" + f.PublicID, ctJSON, `{"email":"new@example.com"}`, "echo-new", acceptJSON, 201},
		{"created (browser)", "/f/" + f.PublicID, ctForm, "email=new%40example.com", "echo-new-browser", "text/html", 303},
		{"replayed", "/f/" + f.PublicID, ctJSON, `{"email":"stored@example.com"}`, "echo-stored", acceptJSON, 201},
		{"key reused", "/f/" + f.PublicID, ctJSON, `{"email":"other@example.com"}`, "echo-stored", acceptJSON, 422},
		{"validation failed", "/f/" + f.PublicID, ctJSON, `{"email":"bad"}`, "echo-invalid", acceptJSON, 422},
		{"validation failed (browser)", "/f/" + f.PublicID, ctForm, "email=bad", "echo-invalid-browser", "text/html", 422},
		{"empty", "/f/" + f.PublicID, ctJSON, `{}`, "echo-empty", acceptJSON, 422},
		{"malformed JSON", "/f/" + f.PublicID, ctJSON, `{`, "echo-malformed", acceptJSON, 400},
		{"unsupported media type", "/f/" + f.PublicID, "text/plain", "hi", "echo-415", acceptJSON, 415},
		{"unknown form", "/f/zzzzzzzz", ctJSON, `{"email":"a@example.com"}`, "echo-404", acceptJSON, 404},
		{"unknown form (browser)", "/f/zzzzzzzz", ctForm, "email=a%40example.com", "echo-404-browser", "text/html", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := b.call(t, http.MethodPost, tt.path, []byte(tt.body), hdr("Content-Type", tt.contentType, "Accept", tt.accept, "Idempotency-Key", tt.key))
			if r.Status != tt.status {
				t.Errorf("status = %d, want %d", r.Status, tt.status)
			}
			if got := r.Header.Get("Idempotency-Key"); got != tt.key {
				t.Errorf("Idempotency-Key echoed %q, want %q (every answer echoes the key)", got, tt.key)
			}
		})
	}
}

func TestIdempotencyInFlight(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := b.form
	gate := testfactory.NewGate(t, b.db)
	var calls atomic.Int32
	b.api.Submissions.LockWait = 300 * time.Millisecond
	b.api.Submissions.AfterInsert = func(batch *pgx.Batch) {
		if calls.Add(1) == 1 {
			gate.Queue(batch)
		}
	}
	body := `{"email":"inflight@example.com"}`
	firstc := make(chan reply, 1)
	go func() {
		r, err := b.send(http.MethodPost, "/f/"+f.PublicID, []byte(body), hdr("Content-Type", ctJSON, "Idempotency-Key", "slow"))
		if err != nil {
			t.Error(err)
		}
		firstc <- r
	}()
	gate.WaitEntered(t)

	r := b.submit(t, f.PublicID, ctJSON, body, "Idempotency-Key", "slow")
	p := mustProblem(t, r, http.StatusConflict, "idempotency-key-in-flight")
	if e, _ := p["error"].(string); e == "" || len(errorsOf(p)) == 0 {
		t.Errorf("problem lacks Formspree's members: %s", r.Body)
	}
	if r.Header.Get("Retry-After") == "" {
		t.Errorf("409 without Retry-After")
	}
	if r.Header.Get("Idempotency-Key") != "slow" {
		t.Errorf("Idempotency-Key echoed %q, want slow", r.Header.Get("Idempotency-Key"))
	}

	gate.Open()
	first := <-firstc
	mustAccepted(t, b, f, first)
	mustReplay(t, first, b.submit(t, f.PublicID, ctJSON, body, "Idempotency-Key", "slow"))
	if s := b.stored(t, f); s != (stored{1, 1, 1}) {
		t.Errorf("stored %+v, want one submission, key and job", s)
	}
}

func TestIdempotencyWaitsForInFlight(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := b.form
	gate := testfactory.NewGate(t, b.db)
	var calls atomic.Int32
	b.api.Submissions.AfterInsert = func(batch *pgx.Batch) {
		if calls.Add(1) == 1 {
			gate.Queue(batch)
		}
	}
	body := `{"email":"wait@example.com"}`
	firstc := make(chan reply, 1)
	go func() {
		r, err := b.send(http.MethodPost, "/f/"+f.PublicID, []byte(body), hdr("Content-Type", ctJSON, "Idempotency-Key", "benign-race"))
		if err != nil {
			t.Error(err)
		}
		firstc <- r
	}()
	gate.WaitEntered(t)
	time.AfterFunc(500*time.Millisecond, gate.Open)
	second := b.submit(t, f.PublicID, ctJSON, body, "Idempotency-Key", "benign-race")
	first := <-firstc
	mustAccepted(t, b, f, first)
	mustReplay(t, first, second)
	if s := b.stored(t, f); s != (stored{1, 1, 1}) {
		t.Errorf("stored %+v, want one submission, key and job", s)
	}
}

func TestIdempotencyServerErrorStoresNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := b.form
	var calls atomic.Int32
	b.api.Submissions.AfterInsert = func(batch *pgx.Batch) {
		if calls.Add(1) == 1 {
			testfactory.FailWrite(batch)
		}
	}
	body := `{"email":"fault@example.com"}`
	r := b.submit(t, f.PublicID, ctJSON, body, "Idempotency-Key", "after-a-fault")
	p := mustProblem(t, r, http.StatusInternalServerError, "internal-error")
	if strings.Contains(r.Body, "injected") {
		t.Errorf("a 500 shows the internal error: %s", r.Body)
	}
	if e, _ := p["error"].(string); e == "" {
		t.Errorf(`500 lacks Formspree's "error": %s`, r.Body)
	}
	if s := b.stored(t, f); s != (stored{}) {
		t.Fatalf("a failed transaction left %+v", s)
	}
	retry := b.submit(t, f.PublicID, ctJSON, body, "Idempotency-Key", "after-a-fault")
	mustAccepted(t, b, f, retry)
	if retry.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("the retry after a 500 was answered as a replay")
	}
	if s := b.stored(t, f); s != (stored{1, 1, 1}) {
		t.Errorf("stored %+v, want one submission, key and job", s)
	}
}

func TestKeylessSubmissions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	off := forms.Duration(0)
	tests := []struct {
		name        string
		opts        *testfactory.FormOpts
		contentType string
		header1     []string
		header2     []string
		want        int // submissions stored
	}{
		{"browser double post: one submission", nil, ctForm, []string{"Accept", "text/html"}, []string{"Accept", "text/html"}, 1},
		{"JSON twice: two submissions", nil, ctJSON, nil, nil, 2},
		{"browser, implicit window off: two", &testfactory.FormOpts{Settings: forms.Settings{ImplicitDedupeWindow: &off}}, ctForm, []string{"Accept", "text/html"}, []string{"Accept", "text/html"}, 2},
		{"browser, another User-Agent: two", nil, ctForm, []string{"Accept", "text/html", "User-Agent", "Browser A"}, []string{"Accept", "text/html", "User-Agent", "Browser B"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := b.newForm(t, tt.opts)
			body := "email=keyless%40example.com&message=hi&_next=" + url.QueryEscape("https://site.example/done")
			if tt.contentType == ctJSON {
				body = `{"email":"keyless@example.com","message":"hi"}`
			}
			r1 := b.submit(t, f.PublicID, tt.contentType, body, tt.header1...)
			r2 := b.submit(t, f.PublicID, tt.contentType, body, tt.header2...)
			s := b.stored(t, f)
			if s.Submissions != tt.want || s.Jobs != tt.want {
				t.Errorf("stored %+v, want %d submissions and jobs", s, tt.want)
			}
			if tt.contentType == ctJSON {
				if mustAccepted(t, b, f, r1)["id"] == mustAccepted(t, b, f, r2)["id"] || s.Keys != 0 {
					t.Errorf("keyless JSON requests were deduplicated (keys: %d)", s.Keys)
				}
				return
			}
			for _, r := range []reply{r1, r2} {
				if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "https://site.example/done" {
					t.Errorf("got %d to %q, want 303 to https://site.example/done", r.Status, r.Header.Get("Location"))
				}
			}
			if tt.want == 1 {
				mustReplay(t, r1, r2)
				if r1.Header.Get("Idempotency-Key") != "" {
					t.Errorf("the implicit key is echoed as if the client sent one: %q", r1.Header.Get("Idempotency-Key"))
				}
			} else if r2.Header.Get("Idempotent-Replayed") != "" {
				t.Errorf("the second post was replayed")
			}
		})
	}
}

func TestConcurrentSameKey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := b.form
	const n = 50
	body := []byte(`{"email":"race@example.com","message":"fifty at once"}`)
	start := make(chan struct{})
	replies := make([]reply, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			replies[i], errs[i] = b.send(http.MethodPost, "/f/"+f.PublicID, body, hdr("Content-Type", ctJSON, "Idempotency-Key", "fifty"))
		}()
	}
	close(start)
	wg.Wait()
	created := 0
	for i, r := range replies {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		if r.Status != replies[0].Status || r.Body != replies[0].Body {
			t.Errorf("response %d = %d %s, response 0 = %d %s", i, r.Status, r.Body, replies[0].Status, replies[0].Body)
		}
		if r.Header.Get("Idempotent-Replayed") == "" {
			created++
		}
	}
	mustAccepted(t, b, f, replies[0])
	if created != 1 {
		t.Errorf("%d responses were not replays, want exactly 1", created)
	}
	if s := b.stored(t, f); s != (stored{1, 1, 1}) {
		t.Errorf("stored %+v, want exactly one submission, key and job", s)
	}
	if n := b.count(t, `SELECT count(*) FROM river_job`); n != 1 {
		t.Errorf("%d river jobs, want 1", n)
	}
}

func TestCORS(t *testing.T) {
	t.Parallel()
	b := setup(t)
	restricted := b.newForm(t, &testfactory.FormOpts{Settings: forms.Settings{AllowedOrigins: []string{"https://good.example"}}})

	t.Run("preflight", func(t *testing.T) {
		t.Parallel()
		for _, f := range []*forms.Form{b.form, restricted} {
			r := b.call(t, http.MethodOptions, "/f/"+f.PublicID, nil, hdr(
				"Origin", "https://evil.example",
				"Access-Control-Request-Method", "POST",
				"Access-Control-Request-Headers", "content-type, idempotency-key, formspree-client, formspree-session-data"))
			if r.Status != http.StatusNoContent {
				t.Fatalf("preflight = %d, want 204", r.Status)
			}
			if got := r.Header.Get("Access-Control-Allow-Origin"); got != "https://evil.example" && got != "*" {
				t.Errorf("Access-Control-Allow-Origin = %q", got)
			}
			if !headerListHas(r.Header.Get("Access-Control-Allow-Methods"), "POST") {
				t.Errorf("Access-Control-Allow-Methods = %q, want POST", r.Header.Get("Access-Control-Allow-Methods"))
			}
			for _, h := range []string{"Content-Type", "Accept", "Idempotency-Key", "Formspree-Client", "Formspree-Session-Data"} {
				if !headerListHas(r.Header.Get("Access-Control-Allow-Headers"), h) {
					t.Errorf("Access-Control-Allow-Headers = %q lacks %s", r.Header.Get("Access-Control-Allow-Headers"), h)
				}
			}
		}
	})

	t.Run("POST with Origin", func(t *testing.T) {
		t.Parallel()
		f := b.newForm(t, nil)
		body := `{"email":"cors@example.com"}`
		h := []string{"Origin", "https://site.example", "Idempotency-Key", "cors-1"}
		first := b.submit(t, f.PublicID, ctJSON, body, h...)
		second := b.submit(t, f.PublicID, ctJSON, body, h...)
		mustAccepted(t, b, f, first)
		mustReplay(t, first, second)
		for _, r := range []reply{first, second} {
			if got := r.Header.Get("Access-Control-Allow-Origin"); got != "https://site.example" && got != "*" {
				t.Errorf("Access-Control-Allow-Origin = %q", got)
			}
			for _, e := range []string{"Idempotent-Replayed", "Idempotency-Key"} {
				if !headerListHas(r.Header.Get("Access-Control-Expose-Headers"), e) {
					t.Errorf("Access-Control-Expose-Headers = %q lacks %s", r.Header.Get("Access-Control-Expose-Headers"), e)
				}
			}
		}
	})

	tests := []struct {
		origin string
		spam   bool
	}{
		{"https://evil.example", true},
		{"https://good.example", false},
		{"", false}, // a server or curl sends no Origin
	}
	for _, tt := range tests {
		t.Run("allowed_origins, Origin "+tt.origin, func(t *testing.T) {
			t.Parallel()
			email := "origin" + strings.TrimPrefix(tt.origin, "https://") + "@example.com"
			var kv []string
			if tt.origin != "" {
				kv = []string{"Origin", tt.origin}
			}
			r := b.submit(t, restricted.PublicID, ctJSON, `{"email":"`+email+`"}`, kv...)
			sub := b.submission(t, mustAccepted(t, b, restricted, r)["id"].(string))
			if sub["spam"] != tt.spam {
				t.Errorf("spam = %v, want %v", sub["spam"], tt.spam)
			}
			jobs := b.count(t, `SELECT count(*) FROM river_job WHERE args->>'submission_id' = (SELECT id::text FROM submissions WHERE data->>'email' = $1)`, email)
			if want := map[bool]int{true: 0, false: 1}[tt.spam]; jobs != want {
				t.Errorf("%d jobs for it, want %d", jobs, want)
			}
		})
	}
}

func headerListHas(list, name string) bool {
	return slices.ContainsFunc(strings.Split(list, ","), func(s string) bool { return strings.EqualFold(strings.TrimSpace(s), name) })
}

func TestShowForm(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := b.form
	t.Run("JSON Schema", func(t *testing.T) {
		t.Parallel()
		r := b.call(t, http.MethodGet, "/f/"+f.PublicID, nil, hdr("Accept", acceptJSON))
		if r.Status != http.StatusOK || !strings.Contains(r.Header.Get("Content-Type"), "json") {
			t.Fatalf("got %d %s, want 200 JSON", r.Status, r.Header.Get("Content-Type"))
		}
		s := decodeObject(t, r.Body)
		props, _ := s["properties"].(map[string]any)
		email, _ := props["email"].(map[string]any)
		message, _ := props["message"].(map[string]any)
		if s["type"] != "object" || email["type"] != "string" || email["format"] != "email" {
			t.Errorf("schema type %v, email %v; want object with email a string of format email", s["type"], email)
		}
		if fmt.Sprint(s["required"]) != "[email]" {
			t.Errorf("required = %v, want [email]", s["required"])
		}
		if message["maxLength"] != float64(500) {
			t.Errorf("message = %v, want maxLength 500", message)
		}
	})
	t.Run("hosted page", func(t *testing.T) {
		t.Parallel()
		r := b.call(t, http.MethodGet, "/f/"+f.PublicID, nil, hdr("Accept", "text/html,application/xhtml+xml,*/*;q=0.8"))
		if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("got %d %s, want 200 HTML", r.Status, r.Header.Get("Content-Type"))
		}
		i := strings.Index(r.Body, "<form")
		if i < 0 {
			t.Fatalf("no <form in %.500s", r.Body)
		}
		tag := r.Body[i : i+strings.Index(r.Body[i:], ">")+1]
		if !strings.Contains(tag, `/f/`+f.PublicID+`"`) || !strings.Contains(tag, "action=") || !strings.Contains(tag, "data-intake") {
			t.Errorf("form tag %s: want action ending /f/%s and data-intake", tag, f.PublicID)
		}
		for _, name := range []string{`name="email"`, `name="message"`, `name="_gotcha"`} {
			if !strings.Contains(r.Body, name) {
				t.Errorf("page lacks %s", name)
			}
		}
	})
	t.Run("unknown form", func(t *testing.T) {
		t.Parallel()
		p := mustProblem(t, b.call(t, http.MethodGet, "/f/zzzzzzzz", nil, hdr("Accept", acceptJSON)), 404, "not-found")
		mustFormspree(t, p, "FORM_NOT_FOUND")
		r := b.call(t, http.MethodGet, "/f/zzzzzzzz", nil, hdr("Accept", "text/html"))
		if r.Status != 404 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
			t.Errorf("browser GET of an unknown form = %d %s, want a 404 page", r.Status, r.Header.Get("Content-Type"))
		}
	})
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	b := setup(t)
	body := `{"email":"metrics@example.com"}`
	mustReplay(t, b.submit(t, b.form.PublicID, ctJSON, body, "Idempotency-Key", "m"), b.submit(t, b.form.PublicID, ctJSON, body, "Idempotency-Key", "m"))
	r := b.call(t, http.MethodGet, "/metrics", nil, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /metrics = %d", r.Status)
	}
	for _, want := range []string{
		`intake_submissions_total{outcome="created"} 1`,
		`intake_submissions_total{outcome="replayed"} 1`,
	} {
		if !slices.Contains(strings.Split(r.Body, "\n"), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// A client's mistake is counted as one, whichever layer finds it: a body
// over the edge's bound (http.MaxBytesReader) is "invalid", like one over
// the parser's, never "error" — which alerts watch.
func TestMetricsCountClientMistakesAsInvalid(t *testing.T) {
	t.Parallel()
	b := setup(t)
	big := `{"message":"` + strings.Repeat("x", 1<<20) + `"}`
	mustProblem(t, b.submit(t, b.form.PublicID, ctJSON, big), http.StatusRequestEntityTooLarge, "payload-too-large")
	form := "message=" + strings.Repeat("x", 1<<20)
	if r := b.submit(t, b.form.PublicID, ctForm, form, "Accept", "text/html"); r.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("an urlencoded body over the limit = %d, want 413", r.Status)
	}
	mustProblem(t, b.submit(t, b.form.PublicID, ctJSON, `{"email":`), http.StatusBadRequest, "malformed-request")
	r := b.call(t, http.MethodGet, "/metrics", nil, nil)
	lines := strings.Split(r.Body, "\n")
	if want := `intake_submissions_total{outcome="invalid"} 3`; !slices.Contains(lines, want) {
		t.Errorf("/metrics lacks %q", want)
	}
	for _, l := range lines {
		if strings.HasPrefix(l, `intake_submissions_total{outcome="error"}`) {
			t.Errorf("/metrics counts a client's mistake as ours: %s", l)
		}
	}
}

// The thank-you page links back to the site the visitor came from: the
// page itself when the Referer names it, the site's home when the browser
// sent only its origin (as it does after a post from another site), and
// nowhere for Intake's own origin or a non-web scheme.
func TestThanksLinksBackToTheSite(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for referer, want := range map[string]string{
		"https://site.example/contact?x=1": `href="https://site.example/contact?x=1"`,
		"https://site.example":             `href="https://site.example/"`,
		"https://site.example/":            `href="https://site.example/"`,
		b.server.URL:                       "",
		"javascript:alert(1)":              "",
		"":                                 "",
	} {
		r := b.call(t, "GET", "/f/"+b.form.PublicID+"/thanks", nil, hdr("Referer", referer, "Accept", "text/html"))
		has := strings.Contains(r.Body, "Back to the site")
		if r.Status != http.StatusOK || want != "" && (!has || !strings.Contains(r.Body, want)) || want == "" && has {
			t.Errorf("Referer %q: %d, link %v; want %q", referer, r.Status, has, want)
		}
	}
}
