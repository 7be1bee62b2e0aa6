package webhooks_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/webhooks"
)

const testBotToken = "123456789:AAEhBOweik9ai2o4bqAX0WJY0r0pVfzzAbC"

// endpointOf adds an endpoint of format to the bundle's form.
func (b *bundle) endpointOf(t *testing.T, in webhooks.Input) *webhooks.Endpoint {
	t.Helper()
	e, _, err := webhooks.Create(context.Background(), b.DB, b.Sealer, webhooks.URLPolicy{AllowPrivate: true}, audit.System, b.Form, in)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func strp(s string) *string { return &s }

func runes(v any) int { s, _ := v.(string); return utf8.RuneCountInString(s) }

// Each chat format arrives in the shape its service documents, within its
// limits however long the submission, every value escaped, on the same
// delivery path: Slack's text and blocks, Discord's content and embed
// (mentions never parsed), Telegram's sendMessage with parse_mode HTML at
// /bot<token>/sendMessage.
func TestFormatsRenderAsTheServicesDocument(t *testing.T) {
	t.Parallel()
	var (
		mu       sync.Mutex
		tgPath   string
		tgBodies [][]byte
	)
	tg := testfactory.NewReceiver(t)
	tg.OnArrive = func(_ int, w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		tgPath = r.URL.Path
		return false
	}
	b := setupTelegram(t, webhooks.NewHTTPClient(true), tg.URL)
	slack, discord := testfactory.NewReceiver(t), testfactory.NewReceiver(t)
	b.endpointOf(t, webhooks.Input{URL: strp(strings.Replace(slack.URL, "http://", "http://", 1)), Format: strp("standard")})
	for _, c := range []struct {
		rc     *testfactory.Receiver
		format string
	}{{slack, "slack"}, {discord, "discord"}} {
		u := c.rc.URL + "/hook"
		b.endpointOf(t, webhooks.Input{URL: &u, Format: strp(c.format)})
	}
	e := b.endpointOf(t, webhooks.Input{Format: strp("telegram"), BotToken: strp(testBotToken), ChatID: strp("-1001234567890")})
	if e.URL != "https://api.telegram.org/sendMessage?chat_id=-1001234567890" || strings.Contains(e.BotToken, testBotToken) {
		t.Fatalf("telegram endpoint URL %q, token stored %q", e.URL, e.BotToken)
	}
	fields := map[string]any{"email": "ada@example.com", "message": "<b>bold</b> & <i>loud</i>", "notes": strings.Repeat("long & <loud> ", 800)}
	for i := range 40 {
		fields["extra_"+string(rune('a'+i%26))+string(rune('a'+i/26))] = "value " + strings.Repeat("x", 1500)
	}
	b.Submit(t, "formats", fields)
	b.Settle(t)

	// Slack (its first request is the standard endpoint's, on the same server).
	var sl struct {
		Text   string
		Blocks []struct {
			Type     string
			Text     *struct{ Type, Text string }
			Fields   []struct{ Type, Text string }
			Elements []struct{ Type, Text string }
		}
	}
	got := slack.Received()
	if len(got) != 2 {
		t.Fatalf("slack's server got %d requests, want the standard event and the slack message", len(got))
	}
	for _, r := range got {
		if strings.Contains(string(r.Body), `"blocks"`) {
			if err := json.Unmarshal(r.Body, &sl); err != nil {
				t.Fatal(err)
			}
		}
	}
	if sl.Text == "" || len(sl.Blocks) == 0 || len(sl.Blocks) > 50 || sl.Blocks[0].Type != "header" || runes(sl.Blocks[0].Text.Text) > 150 {
		t.Fatalf("slack message: %d blocks, text %q", len(sl.Blocks), sl.Text)
	}
	last := sl.Blocks[len(sl.Blocks)-1]
	if last.Type != "context" || !strings.Contains(last.Elements[0].Text, "https://intake.example/forms/") {
		t.Errorf("slack: the last block is not the dashboard's link: %+v", last)
	}
	for _, bl := range sl.Blocks {
		if len(bl.Fields) > 10 {
			t.Errorf("slack: a section with %d fields", len(bl.Fields))
		}
		for _, f := range bl.Fields {
			if runes(f.Text) > 2000 || strings.Contains(f.Text, "<b>") || strings.Contains(f.Text, "<loud>") {
				t.Errorf("slack field of %d characters, or unescaped: %.80q", runes(f.Text), f.Text)
			}
		}
	}

	// Discord.
	var dc struct {
		Content string
		Embeds  []struct {
			Title, URL, Description string
			Fields                  []struct{ Name, Value string }
		}
		AllowedMentions struct{ Parse []string } `json:"allowed_mentions"`
	}
	if got := discord.Received(); len(got) != 1 || json.Unmarshal(got[0].Body, &dc) != nil {
		t.Fatalf("discord got %d requests", len(got))
	}
	if dc.Content == "" || runes(dc.Content) > 2000 || len(dc.Embeds) != 1 || dc.AllowedMentions.Parse == nil || len(dc.AllowedMentions.Parse) != 0 {
		t.Fatalf("discord message: %+v", dc)
	}
	total := runes(dc.Embeds[0].Title) + runes(dc.Embeds[0].Description)
	if len(dc.Embeds[0].Fields) > 25 {
		t.Errorf("discord: %d fields", len(dc.Embeds[0].Fields))
	}
	for _, f := range dc.Embeds[0].Fields {
		if runes(f.Name) > 256 || runes(f.Value) > 1024 {
			t.Errorf("discord field over its limits: %d, %d", runes(f.Name), runes(f.Value))
		}
		total += runes(f.Name) + runes(f.Value)
	}
	if total > 6000 || !strings.HasPrefix(dc.Embeds[0].URL, "https://intake.example/forms/") {
		t.Errorf("discord embed: %d characters in all (at most 6000), url %q", total, dc.Embeds[0].URL)
	}

	// Telegram.
	got = tg.Received()
	if len(got) != 1 {
		t.Fatalf("telegram got %d requests", len(got))
	}
	tgBodies = append(tgBodies, got[0].Body)
	var tm struct {
		ChatID    string `json:"chat_id"`
		Text      string
		ParseMode string `json:"parse_mode"`
	}
	if err := json.Unmarshal(tgBodies[0], &tm); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	path := tgPath
	mu.Unlock()
	if path != "/bot"+testBotToken+"/sendMessage" || tm.ChatID != "-1001234567890" || tm.ParseMode != "HTML" || runes(tm.Text) > 4096 {
		t.Errorf("telegram: path %q, chat %q, parse_mode %q, %d characters", path, tm.ChatID, tm.ParseMode, runes(tm.Text))
	}
	if !strings.Contains(tm.Text, "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;i&gt;loud&lt;/i&gt;") || strings.Contains(tm.Text, "<loud>") {
		t.Errorf("telegram: values not escaped: %.300q", tm.Text)
	}
	// The token never reaches the delivery log.
	if n := b.Count(t, `SELECT count(*) FROM delivery_attempts WHERE coalesce(error, '') || coalesce(response_body, '') LIKE '%AAEhBOweik9ai2o4%'`); n != 0 {
		t.Errorf("the bot's token is in %d attempts' log", n)
	}
}

// Each service's "slow down" is honoured without using up an attempt:
// Slack's 429 with Retry-After, Discord's {"retry_after": seconds} and
// Telegram's {"parameters": {"retry_after": seconds}} in the body.
func TestFormatsHonourEachServicesRateLimit(t *testing.T) {
	t.Parallel()
	answer429 := func(body string, header bool) func(int, http.ResponseWriter, *http.Request) bool {
		return func(n int, w http.ResponseWriter, _ *http.Request) bool {
			if n > 1 {
				return false
			}
			if header {
				w.Header().Set("Retry-After", "1")
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(body))
			return true
		}
	}
	tg := testfactory.NewReceiver(t)
	tg.OnArrive = answer429(`{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1","parameters":{"retry_after":1}}`, false)
	b := setupTelegram(t, webhooks.NewHTTPClient(true), tg.URL)
	slack, discord := testfactory.NewReceiver(t), testfactory.NewReceiver(t)
	slack.OnArrive = answer429(`rate_limited`, true)
	discord.OnArrive = answer429(`{"message":"You are being rate limited.","retry_after":0.5,"global":false}`, false)
	b.endpointOf(t, webhooks.Input{URL: strp(slack.URL + "/s"), Format: strp("slack")})
	b.endpointOf(t, webhooks.Input{URL: strp(discord.URL + "/d"), Format: strp("discord")})
	b.endpointOf(t, webhooks.Input{Format: strp("telegram"), BotToken: strp(testBotToken), ChatID: strp("@intake_test")})
	b.Submit(t, "limited", testfactory.Contact(1))
	b.Settle(t)
	for name, rc := range map[string]*testfactory.Receiver{"slack": slack, "discord": discord, "telegram": tg} {
		if n := len(rc.Received()); n != 2 {
			t.Errorf("%s got %d requests, want the throttled one and the delivered one", name, n)
		}
	}
	if n := b.Count(t, `SELECT count(*) FROM deliveries WHERE state = 'delivered' AND snoozes = 1`); n != 3 {
		t.Errorf("%d deliveries delivered after one snooze, want 3", n)
	}
}

// A format is refused with what it needs, at its member.
func TestFormatInputRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for name, c := range map[string]struct {
		in    webhooks.Input
		field string
	}{
		"an unknown format":         {webhooks.Input{URL: strp("https://hooks.example/x"), Format: strp("teams")}, "format"},
		"telegram without a token":  {webhooks.Input{Format: strp("telegram"), ChatID: strp("123")}, "bot_token"},
		"telegram with a bad chat":  {webhooks.Input{Format: strp("telegram"), BotToken: strp(testBotToken), ChatID: strp("; drop")}, "chat_id"},
		"telegram with a url":       {webhooks.Input{Format: strp("telegram"), BotToken: strp(testBotToken), ChatID: strp("1"), URL: strp("https://x.example")}, "url"},
		"slack without a url":       {webhooks.Input{Format: strp("slack")}, "url"},
		"a token on a standard one": {webhooks.Input{URL: strp("https://hooks.example/y"), BotToken: strp(testBotToken)}, "bot_token"},
	} {
		_, _, err := webhooks.Create(context.Background(), b.DB, b.Sealer, webhooks.URLPolicy{}, audit.System, b.Form, c.in)
		if err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: %v, want a refusal naming %s", name, err, c.field)
		}
	}
}

