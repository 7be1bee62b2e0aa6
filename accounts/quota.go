package accounts

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/database"
)

// QuotaWarning is a share of an account's monthly quota reached and not
// warned of before (recorded in quota_warnings, once per account, month,
// quota and share).
type QuotaWarning struct {
	AccountID int64
	Quota     int64 // the plan's monthly submissions when it was reached
	Percent   int   // the highest share reached: one of WarnAt
	// Owner is the address to tell: the account's owner, empty while their
	// address is unverified (the warning is recorded, not mailed).
	Owner string
}

// recordWarningsSQL inserts a warning for every share in $2 (percentages)
// that an account with a quota has reached in the month $1 and not yet
// been warned of, returning what it inserted with the owner to tell.
var recordWarningsSQL = `
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
       ` + OwnerSQL("CASE WHEN email_verified_at IS NOT NULL THEN email END", "c.account_id") + `
FROM crossed c GROUP BY c.account_id, c.quota`

// RecordQuotaWarnings records the warnings the usage of month (its first
// instant, MonthOf) calls for, at the shares of WarnAt, and returns them.
// When both shares are crossed at once (a smaller plan, say) it returns the
// higher one, whose email says all; the lower is recorded as told. Run it
// in the transaction that enqueues the warnings' emails.
func RecordQuotaWarnings(ctx context.Context, db database.Executor, month time.Time) ([]QuotaWarning, error) {
	rows, err := db.Query(ctx, recordWarningsSQL, month, WarnAt)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (QuotaWarning, error) {
		var w QuotaWarning
		var owner *string
		err := row.Scan(&w.AccountID, &w.Quota, &w.Percent, &owner)
		if owner != nil {
			w.Owner = *owner
		}
		return w, err
	})
}
