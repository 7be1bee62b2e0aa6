package notify

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/database"
)

// TemplateQuotaWarning is the email telling an owner how much of the
// month's quota is used.
const TemplateQuotaWarning = "quota_warning"

// QuotaCheckInterval is how often accounts are checked for a quota share
// crossed: a warning goes out at most this long after it happens.
const QuotaCheckInterval = time.Minute

// QuotaCheckArgs is the periodic check that warns owners at 80 % and
// 100 % of their monthly quota.
type QuotaCheckArgs struct{}

// Kind implements river.JobArgs.
func (QuotaCheckArgs) Kind() string { return "quota.check" }

// QuotaWorker records each warning a month's usage calls for in
// quota_warnings (whose key makes it once per account, month and share)
// and enqueues its email in the same transaction. The hot path only counts;
// warning is left to this job so a submission never waits on it.
type QuotaWorker struct {
	river.WorkerDefaults[QuotaCheckArgs]
	DB  *pgxpool.Pool
	Now func() time.Time // nil: time.Now
}

// recordWarningsSQL inserts a warning for every share in $2 (percentages)
// that an account with a quota has reached in the month $1 and not yet
// been warned of, returning what it inserted with the owner to tell (none
// while the owner's address is unverified: the warning is recorded, not
// mailed).
const recordWarningsSQL = `
WITH used AS (
	SELECT u.account_id, sum(u.submissions)::bigint AS used, p.monthly_submissions AS quota
	FROM account_usage u
	JOIN accounts a ON a.id = u.account_id
	JOIN plans p ON p.id = a.plan_id
	WHERE u.month = $1 AND p.monthly_submissions IS NOT NULL
	GROUP BY u.account_id, p.monthly_submissions
), crossed AS (
	INSERT INTO quota_warnings (account_id, month, quota, percent, used)
	SELECT used.account_id, $1, used.quota, share, used.used
	FROM used CROSS JOIN unnest($2::int[]) AS share
	WHERE used.used * 100 >= share::bigint * used.quota
	ON CONFLICT DO NOTHING
	RETURNING account_id, quota, percent
)
SELECT c.account_id, c.quota, max(c.percent)::int,
       (SELECT email FROM users WHERE account_id = c.account_id AND email_verified_at IS NOT NULL ORDER BY id LIMIT 1)
FROM crossed c GROUP BY c.account_id, c.quota`

// Work implements river.Worker.
func (w *QuotaWorker) Work(ctx context.Context, job *river.Job[QuotaCheckArgs]) error {
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	at := now()
	months := []time.Time{accounts.MonthOf(at)}
	if at.Sub(months[0]) < time.Hour {
		// A share crossed in the last minute of last month is still told.
		months = append(months, months[0].AddDate(0, -1, 0))
	}
	client := river.ClientFromContext[pgx.Tx](ctx)
	return database.WithTx(ctx, w.DB, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var emails []river.InsertManyParams
		for _, month := range months {
			more, err := recordWarnings(ctx, tx, month)
			if err != nil {
				return err
			}
			emails = append(emails, more...)
		}
		if len(emails) == 0 {
			return nil
		}
		_, err := client.InsertManyTx(ctx, tx, emails)
		return err
	})
}

// recordWarnings records the warnings month calls for and returns their
// emails.
func recordWarnings(ctx context.Context, tx pgx.Tx, month time.Time) ([]river.InsertManyParams, error) {
	rows, err := tx.Query(ctx, recordWarningsSQL, month, accounts.WarnAt)
	if err != nil {
		return nil, err
	}
	var emails []river.InsertManyParams
	var (
		accountID, quota int64
		percent          int
		owner            *string
	)
	_, err = pgx.ForEachRow(rows, []any{&accountID, &quota, &percent, &owner}, func() error {
		// Both shares crossed at once (a smaller plan, say): the higher
		// one's email says all; the lower is recorded as told.
		if owner != nil {
			emails = append(emails, river.InsertManyParams{Args: EmailArgs{
				Template: TemplateQuotaWarning, To: *owner,
				AccountID: accountID, Month: month.Format("2006-01"), Percent: percent, Quota: quota,
			}})
		}
		return nil
	})
	return emails, err
}

// PeriodicQuotaCheck runs the QuotaWorker every QuotaCheckInterval.
func PeriodicQuotaCheck() *river.PeriodicJob {
	return river.NewPeriodicJob(
		river.PeriodicInterval(QuotaCheckInterval),
		func() (river.JobArgs, *river.InsertOpts) {
			return QuotaCheckArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: QuotaCheckInterval}}
		},
		&river.PeriodicJobOpts{ID: "quota.check", RunOnStart: true},
	)
}