// A submitted value or field name is shown in Discord as written: a
// markdown link that shows one address and opens another is escaped, as
// are emphasis, code and mentions.
func TestDiscordEscapesMarkdown(t *testing.T) {
	t.Parallel()
	m := webhooks.Message{Title: "New submission to Contact", Fields: []webhooks.MessageField{
		{Label: "message", Value: "[https://bank.example/login](https://evil.example) **now** `x` <@&1>"},
		{Label: "[a](https://evil.example)", Value: "ok"},
	}}
	b, err := m.Discord()
	if err != nil {
		t.Fatal(err)
	}
	var dc struct {
		Embeds []struct {
			Fields []struct{ Name, Value string }
		}
	}
	if err := json.Unmarshal(b, &dc); err != nil || len(dc.Embeds) != 1 || len(dc.Embeds[0].Fields) != 2 {
		t.Fatalf("discord message %s: %v", b, err)
	}
	f := dc.Embeds[0].Fields
	if want := `\[https://bank.example/login\]\(https://evil.example\) \*\*now\*\* \` + "`x\\`" + ` \<@&1\>`; f[0].Value != want {
		t.Errorf("value = %q, want %q", f[0].Value, want)
	}
	if f[1].Name != `\[a\]\(https://evil.example\)` {
		t.Errorf("name = %q", f[1].Name)
	}
}
