package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// A form takes at most 10 webhook endpoints and a URL once: one anonymous
// submission must not become a hundred outbound POSTs. The 11th endpoint,
// a repeated URL (in any spelling of the same URL) and a PATCH to a URL the
// form already has are refused with 409; private literals with 422.
func TestWebhookLimits(t *testing.T) {
	t.Parallel()
	b := setup(t)
	own := hdr("Authorization", "Bearer "+b.account.APIKey, "Content-Type", "application/json")
	hooks := "/api/v1/forms/" + b.form.PublicID + "/webhooks"
	create := func(u string) reply {
		return b.call(t, "POST", hooks, []byte(fmt.Sprintf(`{"url":%q}`, u)), own)
	}
	wantProblem := func(name string, r reply, status int, typ string) {
		t.Helper()
		if r.Status != status || !strings.Contains(r.Body, `"type":"https://intake.dev/problems/`+typ+`"`) {
			t.Errorf("%s = %s, want %d %s", name, r, status, typ)
		}
	}

	first := create("https://hooks.example/intake")
	if first.Status != http.StatusCreated {
		t.Fatalf("create = %s", first)
	}
	for _, u := range []string{
		"https://hooks.example/intake",
		"HTTPS://Hooks.EXAMPLE/intake",
		"https://hooks.example:443/intake",
		"https://hooks.example/intake#again",
	} {
		wantProblem("repeat "+u, create(u), http.StatusConflict, "webhook-url-taken")
	}
	// Not the same URL: a path differs by case or a trailing slash.
	second := create("https://hooks.example/intake/")
	if second.Status != http.StatusCreated {
		t.Fatalf("a different path = %s", second)
	}
	secondID, _ := decodeObject(t, second.Body)["id"].(string)
	// Changing an endpoint's URL to one the form has is refused too; to
	// its own URL, or another, it is not.
	patch := func(body string) reply {
		return b.call(t, "PATCH", "/api/v1/webhooks/"+secondID, []byte(body), own)
	}
	wantProblem("patch to a taken URL", patch(`{"url":"https://HOOKS.example/intake"}`), http.StatusConflict, "webhook-url-taken")
	if r := patch(`{"url":"https://hooks.example/intake/"}`); r.Status != http.StatusOK {
		t.Errorf("patch to its own URL = %s", r)
	}
	if r := patch(`{"url":"https://hooks.example/two"}`); r.Status != http.StatusOK {
		t.Errorf("patch to a new URL = %s", r)
	}

	// Private literals are refused when saved, in every spelling, naming why.
	for _, u := range []string{
		"http://127.0.0.1/", "http://[::ffff:0:127.0.0.1]/", "http://[::ffff:127.0.0.1]:8080/", "http://[64:ff9b::a00:1]/",
		"http://169.254.169.254/latest/meta-data/", "http://localhost:8080/", "http://2130706433/", "http://0177.0.0.1/",
		"http://0x7f.1/", "http://127.1/",
	} {
		r := create(u)
		wantProblem("private "+u, r, http.StatusUnprocessableEntity, "validation-error")
		if !strings.Contains(r.Body, `"rule":"public_address"`) {
			t.Errorf("private %s: %s, want the public_address rule", u, r.Body)
		}
	}
	wantProblem("patch to loopback", patch(`{"url":"http://[::1]/"}`), http.StatusUnprocessableEntity, "validation-error")

	for i := 3; i <= 10; i++ {
		if r := create(fmt.Sprintf("https://hooks.example/%d", i)); r.Status != http.StatusCreated {
			t.Fatalf("endpoint %d = %s", i, r)
		}
	}
	wantProblem("the 11th", create("https://hooks.example/11"), http.StatusConflict, "webhook-limit")
	if n := b.count(t, `SELECT count(*) FROM webhook_endpoints WHERE form_id = $1`, b.form.ID); n != 10 {
		t.Errorf("the form has %d endpoints, want 10", n)
	}
	// Deleting one makes room.
	if r := b.call(t, "DELETE", "/api/v1/webhooks/"+secondID, nil, own); r.Status != http.StatusNoContent {
		t.Fatalf("delete = %s", r)
	}
	if r := create("https://hooks.example/11"); r.Status != http.StatusCreated {
		t.Errorf("after a delete = %s", r)
	}
	// The limit is per form.
	other := b.newForm(t, nil)
	if r := b.call(t, "POST", "/api/v1/forms/"+other.PublicID+"/webhooks", []byte(`{"url":"https://hooks.example/intake"}`), own); r.Status != http.StatusCreated {
		t.Errorf("another form, the same URL = %s", r)
	}
}

// Twenty creates at once on one form end with exactly ten endpoints: the
// count is taken under the form's row lock.
func TestWebhookLimitUnderConcurrency(t *testing.T) {
	t.Parallel()
	b := setup(t)
	own := hdr("Authorization", "Bearer "+b.account.APIKey, "Content-Type", "application/json")
	statuses := make([]int, 20)
	errs := make([]error, 20)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			r, err := b.send("POST", "/api/v1/forms/"+b.form.PublicID+"/webhooks", []byte(fmt.Sprintf(`{"url":"https://hooks.example/%d"}`, i)), own)
			statuses[i], errs[i] = r.Status, err
		})
	}
	wg.Wait()
	created, refused := 0, 0
	for i, s := range statuses {
		switch {
		case errs[i] != nil:
			t.Errorf("create %d: %v", i, errs[i])
		case s == http.StatusCreated:
			created++
		case s == http.StatusConflict:
			refused++
		default:
			t.Errorf("create %d answered %d", i, s)
		}
	}
	n := b.count(t, `SELECT count(*) FROM webhook_endpoints WHERE form_id = $1`, b.form.ID)
	if created != 10 || refused != 10 || n != 10 {
		t.Errorf("20 concurrent creates: %d created, %d refused, %d stored; want 10, 10, 10", created, refused, n)
	}
	// The same URL twenty times at once: one.
	other := b.newForm(t, nil)
	for i := range 20 {
		wg.Go(func() {
			r, err := b.send("POST", "/api/v1/forms/"+other.PublicID+"/webhooks", []byte(`{"url":"https://hooks.example/same"}`), own)
			statuses[i], errs[i] = r.Status, err
		})
	}
	wg.Wait()
	created = 0
	for i, s := range statuses {
		if errs[i] != nil {
			t.Errorf("create %d: %v", i, errs[i])
		}
		if s == http.StatusCreated {
			created++
		}
	}
	if n := b.count(t, `SELECT count(*) FROM webhook_endpoints WHERE form_id = $1`, other.ID); created != 1 || n != 1 {
		t.Errorf("the same URL 20 times at once: %d created, %d stored; want 1", created, n)
	}
}
