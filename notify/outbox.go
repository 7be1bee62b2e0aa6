package notify

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/database"
)

// ErrEmailNotFound is returned when an outbound email does not exist or
// belongs to another account.
var ErrEmailNotFound error = intake.NotFoundError("email not found")

// OutboundEmail is one email Intake sent, kept in the outbox (no SMTP
// configured), is still sending, or failed to send for good.
type OutboundEmail struct {
	ID           int64
	SubmissionID *uuid.UUID // nil for emails about no submission (a disabled endpoint, an account's link)
	FormPublicID string     // "" when the submission is gone or there is none
	FormName     string
	Kind         string // TemplateNotification, TemplateAutoresponse, TemplateEndpointDisabled, TemplateVerifyAddress, …
	MessageID    string
	Recipient    string
	Subject      string
	BodyText     string // only from OutboundEmailForAccount; lists leave it empty
	State        string // EmailPending, EmailSent, EmailOutbox, EmailFailed
	Error        string
	CreatedAt    time.Time
	SentAt       *time.Time
}

// The form comes through the submission; an email outlives a deleted
// submission (submission_id is set NULL), and then has no form.
const outboundColumns = `e.id, e.submission_id, coalesce(f.public_id, ''), coalesce(f.name, ''), e.kind, e.message_id,
	e.recipient, e.subject, e.state, coalesce(e.error, ''), e.created_at, e.sent_at`

const outboundFrom = `FROM outbound_emails e
LEFT JOIN submissions s ON s.id = e.submission_id
LEFT JOIN forms f ON f.id = s.form_id`

func scanOutbound(row pgx.Row, extra ...any) (*OutboundEmail, error) {
	m := &OutboundEmail{}
	dest := append([]any{&m.ID, &m.SubmissionID, &m.FormPublicID, &m.FormName, &m.Kind, &m.MessageID,
		&m.Recipient, &m.Subject, &m.State, &m.Error, &m.CreatedAt, &m.SentAt}, extra...)
	if err := row.Scan(dest...); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, ErrEmailNotFound
		}
		return nil, err
	}
	return m, nil
}

// readableBy is the condition on e of the emails the user whose address
// is the SQL parameter reader may read among their account's: all but the
// link emails (verification, password reset) of other users. Those are
// their recipient's alone, whatever the reader's role: without SMTP the
// stored copy keeps its link, and a member reading another's reset link
// could take their user (and every account it is in).
func readableBy(reader string) string {
	return `(e.kind NOT IN ('` + TemplateVerifyAddress + `', '` + TemplatePasswordReset + `') OR lower(e.recipient) = lower(` + reader + `))`
}

// OutboundEmails returns up to limit of the account's emails that the user
// with the address reader may read (readableBy), newest first, from before
// the email with id before (nil: from the newest), without their bodies.
// Keyset on id, served by outbound_emails_account_idx.
func OutboundEmails(ctx context.Context, db database.Executor, accountID int64, reader string, before *int64, limit int) ([]*OutboundEmail, error) {
	rows, err := db.Query(ctx, `SELECT `+outboundColumns+` `+outboundFrom+`
WHERE e.account_id = $1 AND ($2::bigint IS NULL OR e.id < $2) AND `+readableBy("$4")+`
ORDER BY e.id DESC LIMIT $3`, accountID, before, limit, reader)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*OutboundEmail
	for rows.Next() {
		m, err := scanOutbound(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// OutboundEmailForAccount returns the account's email id with its text
// body, when the user with the address reader may read it (readableBy).
// It returns ErrEmailNotFound.
func OutboundEmailForAccount(ctx context.Context, db database.Executor, accountID int64, reader string, id int64) (*OutboundEmail, error) {
	var body string
	m, err := scanOutbound(db.QueryRow(ctx, `SELECT `+outboundColumns+`, e.body_text `+outboundFrom+`
WHERE e.id = $1 AND e.account_id = $2 AND `+readableBy("$3"), id, accountID, reader), &body)
	if err != nil {
		return nil, err
	}
	m.BodyText = body
	return m, nil
}
