package webhooks

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/internal/tokenbucket"

	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/submissions"
)

// Format is what an endpoint is sent (README, "Chat and no-code targets"):
// the Standard Webhooks event, or a chat service's own message, rendered
// from the same event so that every format rides the same delivery, log,
// retries and redelivery.
type Format string

// The formats.
const (
	FormatStandard Format = "standard" // Standard Webhooks: the Event as JSON, signed
	FormatSlack    Format = "slack"    // a Slack incoming webhook: text and blocks
	FormatDiscord  Format = "discord"  // a Discord webhook: content and an embed
	FormatTelegram Format = "telegram" // Telegram's Bot API sendMessage, HTML
)

// Formats lists every format, in the order the dashboard offers them.
var Formats = []Format{FormatStandard, FormatSlack, FormatDiscord, FormatTelegram}

// ParseFormat reads a format's name; "" is standard.
func ParseFormat(s string) (Format, error) {
	if s == "" {
		return FormatStandard, nil
	}
	for _, f := range Formats {
		if string(f) == s {
			return f, nil
		}
	}
	return "", &forms.ValidationError{Errors: []forms.FieldError{{Field: "format", Code: forms.CodeInvalid, Rule: "oneof",
		Message: "format must be one of standard, slack, discord, telegram", Pointer: "#/format"}}}
}

// Message is a submission as a chat message shows it: the form's name,
// its fields by label in the contract's order, its files, and links.
type Message struct {
	Title     string // "New submission to Contact"
	Spam      bool
	Fields    []MessageField
	Files     []submissions.FileJSON // URL: a signed link
	Dashboard string                 // the submission in the dashboard
}

// MessageField is one field of a Message.
type MessageField struct{ Label, Value string }

// messageText is how a value reads in a chat message.
var messageText = submissions.TextStyle{ListSep: ", ", File: func(f map[string]any) string {
	return fmt.Sprintf("%v (file)", f["filename"])
}}

// NewMessage builds the Message of the event ev of a submission to form;
// dashboard is Intake's address.
func NewMessage(form *forms.Form, ev Event, dashboard string) Message {
	m := Message{Title: "New submission to " + form.Name, Spam: ev.Data.Spam, Files: ev.Data.Files,
		Dashboard: strings.TrimSuffix(dashboard, "/") + "/forms/" + form.PublicID + "/submissions/" + ev.Data.ID}
	seen := map[string]bool{}
	for _, f := range form.Contract.Fields {
		if v, ok := ev.Data.Data[f.Name]; ok {
			label := f.Label
			if label == "" {
				label = f.Name
			}
			m.Fields = append(m.Fields, MessageField{label, submissions.Text(v, messageText)})
			seen[f.Name] = true
		}
	}
	for _, k := range sortedKeys(ev.Data.Data) {
		if !seen[k] {
			m.Fields = append(m.Fields, MessageField{k, submissions.Text(ev.Data.Data[k], messageText)})
		}
	}
	return m
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

// more ends a value cut to fit a service's limit.
const more = "… (more in Intake)"

// cut returns s in at most n characters (runes), ending with more when it
// was longer.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	keep := n - utf8.RuneCountInString(more)
	if keep < 0 {
		keep = 0
	}
	return string(r[:keep]) + more
}

// Slack's limits (api.slack.com/reference/block-kit/blocks).
const (
	slackMaxBlocks      = 50
	slackMaxFields      = 10   // per section
	slackMaxFieldText   = 2000 // per field
	slackMaxSectionText = 3000
	slackMaxHeader      = 150
)

// slackEscape escapes the three characters Slack's mrkdwn reads as markup.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// Slack renders m as an incoming webhook's JSON: a text fallback (for
// notifications) and blocks — a header, the fields ten to a section, the
// files as links, a link to the dashboard — within Slack's limits.
func (m Message) Slack() ([]byte, error) {
	type text struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	type block struct {
		Type     string `json:"type"`
		Text     *text  `json:"text,omitempty"`
		Fields   []text `json:"fields,omitempty"`
		Elements []text `json:"elements,omitempty"`
	}
	title := m.Title
	if m.Spam {
		title += " (spam)"
	}
	blocks := []block{{Type: "header", Text: &text{"plain_text", cut(title, slackMaxHeader)}}}
	var fields []text
	flush := func() {
		if len(fields) > 0 {
			blocks = append(blocks, block{Type: "section", Fields: fields})
			fields = nil
		}
	}
	for _, f := range m.Fields {
		fields = append(fields, text{"mrkdwn", cut("*"+slackEscape(f.Label)+"*\n"+slackEscape(f.Value), slackMaxFieldText)})
		if len(fields) == slackMaxFields {
			flush()
		}
	}
	flush()
	if len(m.Files) > 0 {
		var b strings.Builder
		for _, f := range m.Files {
			fmt.Fprintf(&b, "• <%s|%s> (%s)\n", f.URL, slackEscape(f.Name), submissions.SizeText(f.Size))
		}
		blocks = append(blocks, block{Type: "section", Text: &text{"mrkdwn", cut("*Files*\n"+b.String(), slackMaxSectionText)}})
	}
	link := block{Type: "context", Elements: []text{{"mrkdwn", "<" + m.Dashboard + "|View it in Intake>"}}}
	if len(blocks) > slackMaxBlocks-1 {
		blocks = append(blocks[:slackMaxBlocks-2], block{Type: "section", Text: &text{"mrkdwn", "More fields than a message can hold: see the rest in Intake."}})
	}
	blocks = append(blocks, link)
	return json.Marshal(map[string]any{"text": cut(title, slackMaxSectionText), "blocks": blocks})
}

