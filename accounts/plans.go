package accounts

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/database"
)

// Plan is what an account pays for: how many submissions it may take a
// calendar month (UTC). MonthlySubmissions is 0 for a plan without a quota.
type Plan struct {
	ID                 string
	Name               string
	MonthlySubmissions int64
}

// Unlimited reports whether the plan has no quota.
func (p Plan) Unlimited() bool { return p.MonthlySubmissions <= 0 }

// WarnAt are the shares of a quota (in percent) at which the owner is told,
// once each per month.
var WarnAt = []int{80, 100}

// ErrUnknownPlan is returned for a plan id the plans table lacks.
var ErrUnknownPlan = errors.New("no such plan")

// Usage is an account's quota for a month and how much of it is used.
type Usage struct {
	AccountID int64
	Plan      Plan
	Month     time.Time // the first instant of the month, UTC
	Used      int64     // non-spam submissions taken this month
}

// Over reports whether the month's quota is used up: a new submission
// would go over it.
func (u *Usage) Over() bool { return !u.Plan.Unlimited() && u.Used >= u.Plan.MonthlySubmissions }

// Resets is when the quota starts again: the first instant of next month.
func (u *Usage) Resets() time.Time { return u.Month.AddDate(0, 1, 0) }

// Percent is the share of the quota used, rounded down; 0 without a quota.
func (u *Usage) Percent() int {
	if u.Plan.Unlimited() {
		return 0
	}
	return int(u.Used * 100 / u.Plan.MonthlySubmissions)
}

// QuotaError is the refusal of a submission over its account's quota.
// Nothing of what was accepted before is touched.
type QuotaError struct{ Usage *Usage }

// Describe says when the account takes submissions again.
func (e *QuotaError) Describe() *intake.Error {
	u := e.Usage
	resets := u.Resets()
	return &intake.Error{Kind: intake.Limited, Type: intake.TypePlanLimit, Msg: e.Error(), Title: "Monthly submission limit reached",
		Detail: fmt.Sprintf("This form's account has taken the %d submissions its %s plan allows in %s. New submissions are refused until %s; everything accepted before is kept. The form's owner can move to a larger plan.",
			u.Plan.MonthlySubmissions, u.Plan.Name, u.Month.Format("January 2006"), resets.Format("2 January 2006 15:04 MST")),
		RetryAfter: max(time.Second, time.Until(resets)),
		Code:       "PLAN_LIMIT",
		Hint:       "This form cannot take more submissions this month. Try again after " + resets.Format("2 January 2006") + ", or reach its owner another way."}
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("the account has taken its %d submissions for %s on the %s plan",
		e.Usage.Plan.MonthlySubmissions, e.Usage.Month.Format("January 2006"), e.Usage.Plan.Name)
}

// MonthOf is the first instant of t's month, UTC: the key quotas count by.
func MonthOf(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

const usageColumns = `a.id, p.id, p.name, coalesce(p.monthly_submissions, 0),
	coalesce((SELECT sum(u.submissions) FROM account_usage u WHERE u.account_id = a.id AND u.month = $2), 0)::bigint`

const usageByFormSQL = `SELECT ` + usageColumns + `
FROM forms f JOIN accounts a ON a.id = f.account_id JOIN plans p ON p.id = a.plan_id
WHERE f.public_id = $1`

const usageByAccountSQL = `SELECT ` + usageColumns + `
FROM accounts a JOIN plans p ON p.id = a.plan_id
WHERE a.id = $1`

func scanUsage(row pgx.Row, month time.Time) (*Usage, error) {
	u := &Usage{Month: month}
	err := row.Scan(&u.AccountID, &u.Plan.ID, &u.Plan.Name, &u.Plan.MonthlySubmissions, &u.Used)
	return u, err
}

// QueueUsageByForm queues on b the read of the usage, in the month of now,
// of the account owning the form publicID; *out stays nil when there is no
// such form. It lets the submission path read the quota in the round trip
// that reads the form.
func QueueUsageByForm(b *pgx.Batch, publicID string, now time.Time, out **Usage) {
	month := MonthOf(now)
	b.Queue(usageByFormSQL, publicID, month).QueryRow(func(row pgx.Row) error {
		u, err := scanUsage(row, month)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		*out = u
		return err
	})
}

// UsageOf is the account's usage in the month of now.
func UsageOf(ctx context.Context, db database.Executor, accountID int64, now time.Time) (*Usage, error) {
	month := MonthOf(now)
	u, err := scanUsage(db.QueryRow(ctx, usageByAccountSQL, accountID, month), month)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	return u, err
}

// Plans lists every plan, smallest quota first (no quota last).
func Plans(ctx context.Context, db database.Executor) ([]Plan, error) {
	rows, err := db.Query(ctx, `SELECT id, name, coalesce(monthly_submissions, 0) FROM plans
		ORDER BY monthly_submissions NULLS LAST, id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Plan, error) {
		var p Plan
		err := row.Scan(&p.ID, &p.Name, &p.MonthlySubmissions)
		return p, err
	})
}

// SetPlan moves the account to the plan planID. The month's usage carries
// over: a smaller quota already used up refuses new submissions at once.
// A change of plan is recorded, "account.update" by actor, in the same
// transaction.
func SetPlan(ctx context.Context, db *pgxpool.Pool, actor audit.Actor, accountID int64, planID string) error {
	return database.WithTx(ctx, db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var was string
		err := tx.QueryRow(ctx, `UPDATE accounts a SET plan_id = $2 FROM accounts old WHERE old.id = a.id AND a.id = $1 RETURNING old.plan_id`,
			accountID, strings.TrimSpace(planID)).Scan(&was)
		if database.IsForeignKeyViolation(err) {
			return fmt.Errorf("%w %q", ErrUnknownPlan, planID)
		}
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil || was == strings.TrimSpace(planID) {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{AccountID: accountID, Actor: actor, Action: "account.update",
			ObjectType: "account", ObjectID: strconv.FormatInt(accountID, 10), Changed: []string{"plan"}})
	})
}
