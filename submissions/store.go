package submissions

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/database"
)

type fileRow struct {
	field    string
	position int
	file     *File
}

func filesOf(data []Field) []fileRow {
	var out []fileRow
	for _, f := range data {
		for i, v := range f.Values {
			if v.File != nil {
				out = append(out, fileRow{field: f.Name, position: i, file: v.File})
			}
		}
	}
	return out
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

const columns = `s.id, s.form_id, f.public_id, s.contract_version, s.data, s.spam, coalesce(s.spam_reason, ''),
	coalesce(s.idempotency_key, ''), s.meta, s.created_at, s.replays,
	s.duplicates_key, s.duplicates_implicit, s.duplicates_unique, s.duplicates_keyless, s.last_duplicate_at, s.merged_into,
	s.read_at, s.starred, ` + filesColumn

func scan(row pgx.Row) (*Submission, error) {
	var (
		s                 Submission
		data, meta, files []byte
	)
	err := row.Scan(&s.ID, &s.FormID, &s.FormPublicID, &s.ContractVersion, &data, &s.Spam, &s.SpamReason,
		&s.IdempotencyKey, &meta, &s.CreatedAt, &s.Replays,
		&s.Duplicates.Key, &s.Duplicates.Implicit, &s.Duplicates.Unique, &s.Duplicates.Keyless, &s.Duplicates.LastAt, &s.MergedInto,
		&s.ReadAt, &s.Starred, &files)
	s.Duplicates.Total = s.Replays
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if err := unmarshalNumbers(data, &s.Data); err != nil {
		return nil, fmt.Errorf("submission %s: decode data: %w", s.PublicID(), err)
	}
	if err := json.Unmarshal(meta, &s.Meta); err != nil {
		return nil, fmt.Errorf("submission %s: decode meta: %w", s.PublicID(), err)
	}
	if string(files) != "[]" { // most submissions have no file: no decoding
		if err := json.Unmarshal(files, &s.Files); err != nil {
			return nil, fmt.Errorf("submission %s: decode files: %w", s.PublicID(), err)
		}
	}
	return &s, nil
}

// unmarshalNumbers keeps numbers as written (a 30-digit number stays exact).
func unmarshalNumbers(b []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	return dec.Decode(v)
}

const byIDSQL = `SELECT ` + columns + ` FROM submissions s JOIN forms f ON f.id = s.form_id WHERE s.id = $1`

// ByID returns the submission with id whatever its account — for workers,
// never for a client's request. It returns ErrNotFound.
func ByID(ctx context.Context, db database.Executor, id uuid.UUID) (*Submission, error) {
	return scan(db.QueryRow(ctx, byIDSQL, id))
}

// QueueByID adds ByID's read to b; after b is read *out holds the
// submission, and reading b fails with ErrNotFound when there is none.
func QueueByID(b *pgx.Batch, id uuid.UUID, out **Submission) {
	b.Queue(byIDSQL, id).QueryRow(func(row pgx.Row) error {
		s, err := scan(row)
		*out = s
		return err
	})
}

const getSQL = `SELECT ` + columns + ` FROM submissions s JOIN forms f ON f.id = s.form_id
WHERE s.id = $1 AND f.account_id = $2`

// Get returns the account's submission with id. It returns ErrNotFound when
// there is none or it belongs to another account.
func Get(ctx context.Context, db database.Executor, accountID int64, id uuid.UUID) (*Submission, error) {
	return scan(db.QueryRow(ctx, getSQL, id, accountID))
}

// Cursor is a position in a form's submissions, newest first.
type Cursor struct {
	CreatedAt time.Time
	ID        uuid.UUID
}

// String encodes c as an opaque token.
func (c Cursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.CreatedAt.UnixMicro(), 10) + "." + c.ID.String()))
}

// ErrBadCursor is returned for a cursor token that was not made by Cursor.String.
var ErrBadCursor error = &intake.Error{Kind: intake.Malformed, Type: intake.TypeInvalidParameter, Msg: "invalid cursor",
	Title: "Invalid parameter", Detail: "cursor is not a cursor this API returned"}

// maxCursorMicros is the first microsecond of the year 10000.
var maxCursorMicros = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()

