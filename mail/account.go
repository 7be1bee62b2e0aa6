package mail

import (
	"html/template"
	"strings"
	"time"
)

// VerifyAddress returns the email that asks a new user to confirm their
// address: To to, the link (single use, valid until expires) in both
// bodies, Auto-Submitted: auto-generated, Message-ID messageID, and Link
// set to link. With link "" the bodies say the link was withheld (see
// linkMessage).
func VerifyAddress(from, to, link string, expires time.Time, messageID string) *Message {
	return linkMessage(from, to, "Confirm your email address for Intake", link, expires, messageID, linkView{
		Title: "Confirm your email address", Button: "Confirm my address",
		Intro: "Someone — hopefully you — signed up for Intake with this address. Open this link to confirm it; until then Intake sends no notifications for your forms:",
		Note:  "If you did not sign up, ignore this email: nothing more will be sent.",
	})
}

// PasswordReset returns the email that lets a user set a new password: To
// to, the link (single use, valid until expires) in both bodies,
// Auto-Submitted: auto-generated, Message-ID messageID, and Link set to
// link. With link "" the bodies say the link was withheld (see
// linkMessage).
func PasswordReset(from, to, link string, expires time.Time, messageID string) *Message {
	return linkMessage(from, to, "Reset your Intake password", link, expires, messageID, linkView{
		Title: "Reset your Intake password", Button: "Choose a new password",
		Intro: "Someone — hopefully you — asked to reset the password of the Intake account with this address. Open this link to choose a new one:",
		Note:  "Setting a new password logs out every session of the account. If you did not ask, ignore this email: your password stays as it is.",
	})
}

// linkView is an email whose point is one link.
type linkView struct {
	Title, Intro, Button, Link, Note string
}

// linkWithheld stands in the bodies for a link left out: the copy of an
// account email kept in the dashboard's outbox when it went out over SMTP,
// where whoever holds a session (but not the password) must not find a
// live reset or verification link.
const linkWithheld = "(The link was sent to the recipient only.)"

// linkMessage composes an account email around link, which works once
// until expires: its note says so before v.Note. With link "" its bodies
// say the link was withheld, as RecipientConfirmation's do.
func linkMessage(from, to, subject, link string, expires time.Time, messageID string, v linkView) *Message {
	v.Link = oneLine(link)
	v.Note = "The link works once, until " + expires.UTC().Format("2 Jan 2006, 15:04 UTC") + ". " + v.Note
	var b strings.Builder
	if v.Link != "" {
		b.WriteString(v.Title + "\n\n" + v.Intro + "\n\n    " + v.Link + "\n\n" + v.Note + "\n")
	} else {
		b.WriteString(v.Title + "\n\n" + v.Intro + "\n\n" + linkWithheld + "\n\n" + v.Note + "\n")
	}
	return &Message{
		From:      from,
		To:        []string{strings.TrimSpace(to)},
		Subject:   subjectLine(subject),
		Text:      b.String(),
		HTML:      render(linkHTML, v),
		MessageID: messageID,
		Headers:   map[string]string{"Auto-Submitted": "auto-generated"},
		Link:      v.Link,
	}
}

var linkHTML = template.Must(template.New("link").Parse(htmlHead + `<h1 style="font-size:18px;margin:0 0 16px;">{{.Title}}</h1>
<p style="margin:0 0 16px;">{{.Intro}}</p>
{{- if .Link}}
<p style="margin:0;"><a href="{{.Link}}" style="` + linkStyle + `">{{.Button}}</a></p>
<p style="margin:8px 0 16px;font-size:12px;color:#59636e;word-break:break-all;">{{.Link}}</p>
{{- else}}
<p style="margin:0 0 16px;">` + linkWithheld + `</p>
{{- end}}
<p style="margin:0;font-size:12px;color:#59636e;">{{.Note}}</p>
` + htmlFoot))

// MemberInvite returns the email that invites to to join an account: who
// invited (inviter; "" when unknown), to which account, as what role, and
// the link (single use, valid until expires) in both bodies,
// Auto-Submitted: auto-generated, Message-ID messageID, and Link set to
// link. With link "" the bodies say the link was withheld (see
// linkMessage). The account's name is the inviting account's own text,
// escaped in the HTML body and kept to one line in the text.
func MemberInvite(from, to, inviter, account, role, link string, expires time.Time, messageID string) *Message {
	who := "Someone"
	if inviter != "" {
		who = oneLine(inviter)
	}
	account = oneLine(account)
	return linkMessage(from, to, "You are invited to "+account+" on Intake", link, expires, messageID, linkView{
		Title: "Join " + account + " on Intake", Button: "See the invitation",
		Intro: who + " invited you to the Intake account “" + account + "” as " + articled(role) + ". Open this link to see the invitation and accept it:",
		Note:  "If you do not know the account, ignore this email: nothing happens unless you accept.",
	})
}

// articled puts "a" or "an" before a role's name.
func articled(role string) string {
	if role != "" && strings.ContainsRune("aeiou", rune(role[0])) {
		return "an " + role
	}
	return "a " + role
}
