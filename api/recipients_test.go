package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

type recipientsBody struct {
	ID               string `json:"id"`
	NotifyRecipients []struct {
		Email string `json:"email"`
		State string `json:"state"`
	} `json:"notify_recipients"`
}

func (r recipientsBody) states() string {
	var out []string
	for _, rc := range r.NotifyRecipients {
		out = append(out, rc.Email+"="+rc.State)
	}
	return strings.Join(out, " ")
}

// The API shows each notification address with its opt-in state: the
// owner's own address confirmed at once, any other pending (and mailed a
// confirmation, in the form's transaction) until it confirms; a removed
// address is gone. Every answer is checked against openapi.json.
func TestFormShowsNotifyRecipients(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner := b.account.User.Email
	r := b.apiCall(t, http.MethodPost, "/api/v1/forms",
		`{"name": "Sales", "settings": {"notify_emails": ["`+strings.ToUpper(owner)+`", "Colleague@Example.com"]}}`)
	if r.Status != http.StatusCreated {
		t.Fatalf("create = %s", r)
	}
	var f recipientsBody
	if err := json.Unmarshal([]byte(r.Body), &f); err != nil {
		t.Fatal(err)
	}
	if got, want := f.states(), strings.ToUpper(owner)+"=confirmed Colleague@Example.com=pending"; got != want {
		t.Errorf("notify_recipients after create = %s, want %s", got, want)
	}
	if n := b.count(t, `SELECT count(*) FROM river_job WHERE args->>'template' = 'confirm_recipient' AND args->>'to' = 'colleague@example.com'`); n != 1 {
		t.Errorf("confirmation jobs for the colleague = %d, want 1 (and none for the owner)", n)
	}
	if n := b.count(t, `SELECT count(*) FROM river_job WHERE args->>'template' = 'confirm_recipient'`); n != 1 {
		t.Errorf("confirmation jobs = %d, want 1", n)
	}

	// The colleague unsubscribes (through a notification's link): shown.
	if _, err := b.db.Exec(ctx, `UPDATE notify_recipients SET state = 'unsubscribed' WHERE email = 'colleague@example.com'`); err != nil {
		t.Fatal(err)
	}
	r = b.apiGet(t, "/api/v1/forms/"+f.ID, b.account.APIKey)
	json.Unmarshal([]byte(r.Body), &f)
	if got := f.states(); r.Status != http.StatusOK || got != strings.ToUpper(owner)+"=confirmed Colleague@Example.com=unsubscribed" {
		t.Errorf("GET = %d %s", r.Status, got)
	}
	var list struct{ Data []recipientsBody }
	r = b.apiGet(t, "/api/v1/forms", b.account.APIKey)
	json.Unmarshal([]byte(r.Body), &list)
	for _, lf := range list.Data {
		if want := map[bool]string{true: f.states(), false: ""}[lf.ID == f.ID]; lf.states() != want {
			t.Errorf("list shows form %s with %q, want %q", lf.ID, lf.states(), want)
		}
	}

	r = b.apiCall(t, http.MethodPatch, "/api/v1/forms/"+f.ID, `{"settings": {"notify_emails": ["`+owner+`"]}}`)
	json.Unmarshal([]byte(r.Body), &f)
	if got := f.states(); r.Status != http.StatusOK || got != owner+"=confirmed" {
		t.Errorf("after removing the colleague: %d %s", r.Status, got)
	}
}
