package mail

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func testSubmission() Submission {
	return Submission{
		FormName:     "Contact",
		FormID:       "frm_abc123",
		SubmissionID: "sub_123",
		CreatedAt:    time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("CET", 3600)),
		Fields: []Field{
			{Name: "name", Label: "Your name", Value: "Ada Lovelace"},
			{Name: "email", Value: "ada@example.org"},
			{Name: "message", Label: "Message", Value: "First line\r\nSecond line\n\nFourth line"},
			{Name: "topics", Label: "Topics", Value: "math, engines"},
			{Name: "html", Label: "Sneaky <b>label</b>", Value: `<script>alert("x")</script> & "quotes"`},
		},
		IP:           "203.0.113.7",
		UserAgent:    "Mozilla/5.0 (X11; Linux x86_64)",
		Referrer:     "https://example.org/contact?a=1&b=2",
		DashboardURL: "https://intake.example.com/forms/frm_abc123/submissions/sub_123",
	}
}

func TestNotificationDefaultSubjectAndFields(t *testing.T) {
	t.Parallel()
	s := testSubmission()
	id := MessageID("intake.example.com", "sub_123", "owner@example.com", "notification")
	m := Notification("Intake <no-reply@intake.example.com>", "owner@example.com", nil, "", "", s, id)

	if m.Subject != "New submission to Contact" {
		t.Errorf("Subject = %q, want the default", m.Subject)
	}
	if m.From != "Intake <no-reply@intake.example.com>" || len(m.To) != 1 || m.To[0] != "owner@example.com" {
		t.Errorf("From, To = %q, %q", m.From, m.To)
	}
	if m.MessageID != id {
		t.Errorf("MessageID = %q, want %q", m.MessageID, id)
	}
	if m.ReplyTo != "" || len(m.Cc) != 0 {
		t.Errorf("ReplyTo, Cc = %q, %q, want none", m.ReplyTo, m.Cc)
	}

	for _, want := range []string{
		"Your name: Ada Lovelace\n",
		"email: ada@example.org\n", // no label: the name
		"Message:\n    First line\n    Second line\n\n    Fourth line\n",
		"Topics: math, engines\n",
		`Sneaky <b>label</b>: <script>alert("x")</script> & "quotes"` + "\n",
		"Form: Contact (frm_abc123)\n",
		"Submission: sub_123\n",
		"Received: 2026-03-04 04:06:07 UTC\n",
		"IP address: 203.0.113.7\n",
		"User agent: Mozilla/5.0 (X11; Linux x86_64)\n",
		"Referrer: https://example.org/contact?a=1&b=2\n",
		s.DashboardURL,
	} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("text body lacks %q:\n%s", want, m.Text)
		}
	}
	if strings.Contains(m.Text, "\r") {
		t.Error("text body contains CR")
	}

	for _, want := range []string{
		"Your name", "Ada Lovelace", "ada@example.org", "First line\nSecond line\n\nFourth line",
		"math, engines", "frm_abc123", "sub_123", "203.0.113.7",
		"Sneaky &lt;b&gt;label&lt;/b&gt;",
		"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#34;quotes&#34;",
		"https://example.org/contact?a=1&amp;b=2",
		`href="` + s.DashboardURL + `"`,
		"<table", "style=",
	} {
		if !strings.Contains(m.HTML, want) {
			t.Errorf("HTML body lacks %q:\n%s", want, m.HTML)
		}
	}
	if strings.Contains(m.HTML, "<script>") || strings.Contains(m.HTML, "<b>") {
		t.Errorf("HTML body contains unescaped user input:\n%s", m.HTML)
	}
}

func TestNotificationCustomSubjectReplyToCc(t *testing.T) {
	t.Parallel()
	cc := []string{
		"one@example.com", "not an address", " two@example.com ", "owner@example.com",
		"ONE@example.com", "Name <three@example.com>", "three@example.com", "four@example.com",
		"five@example.com\r\nBcc: evil@example.net", "five@example.com", "six@example.com",
	}
	m := Notification("no-reply@localhost", "owner@example.com", cc, " ada@example.org ",
		"  Question about\r\n pricing  ", testSubmission(), "<x@localhost>")

	if m.Subject != "Question about pricing" {
		t.Errorf("Subject = %q", m.Subject)
	}
	if m.ReplyTo != "ada@example.org" {
		t.Errorf("ReplyTo = %q, want ada@example.org", m.ReplyTo)
	}
	want := []string{"one@example.com", "two@example.com", "three@example.com", "four@example.com", "five@example.com"}
	if strings.Join(m.Cc, ",") != strings.Join(want, ",") {
		t.Errorf("Cc = %q, want %q", m.Cc, want)
	}
}

