package submissions

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/database"
	"github.com/intakehq/intake/forms"
)

// Merging (README, "Possible duplicates and merging"): a submission that
// repeats another — the same fields sent twice, the same unique value
// before the form had the setting — is merged into the one kept. Nothing
// is deleted: the merged submission names the kept one (merged_into), is
// left out of lists and exports unless they ask for merged ones, and a
// merge is undone by clearing the name. Both are audit-logged in their
// transaction.

// ErrMergeItself, ErrMergeAcrossForms and ErrMergeChain refuse a merge.
var (
	ErrMergeItself error = &intake.Error{Kind: intake.Invalid, Type: intake.TypeValidation, Msg: "merge into itself",
		Title: "Cannot merge", Detail: "A submission cannot be merged into itself: name another one in into."}
	ErrMergeAcrossForms error = &intake.Error{Kind: intake.Invalid, Type: intake.TypeValidation, Msg: "merge across forms",
		Title: "Cannot merge", Detail: "A submission can be merged only into another submission of the same form."}
	ErrMergeChain error = &intake.Error{Kind: intake.Conflict, Type: intake.TypeMergeConflict, Msg: "merge chain",
		Title:  "Cannot merge",
		Detail: "Merge into a submission that is not merged itself, and not a submission others are merged into: undo that merge first, or merge into the one kept."}
)

// lockPairSQL locks the submissions $1 and $3 of the account $2, in id
// order (two merges of one pair cannot deadlock). It runs before mergeSQL,
// in its own statement: a merge waiting on a row another merge holds then
// checks, once it has the lock, with a snapshot taken after that merge
// committed. Checked in the locking statement, the snapshot would predate
// it, and two merges (C into A, A into B) could make a chain.
const lockPairSQL = `SELECT s.id FROM submissions s JOIN forms f ON f.id = s.form_id
WHERE s.id IN ($1, $3) AND f.account_id = $2 ORDER BY s.id FOR UPDATE OF s`

// mergeSQL merges $1 into $3, both of the account $2 and of one form,
// neither merged, and $1 kept by nothing: one level only, so undoing one
// merge never surprises another. The rows are locked (lockPairSQL); it
// returns what it found, so the caller can say why it refused.
const mergeSQL = `
WITH pair AS (
	SELECT s.id, s.form_id, s.merged_into, EXISTS (SELECT 1 FROM submissions k WHERE k.merged_into = s.id) AS kept
	FROM submissions s JOIN forms f ON f.id = s.form_id
	WHERE s.id IN ($1, $3) AND f.account_id = $2
	ORDER BY s.id FOR UPDATE OF s
), merged AS (
	UPDATE submissions s SET merged_into = $3
	FROM pair a, pair b
	WHERE s.id = $1 AND a.id = $1 AND b.id = $3 AND a.form_id = b.form_id
		AND a.merged_into IS NULL AND NOT a.kept AND b.merged_into IS NULL
	RETURNING s.id
)
SELECT (SELECT count(*) FROM pair), (SELECT count(DISTINCT form_id) FROM pair), EXISTS (SELECT 1 FROM merged),
	coalesce((SELECT merged_into = $3 FROM pair WHERE id = $1), false)`

// Merge merges the account's submission id into the submission into, of
// the same form, recording "submission.merge" by actor in the same
// transaction. Merging again into the same one changes nothing. It returns
// ErrNotFound (either is not the account's), ErrMergeItself,
// ErrMergeAcrossForms or ErrMergeChain.
func Merge(ctx context.Context, db *pgxpool.Pool, actor audit.Actor, accountID int64, id, into uuid.UUID) (*Submission, error) {
	if id == into {
		return nil, ErrMergeItself
	}
	var out *Submission
	err := database.WithTx(ctx, db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, lockPairSQL, id, accountID, into); err != nil {
			return err
		}
		var found, forms int
		var merged, already bool
		if err := tx.QueryRow(ctx, mergeSQL, id, accountID, into).Scan(&found, &forms, &merged, &already); err != nil {
			return err
		}
		switch {
		case found < 2:
			return ErrNotFound
		case forms > 1:
			return ErrMergeAcrossForms
		case already:
		case !merged:
			return ErrMergeChain
		default:
			if err := audit.Record(ctx, tx, audit.Entry{AccountID: accountID, Actor: actor, Action: "submission.merge",
				ObjectType: "submission", ObjectID: FormatID(id), Changed: []string{"merged_into"}}); err != nil {
				return err
			}
		}
		var err error
		out, err = Get(ctx, tx, accountID, id)
		return err
	})
	return out, err
}

// Unmerge undoes the merge of the account's submission id, recording
// "submission.unmerge" by actor in the same transaction when it was
// merged. It returns ErrNotFound.
func Unmerge(ctx context.Context, db *pgxpool.Pool, actor audit.Actor, accountID int64, id uuid.UUID) (*Submission, error) {
	return change(ctx, db, actor, accountID, id, "submission.unmerge", "merged_into", `UPDATE submissions s SET merged_into = NULL
FROM forms f, submissions old WHERE f.id = s.form_id AND old.id = s.id AND s.id = ANY($1::uuid[]) AND f.account_id = $2
RETURNING s.id, old.merged_into IS NOT NULL`)
}

