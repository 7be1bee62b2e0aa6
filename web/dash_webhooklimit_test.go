package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"testing"

	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/webhooks"
)

// The dashboard refuses the 11th endpoint, a URL the form already has (on
// create and on edit) and a private literal with a message beside the URL
// field of the page the owner was on — never an error page.
func TestDashboardWebhookLimits(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	br := b.loggedIn(t)
	hooks := "/forms/" + b.form.PublicID + "/webhooks"
	add := func(u string) answer { return br.post(t, hooks, url.Values{"url": {u}}) }
	refusedOnForm := func(name string, a answer, status int, typed string, wants ...string) {
		t.Helper()
		wantStatus(t, name, a, status)
		body := html.UnescapeString(a.Body)
		wantContains(t, name, body, append([]string{`id="wh-url-error"`, `aria-invalid="true"`, `value="` + typed + `"`}, wants...)...)
	}

	wantStatus(t, "first", add("https://hooks.example/intake"), http.StatusSeeOther)
	refusedOnForm("repeat", add("HTTPS://HOOKS.example:443/intake#x"), http.StatusConflict, "HTTPS://HOOKS.example:443/intake#x",
		"This form already sends to this URL", "Add an endpoint", "https://hooks.example/intake")
	refusedOnForm("translated loopback", add("http://[::ffff:0:127.0.0.1]:8080/"), http.StatusUnprocessableEntity,
		"http://[::ffff:0:127.0.0.1]:8080/", "This URL points to ::ffff:0:7f00:1, IPv4-translated", "loopback", "only to public addresses")
	refusedOnForm("decimal loopback", add("http://2130706433/"), http.StatusUnprocessableEntity, "http://2130706433/", "is a number")

	a := add("https://hooks.example/second")
	wantStatus(t, "second", a, http.StatusSeeOther)
	second := a.location()
	// Editing a URL to one the form has: refused on the endpoint's page.
	a = br.post(t, second, url.Values{"url": {"https://hooks.example/intake"}, "enabled": {"1"}})
	refusedOnForm("edit to a taken URL", a, http.StatusConflict, "https://hooks.example/intake", "This form already sends to this URL", "Delivery log")

	for i := 3; i <= 10; i++ {
		wantStatus(t, fmt.Sprintf("endpoint %d", i), add(fmt.Sprintf("https://hooks.example/%d", i)), http.StatusSeeOther)
	}
	wantContains(t, "at the limit", br.get(t, hooks).Body, "at most 10 endpoints (this one has 10)")
	refusedOnForm("the 11th", add("https://hooks.example/11"), http.StatusConflict, "https://hooks.example/11",
		"at most 10 webhook endpoints", "Delete one")
	if n := b.count(t, `SELECT count(*) FROM webhook_endpoints WHERE form_id = $1`, b.form.ID); n != 10 {
		t.Errorf("the form has %d endpoints, want 10", n)
	}
}

// Enabling an endpoint an upgrade disabled as a duplicate is refused with
// a message on its page while another endpoint of the form has its URL.
func TestDashboardEnableLegacyDuplicate(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	br := b.loggedIn(t)
	ctx := context.Background()
	e, _, err := webhooks.Create(ctx, b.db, b.sealer, webhooks.URLPolicy{}, audit.System, b.form, webhooks.Input{URL: ptr("https://hooks.example/intake")})
	if err != nil {
		t.Fatal(err)
	}
	// A duplicate as migration 00016 leaves one it found.
	var dup string
	if err := b.db.QueryRow(ctx, `INSERT INTO webhook_endpoints (public_id, form_id, url, enabled, include_spam, secret, legacy_duplicate, disabled_reason)
VALUES ('wh_legacydup', $1, 'https://HOOKS.example/intake', false, false, 'whsec_x', true, 'disabled by an upgrade') RETURNING public_id`, b.form.ID).Scan(&dup); err != nil {
		t.Fatal(err)
	}
	a := br.post(t, "/webhooks/"+dup+"/enable", nil)
	wantStatus(t, "enable duplicate", a, http.StatusSeeOther)
	wantContains(t, "enable duplicate", br.follow(t, a).Body, "Not enabled.", "already sends to this URL")
	if n := b.count(t, `SELECT count(*) FROM webhook_endpoints WHERE enabled`); n != 1 {
		t.Errorf("%d endpoints enabled, want 1", n)
	}
	// Once the original is gone, it may be enabled.
	if err := webhooks.Delete(ctx, b.db, audit.System, e); err != nil {
		t.Fatal(err)
	}
	a = br.post(t, "/webhooks/"+dup+"/enable", nil)
	wantStatus(t, "enable", a, http.StatusSeeOther)
	wantContains(t, "enable", br.follow(t, a).Body, "Webhook enabled")
	if n := b.count(t, `SELECT count(*) FROM webhook_endpoints WHERE enabled AND NOT legacy_duplicate`); n != 1 {
		t.Errorf("the former duplicate is not enabled under the index")
	}
}

// A webhook to this machine or the private network is refused on the
// page the owner was on, when added and when its URL is changed, saying
// which address and why; a dashboard that allows private addresses
// (INTAKE_WEBHOOK_ALLOW_PRIVATE, as tests with loopback receivers set it)
// takes it.
func TestDashboardWebhookPrivateAddress(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	br := b.loggedIn(t)
	hooks := "/forms/" + b.form.PublicID + "/webhooks"
	add := func(u string) answer { return br.post(t, hooks, url.Values{"url": {u}}) }
	refused := func(name string, a answer, typed, says string) {
		t.Helper()
		wantStatus(t, name, a, http.StatusUnprocessableEntity)
		wantContains(t, name, html.UnescapeString(a.Body), `id="wh-url-error"`, `aria-invalid="true"`, `value="`+typed+`"`, says)
	}
	receiver := testfactory.NewReceiver(t) // on 127.0.0.1
	refused("loopback", add(receiver.URL+"/hook"), receiver.URL+"/hook",
		"This URL points to 127.0.0.1, loopback (127.0.0.0/8): webhooks are sent only to public addresses.")
	refused("localhost", add("http://localhost:3000/hook"), "http://localhost:3000/hook",
		"This URL points to localhost, this machine: webhooks are sent only to public addresses.")
	refused("private", add("http://192.168.1.20/hook"), "http://192.168.1.20/hook", "This URL points to 192.168.1.20, private (192.168.0.0/16)")

	a := add("https://hooks.example/intake")
	wantStatus(t, "public", a, http.StatusSeeOther)
	endpoint := a.location()
	refused("changed to private", br.post(t, endpoint, url.Values{"url": {"http://10.0.0.8/hook"}, "enabled": {"1"}}), "http://10.0.0.8/hook",
		"This URL points to 10.0.0.8, private (10.0.0.0/8)")
	if n := b.count(t, `SELECT count(*) FROM webhook_endpoints WHERE url <> 'https://hooks.example/intake'`); n != 0 {
		t.Errorf("%d private endpoints stored", n)
	}

	b.dash.WebhookURLs = webhooks.URLPolicy{AllowPrivate: true}
	wantStatus(t, "loopback allowed", add(receiver.URL+"/hook"), http.StatusSeeOther)
}