// ParseCursor decodes a token made by Cursor.String. It returns ErrBadCursor.
func ParseCursor(s string) (*Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, ErrBadCursor
	}
	micros, id, ok := strings.Cut(string(b), ".")
	n, err1 := strconv.ParseInt(micros, 10, 64)
	u, err2 := uuid.Parse(id)
	// Every cursor made holds a submission's time: after 1970 and before
	// 10000 (Postgres refuses a time far enough before, which was a 500).
	if !ok || err1 != nil || err2 != nil || n < 0 || n > maxCursorMicros {
		return nil, ErrBadCursor
	}
	return &Cursor{CreatedAt: time.UnixMicro(n).UTC(), ID: u}, nil
}

// Filter selects submissions of a form.
type Filter struct {
	FormID int64
	Spam   *bool      // nil: spam and not
	Query  string     // words that must all appear in the data ("" matches all)
	Since  *time.Time // created at or after
	Until  *time.Time // created before
	// Unread selects the submissions nobody of the account opened or
	// marked read; Starred, the starred ones (marks.go).
	Unread, Starred bool
	// IDs, when not nil, selects only these submissions (a selection
	// made in the dashboard); ids of other forms select nothing.
	IDs []uuid.UUID
	// Merged includes the submissions merged into others (merge.go),
	// which lists and exports leave out by default.
	Merged bool
}

// where returns the filter as SQL predicates over submissions s, with args
// numbered from len(args)+1. Only the predicates in use are written, so each
// combination gets a plan of its own rather than one generic plan full of
// "$n IS NULL OR …".
func (f Filter) where(args []any) (string, []any) {
	var b strings.Builder
	args = append(args, f.FormID)
	fmt.Fprintf(&b, "s.form_id = $%d", len(args))
	if f.Spam != nil {
		args = append(args, *f.Spam)
		fmt.Fprintf(&b, " AND s.spam = $%d", len(args))
	}
	if f.Query != "" {
		// Served by submissions_search_idx (GIN over form_id and the
		// generated tsvector of every string and number in the data, see
		// migration 00010).
		args = append(args, searchText(f.Query))
		fmt.Fprintf(&b, " AND s.search @@ "+searchQuery, len(args))
	}
	if f.Since != nil {
		args = append(args, *f.Since)
		fmt.Fprintf(&b, " AND s.created_at >= $%d", len(args))
	}
	if f.Until != nil {
		args = append(args, *f.Until)
		fmt.Fprintf(&b, " AND s.created_at < $%d", len(args))
	}
	if f.Unread {
		b.WriteString(" AND s.read_at IS NULL")
	}
	if f.Starred {
		b.WriteString(" AND s.starred")
	}
	if f.IDs != nil {
		// As text: lists and exports run in exec mode (planned with their
		// values), where pgx sends parameters as text of no known type.
		ids := make([]string, len(f.IDs))
		for i, id := range f.IDs {
			ids[i] = id.String()
		}
		args = append(args, ids)
		fmt.Fprintf(&b, " AND s.id = ANY($%d::uuid[])", len(args))
	}
	if !f.Merged {
		b.WriteString(" AND s.merged_into IS NULL")
	}
	return b.String(), args
}

// probeRows is how many of the newest selected rows a search looks at to
// judge whether its words are common.
const probeRows = 2000

// rare reports whether f's search words are too rare for the date walk:
// whether, among the newest probeRows rows the rest of the filter selects
// (from after, when paging), fewer than need match.
//
// Postgres cannot estimate a word's rarity (its statistics keep only the
// common words and rate every other one at 0.5 % of the rows), so left
// alone it walks the date index newest first hoping to meet a page of
// matches soon — for a word in one row of a million that reads them all
// (222 ms). Where the probe finds a page's worth, that walk is the fast way
// and is kept; otherwise the list goes through the search index and sorts
// the few rows it finds. Either way a page costs a few milliseconds.
func (f Filter) rare(ctx context.Context, db database.Executor, after *Cursor, need int) (bool, error) {
	if f.Query == "" {
		return false, nil
	}
	rest := f
	rest.Query = ""
	where, args := rest.where(nil)
	if after != nil {
		args = append(args, after.CreatedAt, after.ID)
		where += fmt.Sprintf(" AND (s.created_at, s.id) < ($%d, $%d::uuid)", len(args)-1, len(args))
	}
	args = append(args, searchText(f.Query))
	q := fmt.Sprintf(`SELECT count(*) FROM (
	SELECT 1 FROM (SELECT s.search FROM submissions s WHERE %s ORDER BY s.created_at DESC, s.id DESC LIMIT %d) AS newest
	WHERE newest.search @@ `+searchQuery+` LIMIT %d) AS m`, where, probeRows, len(args), need)
	var n int
	err := db.QueryRow(ctx, q, append([]any{pgx.QueryExecModeExec}, args...)...).Scan(&n)
	return n < need, err
}

