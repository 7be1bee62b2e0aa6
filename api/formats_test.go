package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/webhooks"
)

// A chat endpoint is made through the API with its format (a telegram
// one with its bot and chat, the token never shown again), and "send a
// test event" reaches every format's receiver in that format, at most ten
// a minute an endpoint, storing nothing.
func TestWebhookFormatsAndTestEvents(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.api.WebhookURLs = webhooks.URLPolicy{AllowPrivate: true}
	tg := testfactory.NewReceiver(t)
	b.api.Webhooks.TelegramAPI = tg.URL
	key := hdr("Authorization", bearer(b.account.APIKey), "Content-Type", "application/json")
	slack, discord, std := testfactory.NewReceiver(t), testfactory.NewReceiver(t), testfactory.NewReceiver(t)
	made := map[string]map[string]any{}
	for format, body := range map[string]string{
		"slack":    `{"url":"` + slack.URL + `/s","format":"slack"}`,
		"discord":  `{"url":"` + discord.URL + `/d","format":"discord"}`,
		"standard": `{"url":"` + std.URL + `/x"}`,
		"telegram": `{"format":"telegram","bot_token":"123456789:AAEhBOweik9ai2o4bqAX0WJY0r0pVfzzAbC","chat_id":"-100123"}`,
	} {
		r := b.call(t, "POST", "/api/v1/forms/"+b.form.PublicID+"/webhooks", []byte(body), key)
		if r.Status != http.StatusCreated {
			t.Fatalf("create %s: %s", format, r)
		}
		e := jsonBody(t, r)
		if e["format"] != format || strings.Contains(r.Body, "AAEhBOweik9ai2o4") {
			t.Errorf("created %s endpoint = %s", format, r.Body)
		}
		made[format] = e
	}
	if made["telegram"]["chat_id"] != "-100123" || made["telegram"]["url"] != "https://api.telegram.org/sendMessage?chat_id=-100123" {
		t.Errorf("telegram endpoint = %v", made["telegram"])
	}
	for format, rc := range map[string]*testfactory.Receiver{"slack": slack, "discord": discord, "standard": std, "telegram": tg} {
		r := b.call(t, "POST", "/api/v1/webhooks/"+made[format]["id"].(string)+"/test", nil, key)
		res := jsonBody(t, r)
		if r.Status != http.StatusOK || res["delivered"] != true || res["status"] != float64(200) {
			t.Errorf("test event to %s = %s", format, r)
			continue
		}
		got := rc.Received()
		if len(got) != 1 {
			t.Fatalf("%s's receiver got %d requests", format, len(got))
		}
		var body map[string]any
		json.Unmarshal(got[0].Body, &body)
		want := map[string]string{"slack": "blocks", "discord": "embeds", "standard": "data", "telegram": "parse_mode"}[format]
		if body[want] == nil {
			t.Errorf("%s test event has no %q: %s", format, want, got[0].Body)
		}
	}
	if n := b.count(t, `SELECT count(*) FROM deliveries`) + b.count(t, `SELECT count(*) FROM submissions`); n != 0 {
		t.Errorf("test events stored %d rows", n)
	}
	// A format is set when the endpoint is made.
	mustProblem(t, b.call(t, "PATCH", "/api/v1/webhooks/"+made["slack"]["id"].(string), []byte(`{"format":"discord"}`), key),
		http.StatusUnprocessableEntity, "validation-error")
	// Ten a minute: the slack endpoint had one, nine more pass, then 429.
	id := made["slack"]["id"].(string)
	for range 9 {
		if r := b.call(t, "POST", "/api/v1/webhooks/"+id+"/test", nil, key); r.Status != http.StatusOK {
			t.Fatalf("test event within the limit = %s", r)
		}
	}
	r := b.call(t, "POST", "/api/v1/webhooks/"+id+"/test", nil, key)
	mustProblem(t, r, http.StatusTooManyRequests, "rate-limited")
	if r.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After on the test events' 429")
	}
}

// The sample: a made-up event from the contract while the form has no
// submission, then its latest one that is not spam.
func TestFormSample(t *testing.T) {
	t.Parallel()
	b := setup(t)
	key := hdr("Authorization", bearer(b.account.APIKey))
	r := b.call(t, "GET", "/api/v1/forms/"+b.form.PublicID+"/sample", nil, key)
	ev := jsonBody(t, r)
	data, _ := ev["data"].(map[string]any)
	if r.Status != http.StatusOK || r.Header.Get("Intake-Sample") != "example" || ev["type"] != "submission.created" ||
		data["data"].(map[string]any)["email"] != "ada@example.com" {
		t.Fatalf("sample without submissions = %s %v", r, r.Header)
	}
	sub := b.post(t, b.form.PublicID, `{"email":"real@example.com","message":"hello"}`, "s1")
	b.post(t, b.form.PublicID, `{"email":"bot@example.com","_gotcha":"x"}`, "s2")
	r = b.call(t, "GET", "/api/v1/forms/"+b.form.PublicID+"/sample", nil, key)
	ev = jsonBody(t, r)
	if data := ev["data"].(map[string]any); r.Header.Get("Intake-Sample") != "latest" || data["id"] != sub {
		t.Errorf("sample = %v %s, want the latest submission that is not spam (%s)", r.Header.Get("Intake-Sample"), r.Body, sub)
	}
}
