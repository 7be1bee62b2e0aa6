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

// QuotaWorker records each warning a month's usage calls for
// (accounts.RecordQuotaWarnings: once per account, month and share) and
// enqueues its email in the same transaction. The hot path only counts;
// warning is left to this job so a submission never waits on it.
type QuotaWorker struct {
	river.WorkerDefaults[QuotaCheckArgs]
	DB  *pgxpool.Pool
	Now func() time.Time // nil: time.Now
}

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
	warnings, err := accounts.RecordQuotaWarnings(ctx, tx, month)
	if err != nil {
		return nil, err
	}
	var emails []river.InsertManyParams
	for _, w := range warnings {
		if w.Owner != "" {
			emails = append(emails, river.InsertManyParams{Args: EmailArgs{
				Template: TemplateQuotaWarning, To: w.Owner,
				AccountID: w.AccountID, Month: month.Format("2006-01"), Percent: w.Percent, Quota: w.Quota,
			}})
		}
	}
	return emails, nil
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