// Group is a set of a form's submissions that look like one: the same
// fields, or the same values of the form's unique fields. Submissions are
// oldest first: the first is the one a merge keeps.
type Group struct {
	Why         string // "the same fields" or "the same <fields>"
	Submissions []*Submission
	Total       int // in the group; Submissions holds the oldest GroupShown
}

// GroupShown is the most submissions of a group PossibleDuplicates reads.
const GroupShown = 20

// GroupScan is how many of a form's newest submissions PossibleDuplicates
// looks at, so a large form's page stays a bounded read.
const GroupScan = 10000

// MaxGroups is the most groups PossibleDuplicates returns.
const MaxGroups = 50

// groupsSQL groups the newest GroupScan non-spam, unmerged submissions of
// form $1 by $2, an SQL expression over s (the identity of their data, or
// their unique fields' values normalised as forms.Unique.Hash does), and
// returns the ids of each group of two or more, oldest first, the groups
// with the newest submissions first.
const groupsSQL = `
WITH recent AS (
	SELECT s.id, s.created_at, %s AS k FROM submissions s
	WHERE s.form_id = $1 AND NOT s.spam AND s.merged_into IS NULL
	ORDER BY s.created_at DESC, s.id DESC LIMIT 10000
)
SELECT array_agg(id ORDER BY created_at, id) FROM recent WHERE k IS NOT NULL
GROUP BY k HAVING count(*) > 1 ORDER BY max(created_at) DESC LIMIT 50`

// uniqueKeySQL is the values of the unique fields $2 (text[]; $3 bool[]
// says which are email fields, lower-cased) of submission s, trimmed and
// joined, or NULL when any is empty: as forms.Unique.Hash compares them,
// for submissions stored before the form had the setting too.
const uniqueKeySQL = `(SELECT CASE WHEN bool_and(v <> '') THEN string_agg(v, E'\x1f' ORDER BY i) END
	FROM (SELECT i, coalesce(CASE WHEN e THEN lower(btrim(s.data->>n)) ELSE btrim(s.data->>n) END, '') AS v
		FROM unnest($2::text[], $3::bool[]) WITH ORDINALITY AS u(n, e, i)) AS x)`

// PossibleDuplicates returns groups of the account's form's submissions
// that look like one another (Group), among its newest GroupScan: those
// with the same fields and, when the form takes a unique value, those
// with the same values of its unique fields (submissions stored before the
// setting included).
func PossibleDuplicates(ctx context.Context, db database.Executor, accountID int64, form *forms.Form) ([]Group, error) {
	var groups []Group
	type kind struct {
		why, key string
		args     []any
	}
	kinds := []kind{{"the same fields", "md5(s.data::text)", nil}}
	if u := form.Settings.Unique; u.On() {
		emails := make([]bool, len(u.Fields))
		labels := make([]string, len(u.Fields))
		for i, name := range u.Fields {
			f, _ := form.Contract.Field(name)
			emails[i], labels[i] = f.Type == forms.TypeEmail, cmp.Or(f.Label, name)
		}
		kinds = append(kinds, kind{"the same " + strings.Join(labels, " and "), uniqueKeySQL, []any{u.Fields, emails}})
	}
	// Every group's shown submissions are read at once, after the groups.
	var shown []uuid.UUID
	var shownOf [][]uuid.UUID
	seen := map[string]bool{}
	for _, k := range kinds {
		rows, err := db.Query(ctx, fmt.Sprintf(groupsSQL, k.key), append([]any{form.ID}, k.args...)...)
		if err != nil {
			return nil, err
		}
		idGroups, err := pgx.CollectRows(rows, pgx.RowTo[[]uuid.UUID])
		if err != nil {
			return nil, err
		}
		for _, ids := range idGroups {
			sig := fmt.Sprint(ids)
			if seen[sig] || len(groups) == MaxGroups {
				continue // the same group found both ways is shown once
			}
			seen[sig] = true
			groups = append(groups, Group{Why: k.why, Total: len(ids)})
			ids = ids[:min(len(ids), GroupShown)]
			shown, shownOf = append(shown, ids...), append(shownOf, ids)
		}
	}
	rows, err := db.Query(ctx, `SELECT `+columns+` FROM submissions s JOIN forms f ON f.id = s.form_id
WHERE s.id = ANY($1) AND f.account_id = $2`, shown, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byID := map[uuid.UUID]*Submission{}
	for rows.Next() {
		s, err := scan(rows)
		if err != nil {
			return nil, err
		}
		byID[s.ID] = s
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, ids := range shownOf {
		for _, id := range ids {
			if s := byID[id]; s != nil { // deleted since the groups were read: left out
				groups[i].Submissions = append(groups[i].Submissions, s)
			}
		}
	}
	return groups, nil
}
