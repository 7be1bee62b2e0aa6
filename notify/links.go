package notify

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/internal/seal"
	"github.com/intakehq/intake/mail"
	"github.com/intakehq/intake/webhooks"
)

// Account emails: the single-use links of accounts.Service.
const (
	TemplateVerifyAddress = "verify_address"
	TemplatePasswordReset = "password_reset"
)

// Paths of the dashboard pages the links open (web/dash_links.go).
const (
	VerifyPath = "/verify"
	ResetPath  = "/reset"
)

// LinkEmails sends the emails of accounts.Service through the same River
// job and outbox as every other email: it implements accounts.LinkSender.
//
// The token rides in the job's arguments sealed (Sealer, as webhook
// secrets are), so the river_job table holds no usable link; the worker
// opens it and builds the link on INTAKE_BASE_URL. The sent body is kept
// in outbound_emails like every email's, but with a real SMTP server its
// link is withheld there (as a confirmation's is): the dashboard's outbox
// is readable by anyone holding a session, and a live reset link would
// let someone with a stolen cookie but not the password take the account.
// Other members never see these emails (OutboundEmails lists a link email
// to its recipient alone).
// Without SMTP (the Outbox) the stored copy keeps the link: a local
// instance's user has no other mailbox to verify or reset from.
type LinkEmails struct {
	River  webhooks.Inserter
	Sealer *seal.Sealer // nil: the token travels in clear (tests)
}

// SendLink implements accounts.LinkSender.
func (l LinkEmails) SendLink(ctx context.Context, tx pgx.Tx, u *accounts.User, t *accounts.EmailToken) error {
	template := TemplateVerifyAddress
	if t.Purpose == accounts.PurposeReset {
		template = TemplatePasswordReset
	}
	_, err := l.River.InsertTx(ctx, tx, EmailArgs{Template: template, To: u.Email, AccountID: u.AccountID,
		TokenID: t.ID, Token: l.Sealer.Seal(t.Token, tokenOwner(t.ID))}, nil)
	return err
}

// tokenOwner binds a sealed token to its row: sealed for one, it does not
// open for another.
func tokenOwner(id int64) string { return "email_token:" + strconv.FormatInt(id, 10) }

// composeLink builds an account email. A link already used or expired is
// not sent (accounts.ErrNotFound cancels the job): an SMTP outage longer
// than a reset link's hour ends with nothing sent rather than a dead link.
// It returns the email to send and the copy to record: the same in outbox
// mode, without the link when a real Mailer sends it (see LinkEmails).
func (w *EmailWorker) composeLink(ctx context.Context, args EmailArgs, host string) (msg, kept *mail.Message, accountID int64, err error) {
	purpose, expires, err := accounts.LinkLive(ctx, w.DB, args.TokenID)
	if err != nil {
		return nil, nil, 0, err
	}
	token, err := w.Sealer.Open(args.Token, tokenOwner(args.TokenID))
	if err != nil {
		return nil, nil, 0, river.JobCancel(err)
	}
	id := mail.MessageID(host, args.Template, strconv.FormatInt(args.TokenID, 10), args.To)
	compose, path := mail.VerifyAddress, VerifyPath
	if purpose == accounts.PurposeReset {
		compose, path = mail.PasswordReset, ResetPath
	}
	link := w.BaseURL + path + "?token=" + token
	msg = compose(w.From, args.To, link, expires.In(time.UTC), id)
	kept = msg
	if _, outbox := w.Mailer.(*mail.Outbox); !outbox {
		kept = compose(w.From, args.To, "", expires.In(time.UTC), id)
	}
	return msg, kept, args.AccountID, nil
}
