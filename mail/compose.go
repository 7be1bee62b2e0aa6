package mail

import (
	"html"
	"html/template"
	"strings"
	"time"
)

// maxCc is how many Cc addresses a notification keeps.
const maxCc = 5

// Field is one submitted field as an email shows it.
type Field struct {
	Name  string // the field's name, shown when Label is empty
	Label string // may be empty
	Value string // already flattened to text (lists joined with ", "); may span lines
}

// Submission is what the notification and autoresponse show.
type Submission struct {
	FormName     string
	FormID       string // public form id
	SubmissionID string // "sub_…"
	CreatedAt    time.Time
	Fields       []Field // in display order
	IP           string
	UserAgent    string
	Referrer     string
	DashboardURL string // link to the submission in the dashboard
	// UnsubscribeURL is the recipient's one-click unsubscribe link (RFC
	// 8058); "" for none.
	UnsubscribeURL string
	// Files are the submission's files: attached (the Message's
	// Attachments carry them) or linked.
	Files []FileRef
	// Intro is the owner's text, shown above the fields ("" for none).
	Intro string
}

// FileRef is a submission's file as a notification names it.
type FileRef struct {
	Name     string
	Size     string // for people: "14.2 KB"
	Attached bool   // in the message's attachments
	URL      string // where to download it when not attached
}

// Notification returns the owner's email for a submission: From from, To to, Cc
// the first five valid, distinct addresses of cc, Reply-To replyTo when it is a
// valid address, Subject subject or "New submission to <form name>" when
// subject is empty, a plain-text body listing every field and the metadata, an
// HTML body showing the same as a table with every value escaped, the dashboard
// link in both, and Message-ID messageID. With s.UnsubscribeURL it carries the
// RFC 8058 headers List-Unsubscribe and List-Unsubscribe-Post, and the link
// in both bodies — unless the message has a Cc list: then it carries no
// unsubscribe link at all. The Cc addresses are the submitter's choice
// (_cc, on a form whose owner turned allow_cc on) and the link is To's: a
// copy carrying it would let the submitter, or any stranger they copy,
// silently unsubscribe the owner or a confirmed recipient.
func Notification(from, to string, cc []string, replyTo, subject string, s Submission, messageID string) *Message {
	to = strings.TrimSpace(to)
	formName := oneLine(s.FormName)
	subject = subjectLine(subject)
	if subject == "" {
		subject = subjectLine(newSubmissionTitle(formName))
	}
	m := &Message{
		From:      from,
		To:        []string{to},
		Cc:        keepCc(to, cc),
		Subject:   subject,
		MessageID: messageID,
	}
	if r := strings.TrimSpace(replyTo); ValidAddress(r) {
		m.ReplyTo = r
	}

	v := notificationView{Title: newSubmissionTitle(formName), DashboardURL: oneLine(s.DashboardURL), UnsubscribeURL: oneLine(s.UnsubscribeURL),
		Intro: strings.TrimSpace(normalizeNewlines(s.Intro))}
	if len(m.Cc) > 0 {
		// Copies go to addresses the submitter chose: To's one-click link
		// must not reach them (see above).
		v.UnsubscribeURL = ""
	}
	if v.UnsubscribeURL != "" {
		m.Headers = map[string]string{
			"List-Unsubscribe":      "<" + v.UnsubscribeURL + ">",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		}
	}
	for _, f := range s.Fields {
		v.Fields = append(v.Fields, row{Label: fieldLabel(f), Value: fieldValue(f.Value)})
	}
	for _, f := range s.Files {
		r := fileRow{Name: oneLine(f.Name), Size: oneLine(f.Size)}
		if !f.Attached {
			r.URL = oneLine(f.URL)
		}
		v.Files = append(v.Files, r)
	}
	if formName != "" || s.FormID != "" {
		form := formName
		if id := oneLine(s.FormID); id != "" {
			form = strings.TrimSpace(form + " (" + id + ")")
		}
		v.Meta = append(v.Meta, row{"Form", form})
	}
	v.Meta = appendMeta(v.Meta, "Submission", s.SubmissionID)
	if !s.CreatedAt.IsZero() {
		v.Meta = append(v.Meta, row{"Received", s.CreatedAt.UTC().Format("2006-01-02 15:04:05 UTC")})
	}
	v.Meta = appendMeta(v.Meta, "IP address", s.IP)
	v.Meta = appendMeta(v.Meta, "User agent", s.UserAgent)
	v.Meta = appendMeta(v.Meta, "Referrer", s.Referrer)

	m.Text = notificationText(v)
	m.HTML = render(notificationHTML, v)
	return m
}

