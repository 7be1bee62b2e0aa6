package notify

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/database"
	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/internal/retry"
	"github.com/intakehq/intake/internal/seal"
	"github.com/intakehq/intake/mail"
	"github.com/intakehq/intake/submissions"
	"github.com/intakehq/intake/webhooks"
)

// Email states in outbound_emails.
const (
	EmailPending = "pending"
	EmailSent    = "sent"
	EmailOutbox  = "outbox"
	EmailFailed  = "failed"
)

// EmailWorker sends EmailArgs jobs. Every email is recorded in
// outbound_emails under its Message-ID, with the outcome of its send, before
// River completes its job; an attempt that finds it recorded as sent does
// not send it again, so only a crash during the SMTP exchange itself (or
// between it and the record) can send it twice — and then with the same
// Message-ID.
//
// A notification or autoresponse whose job names its form is recorded
// once, after the send: its compose reads the row's state in the round
// trip that reads the submission (an earlier attempt's record), and one
// statement writes the row with the outcome. Every other email is recorded
// before it is sent, then given its outcome: two writes, as their reads
// are separate anyway.
type EmailWorker struct {
	river.WorkerDefaults[EmailArgs]
	DB      *pgxpool.Pool
	Mailer  mail.Mailer  // *mail.Outbox when no SMTP is configured
	Sealer  *seal.Sealer // opens the tokens of account emails (LinkEmails)
	From    string
	BaseURL string
	// Links signs the confirmation and unsubscribe links; nil sends
	// notifications without an unsubscribe link and no confirmation.
	Links *Links
	// FileLinks signs the links to a notification's files that are not
	// attached; nil gives the API's routes.
	FileLinks *submissions.FileLinks
	// MaxAttached bounds the files attached, in all; 0 is MaxAttached.
	MaxAttached int64
	Logger      *slog.Logger
	// Observe, when set, is told each email's result.
	Observe func(result string)
}

// NextRetry implements river.Worker: an SMTP outage is waited out on the
// same multi-day schedule as webhooks (River's default would give up after
// about four hours).
func (w *EmailWorker) NextRetry(job *river.Job[EmailArgs]) time.Time {
	return retry.Policy{}.NextRetry(job.JobRow)
}

