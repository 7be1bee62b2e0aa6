package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/internal/testfactory"
)

// A form that takes one answer per email, made through the API, answers a
// repeat as its setting says: 409 duplicate-submission with Formspree's
// members in JSON, a 409 page in a browser; or, when it accepts repeats,
// 200 with duplicate_of (JSON) or a 303 to a thank-you page that says so.
// Every exchange is checked against the OpenAPI description.
func TestUniqueAnswers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	key := b.account.APIKey
	r := b.call(t, http.MethodPost, "/api/v1/forms", []byte(`{"name":"RSVP","fields":[{"name":"email","type":"email","label":"Your email","required":true},{"name":"guests","type":"number"}],
		"settings":{"unique":{"fields":["email"],"on_duplicate":"reject"}}}`), hdr("Authorization", "Bearer "+key, "Content-Type", ctJSON))
	if r.Status != http.StatusCreated {
		t.Fatalf("create = %s", r)
	}
	form := decodeObject(t, r.Body)
	id := form["id"].(string)
	if u := form["settings"].(map[string]any)["unique"].(map[string]any); u["on_duplicate"] != "reject" || u["window"] != "" {
		t.Errorf("settings.unique = %v", u)
	}

	if r := b.submit(t, id, ctJSON, `{"email":"ada@example.com","guests":2}`, "Idempotency-Key", "a"); r.Status != http.StatusCreated {
		t.Fatalf("first = %s", r)
	}
	r = b.submit(t, id, ctJSON, `{"email":"ADA@example.com","guests":3}`, "Idempotency-Key", "b")
	if r.Status != http.StatusConflict || !strings.Contains(r.Body, `"type":"https://intake.dev/problems/duplicate-submission"`) ||
		!strings.Contains(r.Body, `"code":"DUPLICATE"`) || !strings.Contains(r.Body, `An entry with this “Your email” already exists; we kept the first one.`) ||
		r.Header.Get("Idempotency-Key") != "b" {
		t.Errorf("JSON repeat = %s %v", r, r.Header)
	}
	if strings.Contains(r.Body, "sub_") {
		t.Errorf("a refused repeat names the first submission: %s", r.Body)
	}
	r = b.submit(t, id, ctForm, `email=ada%40example.com&guests=4`, "Accept", "text/html")
	if r.Status != http.StatusConflict || !strings.Contains(r.Body, "kept the first one") {
		t.Errorf("browser repeat = %s", r)
	}
	if n := b.count(t, `SELECT count(*) FROM submissions s JOIN forms f ON f.id = s.form_id WHERE f.public_id = $1`, id); n != 1 {
		t.Errorf("%d stored, want 1", n)
	}

	// A form that accepts repeats.
	f := b.newForm(t, &testfactory.FormOpts{Settings: forms.Settings{Unique: forms.Unique{Fields: []string{"email"}}}})
	first := mustAccepted(t, b, f, b.submit(t, f.PublicID, ctJSON, `{"email":"grace@example.com"}`, "Origin", "https://site.example"))
	r = b.submit(t, f.PublicID, ctJSON, `{"email":"grace@example.com","message":"again"}`, "Origin", "https://site.example")
	body := decodeObject(t, r.Body)
	if r.Status != http.StatusOK || body["ok"] != true || body["duplicate_of"] != first["id"] || r.Header.Get("Duplicate-Of") != first["id"] ||
		!headerListHas(r.Header.Get("Access-Control-Expose-Headers"), "Duplicate-Of") {
		t.Errorf("JSON repeat on an accepting form = %s %v", r, r.Header)
	}
	r = b.submit(t, f.PublicID, ctForm, `email=grace%40example.com`, "Accept", "text/html")
	thanks := "/f/" + f.PublicID + "/thanks?duplicate=1"
	if r.Status != http.StatusSeeOther || !strings.HasSuffix(r.Header.Get("Location"), thanks) {
		t.Fatalf("browser repeat on an accepting form = %s %v", r, r.Header)
	}
	page := b.call(t, http.MethodGet, thanks, nil, nil)
	if page.Status != http.StatusOK || !strings.Contains(page.Body, "We already had this entry") || !strings.Contains(page.Body, "nothing was sent twice") {
		t.Errorf("thank-you page after a repeat = %s", page)
	}
	if n := b.count(t, `SELECT count(*) FROM submissions WHERE form_id = $1`, f.ID); n != 1 {
		t.Errorf("%d stored on the accepting form, want 1", n)
	}

	// A retry with the first's key is a replay (how: key), the repeats were
	// counted as unique; the metrics say so.
	b.submit(t, id, ctJSON, `{"email":"ada@example.com","guests":2}`, "Idempotency-Key", "a")
	if got := counterValue(t, b, "intake_duplicates_absorbed_total", "how", "unique"); got != 4 {
		t.Errorf("intake_duplicates_absorbed_total{how=unique} = %v, want 4", got)
	}
	if got := counterValue(t, b, "intake_duplicates_absorbed_total", "how", "key"); got != 1 {
		t.Errorf("intake_duplicates_absorbed_total{how=key} = %v, want 1", got)
	}
	if got := counterValue(t, b, "intake_idempotency_replay_age_seconds", "", ""); got != 1 {
		t.Errorf("intake_idempotency_replay_age_seconds observed %v replays, want 1", got)
	}

	// A setting that names no field of the form is refused where it is wrong.
	r = b.call(t, http.MethodPatch, "/api/v1/forms/"+id, []byte(`{"settings":{"unique":{"fields":["phone"],"on_duplicate":"accept"}}}`),
		hdr("Authorization", "Bearer "+key, "Content-Type", ctJSON))
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `#/settings/unique/fields/0`) {
		t.Errorf("a unique field that is not a field = %s", r)
	}
}

// counterValue reads a metric of b's server: a counter's value with the
// label name=value, or a histogram's sample count (name "").
func counterValue(t *testing.T, b *testBundle, metric, name, value string) float64 {
	t.Helper()
	families, err := b.api.Metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		if mf.GetName() != metric {
			continue
		}
		for _, m := range mf.GetMetric() {
			if h := m.GetHistogram(); h != nil {
				return float64(h.GetSampleCount())
			}
			for _, l := range m.GetLabel() {
				if l.GetName() == name && l.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
