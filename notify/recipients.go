package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/database"
	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/internal/seal"
	"github.com/intakehq/intake/webhooks"
)

// States of a notification recipient.
const (
	RecipientPending      = "pending"      // listed, not confirmed yet: gets nothing
	RecipientConfirmed    = "confirmed"    // gets the form's notifications
	RecipientUnsubscribed = "unsubscribed" // asked, through a notification's link, to get no more
)

// ConfirmationInterval is how often at most one address is mailed a
// confirmation link for one form: editing a form in a loop cannot mail-bomb
// anyone.
const ConfirmationInterval = 24 * time.Hour

// ConfirmationsPerAddress is how many confirmation emails one address is
// mailed at most in ConfirmationInterval, over all forms of all accounts:
// forms are unlimited, so the per-form limit alone would let one verified
// account mail a stranger a confirmation, with a form name it chose in the
// subject, once per form a day. An address over the cap stays pending
// without a link, as under the per-form limit, and is mailed one when a
// form that lists it is saved after the window.
const ConfirmationsPerAddress = 3

// ErrLinkNotFound is returned for a confirmation or unsubscribe token that
// is not (or no longer) valid: unknown, used already, forged, or made under
// another INTAKE_SECRET_KEY.
var ErrLinkNotFound = errors.New("link not valid")

// Recipient is one notification address of a form and its state.
type Recipient struct {
	Email string `json:"email"`
	State string `json:"state"` // RecipientPending, RecipientConfirmed or RecipientUnsubscribed
	// Listed is false for an address that is not among the form's
	// notify_emails but unsubscribed from its mail: the account owner,
	// who gets the notifications of a form that lists no one.
	Listed bool `json:"-"`
	// UnsubscribedAt is when it unsubscribed; nil unless it did.
	UnsubscribedAt *time.Time `json:"-"`
}

// Links makes and checks the tokens of the confirmation and unsubscribe
// links, HMAC-SHA256 under keys derived from the instance's secret key by
// seal.DeriveKey, as seal.Sealer derives its own.
//
// An unsubscribe token is the (form, address) pair it is for, signed: it
// can be rebuilt for every notification without storing a secret per
// recipient, it works for the account owner (who has no row until they
// unsubscribe), and a copy of the database alone cannot forge one. A
// confirmation token is the MAC of (form, address, time of sending); only
// its SHA-256 is stored, the worker rebuilds the token when it composes the
// email, so the link is never at rest — not in the job, not in the outbox.
type Links struct{ confirm, unsubscribe []byte }

// NewLinks derives the link keys from secretKey (INTAKE_SECRET_KEY, or the
// one generated and kept in the database). It returns an error for an
// empty key.
func NewLinks(secretKey string) (*Links, error) {
	if secretKey == "" {
		return nil, errors.New("notify: an empty secret key cannot sign links")
	}
	confirm, err := seal.DeriveKey(secretKey, "intake recipient confirmation links v1")
	if err != nil {
		return nil, err
	}
	unsub, err := seal.DeriveKey(secretKey, "intake unsubscribe links v1")
	if err != nil {
		return nil, err
	}
	return &Links{confirm: confirm, unsubscribe: unsub}, nil
}