func TestNotificationInvalidReplyTo(t *testing.T) {
	t.Parallel()
	for _, replyTo := range []string{
		"nope", "ada@example.org\r\nBcc: evil@example.net", "ada@example.org\nX: y",
		"Ada <ada@example.org>", "a@example.org, b@example.org", "@example.org",
	} {
		m := Notification("no-reply@localhost", "owner@example.com", nil, replyTo, "", testSubmission(), "<x@localhost>")
		if m.ReplyTo != "" {
			t.Errorf("replyTo %q: ReplyTo = %q, want none", replyTo, m.ReplyTo)
		}
	}
}

func TestNotificationHeaderValuesAreOneLine(t *testing.T) {
	t.Parallel()
	s := testSubmission()
	s.FormName = "Contact\r\nBcc: evil@example.net"
	m := Notification("no-reply@localhost", "owner@example.com", nil, "", "", s, "<x@localhost>")
	if m.Subject != "New submission to Contact Bcc: evil@example.net" {
		t.Errorf("Subject = %q", m.Subject)
	}
	m = Notification("no-reply@localhost", "owner@example.com", nil, "", "Hi\r\nBcc: evil@example.net\n\nbody", s, "<x@localhost>")
	if m.Subject != "Hi Bcc: evil@example.net body" {
		t.Errorf("Subject = %q", m.Subject)
	}
	m = Notification("no-reply@localhost", "owner@example.com", nil, "", "\r\n\t ", s, "<x@localhost>")
	if !strings.HasPrefix(m.Subject, "New submission to Contact") {
		t.Errorf("a subject of only whitespace gave %q, want the default", m.Subject)
	}
}

func TestNotificationTextCannotForgeLines(t *testing.T) {
	t.Parallel()
	s := Submission{FormName: "F", Fields: []Field{
		{Name: "a\nIP address: 1.2.3.4", Value: "x"},
		{Name: "b", Value: "line\nIP address: 1.2.3.4"},
	}}
	m := Notification("no-reply@localhost", "owner@example.com", nil, "", "", s, "<x@localhost>")
	for _, line := range strings.Split(m.Text, "\n") {
		if strings.HasPrefix(line, "IP address:") {
			t.Errorf("a submitted value produced the top-level line %q:\n%s", line, m.Text)
		}
	}
	if !strings.Contains(m.Text, "a IP address: 1.2.3.4: x\n") || !strings.Contains(m.Text, "b:\n    line\n    IP address: 1.2.3.4\n") {
		t.Errorf("text body:\n%s", m.Text)
	}
}

func TestNotificationWithoutFieldsOrMetadata(t *testing.T) {
	t.Parallel()
	m := Notification("no-reply@localhost", "owner@example.com", nil, "", "", Submission{}, "<x@localhost>")
	if m.Subject != "New submission" {
		t.Errorf("Subject = %q", m.Subject)
	}
	if !strings.Contains(m.Text, "(no fields)") || !strings.Contains(m.HTML, "(no fields)") {
		t.Errorf("bodies do not say there are no fields:\n%s\n%s", m.Text, m.HTML)
	}
	if strings.Contains(m.HTML, "href") || strings.Contains(m.Text, "dashboard") {
		t.Error("a dashboard link without a URL")
	}
}

func TestSubjectIsCapped(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 500)
	m := Notification("no-reply@localhost", "owner@example.com", nil, "", long, testSubmission(), "<x@localhost>")
	if n := utf8.RuneCountInString(m.Subject); n != maxSubject {
		t.Errorf("subject has %d characters, want %d", n, maxSubject)
	}
	if !utf8.ValidString(m.Subject) || !strings.HasSuffix(m.Subject, "…") {
		t.Errorf("subject %q is not valid UTF-8 ending in an ellipsis", m.Subject)
	}

	s := testSubmission()
	s.FormName = strings.Repeat("x", 300)
	m = Notification("no-reply@localhost", "owner@example.com", nil, "", "", s, "<x@localhost>")
	if n := utf8.RuneCountInString(m.Subject); n != maxSubject {
		t.Errorf("default subject has %d characters, want %d", n, maxSubject)
	}
}