// Discord's limits (discord.com/developers/docs/resources/message#embed-object-embed-limits).
const (
	discordMaxContent    = 2000
	discordMaxTitle      = 256
	discordMaxFields     = 25
	discordMaxFieldName  = 256
	discordMaxFieldValue = 1024
	discordMaxDesc       = 4096
	discordMaxEmbedTotal = 6000
)

// Discord renders m as a webhook's JSON: the title as content and one
// embed with the fields, the files in its description and its title
// linking to the dashboard; no mention is ever parsed (a submitter cannot
// ping @everyone). Within Discord's limits, the embed's 6,000 characters
// in all included.
func (m Message) Discord() ([]byte, error) {
	type field struct {
		Name   string `json:"name"`
		Value  string `json:"value"`
		Inline bool   `json:"inline"`
	}
	title := m.Title
	color := 0x2f6feb
	if m.Spam {
		title += " (spam)"
		color = 0xd29922
	}
	embedTitle := cut(title, discordMaxTitle)
	total := utf8.RuneCountInString(embedTitle)
	var desc strings.Builder
	for _, f := range m.Files {
		fmt.Fprintf(&desc, "📎 [%s](%s) (%s)\n", discordEscape(f.Name), f.URL, submissions.SizeText(f.Size))
	}
	description := cut(desc.String(), discordMaxDesc)
	total += utf8.RuneCountInString(description)
	var fields []field
	for i, f := range m.Fields {
		name, value := cut(discordMarkdown(f.Label), discordMaxFieldName), cut(discordMarkdown(f.Value), discordMaxFieldValue)
		if value == "" {
			value = "—"
		}
		if i == discordMaxFields-1 && len(m.Fields) > discordMaxFields ||
			total+utf8.RuneCountInString(name)+utf8.RuneCountInString(value) > discordMaxEmbedTotal-100 {
			fields = append(fields, field{Name: "More", Value: "More fields in Intake."})
			break
		}
		total += utf8.RuneCountInString(name) + utf8.RuneCountInString(value)
		fields = append(fields, field{Name: name, Value: value})
	}
	embed := map[string]any{"title": embedTitle, "url": m.Dashboard, "color": color, "fields": fields}
	if description != "" {
		embed["description"] = description
	}
	return json.Marshal(map[string]any{
		"content":          cut(title, discordMaxContent),
		"embeds":           []any{embed},
		"allowed_mentions": map[string]any{"parse": []string{}},
	})
}

