package submissions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/database"
	"github.com/intakehq/intake/forms"
)

// Retention: a form whose settings name a submission_retention has its
// older submissions deleted each night, with their files (submission_files
// and deliveries with their attempts go by ON DELETE CASCADE; an email
// recorded in outbound_emails keeps its row and loses its link). The
// deletion goes in batches, each its own short transaction with a short
// lock_timeout, so no statement holds many row locks or waits long behind
// a writer; rows another run has locked are skipped (SKIP LOCKED), so two
// runs at once share the work instead of waiting on each other. Each batch
// that deletes something records it in the audit log in its own
// transaction, as actor system: "submission.delete" on the form, with the
// count (one entry a form a night, unless it had more than a batch due).
const (
	// RetentionBatch is how many submissions one DELETE removes.
	RetentionBatch = 1000
	// RetentionHour is the hour (UTC) the nightly run starts.
	RetentionHour = 3
	// RetentionTimeout bounds one run; a run cut short fails, and River
	// runs it again later to go on where it stopped.
	RetentionTimeout = time.Hour
	// retentionLockTimeout is how long one batch waits for a lock (a
	// webhook attempt being recorded on a delivery, say) before giving up.
	retentionLockTimeout = "2s"
)

const retentionFormsSQL = `
SELECT id, public_id, account_id, settings->>'submission_retention' FROM forms
WHERE coalesce(settings->>'submission_retention', '') <> '' ORDER BY id`

// retentionDeleteSQL deletes the oldest batch ($3) of the form's ($1)
// submissions created before $2, through submissions_form_created_idx.
const retentionDeleteSQL = `
DELETE FROM submissions WHERE id IN (
	SELECT id FROM submissions WHERE form_id = $1 AND created_at < $2
	ORDER BY created_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)`

// NextRetentionRun is when the nightly deletion next starts after now.
func NextRetentionRun(now time.Time) time.Time {
	now = now.UTC()
	next := time.Date(now.Year(), now.Month(), now.Day(), RetentionHour, 0, 0, 0, time.UTC)
	if !next.After(now) {
		next = next.AddDate(0, 0, 1)
	}
	return next
}

// RetentionCutoff is the creation time before which a form keeping its
// submissions days days deletes them, in a run at t.
func RetentionCutoff(t time.Time, days int) time.Time {
	return t.Add(-time.Duration(days) * 24 * time.Hour)
}

// DueForDeletion counts the form's submissions a run at t would delete
// under a retention of days days (0: none).
func DueForDeletion(ctx context.Context, db database.Executor, formID int64, days int, t time.Time) (int64, error) {
	if days <= 0 {
		return 0, nil
	}
	var n int64
	err := db.QueryRow(ctx, `SELECT count(*) FROM submissions WHERE form_id = $1 AND created_at < $2`,
		formID, RetentionCutoff(t, days)).Scan(&n)
	return n, err
}

// RetentionPlan is what the next nightly run will do to a form.
type RetentionPlan struct {
	Days    int       // the form's retention; 0 keeps everything
	NextRun time.Time // when the next run starts
	Due     int64     // submissions it will delete, as they stand now
}

// PlanRetention says what the next run after now will delete of the form
// keeping its submissions days days (0: nothing, without a query).
func PlanRetention(ctx context.Context, db database.Executor, formID int64, days int, now time.Time) (RetentionPlan, error) {
	p := RetentionPlan{Days: days, NextRun: NextRetentionRun(now)}
	var err error
	p.Due, err = DueForDeletion(ctx, db, formID, days, p.NextRun)
	return p, err
}

// RetentionResult is what one run did.
type RetentionResult struct {
	Forms   int   // forms with a retention
	Deleted int64 // submissions deleted
	Batches int   // DELETE statements run
}