// selectFrom selects the submissions where selects. byWords finds them
// first without any order (a MATERIALIZED step the planner cannot fold
// into a walk down the date index), which for rare words goes through the
// GIN index on (form_id, search); the caller orders what it finds.
func selectFrom(where string, byWords bool) string {
	if !byWords {
		return `SELECT ` + columns + ` FROM submissions s JOIN forms f ON f.id = s.form_id WHERE ` + where
	}
	return `WITH m AS MATERIALIZED (SELECT s.id FROM submissions s WHERE ` + where + `)
SELECT ` + columns + ` FROM m JOIN submissions s ON s.id = m.id JOIN forms f ON f.id = s.form_id`
}

// searchQuery is the tsquery of a search (its text the parameter $%d):
// web-search syntax ("a phrase", or, -word), each word of three
// characters or more also matching the words it starts ("host" finds
// "hosted"; the GIN index serves prefixes). Shorter words match whole, or
// "a" would match nearly everything.
const searchQuery = `regexp_replace(websearch_to_tsquery('simple', $%d)::text, '''([^'']{3,})''', '''\1'':*', 'g')::tsquery`

// searchText is a search's text as searchQuery takes it: without
// apostrophes, which split words in a search anyway, so that no word of
// the tsquery's text carries one and its rewrite stays a valid tsquery
// whatever a client sent.
func searchText(q string) string { return strings.ReplaceAll(q, "'", " ") }

// MaxQuery is the longest search, in characters.
const MaxQuery = 200

// CleanQuery makes search text safe to hand to Postgres: valid UTF-8
// without NUL (which it refuses), trimmed, cut to MaxQuery characters.
func CleanQuery(q string) string {
	q = strings.ToValidUTF8(strings.ReplaceAll(q, "\x00", " "), " ")
	q = strings.TrimSpace(q)
	if r := []rune(q); len(r) > MaxQuery {
		q = string(r[:MaxQuery])
	}
	return q
}

// ListParams select a page of a form's submissions.
type ListParams struct {
	Filter
	After *Cursor // nil: from the newest
	Limit int
}

// List returns a page of submissions, newest first, and the cursor of the
// next page (nil on the last page). Keyset pagination on (created_at, id),
// served by submissions_form_created_idx: a page costs the same at row 10
// and row 10M, and rows arriving meanwhile cannot shift a page (no gaps, no
// repeats).
func List(ctx context.Context, db database.Executor, p ListParams) ([]*Submission, *Cursor, error) {
	out, next, _, err := list(ctx, db, p)
	return out, next, err
}