// Autoresponse returns the optional reply to the submitter: To to, Subject
// subject (default "We received your message"), the form owner's body as plain
// text and as HTML (escaped, line breaks kept), the headers Auto-Submitted:
// auto-replied and X-Auto-Response-Suppress: All, and no Reply-To. An empty body
// becomes a short thank-you naming the form formName. It carries the owner's
// text only, never a submitted value: whoever submits chooses the address it
// goes to, so anything they typed would make it a relay.
func Autoresponse(from, to, subject, body, formName, messageID string) *Message {
	subject = subjectLine(subject)
	if subject == "" {
		subject = "We received your message"
	}
	body = strings.TrimSpace(normalizeNewlines(body))
	if body == "" {
		body = "Thank you, we received your message."
		if name := oneLine(formName); name != "" {
			body = "Thank you, we received your message to " + name + "."
		}
	}
	return &Message{
		From:      from,
		To:        []string{strings.TrimSpace(to)},
		Subject:   subject,
		Text:      body + "\n",
		HTML:      render(autoresponseHTML, template.HTML(strings.ReplaceAll(html.EscapeString(body), "\n", "<br>\n"))),
		MessageID: messageID,
		Headers: map[string]string{
			// RFC 3834, so that auto-responders do not answer back; Exchange
			// reads only its own header.
			"Auto-Submitted":           "auto-replied",
			"X-Auto-Response-Suppress": "All",
		},
	}
}

// EndpointDisabled returns the email telling an owner that the webhook endpoint
// endpointURL of the form formName was disabled, why (reason), and that
// dashboardURL is where to re-enable it; it carries Auto-Submitted:
// auto-generated and Message-ID messageID.
func EndpointDisabled(from, to, endpointURL, formName, reason, dashboardURL, messageID string) *Message {
	formName = oneLine(formName)
	v := endpointView{
		FormName:     formName,
		EndpointURL:  oneLine(endpointURL),
		Reason:       oneLine(reason),
		DashboardURL: oneLine(dashboardURL),
	}
	subject := "Webhook endpoint disabled"
	if formName != "" {
		subject += " for " + formName
	}
	return &Message{
		From:      from,
		To:        []string{strings.TrimSpace(to)},
		Subject:   subjectLine(subject),
		Text:      endpointText(v),
		HTML:      render(endpointHTML, v),
		MessageID: messageID,
		Headers:   map[string]string{"Auto-Submitted": "auto-generated"},
	}
}

// RecipientConfirmation returns the email that asks to whom it may concern
// whether the address to wants the notifications of the form formName: To
// to, the link confirmURL (a page with a button, so a mail scanner that
// fetches links confirms nothing) in both bodies, Auto-Submitted:
// auto-generated and Message-ID messageID. With confirmURL "" the bodies say
// the link was withheld: the copy kept in the outbox, which the form's owner
// can read, must not let them confirm for the recipient.
func RecipientConfirmation(from, to, formName, confirmURL, messageID string) *Message {
	formName = oneLine(formName)
	if r := []rune(formName); len(r) > 100 {
		formName = string(r[:99]) + "…"
	}
	v := confirmationView{FormName: formName, URL: oneLine(confirmURL)}
	return &Message{
		From:      from,
		To:        []string{strings.TrimSpace(to)},
		Subject:   subjectLine("Confirm notifications of the form " + formName),
		Text:      confirmationText(v),
		HTML:      render(confirmationHTML, v),
		MessageID: messageID,
		Headers:   map[string]string{"Auto-Submitted": "auto-generated"},
	}
}

type confirmationView struct{ FormName, URL string }

func confirmationText(v confirmationView) string {
	var b strings.Builder
	b.WriteString("Someone asked Intake, a form backend, to send the submissions of the form " + v.FormName + " to this address.\n\n")
	if v.URL != "" {
		b.WriteString("If you want them, confirm here:\n\n    " + v.URL + "\n\n")
	} else {
		b.WriteString("(The confirmation link was sent to the recipient only.)\n\n")
	}
	b.WriteString("If you did not expect this, ignore this email: nothing will be sent to you unless you confirm, and you will not be asked again for a day.\n")
	return b.String()
}

// keepCc returns the first maxCc valid addresses of cc, without repeats and
// without to.
func keepCc(to string, cc []string) []string {
	seen := map[string]bool{strings.ToLower(to): true}
	var kept []string
	for _, c := range cc {
		c = strings.TrimSpace(c)
		if !ValidAddress(c) || seen[strings.ToLower(c)] {
			continue
		}
		seen[strings.ToLower(c)] = true
		kept = append(kept, c)
		if len(kept) == maxCc {
			break
		}
	}
	return kept
}

func newSubmissionTitle(formName string) string {
	if formName == "" {
		return "New submission"
	}
	return "New submission to " + formName
}

// row is one label and value of a table.
type row struct{ Label, Value string }

