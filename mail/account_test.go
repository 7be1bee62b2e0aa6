package mail

import (
	"strings"
	"testing"
	"time"
)

// The account emails carry their one link in both bodies (the HTML's
// escaped), say until when it works, and are marked auto-generated.
func TestAccountEmails(t *testing.T) {
	t.Parallel()
	expires := time.Date(2026, 12, 2, 10, 30, 0, 0, time.UTC)
	for name, m := range map[string]*Message{
		"verify": VerifyAddress("Intake <no-reply@intake.test>", " ada@example.com", "http://intake.test/verify?token=a-b_c", expires, "<1@intake.test>"),
		"reset":  PasswordReset("Intake <no-reply@intake.test>", " ada@example.com", "http://intake.test/reset?token=a-b_c", expires, "<1@intake.test>"),
	} {
		link := "http://intake.test/" + name + "?token=a-b_c"
		if m.To[0] != "ada@example.com" || m.Link != link || m.Headers["Auto-Submitted"] != "auto-generated" || m.MessageID != "<1@intake.test>" {
			t.Errorf("%s: %+v", name, m)
		}
		if !strings.Contains(m.Text, "\n    "+link+"\n") || !strings.Contains(m.Text, "2 Dec 2026, 10:30 UTC") {
			t.Errorf("%s text:\n%s", name, m.Text)
		}
		if !strings.Contains(m.HTML, `href="`+link+`"`) {
			t.Errorf("%s HTML lacks the link:\n%s", name, m.HTML)
		}
		if _, err := build(m); err != nil {
			t.Errorf("%s does not build: %v", name, err)
		}
	}
}

// Without a link (the copy kept in the outbox when SMTP sent the real one)
// the bodies say it was withheld and hold no token.
func TestAccountEmailsWithheld(t *testing.T) {
	t.Parallel()
	expires := time.Date(2026, 12, 2, 10, 30, 0, 0, time.UTC)
	for name, m := range map[string]*Message{
		"verify": VerifyAddress("Intake <no-reply@intake.test>", "ada@example.com", "", expires, "<1@intake.test>"),
		"reset":  PasswordReset("Intake <no-reply@intake.test>", "ada@example.com", "", expires, "<1@intake.test>"),
	} {
		if m.Link != "" || strings.Contains(m.Text+m.HTML, "token") || strings.Contains(m.HTML, "href=") {
			t.Errorf("%s: a link in the withheld copy:\n%s\n%s", name, m.Text, m.HTML)
		}
		if !strings.Contains(m.Text, "sent to the recipient only") || !strings.Contains(m.HTML, "sent to the recipient only") {
			t.Errorf("%s: the withheld copy does not say so:\n%s\n%s", name, m.Text, m.HTML)
		}
	}
}

// An invitation says who invited, to which account and as what; the
// account's name, the inviting account's own text, stays on one line in
// the subject and text and is escaped in the HTML.
func TestMemberInvite(t *testing.T) {
	t.Parallel()
	expires := time.Date(2026, 12, 9, 10, 30, 0, 0, time.UTC)
	link := "http://intake.test/invites/a-b_c"
	m := MemberInvite("Intake <no-reply@intake.test>", "bo@example.com", "ada@example.com", "Acme\r\nBcc: x@example.com <b>", "admin", link, expires, "<1@intake.test>")
	if strings.ContainsAny(m.Subject, "\r\n") || !strings.Contains(m.Subject, "Acme Bcc: x@example.com <b>") {
		t.Errorf("subject %q", m.Subject)
	}
	if !strings.Contains(m.Text, "ada@example.com invited you to the Intake account “Acme Bcc: x@example.com <b>” as an admin") ||
		!strings.Contains(m.Text, link) || !strings.Contains(m.Text, "9 Dec 2026, 10:30 UTC") {
		t.Errorf("text:\n%s", m.Text)
	}
	if strings.Contains(m.HTML, "<b>") || !strings.Contains(m.HTML, `href="`+link+`"`) {
		t.Errorf("HTML:\n%s", m.HTML)
	}
	msg, err := build(m)
	if err != nil {
		t.Fatal(err)
	}
	var raw strings.Builder
	if _, err := msg.WriteTo(&raw); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(raw.String(), "\r\nBcc:") {
		t.Errorf("the account's name made a header:\n%s", raw.String())
	}
	if v := MemberInvite("f@intake.test", "bo@example.com", "", "Acme", "viewer", "", expires, "<2@intake.test>"); strings.Contains(v.Text, "invites/") ||
		!strings.Contains(v.Text, "Someone invited you") || !strings.Contains(v.Text, "as a viewer") {
		t.Errorf("withheld:\n%s", v.Text)
	}
}