// list is List, also returning how many bytes the page's rows took on
// the wire (Export sizes its pages by it).
func list(ctx context.Context, db database.Executor, p ListParams) ([]*Submission, *Cursor, int, error) {
	byWords, err := p.Filter.rare(ctx, db, p.After, p.Limit+1)
	if err != nil {
		return nil, nil, 0, err
	}
	where, args := p.Filter.where(nil)
	if p.After != nil {
		args = append(args, p.After.CreatedAt, p.After.ID)
		where += fmt.Sprintf(" AND (s.created_at, s.id) < ($%d, $%d::uuid)", len(args)-1, len(args))
	}
	args = append(args, p.Limit+1)
	q := selectFrom(where, byWords) + fmt.Sprintf(` ORDER BY s.created_at DESC, s.id DESC LIMIT $%d`, len(args))
	// Planned with this call's values, never as a cached generic plan: a
	// generic plan cannot tell a rare search word from a common one, and
	// picks a walk down the date index that reads every row for the rare.
	rows, err := db.Query(ctx, q, append([]any{pgx.QueryExecModeExec}, args...)...)
	if err != nil {
		return nil, nil, 0, err
	}
	defer rows.Close()
	var out []*Submission
	size := 0
	for rows.Next() {
		for _, v := range rows.RawValues() {
			size += len(v)
		}
		s, err := scan(rows)
		if err != nil {
			return nil, nil, 0, err
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, 0, err
	}
	if len(out) <= p.Limit {
		return out, nil, size, nil
	}
	out = out[:p.Limit]
	last := out[len(out)-1]
	return out, &Cursor{CreatedAt: last.CreatedAt, ID: last.ID}, size, nil
}

// Export's pages: the first ExportPage submissions, then as many as come
// to about exportPageBytes by the last page's size, within
// [ExportPage, exportMaxPage]. Small rows make pages of a thousand (few
// queries); rows of a megabyte (a body's limit) pages of ten, so an
// export holds a few megabytes whatever its rows.
const (
	ExportPage      = 10
	exportMaxPage   = 1000
	exportPageBytes = 4 << 20
)

// Export calls fn with every submission f selects, newest first, a page
// at a time (List's keyset pages, sized to a few megabytes): memory stays
// bounded however many there are, and no database connection is held
// while fn writes to a client, however slowly it reads — a download held
// one for its whole length, and twenty slow ones held the pool. A
// submission stored during the export, newer than its first page, is not
// in it. It stops at fn's first error.
func Export(ctx context.Context, db database.Executor, f Filter, fn func(*Submission) error) error {
	var after *Cursor
	limit := ExportPage
	for {
		page, next, size, err := list(ctx, db, ListParams{Filter: f, After: after, Limit: limit})
		if err != nil {
			return err
		}
		limit = min(exportMaxPage, max(ExportPage, len(page)*exportPageBytes/max(size, 1)))
		for _, s := range page {
			if err := fn(s); err != nil {
				return err
			}
		}
		if next == nil {
			return nil
		}
		after = next
	}
}

// extraKeysSQL lists the data keys of the submissions a filter selects
// (its predicates go in at %s), other than $1's, most frequent first (ties
// by name), up to $2 of them. One hash aggregate over the selection's keys:
// linear in them, however many distinct names there are.
const extraKeysSQL = `SELECT k FROM submissions s, jsonb_object_keys(s.data) k
WHERE %s AND k <> ALL($1::text[])
GROUP BY k ORDER BY count(*) DESC, k LIMIT $2`

// ExtraKeys returns up to limit data keys of the submissions f selects that
// are not in skip, the ones found in the most submissions first (ties by
// name): the columns an export may add to the contract's.
func ExtraKeys(ctx context.Context, db database.Executor, f Filter, skip []string, limit int) ([]string, error) {
	if skip == nil {
		skip = []string{} // not NULL: "<> ALL(NULL)" is never true
	}
	where, args := f.where([]any{skip, limit})
	rows, err := db.Query(ctx, fmt.Sprintf(extraKeysSQL, where), args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// SetSpam marks the account's submission id as spam or not, recording
// "submission.update" (changed: spam) by actor in the same transaction
// when the mark changes. Marked spam, it gives up its unique value (spam
// never blocks a real person's submission, unique.go); marked not spam
// again, it does not take it back: another submission may hold it by then.
// It returns ErrNotFound.
func SetSpam(ctx context.Context, db *pgxpool.Pool, actor audit.Actor, accountID int64, id uuid.UUID, spam bool) (*Submission, error) {
	return change(ctx, db, actor, accountID, id, "submission.update", "spam", setSpamSQL, spam)
}

// SetSpamAll is SetSpam for many submissions at once, in one transaction:
// the account's among ids are marked, each change audited. It returns how
// many of ids it found (the others were deleted meanwhile, or are not the
// account's).
func SetSpamAll(ctx context.Context, db *pgxpool.Pool, actor audit.Actor, accountID int64, ids []uuid.UUID, spam bool) (int, error) {
	var n int
	err := database.WithTx(ctx, db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		found, err := changeAll(ctx, tx, actor, accountID, ids, "submission.update", "spam", setSpamSQL, spam)
		n = len(found)
		return err
	})
	return n, err
}

const setSpamSQL = `UPDATE submissions s SET spam = $3,
	spam_reason = CASE WHEN $3 THEN coalesce(s.spam_reason, 'marked by the owner') ELSE NULL END,
	unique_hash = CASE WHEN $3 THEN NULL ELSE s.unique_hash END,
	unique_until = CASE WHEN $3 THEN NULL ELSE s.unique_until END
FROM forms f, submissions old WHERE f.id = s.form_id AND old.id = s.id AND s.id = ANY($1::uuid[]) AND f.account_id = $2
RETURNING s.id, old.spam IS DISTINCT FROM s.spam`

// change runs update over the account's submission id, as changeAll does,
// and returns the submission as it now is. It returns ErrNotFound.
func change(ctx context.Context, db *pgxpool.Pool, actor audit.Actor, accountID int64, id uuid.UUID, action, field, update string, args ...any) (*Submission, error) {
	var out *Submission
	err := database.WithTx(ctx, db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		found, err := changeAll(ctx, tx, actor, accountID, []uuid.UUID{id}, action, field, update, args...)
		if err != nil {
			return err
		}
		if len(found) == 0 {
			return ErrNotFound
		}
		out, err = Get(ctx, tx, accountID, id)
		return err
	})
	return out, err
}

// changeAll runs update, a statement that changes the account's
// submissions among ids ($1, the account $2, then args) and returns each
// one's id and whether the field it names changed, and records the audit
// entry action for each that did, in tx. It returns the ids found.
func changeAll(ctx context.Context, tx pgx.Tx, actor audit.Actor, accountID int64, ids []uuid.UUID, action, field, update string, args ...any) ([]uuid.UUID, error) {
	rows, err := tx.Query(ctx, update, append([]any{ids, accountID}, args...)...)
	if err != nil {
		return nil, err
	}
	type result struct {
		ID      uuid.UUID
		Changed bool
	}
	results, err := pgx.CollectRows(rows, pgx.RowToStructByPos[result])
	if err != nil {
		return nil, err
	}
	found := make([]uuid.UUID, 0, len(results))
	for _, r := range results {
		found = append(found, r.ID)
		if !r.Changed {
			continue
		}
		if err := audit.Record(ctx, tx, audit.Entry{AccountID: accountID, Actor: actor, Action: action,
			ObjectType: "submission", ObjectID: FormatID(r.ID), Changed: []string{field}}); err != nil {
			return nil, err
		}
	}
	return found, nil
}

// Delete deletes the account's submission id and its files, recording
// "submission.delete" by actor in the same transaction. Its idempotency
// key stays until it expires, so a late retry is answered as before instead
// of storing the submission again. It returns ErrNotFound.
func Delete(ctx context.Context, db *pgxpool.Pool, actor audit.Actor, accountID int64, id uuid.UUID) error {
	n, err := DeleteAll(ctx, db, actor, accountID, []uuid.UUID{id})
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return err
}

// DeleteAll is Delete for many submissions at once, in one transaction:
// the account's among ids are deleted, each deletion audited. It returns
// how many it deleted.
func DeleteAll(ctx context.Context, db *pgxpool.Pool, actor audit.Actor, accountID int64, ids []uuid.UUID) (int, error) {
	var n int
	err := database.WithTx(ctx, db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `DELETE FROM submissions s USING forms f WHERE f.id = s.form_id AND s.id = ANY($1::uuid[]) AND f.account_id = $2
RETURNING s.id`, ids, accountID)
		if err != nil {
			return err
		}
		gone, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			return err
		}
		n = len(gone)
		for _, id := range gone {
			if err := audit.Record(ctx, tx, audit.Entry{AccountID: accountID, Actor: actor, Action: "submission.delete",
				ObjectType: "submission", ObjectID: FormatID(id)}); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// Day is one day of a form's stats.
type Day struct {
	Date        time.Time // midnight UTC
	Submissions int64     // not spam
	Spam        int64
	Duplicates  int64 // replays absorbed
}

// Stats returns the form's last days days (UTC, today included), oldest
// first, one entry per day.
func Stats(ctx context.Context, db database.Executor, formID int64, days int, now time.Time) ([]Day, error) {
	const q = `
WITH d AS (
	SELECT generate_series($2::date, $3::date, interval '1 day')::date AS day
), s AS (
	SELECT (created_at AT TIME ZONE 'UTC')::date AS day, count(*) FILTER (WHERE NOT spam) AS ok, count(*) FILTER (WHERE spam) AS spam
	FROM submissions WHERE form_id = $1 AND created_at >= $2::timestamp AT TIME ZONE 'UTC'
	GROUP BY 1
)
SELECT d.day, coalesce(s.ok, 0), coalesce(s.spam, 0), coalesce(r.replays, 0)
FROM d LEFT JOIN s ON s.day = d.day LEFT JOIN form_daily_replays r ON r.form_id = $1 AND r.day = d.day
ORDER BY d.day`
	today := now.UTC().Truncate(24 * time.Hour)
	first := today.AddDate(0, 0, -(days - 1))
	rows, err := db.Query(ctx, q, formID, first, today)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Day, error) {
		var d Day
		return d, row.Scan(&d.Date, &d.Submissions, &d.Spam, &d.Duplicates)
	})
}