func TestAutoresponse(t *testing.T) {
	t.Parallel()
	body := "Thanks for writing!\r\nWe answer within 2 days.\n\n<b>Bold</b> & co"
	m := Autoresponse("Intake <no-reply@localhost>", " ada@example.org ", "", body, testSubmission().FormName, "<a@localhost>")

	if m.Subject != "We received your message" {
		t.Errorf("Subject = %q, want the default", m.Subject)
	}
	if len(m.To) != 1 || m.To[0] != "ada@example.org" || m.ReplyTo != "" || len(m.Cc) != 0 {
		t.Errorf("To, ReplyTo, Cc = %q, %q, %q", m.To, m.ReplyTo, m.Cc)
	}
	if m.Headers["Auto-Submitted"] != "auto-replied" {
		t.Errorf("Auto-Submitted = %q, want auto-replied", m.Headers["Auto-Submitted"])
	}
	if m.MessageID != "<a@localhost>" {
		t.Errorf("MessageID = %q", m.MessageID)
	}
	if want := "Thanks for writing!\nWe answer within 2 days.\n\n<b>Bold</b> & co\n"; m.Text != want {
		t.Errorf("Text = %q, want %q", m.Text, want)
	}
	if want := "Thanks for writing!<br>\nWe answer within 2 days.<br>\n<br>\n&lt;b&gt;Bold&lt;/b&gt; &amp; co"; !strings.Contains(m.HTML, want) {
		t.Errorf("HTML lacks %q:\n%s", want, m.HTML)
	}
	if strings.Contains(m.HTML, "<b>") {
		t.Errorf("HTML contains unescaped text:\n%s", m.HTML)
	}

	m = Autoresponse("no-reply@localhost", "ada@example.org", "Re: your\r\nBcc: evil@example.net message", "", testSubmission().FormName, "<a@localhost>")
	if m.Subject != "Re: your Bcc: evil@example.net message" {
		t.Errorf("Subject = %q", m.Subject)
	}
	if !strings.Contains(m.Text, "Contact") {
		t.Errorf("an empty body gave %q, want a thank-you naming the form", m.Text)
	}
}

func TestEndpointDisabled(t *testing.T) {
	t.Parallel()
	m := EndpointDisabled("Intake <no-reply@localhost>", "owner@example.com",
		"https://hooks.example.com/intake?token=a&b=<c>", "Contact\r\nBcc: evil@example.net",
		"every delivery failed for 5 days (last: HTTP 500)",
		"https://intake.example.com/forms/frm_1/webhooks/wh_1", "<e@localhost>")

	if m.Subject != "Webhook endpoint disabled for Contact Bcc: evil@example.net" {
		t.Errorf("Subject = %q", m.Subject)
	}
	if len(m.To) != 1 || m.To[0] != "owner@example.com" || m.MessageID != "<e@localhost>" {
		t.Errorf("To, MessageID = %q, %q", m.To, m.MessageID)
	}
	if m.Headers["Auto-Submitted"] != "auto-generated" {
		t.Errorf("Auto-Submitted = %q", m.Headers["Auto-Submitted"])
	}
	for _, want := range []string{
		"https://hooks.example.com/intake?token=a&b=<c>",
		"Reason: every delivery failed for 5 days (last: HTTP 500)",
		"https://intake.example.com/forms/frm_1/webhooks/wh_1",
		"re-enable",
	} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, m.Text)
		}
	}
	for _, want := range []string{
		"https://hooks.example.com/intake?token=a&amp;b=&lt;c&gt;",
		"every delivery failed for 5 days (last: HTTP 500)",
		`href="https://intake.example.com/forms/frm_1/webhooks/wh_1"`,
	} {
		if !strings.Contains(m.HTML, want) {
			t.Errorf("HTML lacks %q:\n%s", want, m.HTML)
		}
	}
}

func TestHTMLRefusesUnsafeDashboardURL(t *testing.T) {
	t.Parallel()
	s := testSubmission()
	s.DashboardURL = "javascript:alert(1)"
	m := Notification("no-reply@localhost", "owner@example.com", nil, "", "", s, "<x@localhost>")
	if strings.Contains(m.HTML, `href="javascript:`) {
		t.Errorf("HTML links to a javascript: URL:\n%s", m.HTML)
	}
}

