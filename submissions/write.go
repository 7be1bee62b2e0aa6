package submissions

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/database"
	"github.com/intakehq/intake/idempotency"
)

// writeSQL writes a group of submissions (commit.go) in one statement: it
// claims their keys, and then — each only where the key is its own —
// inserts the submissions, their files and their jobs, counts them against
// their accounts' quotas and wakes River's workers. It returns the ids of
// the submissions written (and a NULL per notification sent).
//
// Each table's part is its owner's, gate included, and explained there:
// the claims (idempotency.ClaimSQL), the jobs (database.JobsSQL, River's
// rows) and the counts (accounts.CountsSQL). This package's own parts are
// subs, files and wake. The gates are what make a submission exactly once,
// and the order is what lets each part gate on the one before:
//
//   - claims first: a submission's key must be its own before anything of
//     it is written.
//   - subs: a submission with a key is written only if its claim returned
//     it. Removing the gate stores duplicates (TestConcurrentSameKey).
//   - files, jobs and counts: only for the submissions written, so each
//     reads subs.
//   - wake: a notification per queue on River's insert topic, as River's
//     own insert sends, if a job was written (its array is empty when the
//     queues were woken in the last wakeInterval); so it reads jobs.
//
// Each part reads what an earlier one returned, never its table, so the
// plan stays index lookups and joins over the group's own rows whatever the
// tables' statistics say (a first version gated each insert with EXISTS on
// the table written before it and got sequential scans on a fresh database).
// The statement is the same for every group (the arrays' lengths vary, not
// their number), so it is assembled once.
var writeSQL = func() string {
	var a writeArgs
	claims := 0
	subs := claims + len(a.claims.Args())
	files := subs + len(a.subs.args())
	jobs := files + len(a.files.args())
	counts := jobs + len(a.jobs.Args())
	wake := counts + len(a.counts.Args())
	return `
WITH claims AS (
` + idempotency.ClaimSQL(claims) + `
), subs AS (
` + database.Renumber(subsSQL, subs) + `
), files AS (
` + database.Renumber(filesSQL, files) + `
), jobs AS (
` + database.JobsSQL(jobs, "subs") + `
), counts AS (
` + accounts.CountsSQL(counts, "subs") + `
), wake AS (
` + database.Renumber(wakeSQL, wake) + `
)
SELECT id FROM subs UNION ALL SELECT NULL FROM wake`
}()

// subsSQL writes the submissions whose key the claims CTE returned, and
// those without a key; it returns their ids. A submission whose unique
// value a stored one holds (unique.go: the exclusion constraint
// submissions_unique_value) is skipped, and so not returned.
const subsSQL = `INSERT INTO submissions (id, form_id, contract_version, data, spam, spam_reason, idempotency_key, meta, created_at,
	unique_hash, unique_until)
SELECT s.* FROM unnest($1::uuid[], $2::bigint[], $3::integer[], $4::jsonb[], $5::boolean[], $6::text[],
	$7::text[], $8::jsonb[], $9::timestamptz[], $10::bytea[], $11::timestamptz[])
	AS s(id, form_id, contract_version, data, spam, spam_reason, idempotency_key, meta, created_at, unique_hash, unique_until)
WHERE s.idempotency_key IS NULL OR s.id IN (SELECT submission_id FROM claims)
ON CONFLICT DO NOTHING
RETURNING id`

// filesSQL writes the files of the submissions the subs CTE returned.
const filesSQL = `INSERT INTO submission_files (submission_id, field, position, filename, content_type, size, sha256, content)
SELECT f.* FROM unnest($1::uuid[], $2::text[], $3::integer[], $4::text[], $5::text[], $6::bigint[],
	$7::text[], $8::bytea[])
	AS f(submission_id, field, position, filename, content_type, size, sha256, content)
WHERE f.submission_id IN (SELECT id FROM subs)`

// wakeSQL notifies each queue of $1 on River's insert topic if the jobs
// CTE wrote a row.
const wakeSQL = `SELECT pg_notify(current_schema() || '.river_insert', q) FROM unnest($1::text[]) AS q
WHERE EXISTS (SELECT 1 FROM jobs)`

// submissionRow is a submission encoded for writeSQL.
type submissionRow struct {
	sub        *Submission
	data, meta []byte
	files      []fileRow
}

func encodeSubmission(s *Submission, files []fileRow) (submissionRow, error) {
	data, err := json.Marshal(s.Data)
	if err != nil {
		return submissionRow{}, err
	}
	meta, err := json.Marshal(s.Meta)
	if err != nil {
		return submissionRow{}, err
	}
	return submissionRow{sub: s, data: data, meta: meta, files: files}, nil
}

