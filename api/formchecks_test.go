package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/webhooks"
)

// wantInvalid checks r is a 422 validation-error whose errors point at
// exactly pointers, each message saying says (in the order given).
func wantInvalid(t *testing.T, what string, r reply, pointers []string, says ...string) {
	t.Helper()
	p := mustProblem(t, r, http.StatusUnprocessableEntity, "validation-error")
	var got, msgs []string
	for _, e := range errorsOf(p) {
		got = append(got, fmt.Sprint(e["pointer"]))
		msgs = append(msgs, fmt.Sprint(e["message"]))
	}
	if fmt.Sprint(got) != fmt.Sprint(pointers) {
		t.Errorf("%s: errors at %v, want %v: %s", what, got, pointers, r.Body)
	}
	for i, s := range says {
		if i >= len(msgs) || !strings.Contains(msgs[i], s) {
			t.Errorf("%s: messages %q, want #%d to say %q", what, msgs, i, s)
		}
	}
}

// An autoresponse switched on needs its subject and its text, on create
// and on a change; a form that has them keeps working.
func TestFormAutoresponseNeedsItsWords(t *testing.T) {
	t.Parallel()
	b := setup(t)
	key := hdr("Authorization", bearer(b.account.APIKey), "Content-Type", "application/json")
	subject, body := "#/settings/autoresponse/subject", "#/settings/autoresponse/body"

	r := b.call(t, "POST", "/api/v1/forms", []byte(`{"name":"x","settings":{"autoresponse":{"enabled":true,"subject":"","body":"  "}}}`), key)
	wantInvalid(t, "create, on and empty", r, []string{subject, body},
		"autoresponse.subject is required when the autoresponse is on", "autoresponse.body is required when the autoresponse is on")
	if r := b.call(t, "POST", "/api/v1/forms", []byte(`{"name":"x","settings":{"autoresponse":{"enabled":false}}}`), key); r.Status != http.StatusCreated {
		t.Errorf("create, off and empty = %s", r)
	}

	path := "/api/v1/forms/" + b.form.PublicID
	wantInvalid(t, "patch, on and empty", b.call(t, "PATCH", path, []byte(`{"settings":{"autoresponse":{"enabled":true}}}`), key),
		[]string{subject, body})
	if f, err := forms.ByPublicID(context.Background(), b.db, b.form.PublicID); err != nil || f.Settings.Autoresponse.Enabled {
		t.Fatalf("after the refused patch: %+v, %v", f.Settings.Autoresponse, err)
	}
	if r := b.call(t, "PATCH", path, []byte(`{"settings":{"autoresponse":{"enabled":true,"subject":"Thanks","body":"We answer within a day."}}}`), key); r.Status != http.StatusOK {
		t.Fatalf("patch, on with words = %s", r)
	}
	// A patch of one member is judged with the others the form has.
	wantInvalid(t, "patch, the subject emptied", b.call(t, "PATCH", path, []byte(`{"settings":{"autoresponse":{"enabled":true,"subject":"","body":"We answer within a day."}}}`), key),
		[]string{subject})
	if r := b.call(t, "PATCH", path, []byte(`{"settings":{"autoresponse":{"enabled":false,"subject":"","body":""}}}`), key); r.Status != http.StatusOK {
		t.Errorf("patch, off = %s", r)
	}
}

// A field name with a space is refused with the name to write instead; a
// form saved with one before keeps it through a change.
func TestFormFieldNameWithSpace(t *testing.T) {
	t.Parallel()
	b := setup(t)
	key := hdr("Authorization", bearer(b.account.APIKey), "Content-Type", "application/json")
	r := b.call(t, "POST", "/api/v1/forms", []byte(`{"name":"x","fields":[{"name":"full name","type":"text"}]}`), key)
	wantInvalid(t, "create", r, []string{"#/fields/0/name"}, `fields[0].name: “full name” has a space: write it full_name`)

	// A form as an older Intake saved it, with a space in a name.
	old := b.newForm(t, nil)
	if _, err := b.db.Exec(context.Background(), `UPDATE form_contracts SET fields = '[{"name":"full name","type":"text","required":false}]'
WHERE form_id = $1`, old.ID); err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/forms/" + old.PublicID
	if r := b.call(t, "PATCH", path, []byte(`{"name":"Renamed"}`), key); r.Status != http.StatusOK {
		t.Errorf("renaming a form with an old name = %s", r)
	}
	wantInvalid(t, "a new name with a space", b.call(t, "PATCH", path,
		[]byte(`{"fields":[{"name":"full name","type":"text"},{"name":"last name","type":"text"}]}`), key),
		[]string{"#/fields/1/name"}, "write it last_name")
}

// A webhook to this machine or the private network is refused when it is
// made and when its URL is changed, saying why; a server that allows
// private addresses (INTAKE_WEBHOOK_ALLOW_PRIVATE, as the tests with
// loopback receivers set it) takes it.
func TestWebhookPrivateAddressRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	key := hdr("Authorization", bearer(b.account.APIKey), "Content-Type", "application/json")
	receiver := testfactory.NewReceiver(t) // on 127.0.0.1
	create := func(u string) reply {
		return b.call(t, "POST", "/api/v1/forms/"+b.form.PublicID+"/webhooks", []byte(`{"url":"`+u+`"}`), key)
	}
	for u, says := range map[string]string{
		receiver.URL + "/hook":             "url points to 127.0.0.1, loopback (127.0.0.0/8): webhooks are sent only to public addresses",
		"http://10.1.2.3/hook":             "url points to 10.1.2.3, private (10.0.0.0/8)",
		"http://192.168.1.20:8080/hook":    "private (192.168.0.0/16)",
		"http://localhost:3000/hook":       "url points to localhost, this machine",
		"http://[::1]/hook":                "loopback (::1)",
		"http://169.254.169.254/latest/x/": "link-local (169.254.0.0/16, where cloud metadata lives)",
	} {
		wantInvalid(t, u, create(u), []string{"#/url"}, says)
	}
	r := create("https://hooks.example/intake")
	if r.Status != http.StatusCreated {
		t.Fatalf("a public URL = %s", r)
	}
	id, _ := jsonBody(t, r)["id"].(string)
	wantInvalid(t, "patch to private", b.call(t, "PATCH", "/api/v1/webhooks/"+id, []byte(`{"url":"http://172.16.0.9/hook"}`), key),
		[]string{"#/url"}, "private (172.16.0.0/12)")
	if n := b.count(t, `SELECT count(*) FROM webhook_endpoints WHERE url LIKE 'http://1%' OR url LIKE '%localhost%' OR url LIKE '%[::1]%'`); n != 0 {
		t.Errorf("%d private endpoints stored", n)
	}

	b.api.WebhookURLs = webhooks.URLPolicy{AllowPrivate: true}
	if r := create(receiver.URL + "/hook"); r.Status != http.StatusCreated {
		t.Errorf("loopback with private addresses allowed = %s", r)
	}
}
