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

// TemplateMemberInvite invites an address to join an account
// (accounts.Team).
const TemplateMemberInvite = "member_invite"

// InvitePath is the dashboard page an invitation's link opens, followed by
// its token (web/dash_members.go).
const InvitePath = "/invites/"

// InviteEmails sends the invitations of accounts.Team as LinkEmails sends
// the verification and reset links: the token sealed in the job, the
// stored copy without the live link when a real SMTP server sends it
// (whoever reads the account's outbox must not accept for the invitee).
// It implements accounts.InviteSender.
type InviteEmails struct {
	River  webhooks.Inserter
	Sealer *seal.Sealer // nil: the token travels in clear (tests)
}

// SendInvite implements accounts.InviteSender.
func (l InviteEmails) SendInvite(ctx context.Context, tx pgx.Tx, inv *accounts.Invite) error {
	_, err := l.River.InsertTx(ctx, tx, EmailArgs{Template: TemplateMemberInvite, To: inv.Email, AccountID: inv.AccountID,
		InviteID: inv.ID, Token: l.Sealer.Seal(inv.Token, inviteOwner(inv.ID))}, nil)
	return err
}

// inviteOwner binds a sealed invitation token to its row.
func inviteOwner(id int64) string { return "invite:" + strconv.FormatInt(id, 10) }

// composeInvite builds an invitation's email. An invitation accepted,
// revoked or expired is not sent (accounts.ErrNotFound cancels the job).
func (w *EmailWorker) composeInvite(ctx context.Context, args EmailArgs) (msg, kept *mail.Message, accountID int64, err error) {
	inv, err := accounts.InviteLive(ctx, w.DB, args.InviteID)
	if err != nil {
		return nil, nil, 0, err
	}
	token, err := w.Sealer.Open(args.Token, inviteOwner(args.InviteID))
	if err != nil {
		return nil, nil, 0, river.JobCancel(err)
	}
	id := mail.MessageID(w.host(), args.Template, strconv.FormatInt(args.InviteID, 10), args.To)
	expires := inv.ExpiresAt.In(time.UTC)
	msg = mail.MemberInvite(w.From, args.To, inv.InvitedBy, inv.AccountName, string(inv.Role), w.BaseURL+InvitePath+token, expires, id)
	kept = msg
	if _, outbox := w.Mailer.(*mail.Outbox); !outbox {
		kept = mail.MemberInvite(w.From, args.To, inv.InvitedBy, inv.AccountName, string(inv.Role), "", expires, id)
	}
	return msg, kept, inv.AccountID, nil
}
