package notify

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/mail"
	"github.com/intakehq/intake/submissions"
	"github.com/intakehq/intake/webhooks"
)

// Email templates.
const (
	TemplateNotification     = "notification"
	TemplateAutoresponse     = "autoresponse"
	TemplateEndpointDisabled = "endpoint_disabled"
	// TemplateConfirmRecipient asks an address a form lists whether it
	// wants the form's notifications (double opt-in).
	TemplateConfirmRecipient = "confirm_recipient"
)

// Queue is the River queue emails are sent from.
const Queue = "email"

// EmailArgs is one email to one recipient. It is unique on what it is about
// and to whom, as a second guard behind the submission's idempotency key.
type EmailArgs struct {
	Template     string    `json:"template" river:"unique"`
	To           string    `json:"to" river:"unique"`
	SubmissionID uuid.UUID `json:"submission_id,omitzero" river:"unique"`
	EndpointID   int64     `json:"endpoint_id,omitempty" river:"unique"`
	// At tells apart two notices about one endpoint (disabled, re-enabled,
	// disabled again within River's uniqueness window).
	At     int64  `json:"at,omitempty" river:"unique"`
	Reason string `json:"reason,omitempty"`
	// A quota warning is about an account's month and the share reached.
	AccountID int64  `json:"account_id,omitempty" river:"unique"`
	Month     string `json:"month,omitempty" river:"unique"` // 2006-01
	Percent   int    `json:"percent,omitempty" river:"unique"`
	Quota     int64  `json:"quota,omitempty" river:"unique"` // the quota warned of: a larger plan is warned again
	// An account email carries one single-use link: its email_tokens row
	// and the token, sealed (LinkEmails).
	TokenID int64  `json:"token_id,omitempty" river:"unique"`
	Token   string `json:"token,omitempty"`
	// An invitation to an account carries its link too: the invites row
	// and the token, sealed (InviteEmails).
	InviteID int64 `json:"invite_id,omitempty" river:"unique"`
	// A recipient's confirmation is about a form (its internal id) and is
	// told apart by At, the time it was sent (Unix microseconds).
	FormID int64 `json:"form_id,omitempty" river:"unique"`
	// Form is the public id of the submission's form, for a notification
	// or an autoresponse: the worker then reads the submission, the form
	// and the unsubscribe in one round trip. Not part of the job's
	// identity; jobs planned before it have none and read one by one.
	Form string `json:"form,omitempty"`
}

// Kind implements river.JobArgs.
func (EmailArgs) Kind() string { return "email.send" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (EmailArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, MaxAttempts: 10, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// Planner decides a submission's jobs: a delivery per enabled endpoint (for
// spam only to endpoints that opted in), an email per confirmed
// notification address (the account owner when the form lists none and
// the owner has not unsubscribed from it) and the autoresponse. Spam gets
// no email, and neither does a submission to an account whose owner has
// not verified their address (accounts.User.Verified): until then the
// account is a stranger's, and Intake mails no one for it.
type Planner struct{}

// planSQL reads, in one statement, what a submission's emails need: its
// form's account owner's email and whether that address is verified, its
// confirmed notification addresses and whether the owner unsubscribed.
var planSQL = `
SELECT ` + accounts.OwnerSQL("email", "f.account_id") + `,
	coalesce(` + accounts.OwnerSQL("email_verified_at IS NOT NULL", "f.account_id") + `, false),
	(SELECT coalesce(array_agg(r.email ORDER BY r.id), '{}') FROM notify_recipients r
	 WHERE r.form_id = f.id AND r.listed AND r.state = 'confirmed'),
	(SELECT coalesce(array_agg(r.email), '{}') FROM notify_recipients r
	 WHERE r.form_id = f.id AND r.state = 'unsubscribed')
FROM forms f
WHERE f.public_id = $1`

// Prepare implements submissions.Planner. Its reads — the webhooks' part
// (webhooks.Planner) and the emails' — travel with the form's, so planning
// costs no round trip.
func (Planner) Prepare(b *pgx.Batch, formPublicID string) func(*forms.Form, *submissions.Submission) ([]river.InsertManyParams, error) {
	deliveries := webhooks.Planner{}.Prepare(b, formPublicID)
	var owner string
	var verified bool
	var confirmed, unsubscribed []string
	b.Queue(planSQL, formPublicID).QueryRow(func(row pgx.Row) error {
		var email *string
		err := row.Scan(&email, &verified, &confirmed, &unsubscribed)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // no such form: the form's own read says so
		}
		if err != nil {
			return err
		}
		if email != nil {
			owner = *email // an account without users has no one to tell
		}
		return nil
	})
	return func(form *forms.Form, sub *submissions.Submission) ([]river.InsertManyParams, error) {
		jobs, err := deliveries(form, sub)
		if err != nil {
			return nil, err
		}
		if sub.Spam || !verified {
			return jobs, nil
		}
		// Only confirmed addresses: an address a form lists gets nothing
		// until it has confirmed (notify_recipients, kept by RecipientSync).
		recipients := confirmed
		if len(form.Settings.NotifyEmails) == 0 && owner != "" && !slices.Contains(unsubscribed, strings.ToLower(owner)) {
			recipients = []string{owner}
		}
		seen := map[string]bool{}
		for _, to := range recipients {
			// Two equal unique jobs in one insert would be one job; settings
			// refuse duplicates, and this keeps a stored duplicate from
			// ever mattering.
			if seen[strings.ToLower(to)] {
				continue
			}
			seen[strings.ToLower(to)] = true
			jobs = append(jobs, river.InsertManyParams{Args: EmailArgs{Template: TemplateNotification, To: to, SubmissionID: sub.ID, Form: form.PublicID}})
		}
		if ar := form.Settings.Autoresponse; ar.Enabled && mail.ValidAddress(sub.Meta.ReplyTo) {
			jobs = append(jobs, river.InsertManyParams{Args: EmailArgs{Template: TemplateAutoresponse, To: sub.Meta.ReplyTo, SubmissionID: sub.ID, Form: form.PublicID}})
		}
		return jobs, nil
	}
}

// EndpointDisabled tells an endpoint's owner that it was disabled: it
// enqueues the email in tx, the transaction that disables the endpoint. It
// is the webhooks.DeliveryWorker's OnDisabled; the River client comes from
// the job's context.
func EndpointDisabled(ctx context.Context, tx pgx.Tx, e *webhooks.Endpoint, reason string) error {
	client := river.ClientFromContext[pgx.Tx](ctx)
	owner, err := accounts.Owner(ctx, tx, e.AccountID)
	if errors.Is(err, accounts.ErrNotFound) || (err == nil && !owner.Verified) {
		return nil // no one to tell, or an address not (yet) shown to be theirs
	}
	if err != nil {
		return err
	}
	_, err = client.InsertTx(ctx, tx, EmailArgs{Template: TemplateEndpointDisabled, To: owner.Email, EndpointID: e.ID, Reason: reason, At: time.Now().Unix()}, nil)
	return err
}
