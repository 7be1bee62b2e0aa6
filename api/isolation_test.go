package api_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/submissions"
	"github.com/intakehq/intake/webhooks"
)

// Every /api/v1 route, called with a second account's key on the first
// account's objects, answers 404 — or, for the account's own collections,
// never shows the first account's data. A route added without a row here
// fails the test.
var instance = regexp.MustCompile(`"instance":"[^"]*"`)

func TestTenantIsolationEveryRoute(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner := b.account
	intruder := testfactory.NewAccount(ctx, t, b.db)

	// The first account's objects: a form, a submission, a webhook, a
	// delivery, an API key.
	sub := b.post(t, b.form.PublicID, `{"email":"secret@example.com","message":"confidential words"}`, "k")
	url := "https://hooks.example/x"
	ep, _, err := webhooks.Create(ctx, b.db, b.api.Sealer, webhooks.URLPolicy{}, audit.System, b.form, webhooks.Input{URL: &url})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.Exec(ctx, `INSERT INTO deliveries (public_id, endpoint_id, submission_id, message_id)
		SELECT 'dlv_victim', $1, id, 'msg_victim' FROM submissions`, ep.ID); err != nil {
		t.Fatal(err)
	}
	key := decodeObject(t, b.apiCall(t, "POST", "/api/v1/apikeys", `{"name":"victim"}`).Body)["id"].(string)

	ids := strings.NewReplacer("{formID}", b.form.PublicID, "{submissionID}", sub, "{webhookID}", ep.PublicID,
		"{deliveryID}", "dlv_victim", "{fileID}", b.attachFile(t, sub), "{keyID}", key, "/api/v1/people", "/api/v1/people?email=secret@example.com")
	// The table: every route, with the body it is sent (the intruder's
	// attempt); "" sends none, and POST or PATCH without one sends {}. A
	// route missing here fails the test, so a new route needs a row.
	routes := map[string]string{
		"GET /api/v1/apikeys":                                   "",
		"POST /api/v1/apikeys":                                  `{"name":"mine"}`,
		"DELETE /api/v1/apikeys/{keyID}":                        "",
		"GET /api/v1/deliveries/{deliveryID}":                   "",
		"POST /api/v1/deliveries/{deliveryID}/redeliver":        "",
		"POST /api/v1/forms":                                    `{"name":"Mine"}`,
		"GET /api/v1/forms":                                     "",
		"POST /api/v1/webhooks/{webhookID}/test":                "",
		"GET /api/v1/forms/{formID}/sample":                     "",
		"GET /api/v1/submissions/{submissionID}/files/{fileID}": "",
		"GET /api/v1/forms/{formID}":                            "",
		"PATCH /api/v1/forms/{formID}":                          `{"name":"pwned"}`,
		"DELETE /api/v1/forms/{formID}":                         "",
		"GET /api/v1/forms/{formID}/stats":                      "",
		"GET /api/v1/forms/{formID}/submissions":                "",
		"GET /api/v1/forms/{formID}/submissions.csv":            "",
		"GET /api/v1/forms/{formID}/submissions.ndjson":         "",
		"POST /api/v1/forms/{formID}/webhooks":                  `{"url":"https://intruder.example/"}`,
		"GET /api/v1/forms/{formID}/webhooks":                   "",
		"PATCH /api/v1/submissions/{submissionID}":              `{"spam":true}`,
		"DELETE /api/v1/submissions/{submissionID}":             "",
		// Into a well-formed id: the victim's submission must be what is
		// not found.
		"POST /api/v1/submissions/{submissionID}/merge":   `{"into":"` + submissions.FormatID(uuid.New()) + `"}`,
		"DELETE /api/v1/submissions/{submissionID}/merge": "",
		"GET /api/v1/submissions/{submissionID}":          "",
		"DELETE /api/v1/webhooks/{webhookID}":             "",
		"GET /api/v1/webhooks/{webhookID}":                "",
		"PATCH /api/v1/webhooks/{webhookID}":              `{"url":"https://intruder.example/"}`,
		"GET /api/v1/webhooks/{webhookID}/deliveries":     "",
		"POST /api/v1/webhooks/{webhookID}/rotate":        "",
		"GET /api/v1/audit":                               "",
		"GET /api/v1/people":                              "",
		"POST /api/v1/erasures":                           `{"email":"secret@example.com"}`,
	}
	// Collections of the caller's own account: 200, without the owner's data.
	own := map[string]bool{"GET /api/v1/forms": true, "POST /api/v1/forms": true, "GET /api/v1/apikeys": true, "POST /api/v1/apikeys": true, "GET /api/v1/audit": true,
		"GET /api/v1/people": true, "POST /api/v1/erasures": true}
	leaks := []string{b.form.PublicID, sub, ep.PublicID, "dlv_victim", key, "secret@example.com", "whsec_"}

	seen := map[string]bool{}
	err = chi.Walk(b.api.Handler().(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if !strings.HasPrefix(route, "/api/v1/") {
			return nil
		}
		name := method + " " + route
		body, ok := routes[name]
		if !ok {
			t.Errorf("%s has no row in this test's table: add one (the body the intruder sends)", name)
		}
		seen[name] = true
		if body == "" && (method == "POST" || method == "PATCH") {
			body = `{}`
		}
		r := b.call(t, method, ids.Replace(route), []byte(body), hdr("Authorization", bearer(intruder.APIKey), "Content-Type", "application/json"))
		switch {
		case own[name]:
			if r.Status >= 300 {
				t.Errorf("%s on its own account = %s", name, r)
			}
		case r.Status != http.StatusNotFound:
			t.Errorf("%s with another account's ids = %d, want 404: %s", name, r.Status, r.Body)
		}
		// The problem's instance repeats the path the caller sent: not a leak.
		body = instance.ReplaceAllString(r.Body, "")
		for _, l := range leaks {
			if strings.Contains(body, l) {
				t.Errorf("%s leaked %q: %s", name, l, r.Body)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name := range routes {
		if !seen[name] {
			t.Errorf("the table has %s, which is no route: remove it", name)
		}
	}
	// Nothing of the owner's changed.
	if s := b.submission(t, sub); s["spam"] != false {
		t.Errorf("the intruder changed the submission: %v", s)
	}
	if f := decodeObject(t, b.apiCall(t, "GET", "/api/v1/forms/"+b.form.PublicID, "").Body); f["name"] != "Contact" || f["archived"] != false {
		t.Errorf("the intruder changed the form: %v", f)
	}
	if r := b.call(t, "GET", "/api/v1/forms", nil, hdr("Authorization", bearer(owner.APIKey))); r.Status != 200 {
		t.Errorf("the owner's key stopped working: %s", r)
	}
}