// A notification with an unsubscribe link carries RFC 8058's two headers
// (built into a valid message) and shows the link in both bodies; one
// without carries neither.
func TestNotificationUnsubscribe(t *testing.T) {
	t.Parallel()
	s := testSubmission()
	s.UnsubscribeURL = "https://intake.example.com/unsubscribe?token=abc.def"
	m := Notification("no-reply@localhost", "owner@example.com", nil, "", "", s, "<x@localhost>")
	if m.Headers["List-Unsubscribe"] != "<https://intake.example.com/unsubscribe?token=abc.def>" ||
		m.Headers["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click" {
		t.Errorf("headers = %v", m.Headers)
	}
	if !strings.Contains(m.Text, "Stop these emails: "+s.UnsubscribeURL) || !strings.Contains(m.HTML, `href="`+s.UnsubscribeURL+`"`) {
		t.Errorf("the link is not in both bodies:\n%s\n%s", m.Text, m.HTML)
	}
	if _, err := build(m); err != nil {
		t.Fatal(err)
	}
	s.UnsubscribeURL = ""
	if m := Notification("no-reply@localhost", "owner@example.com", nil, "", "", s, "<x@localhost>"); len(m.Headers) != 0 || strings.Contains(m.Text, "Stop these") {
		t.Errorf("no link, yet headers %v or text %q", m.Headers, m.Text)
	}
}

// A notification with a Cc list (the submitter's _cc, on a form that allows
// it) carries no unsubscribe link at all: the link is To's, and the copies
// go to addresses the submitter chose. A Cc list of only invalid addresses or
// of To itself is no Cc list: the link stays.
func TestNotificationWithCcHasNoUnsubscribe(t *testing.T) {
	t.Parallel()
	s := testSubmission()
	s.UnsubscribeURL = "https://intake.example.com/unsubscribe?token=abc.def"
	m := Notification("no-reply@localhost", "owner@example.com", []string{"submitter@example.net"}, "", "", s, "<x@localhost>")
	if len(m.Cc) != 1 {
		t.Fatalf("Cc = %q, want the submitter's address", m.Cc)
	}
	if _, ok := m.Headers["List-Unsubscribe"]; ok {
		t.Errorf("a notification with Cc has List-Unsubscribe: %v", m.Headers)
	}
	if _, ok := m.Headers["List-Unsubscribe-Post"]; ok {
		t.Errorf("a notification with Cc has List-Unsubscribe-Post: %v", m.Headers)
	}
	if strings.Contains(m.Text, "/unsubscribe") || strings.Contains(m.Text, "Stop these") {
		t.Errorf("the text of a notification with Cc has the unsubscribe link:\n%s", m.Text)
	}
	if strings.Contains(m.HTML, "/unsubscribe") || strings.Contains(m.HTML, "Stop these") {
		t.Errorf("the HTML of a notification with Cc has the unsubscribe link:\n%s", m.HTML)
	}
	if _, err := build(m); err != nil {
		t.Fatal(err)
	}

	m = Notification("no-reply@localhost", "owner@example.com", []string{"not an address", "OWNER@example.com"}, "", "", s, "<x@localhost>")
	if len(m.Cc) != 0 || m.Headers["List-Unsubscribe"] != "<"+s.UnsubscribeURL+">" ||
		!strings.Contains(m.Text, "Stop these emails: "+s.UnsubscribeURL) || !strings.Contains(m.HTML, `href="`+s.UnsubscribeURL+`"`) {
		t.Errorf("no valid Cc, yet Cc %q, headers %v, text:\n%s", m.Cc, m.Headers, m.Text)
	}
}

// The confirmation names the form (on one line, cut short) and carries the
// link; the copy without a link says it was withheld.
func TestRecipientConfirmation(t *testing.T) {
	t.Parallel()
	name := "Sales\r\nBcc: evil@example.net " + strings.Repeat("x", 200)
	m := RecipientConfirmation("no-reply@localhost", "c@example.com", name, "https://i.example/confirm?token=t0k", "<c@localhost>")
	if strings.ContainsAny(m.Subject, "\r\n") || utf8.RuneCountInString(m.Subject) > 140 {
		t.Errorf("Subject = %q", m.Subject)
	}
	if !strings.Contains(m.Text, "https://i.example/confirm?token=t0k") || !strings.Contains(m.HTML, "https://i.example/confirm?token=t0k") {
		t.Errorf("the link is not in both bodies")
	}
	kept := RecipientConfirmation("no-reply@localhost", "c@example.com", name, "", "<c@localhost>")
	if strings.Contains(kept.Text+kept.HTML, "token") || !strings.Contains(kept.Text, "sent to the recipient only") {
		t.Errorf("the kept copy:\n%s", kept.Text)
	}
	if _, err := build(m); err != nil {
		t.Fatal(err)
	}
}
