package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/internal/testfactory"
)

type auditPage struct {
	Data []struct {
		Action string `json:"action"`
		Actor  struct {
			Type, ID, Address string
		} `json:"actor"`
		Object struct {
			Type, ID string
		} `json:"object"`
		Changed []string `json:"changed"`
	} `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

// auditAll reads the whole log through the API, two entries a page, and
// returns the entries the API key made (not the fixtures'), newest first,
// as "action object changed…" lines, checking each one's actor.
func (b *testBundle) auditAll(t *testing.T, query string) []string {
	t.Helper()
	var keyID string
	if err := b.db.QueryRow(context.Background(), `SELECT public_id FROM api_keys WHERE account_id = $1 ORDER BY id LIMIT 1`,
		b.account.User.AccountID).Scan(&keyID); err != nil {
		t.Fatal(err)
	}
	var out []string
	cursor := ""
	for pages := 0; ; pages++ {
		r := b.apiCall(t, "GET", "/api/v1/audit?limit=2"+query+cursor, "")
		if r.Status != http.StatusOK {
			t.Fatalf("audit = %s", r)
		}
		if strings.Contains(r.Body, "whsec_") || strings.Contains(r.Body, "correct horse") {
			t.Errorf("a secret in the audit log: %s", r.Body)
		}
		var p auditPage
		if err := json.Unmarshal([]byte(r.Body), &p); err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Data {
			if e.Actor.Type == "system" {
				continue
			}
			if e.Actor.Type != "api_key" || e.Actor.ID != keyID || e.Actor.Address != "127.0.0.1" {
				t.Errorf("%s: actor %+v, want the API key %s from 127.0.0.1", e.Action, e.Actor, keyID)
			}
			out = append(out, strings.Join(append([]string{e.Action, e.Object.Type + ":" + e.Object.ID}, e.Changed...), " "))
		}
		if p.NextCursor == nil {
			return out
		}
		if pages > 50 {
			t.Fatal("the cursor never ends")
		}
		cursor = "&cursor=" + *p.NextCursor
	}
}

// Every change made through the API is in the audit log once, with its
// API key, address and the names of what changed — never a value.
func TestAuditRecordsAPIChanges(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	must := func(r reply, status int) reply {
		t.Helper()
		if r.Status != status {
			t.Fatalf("want %d: %s", status, r)
		}
		return r
	}
	form := decodeObject(t, must(b.apiCall(t, "POST", "/api/v1/forms", `{"name":"Audited"}`), 201).Body)["id"].(string)
	must(b.apiCall(t, "PATCH", "/api/v1/forms/"+form, `{"name":"Renamed","settings":{"redirect_url":"https://example.com/thanks"}}`), 200)
	must(b.apiCall(t, "PATCH", "/api/v1/forms/"+form, `{"name":"Renamed"}`), 200) // changes nothing: not recorded
	must(b.apiCall(t, "PATCH", "/api/v1/forms/"+form, `{"name":""}`), 422)        // refused: not recorded
	must(b.apiCall(t, "PATCH", "/api/v1/forms/"+form, `{"settings":{"captcha":{"provider":"turnstile","site_key":"0x4AAA","secret":"0x4SECRETVALUE"}}}`), 200)
	wh := decodeObject(t, must(b.apiCall(t, "POST", "/api/v1/forms/"+b.form.PublicID+"/webhooks", `{"url":"https://hooks.example/a"}`), 201).Body)["id"].(string)
	must(b.apiCall(t, "POST", "/api/v1/webhooks/"+wh+"/rotate", ""), 200)
	sub := b.post(t, b.form.PublicID, `{"email":"ada@example.com"}`, "k1")
	if _, err := b.db.Exec(ctx, `INSERT INTO deliveries (public_id, endpoint_id, submission_id, message_id)
SELECT 'dlv_audit', e.id, s.id, 'msg_audit' FROM webhook_endpoints e, submissions s`); err != nil {
		t.Fatal(err)
	}
	must(b.apiCall(t, "POST", "/api/v1/deliveries/dlv_audit/redeliver", ""), 202)
	must(b.apiCall(t, "PATCH", "/api/v1/webhooks/"+wh, `{"enabled":false,"url":"https://hooks.example/b"}`), 200)
	must(b.apiCall(t, "DELETE", "/api/v1/webhooks/"+wh, ""), 204)
	must(b.apiCall(t, "PATCH", "/api/v1/submissions/"+sub, `{"spam":true}`), 200)
	must(b.apiCall(t, "PATCH", "/api/v1/submissions/"+sub, `{"spam":true}`), 200) // already spam: not recorded
	must(b.apiCall(t, "DELETE", "/api/v1/submissions/"+sub, ""), 204)
	key := decodeObject(t, must(b.apiCall(t, "POST", "/api/v1/apikeys", `{"name":"ci"}`), 201).Body)["id"].(string)
	must(b.apiCall(t, "DELETE", "/api/v1/apikeys/"+key, ""), 204)
	must(b.apiCall(t, "DELETE", "/api/v1/forms/"+form, ""), 204)
	must(b.apiCall(t, "DELETE", "/api/v1/forms/"+form, ""), 204) // archived already: not recorded

	want := []string{
		"form.archive form:" + form + " archived",
		"api_key.revoke api_key:" + key + " revoked",
		"api_key.create api_key:" + key,
		"submission.delete submission:" + sub,
		"submission.update submission:" + sub + " spam",
		"webhook.delete webhook:" + wh,
		"webhook.update webhook:" + wh + " enabled url",
		"delivery.redeliver delivery:dlv_audit",
		"webhook.rotate webhook:" + wh + " secret",
		"webhook.create webhook:" + wh,
		"form.update form:" + form + " settings.captcha settings.captcha.secret",
		"form.update form:" + form + " name settings.redirect_url",
		"form.create form:" + form,
	}
	got := b.auditAll(t, "")
	if !slices.Equal(got, want) {
		t.Errorf("the audit log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var raw string
	if err := b.db.QueryRow(ctx, `SELECT string_agg(audit_log::text, ' ') FROM audit_log`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"0x4SECRETVALUE", "whsec_", "https://hooks.example", "ada@example.com"} {
		if strings.Contains(raw, secret) {
			t.Errorf("a value in the audit_log table: %q in %s", secret, raw)
		}
	}

	// The object filter: one form's entries only.
	if got := b.auditAll(t, "&object="+form); len(got) != 4 || !strings.HasPrefix(got[3], "form.create") {
		t.Errorf("object=%s: %v", form, got)
	}
	// Another account sees none of them, with or without the filter.
	other := testfactory.NewAccount(ctx, t, b.db)
	for _, q := range []string{"", "?object=" + form} {
		r := b.call(t, "GET", "/api/v1/audit"+q, nil, hdr("Authorization", bearer(other.APIKey)))
		if r.Status != 200 || strings.Contains(r.Body, form) || strings.Contains(r.Body, wh) {
			t.Errorf("another account's audit%s = %s", q, r)
		}
	}
	// Bad parameters are a 400, never a 500.
	for _, q := range []string{"limit=0", "limit=101", "cursor=!!", "object=" + strings.Repeat("x", 101), "object=%00", "object=%ff"} {
		if r := b.apiCall(t, "GET", "/api/v1/audit?"+q, ""); r.Status != 400 || !strings.Contains(r.Body, "invalid-parameter") {
			t.Errorf("audit?%s = %s, want a 400 invalid-parameter", q, r)
		}
	}
}

type failingSync struct{}

func (failingSync) Sync(context.Context, pgx.Tx, *forms.Form) error {
	return errors.New("recipients are down")
}

// The entry is written in the change's transaction: a change that fails
// after its entry leaves no entry, and an entry that cannot be written
// undoes the change.
func TestAuditSameTransaction(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	name := "Changed"
	actor := audit.APIKey(1, "198.51.100.1")
	// The recipients' sync runs after the entry is recorded, and fails.
	if _, err := forms.Update(ctx, b.db, forms.NewValidator(), nil, failingSync{}, actor, b.account.User.AccountID, b.form.PublicID, forms.Patch{Name: &name}); err == nil {
		t.Fatal("the update did not fail")
	}
	// An actor without a kind cannot be recorded: the change is undone.
	if _, err := forms.Update(ctx, b.db, forms.NewValidator(), nil, nil, audit.Actor{}, b.account.User.AccountID, b.form.PublicID, forms.Patch{Name: &name}); err == nil {
		t.Fatal("an update without an actor succeeded")
	}
	if err := forms.Archive(ctx, b.db, audit.Actor{}, b.account.User.AccountID, b.form.PublicID); err == nil {
		t.Fatal("an archive without an actor succeeded")
	}
	f, err := forms.ForAccount(ctx, b.db, b.account.User.AccountID, b.form.PublicID)
	if err != nil {
		t.Fatal(err)
	}
	if f.Name != b.form.Name || f.ArchivedAt != nil {
		t.Errorf("the failed changes stayed: name %q, archived %v", f.Name, f.ArchivedAt)
	}
	if n := b.count(t, `SELECT count(*) FROM audit_log WHERE action IN ('form.update', 'form.archive')`); n != 0 {
		t.Errorf("%d entries of failed changes", n)
	}
}
