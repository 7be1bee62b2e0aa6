package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// editorProblem is one error the editor must show: beside the input with
// the id target, and in the summary linking to it, in exactly these words.
type editorProblem struct {
	target, message string
}

// The editor's errors in plain words: a field named by its number and
// label, a setting by its label (never its JSON name), a line of a list
// setting by the setting and the line, a rule Intake does not know said
// so without a URL. An error inside "Advanced" opens it; one outside
// leaves it closed.
func TestEditorMessages(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	br := b.loggedIn(t)
	valid := url.Values{
		"name": {"Contact us"}, "field_count": {"2"},
		"f0.name": {"name"}, "f0.type": {"text"}, "f0.label": {"Your name"},
		"f1.name": {"email"}, "f1.type": {"email"}, "f1.label": {"Your email"}, "f1.required": {"1"},
		"notify_emails": {""}, "redirect_url": {""},
		"idempotency_retention": {"24h"}, "implicit_dedupe_window": {"10m"}, "keyless_json_window": {"0"}, "unknown_fields": {"accept"},
		"honeypot_field": {"_gotcha"}, "min_fill_seconds": {"0"}, "captcha.on_outage": {"fail_closed"}, "unique.on_duplicate": {"accept"},
	}
	if a := br.post(t, "/forms/new", valid); a.Status != http.StatusSeeOther {
		t.Fatalf("the valid form = %d: %s", a.Status, a.Body)
	}
	const (
		rulesLookLike = " Rules look like max=500, min=2, oneof=a b."
		nameIs        = "a field name is letters, digits and _ . - [ ], starting with a letter or digit, since it is the input's name in your HTML and a key in the submission's JSON"
	)
	for _, tc := range []struct {
		name     string
		set      map[string]string
		advanced bool // the error is inside "Advanced"
		want     []editorProblem
	}{
		{"an unknown rule", map[string]string{"f1.rules": "banana"}, false,
			[]editorProblem{{"f1-rules", "Field 2 (Your email): “banana” is not a rule Intake knows." + rulesLookLike}}},
		{"an unknown rule among others", map[string]string{"f1.rules": "required,max=200,banana=1"}, false,
			[]editorProblem{{"f1-rules", "Field 2 (Your email): “banana” is not a rule Intake knows." + rulesLookLike}}},
		{"a rule without its number", map[string]string{"f1.rules": "max=lots"}, false,
			[]editorProblem{{"f1-rules", "Field 2 (Your email): “max=lots” needs a number after the =, such as max=500, not “lots”."}}},
		{"a space after a comma", map[string]string{"f1.rules": "max=200, min=5"}, false,
			[]editorProblem{{"f1-rules", "Field 2 (Your email): “max=200, min=5” has a space next to a comma: write the rules without spaces around the commas, such as max=500,min=2."}}},
		{"two commas", map[string]string{"f0.rules": "min=2,,max=50"}, false,
			[]editorProblem{{"f0-rules", "Field 1 (Your name): “min=2,,max=50” has an empty rule (two commas in a row, or one at an end)." + rulesLookLike}}},
		{"a rule comparing fields", map[string]string{"f1.rules": "eqfield=name"}, false,
			[]editorProblem{{"f1-rules", "Field 2 (Your email): rules that compare with other fields (eqfield, required_if, …) are not supported; use one field's own rules."}}},
		{"a field named with a space", map[string]string{"f0.name": "full name"}, false,
			[]editorProblem{{"f0-name", "Field 1 (Your name): “full name” has a space: write it full_name (" + nameIs + ")."}}},
		{"a field named with other characters", map[string]string{"f0.name": "name?"}, false,
			[]editorProblem{{"f0-name", "Field 1 (Your name): “name?” has characters a name cannot have: write it name (" + nameIs + ")."}}},
		{"a field without a label, named by its name", map[string]string{"f1.label": "", "f1.rules": "banana"}, false,
			[]editorProblem{{"f1-rules", "Field 2 (email): “banana” is not a rule Intake knows." + rulesLookLike}}},
		{"a field without a name", map[string]string{"f1.name": ""}, false,
			[]editorProblem{{"f1-name", "Field 2 (Your email): the name is missing: " + nameIs + ", such as email or full_name."}}},
		{"two fields of one name", map[string]string{"f1.name": "name"}, false,
			[]editorProblem{{"f1-name", "Field 2 (Your email): “name” is the name of another field too; each field needs its own."}}},
		{"a select without options", map[string]string{"f0.type": "select"}, false,
			[]editorProblem{{"f0-options", "Field 1 (Your name) is a select and needs its options, the values a person can choose."}}},
		{"no form name", map[string]string{"name": ""}, false,
			[]editorProblem{{"name", "Form name is required."}}},
		{"a redirect without a scheme", map[string]string{"redirect_url": "example.com/thanks"}, false,
			[]editorProblem{{"s-redirect_url", "Redirect address must be an absolute http or https URL, such as https://example.com/thanks."}}},
		{"a notification address", map[string]string{"notify_emails": "ops@example.com\nnot an address"}, false,
			[]editorProblem{{"s-notify_emails", "Notification emails, line 2 must be one plain email address such as ops@example.com."}}},
		{"a notification address twice", map[string]string{"notify_emails": "ops@example.com\nOps@example.com"}, false,
			[]editorProblem{{"s-notify_emails", "Notification emails, line 2 (Ops@example.com) is listed twice."}}},
		{"an autoresponse without words", map[string]string{"autoresponse.enabled": "1"}, true, []editorProblem{
			{"s-autoresponse-subject", "Autoresponse subject is required when the autoresponse is on: the subject of the email sent back to the person."},
			{"s-autoresponse-body", "Autoresponse message is required when the autoresponse is on: the text of the email sent back to the person."}}},
		{"a redirect host with a scheme", map[string]string{"allowed_redirect_hosts": "https://example.com"}, true,
			[]editorProblem{{"s-allowed_redirect_hosts", "Other sites people may be sent to, line 1 must be a bare host name such as example.com."}}},
		{"repeated sends too long", map[string]string{"implicit_dedupe_window": "25h"}, true,
			[]editorProblem{{"s-implicit_dedupe_window", "Repeated sends must be from 0 (off) to 24h."}}},
		{"repeated sends unreadable", map[string]string{"implicit_dedupe_window": "soon"}, true,
			[]editorProblem{{"s-implicit_dedupe_window", "Repeated sends: write a duration such as 10m or 1h, or 0 to keep each."}}},
		{"repeated JSON too long", map[string]string{"keyless_json_window": "2d"}, true,
			[]editorProblem{{"s-keyless_json_window", "Repeated JSON from programs must be from 0 (off) to 24h."}}},
		{"a retry window too short", map[string]string{"idempotency_retention": "30m"}, true,
			[]editorProblem{{"s-idempotency_retention", "Retry window must be between 1h and 7d (168h)."}}},
		{"a trap field with a space", map[string]string{"honeypot_field": "my trap"}, true,
			[]editorProblem{{"s-honeypot_field", "Hidden trap field must be a field name without spaces."}}},
		{"a minimum fill time too long", map[string]string{"min_fill_seconds": "4000"}, true,
			[]editorProblem{{"s-min_fill_seconds", "Minimum time to fill in must be between 0 (off) and 3600."}}},
		{"an origin with a path", map[string]string{"allowed_origins": "https://example.com/contact"}, true,
			[]editorProblem{{"s-allowed_origins", "Websites allowed to post, line 1 must be an origin such as https://example.com."}}},
		{"a blocked email", map[string]string{"blocked_emails": "@spam.example\nnope"}, true,
			[]editorProblem{{"s-blocked_emails", "Blocked emails, line 2 must be an address (spam@example.com) or a domain (@example.com)."}}},
		{"a CAPTCHA without its secret", map[string]string{"captcha.provider": "turnstile"}, true,
			[]editorProblem{{"s-captcha", "CAPTCHA secret key is required with a provider: the secret key from the provider's dashboard, used to verify tokens."}}},
		{"a field that must not repeat but is not there", map[string]string{"unique.fields": "phone"}, true,
			[]editorProblem{{"s-unique", `Fields that must not repeat: "phone" is not one of the form's fields.`}}},
		{"days to keep", map[string]string{"submission_retention": "forever"}, true,
			[]editorProblem{{"s-submission_retention", "Days to keep submissions: write a whole number from 1 to 3650, or leave it empty to keep them until you delete them."}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := cloneValues(valid)
			for k, val := range tc.set {
				v.Set(k, val)
			}
			a := br.post(t, "/forms/new", v)
			wantStatus(t, tc.name, a, http.StatusUnprocessableEntity)
			body := html.UnescapeString(a.Body)
			summary := body[strings.Index(body, `id="error-summary"`):strings.Index(body, `<form class="editor"`)]
			var shown []string
			for _, m := range regexp.MustCompile(`<li>(?:<a href="#[^"]*">)?(.*?)(?:</a>)?</li>`).FindAllStringSubmatch(summary, -1) {
				shown = append(shown, m[1])
			}
			if len(shown) != len(tc.want) {
				t.Errorf("the summary lists %q, want %d problems", shown, len(tc.want))
			}
			for _, w := range tc.want {
				wantContains(t, tc.name, summary, `<a href="#`+w.target+`">`+w.message+`</a>`)
				wantContains(t, tc.name, body, `<p class="field-error" id="`+w.target+`-error">`+w.message+`</p>`)
			}
			// None of the API's machinery in the words shown.
			for _, word := range []string{"fields[", "redirect_url", "notify_emails", "_window", "idempotency", "Undefined validation", "on field ''", "pkg.go.dev", "Line "} {
				if strings.Contains(strings.Join(shown, "\n"), word) {
					t.Errorf("the summary says %q: %q", word, shown)
				}
			}
			if open := strings.Contains(body, `<details class="advanced" id="advanced" open>`); open != tc.advanced {
				t.Errorf("Advanced is open: %v, want %v", open, tc.advanced)
			}
		})
	}
	t.Cleanup(func() { // after the subtests
		if n := b.count(t, `SELECT count(*) FROM forms WHERE name = 'Contact us'`); n != 1 {
			t.Errorf("%d forms named Contact us, want only the valid one", n)
		}
	})
}