// ApplyRetention deletes, for every form with a retention, its submissions
// older than it at now, batch at a time (RetentionBatch when batch <= 0).
// A form whose batch could not get its locks in time is left for the next
// run and reported in the error after the other forms are done; ctx's end
// stops it at once.
func ApplyRetention(ctx context.Context, db *pgxpool.Pool, now time.Time, batch int) (RetentionResult, error) {
	if batch <= 0 {
		batch = RetentionBatch
	}
	var res RetentionResult
	type due struct {
		id        int64
		publicID  string
		accountID int64
		days      int
	}
	rows, err := db.Query(ctx, retentionFormsSQL)
	if err != nil {
		return res, err
	}
	var list []due
	for rows.Next() {
		var (
			d   due
			raw string
		)
		if err := rows.Scan(&d.id, &d.publicID, &d.accountID, &raw); err != nil {
			rows.Close()
			return res, err
		}
		// A value that does not parse (never stored through the checks)
		// keeps everything: nothing is deleted by mistake.
		if days, ok := forms.ParseRetention(raw); ok && days > 0 {
			d.days = days
			list = append(list, d)
		}
	}
	if err := rows.Err(); err != nil {
		return res, err
	}
	res.Forms = len(list)
	var skipped []error
	for _, d := range list {
		cutoff := RetentionCutoff(now, d.days)
		for {
			var n int64
			err := database.WithTx(ctx, db, pgx.TxOptions{}, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '`+retentionLockTimeout+`'`); err != nil {
					return err
				}
				tag, err := tx.Exec(ctx, retentionDeleteSQL, d.id, cutoff, batch)
				if n = tag.RowsAffected(); err != nil || n == 0 {
					return err
				}
				return audit.Record(ctx, tx, audit.Entry{AccountID: d.accountID, Actor: audit.System, Action: "submission.delete",
					ObjectType: "form", ObjectID: d.publicID, Changed: []string{"submission_retention"}, Count: n})
			})
			if database.IsLockTimeout(err) {
				skipped = append(skipped, fmt.Errorf("form %s: %w", d.publicID, err))
				break
			}
			if err != nil {
				return res, err
			}
			res.Batches++
			res.Deleted += n
			if n < int64(batch) {
				break
			}
		}
	}
	return res, errors.Join(skipped...)
}

// RetentionArgs is the nightly job that applies every form's retention.
type RetentionArgs struct{}

// Kind implements river.JobArgs.
func (RetentionArgs) Kind() string { return "submissions.retention" }

// RetentionWorker runs RetentionArgs jobs.
type RetentionWorker struct {
	river.WorkerDefaults[RetentionArgs]
	DB     *pgxpool.Pool
	Logger *slog.Logger
	// Batch overrides RetentionBatch (tests make it small).
	Batch int
}

// Timeout lets a run take up to RetentionTimeout instead of River's minute.
func (w *RetentionWorker) Timeout(*river.Job[RetentionArgs]) time.Duration { return RetentionTimeout }

// Work deletes the submissions every form's retention has run out on.
func (w *RetentionWorker) Work(ctx context.Context, job *river.Job[RetentionArgs]) error {
	start := time.Now()
	res, err := ApplyRetention(ctx, w.DB, start, w.Batch)
	if w.Logger != nil {
		w.Logger.Info("retention applied", "forms", res.Forms, "deleted", res.Deleted, "batches", res.Batches,
			"took", time.Since(start), "err", err)
	}
	return err
}

// nightly is River's schedule of the retention job: every day at
// RetentionHour UTC.
type nightly struct{}

func (nightly) Next(t time.Time) time.Time { return NextRetentionRun(t) }

// PeriodicRetention is the retention as a River periodic job, every night
// at RetentionHour UTC, unique per day so that two leaders (or a leader
// change) cannot enqueue two runs the same night.
func PeriodicRetention() *river.PeriodicJob {
	return river.NewPeriodicJob(
		nightly{},
		func() (river.JobArgs, *river.InsertOpts) {
			return RetentionArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: 24 * time.Hour}}
		},
		&river.PeriodicJobOpts{ID: "submissions.retention"},
	)
}