// confirmToken is the token of the confirmation mailed to email for the
// form formID at sentAt.
func (l *Links) confirmToken(formID int64, email string, sentAt int64) string {
	mac := hmac.New(sha256.New, l.confirm)
	mac.Write([]byte(strconv.FormatInt(formID, 10) + "\x00" + strings.ToLower(email) + "\x00" + strconv.FormatInt(sentAt, 10)))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func tokenHash(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// UnsubscribeToken returns the token that unsubscribes email from the
// notifications of the form formPublicID.
func (l *Links) UnsubscribeToken(formPublicID, email string) string {
	payload := formPublicID + ":" + strings.ToLower(email)
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + base64.RawURLEncoding.EncodeToString(l.unsubscribeMAC(payload))
}

func (l *Links) unsubscribeMAC(payload string) []byte {
	mac := hmac.New(sha256.New, l.unsubscribe)
	mac.Write([]byte("unsubscribe\x00" + payload))
	return mac.Sum(nil)[:16] // 128 bits: enough for a tag nobody can try offline
}

// parseUnsubscribe returns the form and address a token names, or
// ErrLinkNotFound when it is not one Links made.
func (l *Links) parseUnsubscribe(token string) (formPublicID, email string, err error) {
	p, m, ok := strings.Cut(token, ".")
	payload, err1 := base64.RawURLEncoding.DecodeString(p)
	tag, err2 := base64.RawURLEncoding.DecodeString(m)
	if l == nil || !ok || err1 != nil || err2 != nil || !hmac.Equal(tag, l.unsubscribeMAC(string(payload))) {
		return "", "", ErrLinkNotFound
	}
	formPublicID, email, _ = strings.Cut(string(payload), ":")
	return formPublicID, email, nil
}

// RecipientSync is forms.RecipientSync: it keeps notify_recipients in step
// with a form's notify_emails and enqueues, with River in the same
// transaction, the confirmation emails of the addresses that need one. A
// nil *RecipientSync keeps nothing.
type RecipientSync struct {
	River webhooks.Inserter
	Links *Links
}

// unlistSQL forgets the addresses a form no longer lists: they get
// nothing, and their live link dies. The row stays for the daily limit.
const unlistSQL = `UPDATE notify_recipients SET listed = false, token_hash = NULL
WHERE form_id = $1 AND listed AND NOT (email = ANY ($2::text[]))`

// listSQL lists the new addresses, and again those listed before: an
// address of one of the account's verified users is confirmed at once (it
// proved the address by its verification link), any other is pending.
var listSQL = `
INSERT INTO notify_recipients (form_id, email, listed, state, confirmed_at)
SELECT $1, e.email, true,
       CASE WHEN o.own THEN 'confirmed' ELSE 'pending' END,
       CASE WHEN o.own THEN now() END
FROM unnest($2::text[]) AS e(email)
CROSS JOIN LATERAL (SELECT ` + accounts.VerifiedAddressSQL("$3", "e.email") + `) AS o(own)
ON CONFLICT (form_id, email) DO UPDATE
SET listed = true, state = excluded.state, confirmed_at = excluded.confirmed_at, unsubscribed_at = NULL, token_hash = NULL
WHERE NOT notify_recipients.listed`

// toConfirmSQL picks the pending addresses without a live link whose last
// confirmation mail (if any) is older than ConfirmationInterval.
const toConfirmSQL = `SELECT id, email FROM notify_recipients
WHERE form_id = $1 AND listed AND state = 'pending' AND token_hash IS NULL
  AND (confirm_sent_at IS NULL OR confirm_sent_at <= now() - make_interval(secs => $2))
ORDER BY id FOR UPDATE`

// lockAddressesSQL takes a transaction lock per address, in the order of
// their keys (the subquery sorts before the locks are taken: OFFSET 0
// keeps it from being flattened).
const lockAddressesSQL = `SELECT pg_advisory_xact_lock(k)
FROM (SELECT DISTINCT hashtext(e) AS k FROM unnest($1::text[]) AS u(e) ORDER BY k OFFSET 0) AS s`

// sentToSQL counts the confirmations mailed to each address, over all
// forms, in the last ConfirmationInterval.
const sentToSQL = `SELECT email, count(*) FROM notify_recipients
WHERE email = ANY ($1::text[]) AND confirm_sent_at > now() - make_interval(secs => $2)
GROUP BY email`

// Sync implements forms.RecipientSync.
func (s *RecipientSync) Sync(ctx context.Context, tx pgx.Tx, f *forms.Form) error {
	if s == nil {
		return nil
	}
	emails := []string{}
	for _, e := range f.Settings.NotifyEmails {
		if e = strings.ToLower(strings.TrimSpace(e)); e != "" && !slices.Contains(emails, e) {
			emails = append(emails, e)
		}
	}
	if _, err := tx.Exec(ctx, unlistSQL, f.ID, emails); err != nil {
		return err
	}
	if len(emails) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, listSQL, f.ID, emails, f.AccountID); err != nil {
		return err
	}
	verified, err := ownerVerified(ctx, tx, f.AccountID)
	if err != nil || !verified {
		// An account whose owner has not verified their address mails no
		// one, confirmation links included: a stranger who signs up cannot
		// make Intake mail twenty addresses. The addresses stay pending
		// without a link; SendPending mails them once the owner verifies.
		return err
	}
	return s.confirm(ctx, tx, f.ID)
}

// ownerVerified tells whether the account's owner has verified their
// address (false for an account without users).
func ownerVerified(ctx context.Context, db database.Executor, accountID int64) (bool, error) {
	owner, err := accounts.Owner(ctx, db, accountID)
	if errors.Is(err, accounts.ErrNotFound) {
		return false, nil
	}
	return err == nil && owner.Verified, err
}

// confirmOwnSQL confirms the account's listed addresses that are its
// verified users' own: listed while unverified, they were pending.
var confirmOwnSQL = `UPDATE notify_recipients r SET state = 'confirmed', confirmed_at = now(), token_hash = NULL
FROM forms f
WHERE f.id = r.form_id AND f.account_id = $1 AND ` + accounts.VerifiedAddressSQL("$1", "r.email") + `
  AND r.listed AND r.state = 'pending'`

// pendingFormsSQL lists the account's forms with listed addresses that
// wait for a confirmation link.
const pendingFormsSQL = `SELECT DISTINCT r.form_id FROM notify_recipients r JOIN forms f ON f.id = r.form_id
WHERE f.account_id = $1 AND r.listed AND r.state = 'pending' AND r.token_hash IS NULL ORDER BY r.form_id`

// SendPending enqueues, in tx, the confirmation emails that an account's
// forms held back while its owner was unverified: the dashboard calls it
// when the owner verifies their address.
func (s *RecipientSync) SendPending(ctx context.Context, tx pgx.Tx, accountID int64) error {
	if s == nil {
		return nil
	}
	if _, err := tx.Exec(ctx, confirmOwnSQL, accountID); err != nil {
		return err
	}
	rows, err := tx.Query(ctx, pendingFormsSQL, accountID)
	if err != nil {
		return err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.confirm(ctx, tx, id); err != nil {
			return err
		}
	}
	return nil
}

// confirm enqueues, in tx, a confirmation email to each of the form's
// pending addresses that needs one (none mailed for this form in
// ConfirmationInterval) and may have one (fewer than
// ConfirmationsPerAddress mailed to it in that time over all forms).
func (s *RecipientSync) confirm(ctx context.Context, tx pgx.Tx, formID int64) error {
	rows, err := tx.Query(ctx, toConfirmSQL, formID, ConfirmationInterval.Seconds())
	if err != nil {
		return err
	}
	type due struct {
		id    int64
		email string
	}
	var dues []due
	var d due
	if _, err := pgx.ForEachRow(rows, []any{&d.id, &d.email}, func() error { dues = append(dues, d); return nil }); err != nil {
		return err
	}
	if len(dues) == 0 {
		return nil
	}
	if s.River == nil || s.Links == nil {
		return errors.New("notify: recipients need a River client and links to send confirmations")
	}
	emails := make([]string, len(dues))
	for i, d := range dues {
		emails[i] = d.email
	}
	// The cap over all forms: lock the addresses (in one order, so two
	// saves cannot deadlock on them) before counting, so that concurrent
	// saves count one after the other; the count is a statement of its own,
	// to see what a save that held the lock before committed.
	if _, err := tx.Exec(ctx, lockAddressesSQL, emails); err != nil {
		return err
	}
	rows, err = tx.Query(ctx, sentToSQL, emails, ConfirmationInterval.Seconds())
	if err != nil {
		return err
	}
	sent := map[string]int{}
	var (
		email string
		n     int
	)
	if _, err := pgx.ForEachRow(rows, []any{&email, &n}, func() error { sent[email] = n; return nil }); err != nil {
		return err
	}
	at := time.Now().Truncate(time.Microsecond)
	for _, d := range dues {
		if sent[d.email] >= ConfirmationsPerAddress {
			continue // stays pending without a link until the window passes
		}
		sent[d.email]++
		hash := tokenHash(s.Links.confirmToken(formID, d.email, at.UnixMicro()))
		if _, err := tx.Exec(ctx, `UPDATE notify_recipients SET token_hash = $2, confirm_sent_at = $3 WHERE id = $1`, d.id, hash, at); err != nil {
			return err
		}
		if _, err := s.River.InsertTx(ctx, tx, EmailArgs{Template: TemplateConfirmRecipient, To: d.email, FormID: formID, At: at.UnixMicro()}, nil); err != nil {
			return err
		}
	}
	return nil
}

// Recipients returns the notification addresses of each form in formIDs:
// every listed one and any other that unsubscribed, in the order they were
// first listed.
func Recipients(ctx context.Context, db database.Executor, formIDs []int64) (map[int64][]Recipient, error) {
	rows, err := db.Query(ctx, `SELECT form_id, email, state, listed, unsubscribed_at FROM notify_recipients
WHERE form_id = ANY ($1) AND (listed OR state = 'unsubscribed') ORDER BY form_id, id`, formIDs)
	if err != nil {
		return nil, err
	}
	out := map[int64][]Recipient{}
	var (
		formID int64
		r      Recipient
	)
	_, err = pgx.ForEachRow(rows, []any{&formID, &r.Email, &r.State, &r.Listed, &r.UnsubscribedAt}, func() error {
		out[formID] = append(out[formID], r)
		return nil
	})
	return out, err
}

// Listed returns the form's notify_emails with their states, in the
// settings' order; an address without a row (a form saved without
// recipients kept) is pending.
func Listed(f *forms.Form, rows []Recipient) []Recipient {
	out := []Recipient{}
	for _, e := range f.Settings.NotifyEmails {
		r := Recipient{Email: e, State: RecipientPending, Listed: true}
		for _, row := range rows {
			if row.Listed && row.Email == strings.ToLower(strings.TrimSpace(e)) {
				r.State = row.State
			}
		}
		out = append(out, r)
	}
	return out
}

// Pending is a confirmation link's recipient, as its page shows it.
type Pending struct {
	Email    string
	FormName string
}

const pendingSQL = `SELECT r.email, f.name FROM notify_recipients r JOIN forms f ON f.id = r.form_id
WHERE r.token_hash = $1 AND r.listed AND r.state = 'pending'`

// PendingFor returns what a confirmation token would confirm, changing
// nothing (a mail scanner that fetches the link confirms nothing). It
// returns ErrLinkNotFound.
func PendingFor(ctx context.Context, db database.Executor, token string) (*Pending, error) {
	var p Pending
	err := db.QueryRow(ctx, pendingSQL, tokenHash(token)).Scan(&p.Email, &p.FormName)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrLinkNotFound
	}
	return &p, err
}