type notificationView struct {
	Title          string
	Intro          string // the owner's text, above the fields
	Fields         []row
	Files          []fileRow
	Meta           []row
	DashboardURL   string
	UnsubscribeURL string
}

// fileRow is a file in a notification: attached when URL is "".
type fileRow struct{ Name, Size, URL string }

type endpointView struct {
	FormName, EndpointURL, Reason, DashboardURL string
}

// fieldLabel is the one-line name a field is shown under.
func fieldLabel(f Field) string {
	if l := oneLine(f.Label); l != "" {
		return l
	}
	if n := oneLine(f.Name); n != "" {
		return n
	}
	return "(unnamed)"
}

// fieldValue normalises a value's line breaks, drops other control characters
// (tabs stay) and trailing blank lines.
func fieldValue(v string) string {
	v = strings.Map(func(r rune) rune {
		if r != '\n' && r != '\t' && isBreak(r) {
			return -1
		}
		return r
	}, normalizeNewlines(v))
	return strings.TrimRight(v, " \t\n")
}

func normalizeNewlines(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

func appendMeta(rows []row, label, value string) []row {
	if value = oneLine(value); value != "" {
		rows = append(rows, row{label, value})
	}
	return rows
}

// notificationText lays fields out as "Label: value"; a value of several lines
// starts on the next line and every line is indented, so that no value can pass
// for another field.
func notificationText(v notificationView) string {
	var b strings.Builder
	b.WriteString(v.Title + "\n\n")
	if v.Intro != "" {
		b.WriteString(v.Intro + "\n\n")
	}
	if len(v.Fields) == 0 {
		b.WriteString("(no fields)\n")
	}
	for _, f := range v.Fields {
		writeTextRow(&b, f)
	}
	if len(v.Files) > 0 {
		b.WriteString("\nFiles:\n")
		for _, f := range v.Files {
			if f.URL == "" {
				b.WriteString("  " + f.Name + " (" + f.Size + "), attached\n")
			} else {
				b.WriteString("  " + f.Name + " (" + f.Size + "), too big to attach: " + f.URL + "\n")
			}
		}
	}
	if len(v.Meta) > 0 {
		b.WriteString("\n--\n")
		for _, m := range v.Meta {
			writeTextRow(&b, m)
		}
	}
	if v.DashboardURL != "" {
		b.WriteString("\nView it in the dashboard: " + v.DashboardURL + "\n")
	}
	if v.UnsubscribeURL != "" {
		b.WriteString("\nStop these emails: " + v.UnsubscribeURL + "\n")
	}
	return b.String()
}

func writeTextRow(b *strings.Builder, r row) {
	switch {
	case r.Value == "":
		b.WriteString(r.Label + ":\n")
	case !strings.Contains(r.Value, "\n"):
		b.WriteString(r.Label + ": " + r.Value + "\n")
	default:
		b.WriteString(r.Label + ":\n")
		for _, line := range strings.Split(r.Value, "\n") {
			b.WriteString(strings.TrimRight("    "+line, " \t") + "\n")
		}
	}
}

func endpointText(v endpointView) string {
	var b strings.Builder
	if v.FormName != "" {
		b.WriteString("Intake stopped delivering the submissions of the form " + v.FormName + " to this webhook endpoint:\n\n")
	} else {
		b.WriteString("Intake stopped delivering submissions to this webhook endpoint:\n\n")
	}
	b.WriteString("    " + v.EndpointURL + "\n\n")
	if v.Reason != "" {
		b.WriteString("Reason: " + v.Reason + "\n\n")
	}
	b.WriteString("New submissions are still accepted and kept, but they are not sent to this endpoint until you re-enable it.")
	if v.DashboardURL != "" {
		b.WriteString(" Re-enable it in the dashboard; from there you can also redeliver what failed:\n\n" + v.DashboardURL + "\n")
	} else {
		b.WriteString("\n")
	}
	return b.String()
}

// render executes t; the templates are fixed and their data plain strings, so
// an error is a bug in this package.
func render(t *template.Template, data any) string {
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		panic("mail: template " + t.Name() + ": " + err.Error())
	}
	return b.String()
}

// The HTML is inline-styled tables: what mail clients render most alike.
const (
	htmlHead = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"></head>
<body style="margin:0;padding:24px;background:#f6f7f9;font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;font-size:14px;line-height:1.5;color:#1f2328;">
<div style="max-width:640px;margin:0 auto;background:#ffffff;border:1px solid #d8dee4;border-radius:6px;padding:24px;">
`
	htmlFoot = `</div>
</body></html>
`
	thStyle   = `text-align:left;vertical-align:top;padding:8px 16px 8px 0;border-top:1px solid #eaeef2;width:30%;font-weight:600;`
	tdStyle   = `vertical-align:top;padding:8px 0;border-top:1px solid #eaeef2;white-space:pre-wrap;word-break:break-word;`
	linkStyle = `display:inline-block;padding:8px 14px;background:#1f6feb;color:#ffffff;border-radius:6px;text-decoration:none;font-weight:600;`
)

