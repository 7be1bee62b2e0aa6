package accounts

import (
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/intakehq/intake/database"
)

// countsSQL counts submissions against their accounts' quotas: one row per
// account and month, sharded by the backend's pid modulo 64, so concurrent
// transactions do not wait on one another's row lock (held until the
// commit; with 16 shards, pg_stat_statements showed the count waiting
// 1.6 ms a call at 32 clients). In account order, so two transactions
// counting for overlapping accounts lock their rows in one order. Its gate:
// only the submissions written are counted, as the ids returned by the CTE
// named at %[1]s say; it reads that CTE, never the submissions table.
// UsageOf and QueueUsageByForm sum the shards.
const countsSQL = `INSERT INTO account_usage (account_id, month, shard, submissions)
SELECT c.account_id, c.month, pg_backend_pid() %% 64, count(*)
FROM unnest($1::bigint[], $2::date[], $3::uuid[]) AS c(account_id, month, submission_id)
WHERE c.submission_id IN (SELECT id FROM %[1]s)
GROUP BY 1, 2 ORDER BY 1, 2
ON CONFLICT (account_id, month, shard) DO UPDATE SET submissions = account_usage.submissions + EXCLUDED.submissions`

// CountsSQL returns the count of the submissions in CountColumns'
// arguments against their accounts' quotas, as a part of a larger
// statement (submissions/write.go): its placeholders follow the offset
// arguments before them, and a submission counts only if its id is among
// those the CTE named written returns.
func CountsSQL(offset int, written string) string {
	return database.Renumber(fmt.Sprintf(countsSQL, written), offset)
}

// CountColumns are submissions to count as CountsSQL's arguments: an array
// per column.
type CountColumns struct {
	accounts    []int64
	months      []time.Time
	submissions []uuid.UUID
}

// Add appends a submission to count against the account's quota in month
// (MonthOf the submission's time).
func (c *CountColumns) Add(accountID int64, month time.Time, submissionID uuid.UUID) {
	c.accounts, c.months, c.submissions = append(c.accounts, accountID), append(c.months, month), append(c.submissions, submissionID)
}

// Args returns the arrays for CountsSQL's placeholders, in their order.
func (c *CountColumns) Args() []any { return []any{c.accounts, c.months, c.submissions} }