// Work composes, records and sends one email. A permanent refusal (SMTP
// 5xx) is recorded and cancels the job; a transient one is retried.
func (w *EmailWorker) Work(ctx context.Context, job *river.Job[EmailArgs]) error {
	d, err := w.compose(ctx, job.Args)
	if intake.KindOf(err) == intake.NotFound || errors.Is(err, errNotDue) {
		return river.JobCancel(fmt.Errorf("nothing to send: %w", err))
	}
	if errors.Is(err, errAutoresponseLimit) {
		w.logger().InfoContext(ctx, "autoresponse not sent: limit reached", "submission_id", job.Args.SubmissionID,
			"limit", AutoresponseLimit, "per", AutoresponseWindow.String())
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	msg := d.msg
	var state string
	if d.recorded != nil {
		state = *d.recorded // read with the submission; recorded after the send
	} else if state, err = w.record(ctx, d.accountID, job.Args, d.kept); err != nil {
		return err
	}
	log := w.logger().With("kind", job.Args.Template, "message_id", msg.MessageID, "attempt", job.Attempt)
	switch state {
	case EmailSent, EmailOutbox:
		return nil // done by an earlier attempt that did not get to complete its job
	case EmailFailed:
		return river.JobCancel(errors.New("refused for good earlier"))
	}

	sendErr := w.send(ctx, log, msg)
	o := classifySend(sendErr, job.Attempt, job.MaxAttempts, w.sentState())
	o.log(ctx, log)
	w.observe(o.result)
	// Record the outcome even if the job's context is ending now: the
	// message is out (or refused). River then completes the job, in a batch
	// with others (one statement, not a transaction of our own per email).
	// Should Intake stop in between, the job runs again, finds the row sent
	// and ends above without sending.
	// A message the server took is recorded patiently: a lost record would
	// send it again on the job's next attempt.
	limit := 10 * time.Second
	if sendErr == nil {
		limit = retry.RecordWait
	}
	err = retry.Record(ctx, limit, func(rec context.Context) error {
		if d.recorded != nil {
			_, err := w.DB.Exec(rec, recordOnceSQL, d.accountID, job.Args.submission(), job.Args.Template, msg.MessageID,
				job.Args.To, d.kept.Subject, d.kept.Text, o.state, o.errorText())
			return err
		}
		_, err := w.DB.Exec(rec, recordSendSQL, msg.MessageID, o.state, o.errorText())
		return err
	}, func(err error) { log.WarnContext(ctx, "email sent, but its record failed: trying again", "err", err) })
	if database.IsRefused(err) {
		log.ErrorContext(ctx, "the database refused the email's record (is the schema behind this binary's migrations?)", "err", err)
	}
	return o.jobError(err)
}

// send sends msg. The Cc list comes from the submitter (_cc), and one
// refused address fails the whole message: refused for good with a Cc
// list, msg is sent again without it, for the owner must still get it.
func (w *EmailWorker) send(ctx context.Context, log *slog.Logger, msg *mail.Message) error {
	err := w.Mailer.Send(ctx, msg)
	var permanent *mail.PermanentError
	if errors.As(err, &permanent) && len(msg.Cc) > 0 {
		log.WarnContext(ctx, "email refused with its Cc list; sending without it", "err", err)
		msg.Cc = nil
		err = w.Mailer.Send(ctx, msg)
	}
	return err
}

// sentState is the state of an email the Mailer took: sent, or kept in
// the outbox when there is no SMTP server.
func (w *EmailWorker) sentState() string {
	if _, ok := w.Mailer.(*mail.Outbox); ok {
		return EmailOutbox
	}
	return EmailSent
}

// sendOutcome is a send classified: the email's state after it, the
// observed result, and why it failed.
type sendOutcome struct {
	state   string // the row's new state; "" leaves it (a retry)
	result  string // for Observe: sent, outbox, failed or retry
	failure error  // nil when the email went out
	cancel  bool   // refused for good: no attempt can help
}

// classifySend decides what a send's error means: sent (as sentState) when
// there is none; failed and cancelled when the server refused for good;
// failed on the job's last attempt; else retried.
func classifySend(sendErr error, attempt, maxAttempts int, sentState string) sendOutcome {
	var permanent *mail.PermanentError
	switch {
	case sendErr == nil:
		return sendOutcome{state: sentState, result: sentState}
	case errors.As(sendErr, &permanent):
		return sendOutcome{state: EmailFailed, result: "failed", failure: sendErr, cancel: true}
	case attempt >= maxAttempts:
		return sendOutcome{state: EmailFailed, result: "failed", failure: sendErr}
	default:
		return sendOutcome{result: "retry", failure: sendErr}
	}
}

func (o sendOutcome) log(ctx context.Context, log *slog.Logger) {
	switch {
	case o.failure == nil:
		log.InfoContext(ctx, "email "+o.state)
	case o.cancel:
		log.WarnContext(ctx, "email refused for good", "err", o.failure)
	case o.state == EmailFailed:
		log.ErrorContext(ctx, "email not sent after every attempt; giving up", "err", o.failure)
	default:
		log.WarnContext(ctx, "email not sent; will retry", "err", o.failure)
	}
}

// errorText is the error to keep on the row: nil once the email is out.
func (o sendOutcome) errorText() *string {
	if o.failure == nil {
		return nil
	}
	text := o.failure.Error()
	return &text
}

// jobError is what Work returns to River for o, with recordErr, the error
// of recording it. An email that went out is not sent again because the
// database refused its record: a retry would send it and be refused again.
func (o sendOutcome) jobError(recordErr error) error {
	switch {
	case o.failure == nil && database.IsRefused(recordErr):
		return river.JobCancel(fmt.Errorf("email sent, but its record was refused; not sending it again: %w", recordErr))
	case o.failure == nil:
		return recordErr
	case o.cancel:
		return errors.Join(river.JobCancel(o.failure), recordErr)
	default: // River retries or, out of attempts, discards
		return errors.Join(o.failure, recordErr)
	}
}

// recordSendSQL records a send's outcome on the email's row: its new state
// ($2; empty leaves it), its error ($3), and when it went out (no error).
const recordSendSQL = `UPDATE outbound_emails SET state = coalesce(nullif($2, ''), state), error = $3,
	sent_at = CASE WHEN $3::text IS NULL THEN now() ELSE sent_at END
WHERE message_id = $1`

// recordOnceSQL records an email and its send's outcome in one statement
// (see EmailWorker): $8 is its state (empty keeps an earlier attempt's, or
// is pending), $9 its error; sent_at is set when there is none. An email about
// a submission erased meanwhile is not recorded: its text is the person's.
// One already recorded by an earlier attempt is updated even when its
// submission was deleted since (retention keeps the row, unlinked; erasure
// deletes it).
const recordOnceSQL = `INSERT INTO outbound_emails (account_id, submission_id, kind, message_id, recipient, subject, body_text, state, error, sent_at)
SELECT $1, $2, $3, $4, $5, $6, $7, coalesce(nullif($8, ''), 'pending'), $9, CASE WHEN $9::text IS NULL THEN now() END
WHERE $2::uuid IS NULL OR EXISTS (SELECT 1 FROM submissions WHERE id = $2) OR EXISTS (SELECT 1 FROM outbound_emails WHERE message_id = $4)
ON CONFLICT (message_id) DO UPDATE SET state = coalesce(nullif($8, ''), outbound_emails.state), error = $9,
	sent_at = CASE WHEN $9::text IS NULL THEN now() ELSE outbound_emails.sent_at END`

// recordedSQL is the state of the email under a Message-ID, empty when
// there is none.
const recordedSQL = `SELECT coalesce((SELECT state FROM outbound_emails WHERE message_id = $1), '')`

// submission is the job's submission id for outbound_emails: nil for the
// emails about no submission.
func (args EmailArgs) submission() any {
	if args.SubmissionID == [16]byte{} {
		return nil
	}
	return args.SubmissionID
}

// record stores msg under its Message-ID (once) and returns the row's state.
func (w *EmailWorker) record(ctx context.Context, accountID int64, args EmailArgs, msg *mail.Message) (string, error) {
	const q = `
WITH ins AS (
	INSERT INTO outbound_emails (account_id, submission_id, kind, message_id, recipient, subject, body_text)
	VALUES ($1, $2, $3, $4, $5, $6, $7)
	ON CONFLICT (message_id) DO NOTHING
	RETURNING state
)
SELECT state FROM ins UNION ALL SELECT state FROM outbound_emails WHERE message_id = $4 LIMIT 1`
	var state string
	err := w.DB.QueryRow(ctx, q, accountID, args.submission(), args.Template, msg.MessageID, args.To, msg.Subject, msg.Text).Scan(&state)
	return state, err
}

// draft is an email composed: the message to send, the copy of it to
// record, its account, and — when the compose read it — the state of its
// record ("" for none yet).
type draft struct {
	msg, kept *mail.Message
	accountID int64
	recorded  *string
}

// compose returns the email args stand for, the copy of it to record
// (the same but for a confirmation, whose recorded copy lacks the link,
// and for a verification or reset link sent over SMTP, whose recorded copy
// lacks it too: composeLink; an invitation likewise: composeInvite) and
// its account.
func (w *EmailWorker) compose(ctx context.Context, args EmailArgs) (d draft, err error) {
	switch args.Template {
	case TemplateConfirmRecipient:
		d.msg, d.kept, d.accountID, err = w.confirmation(ctx, args)
	case TemplateVerifyAddress, TemplatePasswordReset:
		d.msg, d.kept, d.accountID, err = w.composeLink(ctx, args, w.host())
	case TemplateMemberInvite:
		d.msg, d.kept, d.accountID, err = w.composeInvite(ctx, args)
	default:
		d, err = w.composeOne(ctx, args)
	}
	return d, err
}

// host is the base URL's host, for Message-IDs.
func (w *EmailWorker) host() string {
	if u, err := url.Parse(w.BaseURL); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "localhost"
}

// composeOne composes the emails that are the same as sent and as
// recorded.
func (w *EmailWorker) composeOne(ctx context.Context, args EmailArgs) (draft, error) {
	msg, accountID, recorded, err := w.composeMessage(ctx, args)
	return draft{msg: msg, kept: msg, accountID: accountID, recorded: recorded}, err
}

func (w *EmailWorker) composeMessage(ctx context.Context, args EmailArgs) (*mail.Message, int64, *string, error) {
	host := w.host()
	if args.Template == TemplateEndpointDisabled {
		ep, err := webhooks.ByID(ctx, w.DB, args.EndpointID)
		if err != nil {
			return nil, 0, nil, err
		}
		form, err := forms.ByPublicID(ctx, w.DB, ep.FormPublicID)
		if err != nil {
			return nil, 0, nil, err
		}
		id := mail.MessageID(host, args.Template, ep.PublicID, args.To, strconv.FormatInt(args.At, 10))
		return mail.EndpointDisabled(w.From, args.To, ep.URL, form.Name, args.Reason, w.dashboard("forms", form.PublicID, "webhooks"), id), form.AccountID, nil, nil
	}
	if args.Template == TemplateQuotaWarning {
		month, err := time.Parse("2006-01", args.Month)
		if err != nil {
			return nil, 0, nil, river.JobCancel(fmt.Errorf("quota warning for month %q: %w", args.Month, err))
		}
		u, err := accounts.UsageOf(ctx, w.DB, args.AccountID, month)
		if err != nil {
			return nil, 0, nil, err
		}
		id := mail.MessageID(host, args.Template, strconv.FormatInt(args.AccountID, 10), args.Month, strconv.Itoa(args.Percent), strconv.FormatInt(args.Quota, 10), args.To)
		q := mail.QuotaWarning{PlanName: u.Plan.Name, Percent: args.Percent, Used: u.Used, Quota: u.Plan.MonthlySubmissions,
			Month: u.Month, DashboardURL: w.dashboard("account")}
		return mail.QuotaWarningEmail(w.From, args.To, q, id), args.AccountID, nil, nil
	}
	// The Message-ID is known before the submission is read: the read
	// can bring the email's record too.
	id := mail.MessageID(host, args.Template, submissions.FormatID(args.SubmissionID), args.To)
	r, err := w.readSubmission(ctx, args, id)
	if err != nil {
		return nil, 0, nil, err
	}
	sub, form := r.sub, r.form
	switch args.Template {
	case TemplateNotification:
		// Planned before the address unsubscribed (a retry, a backlog):
		// it is not sent after.
		if r.unsubscribed {
			return nil, 0, nil, errNotDue
		}
		view := w.view(form, sub)
		subject, intro := wording(form, sub)
		view.Intro = intro
		// _cc makes Intake mail addresses the submitter chose: only for
		// forms whose owner allowed it, as the form says at send time (an
		// owner who turns it off stops retries from copying too).
		var cc []string
		if form.Settings.AllowCC {
			cc = sub.Meta.CC
		}
		if w.Links != nil {
			view.UnsubscribeURL = w.BaseURL + "/unsubscribe?token=" + w.Links.UnsubscribeToken(form.PublicID, args.To)
		}
		attachments := w.files(ctx, sub, &view)
		m := mail.Notification(w.From, args.To, cc, sub.Meta.ReplyTo, subject, view, id)
		m.Attachments = attachments
		return m, form.AccountID, r.recorded, nil
	case TemplateAutoresponse:
		if err := w.autoresponseSlot(ctx, form.ID, sub, args.To); err != nil {
			return nil, 0, nil, err
		}
		ar := form.Settings.Autoresponse
		return mail.Autoresponse(w.From, args.To, ar.Subject, ar.Body, form.Name, id), form.AccountID, r.recorded, nil
	}
	return nil, 0, nil, river.JobCancel(fmt.Errorf("unknown email kind %q", args.Template))
}

// errNotDue is an email no longer wanted: a confirmation whose address was
// confirmed, removed, or sent a newer link since it was enqueued, or a
// notification to an address that unsubscribed since.
var errNotDue = errors.New("no longer wanted")

// unsubscribedSQL says whether an address unsubscribed from a form.
const unsubscribedSQL = `SELECT EXISTS (SELECT 1 FROM notify_recipients WHERE form_id = $1 AND email = lower($2) AND state = 'unsubscribed')`

// unsubscribedByFormSQL is unsubscribedSQL by the form's public id.
const unsubscribedByFormSQL = `SELECT EXISTS (SELECT 1 FROM notify_recipients r JOIN forms f ON f.id = r.form_id
WHERE f.public_id = $1 AND r.email = lower($2) AND r.state = 'unsubscribed')`

// submissionRead is what readSubmission reads.
type submissionRead struct {
	sub          *submissions.Submission
	form         *forms.Form
	unsubscribed bool    // a notification's recipient unsubscribed from the form
	recorded     *string // the state of the email's record, when read ("" for none)
}

// readSubmission reads the submission of a notification or an
// autoresponse, its form, and for a notification whether its recipient
// unsubscribed from the form. A job that names the form is read in one
// round trip (the reads are a third of the worker's CPU, and each round
// trip costs both sides: docs/BENCHMARKS.md) with the state of the email's
// record under messageID; one planned before jobs named it, one read after
// another, without the record's state. The form may be shared with other
// reads (forms.QueueByPublicID) and is not modified.
func (w *EmailWorker) readSubmission(ctx context.Context, args EmailArgs, messageID string) (r submissionRead, err error) {
	notification := args.Template == TemplateNotification
	if args.Form == "" {
		if r.sub, err = submissions.ByID(ctx, w.DB, args.SubmissionID); err != nil {
			return r, err
		}
		if r.form, err = forms.ByPublicID(ctx, w.DB, r.sub.FormPublicID); err != nil {
			return r, err
		}
		if notification {
			err = w.DB.QueryRow(ctx, unsubscribedSQL, r.form.ID, args.To).Scan(&r.unsubscribed)
		}
		return r, err
	}
	var recorded string
	b := &pgx.Batch{}
	submissions.QueueByID(b, args.SubmissionID, &r.sub)
	err = forms.QueueByPublicID(b, args.Form, &r.form)
	if err == nil {
		if notification {
			b.Queue(unsubscribedByFormSQL, args.Form, args.To).QueryRow(func(row pgx.Row) error { return row.Scan(&r.unsubscribed) })
		}
		b.Queue(recordedSQL, messageID).QueryRow(func(row pgx.Row) error { return row.Scan(&recorded) })
		err = w.DB.SendBatch(ctx, b).Close()
	}
	switch {
	case err == nil && r.sub.FormPublicID == args.Form:
		r.recorded = &recorded
		return r, nil
	case err != nil && intake.KindOf(err) != intake.NotFound:
		return submissionRead{}, err
	}
	// The form named is not the submission's (nothing plans that), or the
	// submission or form is gone: read as a job that names no form, which
	// finds the right form, or says truly that there is nothing to send.
	args.Form = ""
	return w.readSubmission(ctx, args, messageID)
}

const confirmationSQL = `SELECT f.public_id, f.name, f.account_id, r.token_hash FROM notify_recipients r JOIN forms f ON f.id = r.form_id
WHERE r.form_id = $1 AND r.email = lower($2) AND r.listed AND r.state = 'pending'`

// confirmation composes the confirmation link's email, rebuilding the
// token whose hash the recipient's row holds; the copy to record says the
// link was withheld (the outbox is the form owner's to read, and must not
// let them confirm for the recipient). It returns errNotDue when the row no
// longer waits for this very link.
func (w *EmailWorker) confirmation(ctx context.Context, args EmailArgs) (msg, kept *mail.Message, accountID int64, err error) {
	if w.Links == nil {
		return nil, nil, 0, errors.New("no links key: confirmations cannot be sent")
	}
	var (
		publicID, formName string
		hash               []byte
	)
	err = w.DB.QueryRow(ctx, confirmationSQL, args.FormID, args.To).Scan(&publicID, &formName, &accountID, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, 0, errNotDue
	}
	if err != nil {
		return nil, nil, 0, err
	}
	token := w.Links.confirmToken(args.FormID, args.To, args.At)
	if !hmac.Equal(hash, tokenHash(token)) {
		return nil, nil, 0, errNotDue
	}
	id := mail.MessageID(w.host(), args.Template, publicID, strings.ToLower(args.To), strconv.FormatInt(args.At, 10))
	msg = mail.RecipientConfirmation(w.From, args.To, formName, w.BaseURL+"/confirm?token="+token, id)
	kept = mail.RecipientConfirmation(w.From, args.To, formName, "", id)
	return msg, kept, accountID, nil
}

// Autoresponse limits, per mailbox (mail.Mailbox: ada+1@ and ada+2@ are
// one): at most AutoresponseLimit autoresponses per form and
// AutoresponseLimitPerMailbox over all forms of every account in
// AutoresponseWindow.
const (
	AutoresponseLimit           = 3
	AutoresponseLimitPerMailbox = 10
	AutoresponseWindow          = 24 * time.Hour
)

// The statements of autoresponseSlot, in its order: lock the mailbox
// until the transaction ends, forget what is older than the window, take
// a slot if one is free (of the form's and of the mailbox's), say whether
// the submission holds one.
const (
	autoresponseLockSQL   = `SELECT pg_advisory_xact_lock(hashtextextended('intake autoresponse ' || $1::text, 0))`
	autoresponseExpireSQL = `DELETE FROM autoresponses WHERE recipient = $1 AND sent_at <= now() - make_interval(secs => $2)`
	autoresponseTakeSQL   = `INSERT INTO autoresponses (submission_id, form_id, recipient)
SELECT $1, $2, $3 WHERE (SELECT count(*) FROM autoresponses WHERE form_id = $2 AND recipient = $3) < $4
	AND (SELECT count(*) FROM autoresponses WHERE recipient = $3) < $5
ON CONFLICT (submission_id) DO NOTHING`
	autoresponseHeldSQL = `SELECT EXISTS (SELECT 1 FROM autoresponses WHERE submission_id = $1)`
)

// SweepAutoresponses deletes the autoresponse records older than
// AutoresponseWindow, which no limit counts any more, and returns how
// many. The worker forgets a mailbox's old records only when it sends that
// mailbox another; without this sweep the address of every other stayed
// for good (deleting a submission keeps its record: it still counts). The
// periodic sweep runs it (Workers).
func SweepAutoresponses(ctx context.Context, db database.Executor) (int64, error) {
	tag, err := db.Exec(ctx, `DELETE FROM autoresponses WHERE sent_at <= now() - make_interval(secs => $1)`, AutoresponseWindow.Seconds())
	return tag.RowsAffected(), err
}

// errAutoresponseLimit is an autoresponse over AutoresponseLimit.
var errAutoresponseLimit = errors.New("autoresponse limit reached for this mailbox")

// autoresponseSlot takes one of the slots of to's mailbox (AutoresponseLimit
// for the form, AutoresponseLimitPerMailbox in all) for sub, or returns
// errAutoresponseLimit. The check is here, at send time, and not when the
// submission plans its jobs: submissions written in one group commit
// cannot see each other's, so a count there would let a burst through.
// Here an advisory lock on the mailbox serialises the counts and the
// insert, so they are exact however many workers run; a retry finds its
// own row and keeps its slot.
func (w *EmailWorker) autoresponseSlot(ctx context.Context, formID int64, sub *submissions.Submission, to string) error {
	box := mail.Mailbox(to)
	ok := false
	err := database.WithTx(ctx, w.DB, pgx.TxOptions{}, func(tx pgx.Tx) error {
		// One round trip; under READ COMMITTED each statement after the
		// lock sees what the lock's previous holder committed.
		b := &pgx.Batch{}
		b.Queue(autoresponseLockSQL, box)
		b.Queue(autoresponseExpireSQL, box, AutoresponseWindow.Seconds())
		b.Queue(autoresponseTakeSQL, sub.ID, formID, box, AutoresponseLimit, AutoresponseLimitPerMailbox)
		b.Queue(autoresponseHeldSQL, sub.ID).QueryRow(func(row pgx.Row) error { return row.Scan(&ok) })
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return err
	}
	if !ok {
		return errAutoresponseLimit
	}
	return nil
}

// view shows a submission's fields in the contract's order, then any others
// sorted by name.
func (w *EmailWorker) view(form *forms.Form, sub *submissions.Submission) mail.Submission {
	v := mail.Submission{
		FormName: form.Name, FormID: form.PublicID, SubmissionID: sub.PublicID(), CreatedAt: sub.CreatedAt,
		IP: sub.Meta.IP, UserAgent: sub.Meta.UserAgent, Referrer: sub.Meta.Referrer,
		DashboardURL: w.dashboard("forms", form.PublicID, "submissions", sub.PublicID()),
	}
	seen := map[string]bool{}
	for _, f := range form.Contract.Fields {
		if val, ok := sub.Data[f.Name]; ok {
			v.Fields = append(v.Fields, mail.Field{Name: f.Name, Label: f.Label, Value: submissions.Text(val, emailText)})
			seen[f.Name] = true
		}
	}
	for _, name := range slices.Sorted(maps.Keys(sub.Data)) {
		if !seen[name] {
			v.Fields = append(v.Fields, mail.Field{Name: name, Value: submissions.Text(sub.Data[name], emailText)})
		}
	}
	return v
}

// wording is the subject and the owner's text of form's notification of
// sub: the form's notification email with sub's values filled in (a
// list's values joined with ", ", a file by its name and size), or else
// the submission's _subject and no text.
func wording(form *forms.Form, sub *submissions.Submission) (subject, intro string) {
	ne := form.Settings.NotificationEmail
	value := func(name string) string {
		switch name {
		case forms.PlaceholderForm:
			return form.Name
		case forms.PlaceholderID:
			return sub.PublicID()
		}
		if v, ok := sub.Data[name]; ok {
			return submissions.Text(v, emailText)
		}
		return ""
	}
	subject = sub.Meta.Subject
	if ne.Subject != "" {
		subject = forms.Fill(ne.Subject, value)
	}
	return subject, forms.Fill(ne.Body, value)
}

// Preview is form's notification of sub as its addresses get it, from
// from (Intake's sender), for the dashboard's preview of the wording: no
// attachment, no unsubscribe link (it names a recipient).
func Preview(form *forms.Form, sub *submissions.Submission, baseURL, from string) *mail.Message {
	w := &EmailWorker{BaseURL: baseURL}
	view := w.view(form, sub)
	subject, intro := wording(form, sub)
	view.Intro = intro
	return mail.Notification(from, "you@example.com", nil, sub.Meta.ReplyTo, subject, view, "")
}

// MaxAttached is the most a notification attaches of a submission's
// files, in all; the rest are linked (a signed link, working 7 days).
// Mail servers commonly refuse messages over 10–25 MiB, and base64 adds a
// third.
const MaxAttached = 10 << 20

// files attaches sub's files to its notification, in field order, while
// they fit in MaxAttached together, and links the rest in view. The bytes
// are read as the message is written (submissions.PGFiles).
func (w *EmailWorker) files(ctx context.Context, sub *submissions.Submission, view *mail.Submission) []mail.Attachment {
	var (
		out   []mail.Attachment
		total int64
	)
	store := submissions.PGFiles{DB: w.DB}
	limit := w.MaxAttached
	if limit <= 0 {
		limit = MaxAttached
	}
	for _, f := range sub.Files {
		ref := mail.FileRef{Name: f.Name, Size: submissions.SizeText(f.Size)}
		if total+f.Size <= limit {
			total += f.Size
			ref.Attached = true
			out = append(out, mail.Attachment{Name: f.Name, ContentType: f.ContentType,
				Open: func() (io.ReadCloser, error) { return store.Open(ctx, sub.ID, &f) }})
		} else if w.FileLinks != nil {
			ref.URL = w.FileLinks.URL(sub.ID, f.FileID(sub.ID), time.Now())
		} else {
			ref.URL = w.dashboard("forms", sub.FormPublicID, "submissions", sub.PublicID(), "files", f.FileID(sub.ID))
		}
		view.Files = append(view.Files, ref)
	}
	return out
}

// emailText is how a value reads in the notification: a list joined with
// ", ", a file by its name and size (the Files part says whether it is
// attached or linked), and a null inside a list as "<nil>", as it always has.
var emailText = submissions.TextStyle{ListSep: ", ", Null: "<nil>", File: func(f map[string]any) string {
	return fmt.Sprintf("%v (%v bytes)", f["filename"], f["size"])
}}

func (w *EmailWorker) dashboard(parts ...string) string {
	return w.BaseURL + "/" + strings.Join(parts, "/")
}

func (w *EmailWorker) observe(result string) {
	if w.Observe != nil {
		w.Observe(result)
	}
}

func (w *EmailWorker) logger() *slog.Logger {
	if w.Logger != nil {
		return w.Logger
	}
	return slog.Default()
}
