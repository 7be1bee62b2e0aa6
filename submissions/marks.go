package submissions

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/database"
)

// Mark is a triage mark the dashboard sets on submissions: read or
// unread, starred or not. Marks belong to the account (a team shares one
// inbox), are not the submission's data and are not audited (migration
// 00029).
type Mark string

// The marks.
const (
	MarkRead   Mark = "read"
	MarkUnread Mark = "unread"
	MarkStar   Mark = "star"
	MarkUnstar Mark = "unstar"
)

var markSQL = map[Mark]string{
	MarkRead:   "read_at = coalesce(s.read_at, now())",
	MarkUnread: "read_at = NULL",
	MarkStar:   "starred = true",
	MarkUnstar: "starred = false",
}

// SetMark sets m on the account's submissions among ids and returns how
// many it found.
func SetMark(ctx context.Context, db database.Executor, accountID int64, ids []uuid.UUID, m Mark) (int, error) {
	set, ok := markSQL[m]
	if !ok {
		return 0, fmt.Errorf("submissions: no mark %q", m)
	}
	tag, err := db.Exec(ctx, `UPDATE submissions s SET `+set+` FROM forms f
WHERE f.id = s.form_id AND s.id = ANY($1::uuid[]) AND f.account_id = $2`, ids, accountID)
	return int(tag.RowsAffected()), err
}

// Opened marks submission id read, as opening it does, unless it is read
// already (which costs no write).
func Opened(ctx context.Context, db database.Executor, id uuid.UUID) error {
	_, err := db.Exec(ctx, `UPDATE submissions SET read_at = now() WHERE id = $1 AND read_at IS NULL`, id)
	return err
}

// OfForm returns those of ids that are submissions of form formID, in
// the order given: what a selection made on one form's list may act on.
func OfForm(ctx context.Context, db database.Executor, formID int64, ids []uuid.UUID) ([]uuid.UUID, error) {
	rows, err := db.Query(ctx, `SELECT s.id FROM unnest($2::uuid[]) WITH ORDINALITY AS want(id, n)
JOIN submissions s ON s.id = want.id AND s.form_id = $1 ORDER BY want.n`, formID, ids)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
}
