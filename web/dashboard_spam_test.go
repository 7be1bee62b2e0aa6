package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/intakehq/intake/captcha"
	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/internal/testfactory"
)

// The editor's spam settings: the CAPTCHA (its secret write-only), the
// minimum fill time and the _cc opt-in, each with its label and help, and
// errors next to their inputs.
func TestDashboardSpamSettings(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	br := b.loggedIn(t)
	ctx := context.Background()
	const secret = "0x4AAAAAAA-dashboard-secret"
	editor := url.Values{
		"name": {"Guarded"}, "field_count": {"1"}, "f0.name": {"email"}, "f0.type": {"email"},
		"idempotency_retention": {"24h"}, "implicit_dedupe_window": {"10m"}, "unknown_fields": {"accept"}, "honeypot_field": {"_gotcha"},
		"captcha.provider": {"turnstile"}, "captcha.site_key": {"0x4AAAAAAAsite"}, "captcha.secret": {""}, "captcha.on_outage": {"fail_open"},
		"min_fill_seconds": {"soon"}, "allow_cc": {"1"},
	}
	a := br.post(t, "/forms/new", editor)
	wantStatus(t, "no secret, a bad minimum", a, http.StatusUnprocessableEntity)
	wantContains(t, "no secret, a bad minimum", a.Body, `id="s-captcha-error"`, `href="#s-captcha"`, `id="s-min_fill_seconds-error"`,
		"CAPTCHA secret key is required with a provider", `value="soon"`, `<option value="turnstile" selected>`, `id="s-allow_cc" name="allow_cc" value="1" aria-describedby="s-allow_cc-hint" checked`)

	ok := cloneValues(editor)
	ok.Set("captcha.secret", secret)
	ok.Set("min_fill_seconds", "2.5")
	a = br.post(t, "/forms/new", ok)
	wantStatus(t, "created", a, http.StatusSeeOther)
	id := strings.TrimPrefix(a.location(), "/forms/")
	f, err := forms.ForAccount(ctx, b.db, b.acct.User.AccountID, id)
	if err != nil {
		t.Fatal(err)
	}
	s := f.Settings
	if s.Captcha.Provider != captcha.Turnstile || !s.Captcha.SecretSet || s.Captcha.SiteKey != "0x4AAAAAAAsite" || s.Captcha.OnOutage != forms.CaptchaFailOpen ||
		s.MinFillSeconds != 2.5 || !s.AllowCC {
		t.Errorf("saved settings = %+v", s)
	}
	if got, err := f.CaptchaSecret(b.sealer); err != nil || got != secret {
		t.Errorf("stored secret opens to %q, %v", got, err)
	}
	page := html.UnescapeString(br.follow(t, a).Body)
	wantContains(t, "the form's page", page, "Cloudflare Turnstile; secret set; site key 0x4AAAAAAAsite; take submissions unverified while the provider is down",
		"2.5 s (when intake.js reports it)", `cf-turnstile" data-sitekey="0x4AAAAAAAsite"`, "challenges.cloudflare.com/turnstile/v0/api.js")

	// The secret is never written into a page, and an empty input keeps it.
	edit := br.get(t, "/forms/"+id+"/edit").Body
	if strings.Contains(edit, secret) || strings.Contains(edit, "sealed:") {
		t.Fatal("the editor shows the secret")
	}
	wantContains(t, "the editor", html.UnescapeString(edit), "Set. It is never shown again", `type="password" id="s-captcha-secret" name="captcha.secret" value=""`,
		`value="2.5"`, "Minimum time to fill in, in seconds", "Let the sender copy the notification to others (<code>_cc</code>)", "When the provider cannot be reached")
	keep := cloneValues(ok)
	keep.Set("captcha.secret", "")
	keep.Set("captcha.on_outage", "fail_closed")
	wantStatus(t, "save without retyping the secret", br.post(t, "/forms/"+id+"/edit", keep), http.StatusSeeOther)
	f, _ = forms.ForAccount(ctx, b.db, b.acct.User.AccountID, id)
	if got, _ := f.CaptchaSecret(b.sealer); got != secret || f.Settings.Captcha.OnOutage != forms.CaptchaFailClosed {
		t.Errorf("after a save with an empty secret input: secret %q, on_outage %s", got, f.Settings.Captcha.OnOutage)
	}

	// Off forgets the secret.
	off := cloneValues(keep)
	off.Set("captcha.provider", "")
	off.Del("allow_cc")
	wantStatus(t, "CAPTCHA off", br.post(t, "/forms/"+id+"/edit", off), http.StatusSeeOther)
	f, _ = forms.ForAccount(ctx, b.db, b.acct.User.AccountID, id)
	if f.Settings.Captcha.Provider != "" || f.Settings.Captcha.SecretSet || f.Settings.AllowCC {
		t.Errorf("after turning it off: %+v, allow_cc %v", f.Settings.Captcha, f.Settings.AllowCC)
	}
	wantContains(t, "the editor, off", br.get(t, "/forms/"+id+"/edit").Body, "Not set.", `<option value="" selected>Off</option>`)
}

// Every spam decision shows its reason, in the spam tab and on the
// submission; a submission's fill time, CAPTCHA check and _cc fate too.
func TestDashboardSpamReasons(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	br := b.loggedIn(t)
	ctx := context.Background()
	f := testfactory.NewForm(ctx, t, b.db, b.acct.User.AccountID, &testfactory.FormOpts{Settings: forms.Settings{
		MinFillSeconds: 3, BlockedWords: []string{"casino"}, AllowedOrigins: []string{"https://site.example"},
	}})
	fast := b.submit(t, f, `{"email":"fast@example.com","_fill_ms":"1200","_cc":"friend@example.com"}`)
	bot := b.submit(t, f, `{"email":"bot@example.com","_gotcha":"x"}`)
	word := b.submit(t, f, `{"email":"w@example.com","message":"best casino"}`)
	human := b.submit(t, f, `{"email":"human@example.com","_fill_ms":"9000"}`)
	if _, err := b.db.Exec(ctx, `UPDATE submissions SET meta = meta || '{"captcha":{"provider":"hcaptcha","verified":false,"reason":"answered HTTP 503"}}'
		WHERE form_id = $1 AND data->>'email' = 'human@example.com'`, f.ID); err != nil {
		t.Fatal(err)
	}

	list := "/forms/" + f.PublicID + "/submissions"
	spamTab := html.UnescapeString(br.get(t, list+"?spam=true").Body)
	wantContains(t, "the spam tab", spamTab, `<th scope="col">Why</th>`, "filled in 1.2 s; the form's minimum is 3 s", `<td data-label="Why">honeypot</td>`, "blocked word casino", fast, bot, word)
	if strings.Contains(spamTab, human) {
		t.Error("the spam tab lists a submission that is not spam")
	}
	if inbox := br.get(t, list).Body; strings.Contains(inbox, ">Why<") {
		t.Error("the inbox has a Why column")
	}

	detail := html.UnescapeString(br.get(t, list+"/"+fast).Body)
	wantContains(t, "too fast", detail, "Spam because", "filled in 1.2 s; the form's minimum is 3 s", "Time to fill (_fill_ms)", "1.2 s",
		"friend@example.com (not copied: the form does not let _cc copy the notification)")
	detail = html.UnescapeString(br.get(t, list+"/"+human).Body)
	wantContains(t, "unverified", detail, `<span class="badge badge-warn">CAPTCHA not verified</span>`, "not verified: hCaptcha answered HTTP 503", "9.0 s")
	if strings.Contains(detail, "Spam because") {
		t.Error("an unverified submission is shown as spam")
	}
}