// usageCount is a submission to count against an account's quota.
type usageCount struct {
	accountID int64
	month     time.Time // accounts.MonthOf the submission's time
}

// writeArgs are writeSQL's arrays, a column each, by part.
type writeArgs struct {
	claims idempotency.ClaimColumns
	subs   submissionColumns
	files  fileColumns
	jobs   database.JobColumns
	counts accounts.CountColumns
	queues []string // the jobs' queues, one per job
}

// submissionColumns are subsSQL's arrays.
type submissionColumns struct {
	ids               []uuid.UUID
	formIDs           []int64
	versions          []int32
	data, meta        [][]byte
	spam              []bool
	spamReasons, keys []*string
	created           []time.Time
	uniques           [][]byte
	uniqueUntil       []*time.Time
}

func (c *submissionColumns) add(r submissionRow) {
	s := r.sub
	c.ids, c.formIDs, c.versions = append(c.ids, s.ID), append(c.formIDs, s.FormID), append(c.versions, int32(s.ContractVersion))
	c.data, c.meta, c.spam = append(c.data, r.data), append(c.meta, r.meta), append(c.spam, s.Spam)
	c.spamReasons, c.keys = append(c.spamReasons, nullable(s.SpamReason)), append(c.keys, nullable(s.IdempotencyKey))
	c.created = append(c.created, s.CreatedAt)
	c.uniques, c.uniqueUntil = append(c.uniques, s.UniqueHash), append(c.uniqueUntil, s.UniqueUntil)
}

func (c *submissionColumns) args() []any {
	return []any{c.ids, c.formIDs, c.versions, c.data, c.spam, c.spamReasons, c.keys, c.meta, c.created, c.uniques, c.uniqueUntil}
}

// fileColumns are filesSQL's arrays.
type fileColumns struct {
	subs                       []uuid.UUID
	fields, names, types, sums []string
	positions                  []int32
	sizes                      []int64
	contents                   [][]byte
}

func (c *fileColumns) add(sub uuid.UUID, f fileRow) {
	c.subs, c.fields, c.positions = append(c.subs, sub), append(c.fields, f.field), append(c.positions, int32(f.position))
	c.names, c.types, c.sizes = append(c.names, f.file.Name), append(c.types, f.file.ContentType), append(c.sizes, f.file.Size)
	c.sums, c.contents = append(c.sums, f.file.SHA256), append(c.contents, f.file.Content)
}

func (c *fileColumns) args() []any {
	return []any{c.subs, c.fields, c.positions, c.names, c.types, c.sizes, c.sums, c.contents}
}

// add appends w's rows.
func (a *writeArgs) add(w *write) error {
	if w.claim != nil {
		if err := a.claims.Add(w.claim); err != nil {
			return err
		}
	}
	id := w.row.sub.ID
	a.subs.add(w.row)
	for _, f := range w.row.files {
		a.files.add(id, f)
	}
	for _, r := range w.jobs {
		a.jobs.Add(id, r)
		a.queues = append(a.queues, r.Queue)
	}
	if c := w.count; c != nil {
		a.counts.Add(c.accountID, c.month, id)
	}
	return nil
}

// args returns writeSQL's arguments in the order of its parts, the
// wake-up payloads wake last.
func (a *writeArgs) args(wake []string) []any {
	return slices.Concat(a.claims.Args(), a.subs.args(), a.files.args(), a.jobs.Args(), a.counts.Args(), []any{wake})
}

// queueWrite adds writeSQL for g to b; once b is read, written holds the ids
// of the submissions written. Call the returned unwake when b failed or
// wrote no job: the wake-up it carried was not sent, and the next write
// must send it.
func (s *Service) queueWrite(b *pgx.Batch, g []*write, written map[uuid.UUID]bool) (unwake func(), err error) {
	var a writeArgs
	for _, w := range g {
		if err := a.add(w); err != nil {
			return nil, err
		}
	}
	unwake = func() {}
	var wake []string
	if len(a.queues) > 0 {
		now := time.Now()
		if wake = s.wakeups.due(a.queues, now); len(wake) > 0 {
			unwake = func() { s.wakeups.forget(a.queues, now) }
		}
	}
	b.Queue(writeSQL, a.args(wake)...).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var id *uuid.UUID
			if err := rows.Scan(&id); err != nil {
				return err
			}
			if id != nil {
				written[*id] = true
			}
		}
		return rows.Err()
	})
	queueRelease(b, g)
	return unwake, nil
}