// A form saved when field names could have spaces keeps its names through
// the editor (the owner's HTML sends them); a new one with a space is
// refused with the name to write instead.
func TestEditorKeepsOldFieldNames(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	br := b.loggedIn(t)
	if _, err := b.db.Exec(context.Background(), `UPDATE form_contracts SET fields = '[{"name":"full name","type":"text","required":false,"label":"Name"}]'
WHERE form_id = $1`, b.form.ID); err != nil {
		t.Fatal(err)
	}
	edit := "/forms/" + b.form.PublicID + "/edit"
	wantContains(t, "the editor", br.get(t, edit).Body, `name="f0.name" value="full name"`)
	v := url.Values{
		"name": {"Renamed"}, "field_count": {"1"}, "f0.name": {"full name"}, "f0.type": {"text"}, "f0.label": {"Name"},
		"idempotency_retention": {"24h"}, "implicit_dedupe_window": {"10m"}, "unknown_fields": {"accept"},
		"honeypot_field": {"_gotcha"}, "min_fill_seconds": {"0"}, "captcha.on_outage": {"fail_closed"}, "unique.on_duplicate": {"accept"},
	}
	wantStatus(t, "saved with its old name", br.post(t, edit, v), http.StatusSeeOther)
	v.Set("field_count", "2")
	v.Set("f1.name", "last name")
	v.Set("f1.type", "text")
	a := br.post(t, edit, v)
	wantStatus(t, "a new name with a space", a, http.StatusUnprocessableEntity)
	wantContains(t, "a new name with a space", html.UnescapeString(a.Body), `<a href="#f1-name">Field 2 (last name): “last name” has a space: write it last_name (`)
}