// discordMarkdownChars are the characters Discord's markdown gives a
// meaning in an embed's fields: links ([text](url), which could show one
// address and open another), emphasis, code, spoilers, quotes, headings,
// lists, and <…> mentions and timestamps.
var discordMarkdownChars = strings.NewReplacer(
	`\`, `\\`, "*", `\*`, "_", `\_`, "~", `\~`, "`", "\\`", "|", `\|`, ">", `\>`, "<", `\<`,
	"[", `\[`, "]", `\]`, "(", `\(`, ")", `\)`, "#", `\#`, "-", `\-`)

// discordMarkdown shows s as written in a Discord embed field: every
// submitted value and field name is escaped, as Slack's and Telegram's are.
func discordMarkdown(s string) string { return discordMarkdownChars.Replace(s) }

// discordEscape keeps a file's name from closing its markdown link.
func discordEscape(s string) string {
	return strings.NewReplacer("[", "(", "]", ")", "\\", "/").Replace(s)
}

// telegramMaxText is sendMessage's limit on text, after entities are parsed.
const telegramMaxText = 4096

// Telegram renders m as the Bot API's sendMessage to chatID: HTML
// (every value escaped), link previews off, within 4,096 characters.
func (m Message) Telegram(chatID string) ([]byte, error) {
	title := m.Title
	if m.Spam {
		title += " (spam)"
	}
	var b strings.Builder
	b.WriteString("<b>" + html.EscapeString(title) + "</b>\n")
	budget := telegramMaxText - 200 // the link and files' lines below
	for _, f := range m.Fields {
		line := "\n<b>" + html.EscapeString(f.Label) + ":</b> " + html.EscapeString(f.Value)
		if utf8.RuneCountInString(b.String())+utf8.RuneCountInString(line) > budget {
			b.WriteString("\n" + html.EscapeString(more))
			break
		}
		b.WriteString(line)
	}
	for _, f := range m.Files {
		line := fmt.Sprintf("\n📎 <a href=\"%s\">%s</a> (%s)", html.EscapeString(f.URL), html.EscapeString(f.Name), submissions.SizeText(f.Size))
		if utf8.RuneCountInString(b.String())+utf8.RuneCountInString(line) > telegramMaxText-100 {
			break
		}
		b.WriteString(line)
	}
	b.WriteString("\n\n<a href=\"" + html.EscapeString(m.Dashboard) + "\">View it in Intake</a>")
	return json.Marshal(map[string]any{
		"chat_id": chatID, "text": b.String(), "parse_mode": "HTML",
		"link_preview_options": map[string]any{"is_disabled": true},
	})
}

// Example is a made-up submission to form, a value of each field's type:
// what a test event carries, and the sample of a form that has none yet.
func Example(form *forms.Form, now time.Time) *submissions.Submission {
	data := map[string]any{}
	for _, f := range form.Contract.Fields {
		var v any
		switch f.Type {
		case forms.TypeEmail:
			v = "ada@example.com"
		case forms.TypeNumber:
			v = json.Number("42")
		case forms.TypeURL:
			v = "https://example.com"
		case forms.TypeTel:
			v = "+44 20 7946 0958"
		case forms.TypeDate:
			v = now.UTC().Format("2006-01-02")
		case forms.TypeTextarea:
			v = "This is a test message from Intake.\nIt has two lines."
		case forms.TypeCheckbox:
			v = []any{"yes"}
		case forms.TypeSelect:
			v = "Example"
			if len(f.Options) > 0 {
				v = f.Options[0]
			}
		case forms.TypeFile:
			continue // an example has no file to fetch
		default:
			v = "Example " + f.Name
		}
		data[f.Name] = v
	}
	if len(data) == 0 {
		data["message"] = "This is a test message from Intake."
	}
	return &submissions.Submission{ID: uuid.NewSHA1(uuid.NameSpaceURL, []byte("intake example "+form.PublicID)),
		FormID: form.ID, FormPublicID: form.PublicID, ContractVersion: form.Contract.Version, Data: data, CreatedAt: now.UTC()}
}

// TestEventsPerMinute bounds the test events of one endpoint: each is a
// POST, sent at once, to a URL its account chose.
const TestEventsPerMinute = 10

// AccountTestEventsPerMinute bounds the test events of all of an
// account's endpoints together: more endpoints (or new ones) must not
// make Intake a faster sender of POSTs.
const AccountTestEventsPerMinute = 30

// ErrTestLimited: test events over TestEventsPerMinute (of, "An
// endpoint") or AccountTestEventsPerMinute ("An account").
func errTestLimited(of string, limit int, wait time.Duration) error {
	return &intake.Error{Kind: intake.Limited, Type: intake.TypeRateLimited, Title: "Too many test events", RetryAfter: wait,
		Detail: fmt.Sprintf("%s takes at most %d test events a minute. Try again in %d seconds.", of, limit, int(wait.Seconds())+1)}
}

// testLimits are the buckets of test events, in this process: one per
// endpoint and one per account.
type testLimits struct {
	mu sync.Mutex
	m  map[string]*tokenbucket.Bucket
}

// take takes a token from the endpoint's bucket and the account's, or
// from neither, and returns the limit that refused it.
func (l *testLimits) take(ep *Endpoint, accountID int64, now time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]*tokenbucket.Bucket{}
	}
	for k, b := range l.m {
		if now.Sub(b.At) > time.Minute {
			delete(l.m, k) // full again: nothing to keep
		}
	}
	bucket := func(key string, limit int) *tokenbucket.Bucket {
		b, ok := l.m[key]
		if !ok {
			b = &tokenbucket.Bucket{Tokens: float64(limit), At: now}
			l.m[key] = b
		}
		return b
	}
	endpoint, account := bucket("endpoint "+ep.PublicID, TestEventsPerMinute), bucket("account "+strconv.FormatInt(accountID, 10), AccountTestEventsPerMinute)
	// The account's first, on a copy: a refusal by the endpoint's must
	// not spend the account's token.
	trial := *account
	if wait, ok := trial.Take(now, AccountTestEventsPerMinute/60.0, AccountTestEventsPerMinute); !ok {
		return errTestLimited("An account", AccountTestEventsPerMinute, wait)
	}
	if wait, ok := endpoint.Take(now, TestEventsPerMinute/60.0, TestEventsPerMinute); !ok {
		return errTestLimited("An endpoint", TestEventsPerMinute, wait)
	}
	*account = trial
	return nil
}

// Test sends ep one made-up event now, rendered and sent as a delivery is
// (its format, its signature, the same guarded client), and answers what
// the receiver said. Nothing is stored: no delivery, no job, no count. At
// most TestEventsPerMinute an endpoint and AccountTestEventsPerMinute an
// account (a *intake.Error of kind Limited).
func (w *DeliveryWorker) Test(ctx context.Context, ep *Endpoint, form *forms.Form) (Attempt, error) {
	if err := w.tests.take(ep, form.AccountID, time.Now()); err != nil {
		return Attempt{}, err
	}
	sub := Example(form, time.Now())
	body, err := w.render(ctx, ep, form, sub)
	if err != nil {
		return Attempt{}, err
	}
	a, _ := w.send(ctx, ep, "msg_test_"+newPublicID(""), body)
	return a, nil
}
