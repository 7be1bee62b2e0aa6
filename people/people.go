package people

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/database"
	"github.com/intakehq/intake/idempotency"
	"github.com/intakehq/intake/notify"
	"github.com/intakehq/intake/submissions"
	"github.com/intakehq/intake/webhooks"
)

// The audit log's words for a person's requests.
const (
	ActionLookup = "person.lookup"
	ActionErase  = "person.erase"
	ObjectType   = "person"
)

// Mask returns address as the audit log keeps it: the first character of
// the local part, "***", and the domain, lower-cased (b***@example.com).
// It says whose request it was to someone who knows the address, without
// keeping the address itself.
func Mask(address string) string {
	local, domain, _ := strings.Cut(strings.ToLower(address), "@")
	r, _ := utf8.DecodeRuneInString(local)
	if r == utf8.RuneError {
		return "***@" + domain
	}
	return string(r) + "***@" + domain
}

// Lookup is a person's submissions found, ready to be written.
type Lookup struct {
	accountID int64
	address   string
	// Count is how many submissions carried the address when the lookup
	// was recorded; the rows written are read afterwards, so one taken in
	// between is written too.
	Count int64
}

// Find counts the account's submissions that carry address (one
// submissions.ParseAddress accepted) and records "person.lookup" by actor,
// with the count, in the same transaction; Write then sends them. The
// entry is committed before a row goes out, so a client that stops reading
// half-way has still been logged.
func Find(ctx context.Context, db *pgxpool.Pool, actor audit.Actor, accountID int64, address string) (*Lookup, error) {
	l := &Lookup{accountID: accountID, address: address}
	err := database.WithTx(ctx, db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var err error
		if l.Count, err = submissions.CountPerson(ctx, tx, accountID, address); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{AccountID: accountID, Actor: actor, Action: ActionLookup,
			ObjectType: ObjectType, ObjectID: Mask(address), Changed: []string{count("submissions", l.Count)}})
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// Write streams the submissions as NDJSON, one a line in the API's shape
// of a submission, newest first, in constant memory. every is called after
// each 1,000 lines (to flush and extend a deadline); nil is fine. It
// returns how many it wrote and the first error.
func (l *Lookup) Write(ctx context.Context, db database.Executor, w io.Writer, every func() error) (int, error) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return submissions.ExportPerson(ctx, db, l.accountID, l.address, func(s *submissions.Submission) error {
		if err := enc.Encode(s.JSON()); err != nil {
			return err
		}
		return nil
	}, every)
}

// Each calls fn with the submissions found, newest first (the dashboard's
// list), and stops at fn's first error.
func (l *Lookup) Each(ctx context.Context, db database.Executor, fn func(*submissions.Submission) error) error {
	_, err := submissions.ExportPerson(ctx, db, l.accountID, l.address, fn, nil)
	return err
}

// Counts is what an erasure deleted, per kind.
type Counts struct {
	Submissions     int64 `json:"submissions"`
	Files           int64 `json:"files"`
	IdempotencyKeys int64 `json:"idempotency_keys"`
	Emails          int64 `json:"emails"`
	Deliveries      int64 `json:"deliveries"`
	Jobs            int64 `json:"jobs"`
}

func (c *Counts) add(o Counts) {
	c.Submissions += o.Submissions
	c.Files += o.Files
	c.IdempotencyKeys += o.IdempotencyKeys
	c.Emails += o.Emails
	c.Deliveries += o.Deliveries
	c.Jobs += o.Jobs
}

// changed is c as the audit entry's list: "kind=n" for each kind.
func (c Counts) changed() []string {
	return []string{count("submissions", c.Submissions), count("files", c.Files), count("idempotency_keys", c.IdempotencyKeys),
		count("emails", c.Emails), count("deliveries", c.Deliveries), count("jobs", c.Jobs)}
}

func count(kind string, n int64) string { return fmt.Sprintf("%s=%d", kind, n) }

// previewSQL counts what an erasure would delete now: the reads of each
// kind over PersonSQL's rows, as the erasure's parts find them.
var previewSQL = `WITH doomed AS MATERIALIZED (` + submissions.PersonSQL() + `)
SELECT (SELECT count(*) FROM doomed), (SELECT n FROM (` + submissions.ErasedFilesSQL("doomed") + `) f),
	(SELECT count(*) FROM idempotency_keys k JOIN doomed d ON k.form_id = d.form_id AND k.key = d.idempotency_key AND k.submission_id = d.id),
	(SELECT count(*) FROM outbound_emails e JOIN doomed d ON e.submission_id = d.id)
		+ (SELECT count(*) FROM (` + notify.ErasedAutorespondedPreviewSQL() + `) o),
	(SELECT n FROM (` + webhooks.ErasedDeliveriesSQL("doomed") + `) dl),
	(SELECT count(*) FROM river_job j JOIN doomed d ON j.args @> jsonb_build_object('submission_id', d.id) AND j.state <> 'running')`