// Summary is what a list of forms shows of one form's submissions.
type Summary struct {
	Total int64     // every submission, spam included
	Last  time.Time // the newest's; zero: none yet
	Days  []Day     // the last days, oldest first, one entry per day (as Stats)
}

// The numbers of many forms in one round trip (a batch of two statements)
// rather than a Stats per form. Both read through
// submissions_form_created_idx; the totals are index-only counts.
const (
	summaryTotalsSQL = `
SELECT f.id, (SELECT count(*) FROM submissions s WHERE s.form_id = f.id),
	(SELECT max(s.created_at) FROM submissions s WHERE s.form_id = f.id)
FROM unnest($1::bigint[]) AS f(id)`
	summaryDaysSQL = `
SELECT form_id, day, sum(ok), sum(spam), sum(dup) FROM (
	SELECT s.form_id, (s.created_at AT TIME ZONE 'UTC')::date AS day,
		count(*) FILTER (WHERE NOT s.spam) AS ok, count(*) FILTER (WHERE s.spam) AS spam, 0 AS dup
	FROM submissions s WHERE s.form_id = ANY($1) AND s.created_at >= $2::timestamp AT TIME ZONE 'UTC'
	GROUP BY 1, 2
	UNION ALL
	SELECT form_id, day, 0, 0, replays FROM form_daily_replays WHERE form_id = ANY($1) AND day >= $2::date
) t GROUP BY 1, 2`
)

