package notify_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"net/mail"
	"regexp"
	"strings"
	"testing"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/internal/testfactory"
	intakemail "github.com/intakehq/intake/mail"
	"github.com/intakehq/intake/notify"
	"github.com/intakehq/intake/webhooks"
)

// accountsFor is the account service as the dashboard wires it: its links
// go out through this bundle's River client, sealed with its sealer.
func (b *bundle) accountsFor() *accounts.Service {
	return &accounts.Service{DB: b.DB, Links: notify.LinkEmails{River: b.Client, Sealer: b.deps.Sealer}}
}

var linkRE = regexp.MustCompile(`http://intake\.test/(verify|reset)\?token=([A-Za-z0-9_-]+)`)

// textOf returns the text/plain part of a raw message, decoded.
func textOf(t *testing.T, raw []byte) string {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(m.Body)
	// Quoted-printable soft breaks and =3D, enough to read the link back.
	return strings.NewReplacer("=\r\n", "", "=3D", "=").Replace(string(body))
}

// Through real SMTP: sign-up's verification email carries a link on
// INTAKE_BASE_URL whose token is the one stored (as its SHA-256); the job
// holds the token only sealed; the outbox row records the email; and the
// link verifies the owner, after which submissions notify again.
func TestVerificationEmailOverSMTP(t *testing.T) {
	t.Parallel()
	srv := newSMTPServer(t)
	m, err := intakemail.NewSMTP("smtp://" + srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	b := setup(t, m)
	ctx := context.Background()
	svc := b.accountsFor()
	u, err := svc.SignUp(ctx, "new-owner@example.com", "correct horse", "")
	if err != nil {
		t.Fatal(err)
	}
	b.Settle(t)

	msgs, rcpts := srv.received()
	if len(msgs) != 1 || len(rcpts) != 1 || rcpts[0] != "new-owner@example.com" {
		t.Fatalf("the SMTP server got %d messages to %v, want the verification to new-owner@example.com", len(msgs), rcpts)
	}
	text := textOf(t, msgs[0])
	link := linkRE.FindStringSubmatch(text)
	if link == nil || link[1] != "verify" {
		t.Fatalf("no verification link on the base URL in:\n%s", text)
	}
	token := link[2]
	sum := sha256.Sum256([]byte(token))
	if n := b.Count(t, `SELECT count(*) FROM email_tokens WHERE token_hash = $1 AND purpose = 'verify' AND user_id = $2`, sum[:], u.ID); n != 1 {
		t.Error("the link's token is not the stored one")
	}
	if n := b.Count(t, `SELECT count(*) FROM river_job WHERE kind = 'email.send' AND args->>'token' LIKE 'sealed:v1:%' AND position($1 in args::text) = 0`, token); n != 1 {
		t.Error("the job does not hold the token sealed")
	}
	if n := b.Count(t, `SELECT count(*) FROM outbound_emails WHERE account_id = $1 AND kind = $2 AND state = 'sent' AND recipient = $3`,
		u.AccountID, notify.TemplateVerifyAddress, u.Email); n != 1 {
		t.Error("the verification email is not in the account's outbox as sent")
	}
	if n := b.Count(t, `SELECT count(*) FROM outbound_emails WHERE kind = $1 AND position($2 in body_text) > 0`,
		notify.TemplateVerifyAddress, token); n != 0 {
		t.Error("the outbox copy of a verification sent over SMTP holds the link")
	}

	// Unverified: a submission is kept, its webhook planned, no email.
	// The form lists no one, so its notifications go to the owner (a
	// listed address would wait for its own confirmation: recipients_test.go).
	b.Form = testfactory.NewForm(ctx, t, b.DB, u.AccountID, &testfactory.FormOpts{Settings: forms.Settings{
		Autoresponse: forms.Autoresponse{Enabled: true, Subject: "Thanks", Body: "Thanks"},
	}})
	rc := testfactory.NewReceiver(t)
	b.Endpoint(t, rc.URL, false)
	b.Submit(t, "before", map[string]any{"email": "visitor@example.com", "message": "hi"})
	b.Settle(t)
	if n := b.Count(t, `SELECT count(*) FROM submissions s JOIN forms f ON f.id = s.form_id WHERE f.account_id = $1`, u.AccountID); n != 1 {
		t.Fatalf("%d submissions stored, want 1", n)
	}
	if n := b.Count(t, `SELECT count(*) FROM river_job WHERE kind = 'email.send' AND args->>'submission_id' IS NOT NULL`); n != 0 {
		t.Errorf("%d emails planned for an unverified owner's submission, want none", n)
	}
	if got := rc.Received(); len(got) != 1 {
		t.Errorf("the owner's webhook got %d deliveries, want 1 (webhooks still fire)", len(got))
	}

	if _, err := svc.VerifyEmail(ctx, token, ""); err != nil {
		t.Fatal(err)
	}
	b.Submit(t, "after", map[string]any{"email": "visitor@example.com", "message": "hi again"})
	b.Settle(t)
	_, rcpts = srv.received()
	if got := strings.Join(rcpts, " "); got != "new-owner@example.com new-owner@example.com visitor@example.com" &&
		got != "new-owner@example.com visitor@example.com new-owner@example.com" {
		t.Errorf("recipients after verifying: %s, want the verification, then the notification and the autoresponse", got)
	}
}

// The reset email: a one-hour link to /reset on the base URL. A link used
// or expired before the worker got to it is not sent at all.
func TestResetEmailAndDeadLinks(t *testing.T) {
	t.Parallel()
	srv := newSMTPServer(t)
	m, err := intakemail.NewSMTP("smtp://" + srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	b := setup(t, m)
	ctx := context.Background()
	svc := b.accountsFor()
	if err := svc.RequestReset(ctx, "nobody@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := svc.RequestReset(ctx, strings.ToUpper(b.Account.User.Email)); err != nil {
		t.Fatal(err)
	}
	b.Settle(t)
	msgs, rcpts := srv.received()
	if len(msgs) != 1 || rcpts[0] != b.Account.User.Email {
		t.Fatalf("the SMTP server got %d messages to %v, want one reset to the owner", len(msgs), rcpts)
	}
	text := textOf(t, msgs[0])
	link := linkRE.FindStringSubmatch(text)
	if link == nil || link[1] != "reset" {
		t.Fatalf("no reset link in:\n%s", text)
	}
	if !strings.Contains(string(msgs[0]), "Auto-Submitted: auto-generated") {
		t.Error("the reset email lacks Auto-Submitted")
	}
	// The SMTP message carries the live link; the copy in the dashboard's
	// outbox does not: a session without the password must not find it.
	var stored string
	if err := b.DB.QueryRow(ctx, `SELECT body_text FROM outbound_emails WHERE kind = $1 AND recipient = $2 AND state = 'sent'`,
		notify.TemplatePasswordReset, b.Account.User.Email).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored, link[2]) || strings.Contains(stored, "/reset?token=") {
		t.Errorf("the outbox copy of a reset email sent over SMTP holds the link:\n%s", stored)
	}
	if !strings.Contains(stored, "sent to the recipient only") {
		t.Errorf("the outbox copy does not say the link was withheld:\n%s", stored)
	}
	if _, err := svc.ResetPassword(ctx, link[2], "a new password", "", nil); err != nil {
		t.Fatalf("the emailed link: %v", err)
	}

	// A link expired before its job ran: the job is cancelled, nothing sent.
	b.Client.StopAndCancel(ctx)
	if err := svc.RequestReset(ctx, b.Account.User.Email); err != nil {
		t.Fatal(err)
	}
	if _, err := b.DB.Exec(ctx, `UPDATE email_tokens SET expires_at = now() - interval '1 second' WHERE used_at IS NULL`); err != nil {
		t.Fatal(err)
	}
	b.start(t)
	b.Settle(t)
	if msgs, _ := srv.received(); len(msgs) != 1 {
		t.Errorf("%d messages sent, want the expired link's not sent", len(msgs))
	}
	if n := b.Count(t, `SELECT count(*) FROM river_job WHERE kind = 'email.send' AND state = 'cancelled'`); n != 1 {
		t.Errorf("%d cancelled email jobs, want the expired link's", n)
	}
}

// An unverified owner is not mailed about their account either: a disabled
// endpoint is disabled and recorded, and no email goes out.
func TestUnverifiedOwnerNotToldOfDisabledEndpoint(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	ctx := context.Background()
	if _, err := b.DB.Exec(ctx, `UPDATE users SET email_verified_at = NULL WHERE id = $1`, b.Account.User.ID); err != nil {
		t.Fatal(err)
	}
	rc := testfactory.NewReceiver(t)
	rc.Answers = []int{410}
	ep := b.Endpoint(t, rc.URL, false)
	b.Submit(t, "k", testfactory.Contact(1))
	b.Settle(t)
	if len(rc.Received()) != 1 {
		t.Fatalf("the webhook got %d deliveries, want 1", len(rc.Received()))
	}
	if got, err := webhooks.ByID(ctx, b.DB, ep.ID); err != nil || got.Enabled {
		t.Fatalf("endpoint %+v %v, want disabled", got, err)
	}
	if n := b.Count(t, `SELECT count(*) FROM outbound_emails`); n != 0 {
		t.Errorf("%d emails to an unverified owner, want none", n)
	}
}

// Without SMTP (the outbox) the stored copy keeps the link: on a local
// instance the outbox and the log are the only places to find it.
func TestResetLinkKeptInOutboxMode(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	ctx := context.Background()
	if err := b.accountsFor().RequestReset(ctx, b.Account.User.Email); err != nil {
		t.Fatal(err)
	}
	b.Settle(t)
	var text string
	if err := b.DB.QueryRow(ctx, `SELECT body_text FROM outbound_emails WHERE kind = $1 AND recipient = $2 AND state = 'outbox'`,
		notify.TemplatePasswordReset, b.Account.User.Email).Scan(&text); err != nil {
		t.Fatal(err)
	}
	link := linkRE.FindStringSubmatch(text)
	if link == nil || link[1] != "reset" {
		t.Fatalf("the outbox copy lacks the reset link:\n%s", text)
	}
	if _, err := b.accountsFor().ResetPassword(ctx, link[2], "a new password", "", nil); err != nil {
		t.Fatalf("the outbox's link: %v", err)
	}
}

var inviteRE = regexp.MustCompile(`http://intake\.test/invites/([A-Za-z0-9_-]+)`)

// The invitation email, through real SMTP: it says who invited, to which
// account and as what, with a link on the base URL to /invites/{token}
// whose token is the one stored (as its SHA-256), sealed in the job and
// withheld from the outbox copy. A revoked invitation is not sent.
func TestInviteEmailOverSMTP(t *testing.T) {
	t.Parallel()
	srv := newSMTPServer(t)
	m, err := intakemail.NewSMTP("smtp://" + srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	b := setup(t, m)
	ctx := context.Background()
	owner := testfactory.NewAccount(ctx, t, b.DB).User
	team := &accounts.Team{DB: b.DB, Invites: notify.InviteEmails{River: b.Client, Sealer: b.deps.Sealer}}
	inv, err := team.Invite(ctx, audit.System, owner, "invitee@example.com", accounts.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	b.Settle(t)
	msgs, rcpts := srv.received()
	if len(msgs) != 1 || rcpts[0] != "invitee@example.com" {
		t.Fatalf("the SMTP server got %d messages to %v", len(msgs), rcpts)
	}
	text := textOf(t, msgs[0])
	for _, want := range []string{owner.Email + " invited you", "as an admin", "7 days"} {
		if want == "7 days" {
			want = inv.ExpiresAt.UTC().Format("2 Jan 2006, 15:04 UTC")
		}
		if !strings.Contains(text, want) {
			t.Errorf("the invitation does not say %q:\n%s", want, text)
		}
	}
	link := inviteRE.FindStringSubmatch(text)
	if link == nil || link[1] != inv.Token {
		t.Fatalf("no link to the invitation in:\n%s", text)
	}
	sum := sha256.Sum256([]byte(inv.Token))
	if n := b.Count(t, `SELECT count(*) FROM invites WHERE token_hash = $1 AND id = $2`, sum[:], inv.ID); n != 1 {
		t.Error("the link's token is not the stored one")
	}
	if n := b.Count(t, `SELECT count(*) FROM river_job WHERE args->>'template' = 'member_invite' AND args->>'token' LIKE 'sealed:v1:%' AND position($1 in args::text) = 0`, inv.Token); n != 1 {
		t.Error("the job does not hold the token sealed")
	}
	if n := b.Count(t, `SELECT count(*) FROM outbound_emails WHERE account_id = $1 AND kind = $2 AND state = 'sent'
AND position($3 in body_text) = 0`, owner.AccountID, notify.TemplateMemberInvite, inv.Token); n != 1 {
		t.Error("the invitation is not in the account's outbox as sent without its link")
	}

	// Revoked before the worker got to it: the job is cancelled, nothing
	// sent.
	b.Client.StopAndCancel(ctx)
	second, err := team.Invite(ctx, audit.System, owner, "second@example.com", accounts.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	if err := accounts.RevokeInvite(ctx, b.DB, audit.System, owner, second.ID); err != nil {
		t.Fatal(err)
	}
	b.start(t)
	b.Settle(t)
	if _, rcpts := srv.received(); len(rcpts) != 1 {
		t.Errorf("recipients %v: the revoked invitation was sent", rcpts)
	}
	if n := b.Count(t, `SELECT count(*) FROM river_job WHERE args->>'template' = 'member_invite' AND state = 'cancelled'`); n != 1 {
		t.Errorf("%d cancelled invitation jobs, want the revoked one's", n)
	}
}
