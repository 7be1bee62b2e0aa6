package web_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/webhooks"
)

// The dashboard makes a chat endpoint (a telegram one with its bot and
// chat, the token refused when malformed and never shown), says what each
// endpoint sends, and "Send a test event" reaches its receiver and says
// what it answered.
func TestDashboardWebhookFormatsAndTestEvent(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	tg := testfactory.NewReceiver(t)
	b.dash.WebhookURLs = webhooks.URLPolicy{AllowPrivate: true}
	b.dash.Webhooks = &webhooks.DeliveryWorker{DB: b.db, Client: webhooks.NewHTTPClient(true), Sealer: b.sealer, BaseURL: b.url, TelegramAPI: tg.URL}
	br := b.loggedIn(t)
	hooks := "/forms/" + b.form.PublicID + "/webhooks"
	page := html.UnescapeString(br.get(t, hooks).Body)
	wantContains(t, "the add form", page, `<option value="slack"`, `<option value="telegram"`, `name="bot_token"`, `name="chat_id"`)

	bad := br.post(t, hooks, url.Values{"format": {"telegram"}, "bot_token": {"not a token"}, "chat_id": {"42"}})
	wantStatus(t, "a malformed bot token", bad, http.StatusUnprocessableEntity)
	wantContains(t, "its message", html.UnescapeString(bad.Body), "Bot_token must be the token @BotFather gave the bot")

	a := br.post(t, hooks, url.Values{"format": {"telegram"}, "bot_token": {"123456789:AAEhBOweik9ai2o4bqAX0WJY0r0pVfzzAbC"}, "chat_id": {"42"}})
	wantStatus(t, "a telegram endpoint", a, http.StatusSeeOther)
	page = html.UnescapeString(br.follow(t, a).Body)
	wantContains(t, "its page", page, "Telegram messages", "chat_id=42", "Send a test event")
	if strings.Contains(page, "AAEhBOweik9ai2o4") {
		t.Error("the page shows the bot's token")
	}
	id := strings.TrimPrefix(a.location(), "/webhooks/")
	sent := br.post(t, "/webhooks/"+id+"/test", nil)
	wantStatus(t, "send a test event", sent, http.StatusSeeOther)
	wantContains(t, "its flash", html.UnescapeString(br.follow(t, sent).Body), "Test event delivered: the receiver answered 200")
	if got := tg.Received(); len(got) != 1 || !strings.Contains(string(got[0].Body), `"parse_mode":"HTML"`) {
		t.Errorf("the bot API got %d requests", len(got))
	}
}

// A delivery's page shows the payload its attempts send, in the
// endpoint's format, and each attempt's time to the second.
func TestDashboardDeliveryShowsPayload(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	b.dash.Webhooks = &webhooks.DeliveryWorker{DB: b.db, Client: webhooks.NewHTTPClient(true), Sealer: b.sealer, BaseURL: b.url}
	br := b.loggedIn(t)
	sub := b.submit(t, b.form, `{"email":"payload@example.com","message":"<hello>"}`)
	for _, format := range []string{"standard", "slack"} {
		e, _, err := webhooks.Create(t.Context(), b.db, b.sealer, webhooks.URLPolicy{}, audit.System, b.form,
			webhooks.Input{URL: ptr("https://hooks.example/" + format), Format: ptr(format)})
		if err != nil {
			t.Fatal(err)
		}
		page := html.UnescapeString(br.get(t, "/deliveries/"+b.delivery(t, e, sub)).Body)
		want := map[string]string{"standard": `"type": "submission.created"`, "slack": `"blocks": [`}[format]
		wantContains(t, format+" delivery page", page, "Payload", want, "payload@example.com")
		if !regexp.MustCompile(`\d\d:\d\d:\d\d UTC</time>`).MatchString(page) {
			t.Errorf("%s: an attempt's time has no seconds", format)
		}
	}
}

// An archived form is listed under Archived forms, its page offers no
// snippet for its dead endpoint but a Restore button, and restoring it
// brings its endpoint back (recorded in the audit log).
func TestDashboardArchivedFormsRestore(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	br := b.loggedIn(t)
	id := b.form.PublicID
	wantStatus(t, "archive", br.post(t, "/forms/"+id+"/archive", nil), http.StatusSeeOther)
	list := html.UnescapeString(br.get(t, "/forms").Body)
	wantContains(t, "the forms list", list, "Archived forms", `href="/forms/`+id+`"`)
	page := html.UnescapeString(br.get(t, "/forms/"+id).Body)
	wantContains(t, "the archived form's page", page, "Restore the form")
	if strings.Contains(page, "Snippets") || strings.Contains(page, `id="endpoint"`) {
		t.Error("an archived form's page offers its dead endpoint's snippets")
	}
	a := br.post(t, "/forms/"+id+"/restore", nil)
	wantStatus(t, "restore", a, http.StatusSeeOther)
	wantContains(t, "restored", html.UnescapeString(br.follow(t, a).Body), "Form restored", "Snippets")
	if list := br.get(t, "/forms").Body; strings.Contains(list, "Archived forms") {
		t.Error("the restored form is still listed as archived")
	}
	b.submit(t, b.form, `{"email":"back@example.com"}`)
	if n := b.count(t, `SELECT count(*) FROM audit_log WHERE action IN ('form.archive', 'form.restore')`); n != 2 {
		t.Errorf("%d archive and restore entries in the audit log, want 2", n)
	}
}
