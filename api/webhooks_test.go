package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/intakehq/intake/internal/testfactory"
)

// The webhook routes by status, for the owner and for another account
// (which must see 404, never the endpoint).
func TestWebhookRoutes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	other := testfactory.NewAccount(context.Background(), t, b.db)
	auth := func(key string) http.Header {
		return hdr("Authorization", "Bearer "+key, "Content-Type", "application/json")
	}
	own := auth(b.account.APIKey)

	r := b.call(t, "POST", "/api/v1/forms/"+b.form.PublicID+"/webhooks", []byte(`{"url":"https://hooks.example/intake"}`), own)
	if r.Status != http.StatusCreated {
		t.Fatalf("create webhook = %s", r)
	}
	wh := decodeObject(t, r.Body)
	id, _ := wh["id"].(string)
	if secret, _ := wh["secret"].(string); !strings.HasPrefix(secret, "whsec_") || wh["enabled"] != true || wh["url"] != "https://hooks.example/intake" {
		t.Fatalf("created webhook = %v", wh)
	}
	// A delivery to list: a submission, and its job worked directly.
	sub := b.submit(t, b.form.PublicID, ctJSON, `{"email":"ada@example.com"}`)
	if sub.Status != http.StatusCreated {
		t.Fatalf("submit = %s", sub)
	}
	if _, err := b.db.Exec(context.Background(), `INSERT INTO deliveries (public_id, endpoint_id, submission_id, message_id)
SELECT 'dlv_test', e.id, s.id, 'msg_test' FROM webhook_endpoints e, submissions s`); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, method, path, body string
		header                   http.Header
		status                   int
		typ                      string
		check                    func(t *testing.T, body string)
	}{
		{"create: not http", "POST", "/api/v1/forms/" + b.form.PublicID + "/webhooks", `{"url":"ftp://hooks.example/"}`, own, 422, "validation-error", nil},
		{"create: no url", "POST", "/api/v1/forms/" + b.form.PublicID + "/webhooks", `{}`, own, 422, "validation-error", nil},
		{"create: unknown member", "POST", "/api/v1/forms/" + b.form.PublicID + "/webhooks", `{"url":"https://a.example","colour":1}`, own, 400, "malformed-request", nil},
		{"create: other account's form", "POST", "/api/v1/forms/" + b.form.PublicID + "/webhooks", `{"url":"https://a.example"}`, auth(other.APIKey), 404, "not-found", nil},
		{"create: no key", "POST", "/api/v1/forms/" + b.form.PublicID + "/webhooks", `{"url":"https://a.example"}`, hdr(), 401, "unauthorized", nil},
		{"list", "GET", "/api/v1/forms/" + b.form.PublicID + "/webhooks", "", own, 200, "", func(t *testing.T, body string) {
			if !strings.Contains(body, id) || strings.Contains(body, "whsec_") {
				t.Errorf("list must show the webhook and never its secret: %s", body)
			}
		}},
		{"list: other account", "GET", "/api/v1/forms/" + b.form.PublicID + "/webhooks", "", auth(other.APIKey), 404, "not-found", nil},
		{"get", "GET", "/api/v1/webhooks/" + id, "", own, 200, "", nil},
		{"get: other account", "GET", "/api/v1/webhooks/" + id, "", auth(other.APIKey), 404, "not-found", nil},
		{"patch", "PATCH", "/api/v1/webhooks/" + id, `{"include_spam":true,"url":"https://hooks.example/v2"}`, own, 200, "", func(t *testing.T, body string) {
			w := decodeObject(t, body)
			if w["include_spam"] != true || w["url"] != "https://hooks.example/v2" || w["enabled"] != true {
				t.Errorf("patched webhook = %v", w)
			}
		}},
		{"patch: bad url", "PATCH", "/api/v1/webhooks/" + id, `{"url":"javascript:alert(1)"}`, own, 422, "validation-error", nil},
		{"patch: other account", "PATCH", "/api/v1/webhooks/" + id, `{"enabled":false}`, auth(other.APIKey), 404, "not-found", nil},
		{"rotate", "POST", "/api/v1/webhooks/" + id + "/rotate", "", own, 200, "", func(t *testing.T, body string) {
			w := decodeObject(t, body)
			if s, _ := w["secret"].(string); !strings.HasPrefix(s, "whsec_") || s == wh["secret"] || w["previous_secret_expires_at"] == nil {
				t.Errorf("rotated webhook = %v", w)
			}
		}},
		{"rotate: other account", "POST", "/api/v1/webhooks/" + id + "/rotate", "", auth(other.APIKey), 404, "not-found", nil},
		{"deliveries", "GET", "/api/v1/webhooks/" + id + "/deliveries", "", own, 200, "", func(t *testing.T, body string) {
			if !strings.Contains(body, `"id":"dlv_test"`) || !strings.Contains(body, `"message_id":"msg_test"`) || !strings.Contains(body, `"webhook_id":"`+id+`"`) {
				t.Errorf("deliveries = %s", body)
			}
		}},
		{"deliveries: other account", "GET", "/api/v1/webhooks/" + id + "/deliveries", "", auth(other.APIKey), 404, "not-found", nil},
		{"delivery", "GET", "/api/v1/deliveries/dlv_test", "", own, 200, "", nil},
		{"delivery: other account", "GET", "/api/v1/deliveries/dlv_test", "", auth(other.APIKey), 404, "not-found", nil},
		{"redeliver: other account", "POST", "/api/v1/deliveries/dlv_test/redeliver", "", auth(other.APIKey), 404, "not-found", nil},
		{"redeliver", "POST", "/api/v1/deliveries/dlv_test/redeliver", "", own, 202, "", func(t *testing.T, body string) {
			if n := b.count(t, `SELECT count(*) FROM river_job WHERE kind = 'webhook.deliver' AND (args->>'redelivery')::int = 1`); n != 1 {
				t.Errorf("redeliver enqueued %d jobs, want 1", n)
			}
			if !strings.Contains(body, `"state":"pending"`) {
				t.Errorf("redelivered delivery = %s", body)
			}
		}},
		{"disable", "PATCH", "/api/v1/webhooks/" + id, `{"enabled":false}`, own, 200, "", nil},
		{"redeliver: disabled", "POST", "/api/v1/deliveries/dlv_test/redeliver", "", own, 409, "webhook-disabled", nil},
		{"delete: other account", "DELETE", "/api/v1/webhooks/" + id, "", auth(other.APIKey), 404, "not-found", nil},
		{"delete", "DELETE", "/api/v1/webhooks/" + id, "", own, 204, "", nil},
		{"get after delete", "GET", "/api/v1/webhooks/" + id, "", own, 404, "not-found", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body []byte
			if tc.body != "" {
				body = []byte(tc.body)
			}
			r := b.call(t, tc.method, tc.path, body, tc.header)
			if tc.typ != "" {
				mustProblem(t, r, tc.status, tc.typ)
				return
			}
			if r.Status != tc.status {
				t.Fatalf("status = %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			if tc.check != nil {
				tc.check(t, r.Body)
			}
		})
	}
}