var (
	notificationHTML = template.Must(template.New("notification").Parse(htmlHead + `<h1 style="font-size:18px;margin:0 0 16px;">{{.Title}}</h1>
{{- with .Intro}}
<p style="margin:0 0 16px;white-space:pre-wrap;">{{.}}</p>
{{- end}}
<table role="presentation" cellpadding="0" cellspacing="0" style="width:100%;border-collapse:collapse;">
{{- range .Fields}}
<tr><th style="` + thStyle + `">{{.Label}}</th><td style="` + tdStyle + `">{{.Value}}</td></tr>
{{- else}}
<tr><td style="` + tdStyle + `">(no fields)</td></tr>
{{- end}}
</table>
{{- if .Files}}
<h2 style="font-size:15px;margin:24px 0 8px;">Files</h2>
<ul style="margin:0;padding-left:20px;">
{{- range .Files}}
<li>{{.Name}} ({{.Size}}){{if .URL}}, too big to attach: <a href="{{.URL}}" style="` + linkStyle + `">download</a>{{else}}, attached{{end}}</li>
{{- end}}
</ul>
{{- end}}
{{- if .Meta}}
<table role="presentation" cellpadding="0" cellspacing="0" style="width:100%;border-collapse:collapse;margin-top:24px;font-size:12px;color:#59636e;">
{{- range .Meta}}
<tr><th style="` + thStyle + `">{{.Label}}</th><td style="` + tdStyle + `">{{.Value}}</td></tr>
{{- end}}
</table>
{{- end}}
{{- if .DashboardURL}}
<p style="margin:24px 0 0;"><a href="{{.DashboardURL}}" style="` + linkStyle + `">View in the dashboard</a></p>
<p style="margin:8px 0 0;font-size:12px;color:#59636e;word-break:break-all;">{{.DashboardURL}}</p>
{{- end}}
{{- if .UnsubscribeURL}}
<p style="margin:24px 0 0;font-size:12px;color:#59636e;"><a href="{{.UnsubscribeURL}}" style="color:#59636e;">Stop these emails</a> (unsubscribe from this form's notifications)</p>
{{- end}}
` + htmlFoot))

	confirmationHTML = template.Must(template.New("confirmation").Parse(htmlHead + `<h1 style="font-size:18px;margin:0 0 16px;">Confirm notifications</h1>
<p style="margin:0 0 16px;">Someone asked Intake, a form backend, to send the submissions of the form <strong>{{.FormName}}</strong> to this address.</p>
{{- if .URL}}
<p style="margin:0 0 8px;"><a href="{{.URL}}" style="` + linkStyle + `">Confirm</a></p>
<p style="margin:0 0 16px;font-size:12px;color:#59636e;word-break:break-all;">{{.URL}}</p>
{{- else}}
<p style="margin:0 0 16px;">(The confirmation link was sent to the recipient only.)</p>
{{- end}}
<p style="margin:0;">If you did not expect this, ignore this email: nothing will be sent to you unless you confirm, and you will not be asked again for a day.</p>
` + htmlFoot))

	autoresponseHTML = template.Must(template.New("autoresponse").Parse(htmlHead + `<p style="margin:0;">{{.}}</p>
` + htmlFoot))

	endpointHTML = template.Must(template.New("endpoint").Parse(htmlHead + `<h1 style="font-size:18px;margin:0 0 16px;">Webhook endpoint disabled</h1>
<p style="margin:0 0 8px;">Intake stopped delivering {{if .FormName}}the submissions of the form <strong>{{.FormName}}</strong>{{else}}submissions{{end}} to this webhook endpoint:</p>
<p style="margin:0 0 16px;font-family:monospace;word-break:break-all;">{{.EndpointURL}}</p>
{{- if .Reason}}
<p style="margin:0 0 16px;"><strong>Reason:</strong> {{.Reason}}</p>
{{- end}}
<p style="margin:0 0 16px;">New submissions are still accepted and kept, but they are not sent to this endpoint until you re-enable it.{{if .DashboardURL}} Re-enable it in the dashboard; from there you can also redeliver what failed.{{end}}</p>
{{- if .DashboardURL}}
<p style="margin:0;"><a href="{{.DashboardURL}}" style="` + linkStyle + `">Open the endpoint</a></p>
<p style="margin:8px 0 0;font-size:12px;color:#59636e;word-break:break-all;">{{.DashboardURL}}</p>
{{- end}}
` + htmlFoot))
)