const confirmSQL = `UPDATE notify_recipients r SET state = 'confirmed', confirmed_at = now(), token_hash = NULL
FROM forms f WHERE f.id = r.form_id AND r.token_hash = $1 AND r.listed AND r.state = 'pending'
RETURNING r.email, f.name, f.account_id, f.public_id`

// Confirm confirms the address a confirmation token was mailed to: from
// now on it gets the form's notifications. A token works once. It is
// recorded as "form.update" (notifications) by the link's holder from
// address. It returns ErrLinkNotFound.
func Confirm(ctx context.Context, db *pgxpool.Pool, token, address string) (*Pending, error) {
	var p Pending
	err := database.WithTx(ctx, db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var accountID int64
		var publicID string
		err := tx.QueryRow(ctx, confirmSQL, tokenHash(token)).Scan(&p.Email, &p.FormName, &accountID, &publicID)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrLinkNotFound
		}
		if err != nil {
			return err
		}
		return recordNotifications(ctx, tx, audit.Link(address), accountID, publicID)
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// recordNotifications records, in tx, that who gets the form's
// notifications changed: the recipient's address is not named (the log
// is append-only, an address is a person's data).
func recordNotifications(ctx context.Context, tx pgx.Tx, actor audit.Actor, accountID int64, formPublicID string) error {
	return audit.Record(ctx, tx, audit.Entry{AccountID: accountID, Actor: actor, Action: "form.update",
		ObjectType: "form", ObjectID: formPublicID, Changed: []string{"notifications"}})
}

// UnsubscribeFor returns what an unsubscribe token is for, changing
// nothing. It returns ErrLinkNotFound.
func (l *Links) UnsubscribeFor(ctx context.Context, db database.Executor, token string) (*Pending, error) {
	publicID, email, err := l.parseUnsubscribe(token)
	if err != nil {
		return nil, err
	}
	p := &Pending{Email: email}
	err = db.QueryRow(ctx, `SELECT name FROM forms WHERE public_id = $1`, publicID).Scan(&p.FormName)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrLinkNotFound
	}
	return p, err
}