// Summaries returns the Summary of each of the forms (by id), over their
// last days days (UTC, today included), in one round trip. Every form
// asked for has one, empty when it has no submissions.
func Summaries(ctx context.Context, db database.Executor, formIDs []int64, days int, now time.Time) (map[int64]*Summary, error) {
	today := now.UTC().Truncate(24 * time.Hour)
	first := today.AddDate(0, 0, -(days - 1))
	out := make(map[int64]*Summary, len(formIDs))
	for _, id := range formIDs {
		s := &Summary{Days: make([]Day, days)}
		for i := range s.Days {
			s.Days[i].Date = first.AddDate(0, 0, i)
		}
		out[id] = s
	}
	if len(formIDs) == 0 {
		return out, nil
	}
	b := &pgx.Batch{}
	b.Queue(summaryTotalsSQL, formIDs).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var (
				id    int64
				total int64
				last  *time.Time
			)
			if err := rows.Scan(&id, &total, &last); err != nil {
				return err
			}
			out[id].Total = total
			if last != nil {
				out[id].Last = *last
			}
		}
		return rows.Err()
	})
	b.Queue(summaryDaysSQL, formIDs, first).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var (
				id  int64
				day Day
			)
			if err := rows.Scan(&id, &day.Date, &day.Submissions, &day.Spam, &day.Duplicates); err != nil {
				return err
			}
			if i := int(day.Date.Sub(first).Hours() / 24); i >= 0 && i < days {
				day.Date = out[id].Days[i].Date
				out[id].Days[i] = day
			}
		}
		return rows.Err()
	})
	return out, db.SendBatch(ctx, b).Close()
}