// Preview counts what Erase would delete of the account's data for
// address, as it stands now, and records it as a lookup (person.lookup,
// masked, with the count) in the same transaction: it tells whoever asks
// whether the address is in the account, as a lookup does. It changes
// nothing else (the dashboard's confirmation).
func Preview(ctx context.Context, db *pgxpool.Pool, actor audit.Actor, accountID int64, address string) (Counts, error) {
	var c Counts
	err := database.WithTx(ctx, db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, previewSQL, accountID, address).
			Scan(&c.Submissions, &c.Files, &c.IdempotencyKeys, &c.Emails, &c.Deliveries, &c.Jobs); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{AccountID: accountID, Actor: actor, Action: ActionLookup,
			ObjectType: ObjectType, ObjectID: Mask(address), Changed: []string{count("submissions", c.Submissions)}})
	})
	return c, err
}

// EraseBatch is how many submissions one statement of an erasure deletes:
// small enough that no statement holds many row locks or runs long.
const EraseBatch = 500

// eraseLockTimeout is how long one batch waits for a row another
// transaction holds (a delivery's attempt being recorded) before the
// erasure gives up with what it has done recorded.
const eraseLockTimeout = "2s"

// eraseSQL is one batch: the submissions' part selects and locks the batch
// (doomed), each owner's part deletes or counts what holds a copy, and the
// submissions go last (their files, deliveries and attempts by cascade).
// Data-modifying CTEs all run, whether read or not, on the statement's
// one snapshot.
var eraseSQL = `WITH doomed AS (` + submissions.PersonBatchSQL() + `),
files AS (` + submissions.ErasedFilesSQL("doomed") + `),
deliveries AS (` + webhooks.ErasedDeliveriesSQL("doomed") + `),
keys AS (` + idempotency.ErasedSQL("doomed") + `),
emails AS (` + notify.ErasedEmailsSQL("doomed") + `),
autoreplies AS (` + notify.ErasedAutorepliesSQL("doomed") + `),
orphans AS (` + notify.ErasedAutorespondedSQL() + `),
jobs AS (` + database.ErasedJobsSQL("doomed") + `),
subs AS (` + submissions.ErasedSQL("doomed") + `)
SELECT (SELECT count(*) FROM subs), (SELECT n FROM files), (SELECT count(*) FROM keys),
	(SELECT count(*) FROM emails) + (SELECT count(*) FROM orphans), (SELECT n FROM deliveries), (SELECT count(*) FROM jobs)`

// Erase deletes every submission of the account that carries address (one
// submissions.ParseAddress accepted) with everything that keeps a copy of
// it: its files, its idempotency key's stored answer, its emails (and the
// autoresponse limit's record of it; and the autoresponses sent to the
// address for submissions deleted before), its webhook deliveries and their
// attempts, its River jobs. It goes batch (EraseBatch when batch <= 0)
// submissions at a time, each batch its own short transaction that records
// "person.erase" by actor with the batch's counts, until a batch finds
// fewer: everything stored before that last batch began is gone when it
// returns nil. An address with nothing is one entry with zero counts.
//
// On an error the batches before it stay done and recorded: the counts
// returned are theirs, and running Erase again finishes the work. A batch
// that waited past its lock timeout is database.IsLockTimeout (503 at the
// edges).
//
// every, when not nil, is called after each batch but the last (the API
// extends its answer's write deadline there: a long erasure must still be
// able to say what it did).
func Erase(ctx context.Context, db *pgxpool.Pool, actor audit.Actor, accountID int64, address string, batch int, every func()) (Counts, error) {
	if batch <= 0 {
		batch = EraseBatch
	}
	var total Counts
	for first := true; ; first = false {
		var c Counts
		err := database.WithTx(ctx, db, pgx.TxOptions{}, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '`+eraseLockTimeout+`'`); err != nil {
				return err
			}
			err := tx.QueryRow(ctx, eraseSQL, accountID, address, batch, first).
				Scan(&c.Submissions, &c.Files, &c.IdempotencyKeys, &c.Emails, &c.Deliveries, &c.Jobs)
			if err != nil {
				return err
			}
			if c.Submissions == 0 && c.Emails == 0 && !first {
				return nil // the batch before was the last, and exactly full
			}
			return audit.Record(ctx, tx, audit.Entry{AccountID: accountID, Actor: actor, Action: ActionErase,
				ObjectType: ObjectType, ObjectID: Mask(address), Changed: c.changed()})
		})
		if err != nil {
			return total, err
		}
		total.add(c)
		if c.Submissions < int64(batch) {
			return total, nil
		}
		if every != nil {
			every()
		}
	}
}