// unsubscribeSQL marks the address unsubscribed from the form, with a row
// of its own when it has none (the owner of a form that lists no one).
// Unsubscribing again keeps the first time and writes nothing: the answer
// says whether anything changed (the form missing: no row).
const unsubscribeSQL = `
WITH f AS (SELECT id, name, account_id FROM forms WHERE public_id = $1),
u AS (
	INSERT INTO notify_recipients (form_id, email, listed, state, unsubscribed_at)
	SELECT f.id, $2, false, 'unsubscribed', now() FROM f
	ON CONFLICT (form_id, email) DO UPDATE
	SET state = 'unsubscribed', token_hash = NULL,
	    unsubscribed_at = CASE WHEN notify_recipients.state = 'unsubscribed' THEN notify_recipients.unsubscribed_at ELSE now() END
	WHERE notify_recipients.state <> 'unsubscribed' OR notify_recipients.token_hash IS NOT NULL
	RETURNING form_id
)
SELECT f.name, f.account_id, EXISTS (SELECT FROM u) FROM f`

// Unsubscribe stops the notifications of the form an unsubscribe token
// names to the address it names; doing it twice is fine (the second
// changes nothing and records nothing). It is recorded as "form.update"
// (notifications) by the link's holder from address. It returns
// ErrLinkNotFound.
func (l *Links) Unsubscribe(ctx context.Context, db *pgxpool.Pool, token, address string) (*Pending, error) {
	publicID, email, err := l.parseUnsubscribe(token)
	if err != nil {
		return nil, err
	}
	p := &Pending{Email: email}
	err = database.WithTx(ctx, db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var accountID int64
		var changed bool
		err := tx.QueryRow(ctx, unsubscribeSQL, publicID, email).Scan(&p.FormName, &accountID, &changed)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrLinkNotFound
		}
		if err != nil || !changed {
			return err
		}
		return recordNotifications(ctx, tx, audit.Link(address), accountID, publicID)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Resubscribe turns the form's notifications to email back on after it
// unsubscribed: for the dashboard, where a user turns their own back on.
// It reports whether there was anything to turn back on, and records that
// by actor in the same transaction.
func Resubscribe(ctx context.Context, db *pgxpool.Pool, actor audit.Actor, f *forms.Form, email string) (bool, error) {
	var done bool
	err := database.WithTx(ctx, db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE notify_recipients SET state = 'confirmed', confirmed_at = now(), unsubscribed_at = NULL
WHERE form_id = $1 AND email = lower($2) AND state = 'unsubscribed'`, f.ID, email)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		done = true
		return recordNotifications(ctx, tx, actor, f.AccountID, f.PublicID)
	})
	return done, err
}
