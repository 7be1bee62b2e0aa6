package submissions

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// writeSQL writes a group of submissions (commit.go) in one statement: it
// claims their keys, and then — each only where the key is its own —
// inserts the submissions, their files and their jobs, counts them against
// their accounts' quotas and wakes River's workers. It returns the ids of
// the submissions written (and a NULL per notification sent).
//
// The gates are what make a submission exactly once, so they are spelled
// out here:
//
//   - claims: a conflicting key row that has expired (but not been swept
//     yet) is taken over, so a repeat after the retention window is a new
//     submission; a live one is left alone and its claim returns nothing.
//     If another open transaction holds a key, the claim waits for it
//     (bounded by lock_timeout) and then sees its row. The rows go in key
//     order, so two transactions claiming overlapping keys take their locks
//     in one order and cannot deadlock; a group names a key only once.
//   - subs: a submission with a key is written only if its claim returned
//     it. Removing the gate stores duplicates (TestConcurrentSameKey).
//   - files, jobs and counts: only for the submissions written.
//   - jobs are River's own batch insert (riverpgxv5's JobInsertFastMany,
//     River 0.51) plus the gate; TestJobRowsMatchRiver compares its rows
//     with River's.
//   - counts: one row per account and month, sharded by the backend's pid
//     modulo 64, so concurrent transactions do not wait on one another's
//     row lock (held until the commit; with 16 shards, pg_stat_statements
//     showed the count waiting 1.6 ms a call at 32 clients). In account
//     order, like the claims.
//   - wake: a notification per queue on River's insert topic, as River's
//     own insert sends, if a job was written ($42 is empty when the queues
//     were woken in the last wakeInterval).
//
// Each part reads what an earlier one returned, never its table, so the
// plan stays index lookups and joins over the group's own rows whatever the
// tables' statistics say (a first version gated each insert with EXISTS on
// the table written before it and got sequential scans on a fresh database).
const writeSQL = `
WITH claims AS (
	INSERT INTO idempotency_keys
		(form_id, key, fingerprint, submission_id, response_status, response_headers, response_body, created_at, expires_at)
	SELECT * FROM unnest($1::bigint[], $2::text[], $3::bytea[], $4::uuid[], $5::smallint[], $6::jsonb[], $7::bytea[],
		$8::timestamptz[], $9::timestamptz[])
	ORDER BY 1, 2
	ON CONFLICT (form_id, key) DO UPDATE SET
		fingerprint = EXCLUDED.fingerprint, submission_id = EXCLUDED.submission_id,
		response_status = EXCLUDED.response_status, response_headers = EXCLUDED.response_headers,
		response_body = EXCLUDED.response_body, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
	WHERE idempotency_keys.expires_at <= EXCLUDED.created_at
	RETURNING submission_id
), subs AS (
	INSERT INTO submissions (id, form_id, contract_version, data, spam, spam_reason, idempotency_key, meta, created_at)
	SELECT s.* FROM unnest($10::uuid[], $11::bigint[], $12::integer[], $13::jsonb[], $14::boolean[], $15::text[],
		$16::text[], $17::jsonb[], $18::timestamptz[])
		AS s(id, form_id, contract_version, data, spam, spam_reason, idempotency_key, meta, created_at)
	WHERE s.idempotency_key IS NULL OR s.id IN (SELECT submission_id FROM claims)
	RETURNING id
), files AS (
	INSERT INTO submission_files (submission_id, field, position, filename, content_type, size, sha256, content)
	SELECT f.* FROM unnest($19::uuid[], $20::text[], $21::integer[], $22::text[], $23::text[], $24::bigint[],
		$25::text[], $26::bytea[])
		AS f(submission_id, field, position, filename, content_type, size, sha256, content)
	WHERE f.submission_id IN (SELECT id FROM subs)
), jobs AS (
	INSERT INTO river_job (args, kind, max_attempts, metadata, priority, queue, scheduled_at, state, tags, unique_key, unique_states)
	SELECT j.args, j.kind, j.max_attempts, j.metadata, j.priority, j.queue,
		coalesce(j.scheduled_at, now()), j.state::river_job_state,
		string_to_array(j.tags, ',')::varchar(255)[],
		nullif(j.unique_key, '')::bytea, nullif(j.unique_states, 0)::bit(8)
	FROM unnest($27::uuid[], $28::jsonb[], $29::text[], $30::smallint[], $31::jsonb[], $32::smallint[], $33::text[],
		$34::timestamptz[], $35::text[], $36::text[], $37::bytea[], $38::integer[])
		AS j(submission_id, args, kind, max_attempts, metadata, priority, queue, scheduled_at, state, tags, unique_key, unique_states)
	WHERE j.submission_id IN (SELECT id FROM subs)
	ON CONFLICT (unique_key)
		WHERE unique_key IS NOT NULL AND unique_states IS NOT NULL AND river_job_state_in_bitmask(unique_states, state)
		DO NOTHING
	RETURNING 1
), counts AS (
	INSERT INTO account_usage (account_id, month, shard, submissions)
	SELECT c.account_id, c.month, pg_backend_pid() % 64, count(*)
	FROM unnest($39::bigint[], $40::date[], $41::uuid[]) AS c(account_id, month, submission_id)
	WHERE c.submission_id IN (SELECT id FROM subs)
	GROUP BY 1, 2 ORDER BY 1, 2
	ON CONFLICT (account_id, month, shard) DO UPDATE SET submissions = account_usage.submissions + EXCLUDED.submissions
), wake AS (
	SELECT pg_notify(current_schema() || '.river_insert', q) FROM unnest($42::text[]) AS q
	WHERE EXISTS (SELECT 1 FROM jobs)
)
SELECT id FROM subs UNION ALL SELECT NULL FROM wake`

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

// writeArgs are writeSQL's arrays: a column each.
type writeArgs struct {
	// claims
	claimForms            []int64
	claimKeys             []string
	fingerprints          [][]byte
	claimSubs             []uuid.UUID
	statuses              []int16
	headers, bodies       [][]byte
	claimCreated, expires []time.Time
	// submissions
	ids               []uuid.UUID
	formIDs           []int64
	versions          []int32
	data, meta        [][]byte
	spam              []bool
	spamReasons, keys []*string
	created           []time.Time
	// files
	fileSubs                   []uuid.UUID
	fields, names, types, sums []string
	positions                  []int32
	sizes                      []int64
	contents                   [][]byte
	// jobs
	jobSubs                     []uuid.UUID
	args, metadata              [][]byte
	kinds, queues, states, tags []string
	maxAttempts, priority       []int16
	scheduledAt                 []*time.Time
	uniqueKeys                  [][]byte
	uniqueStates                []int32
	// counts
	countAccounts []int64
	months        []time.Time
	countSubs     []uuid.UUID
}

// add appends w's rows.
func (a *writeArgs) add(w *write) error {
	if c := w.claim; c != nil {
		h, err := json.Marshal(c.Response.Header)
		if err != nil {
			return err
		}
		a.claimForms, a.claimKeys, a.fingerprints = append(a.claimForms, c.FormID), append(a.claimKeys, c.Key), append(a.fingerprints, c.Fingerprint)
		a.claimSubs, a.statuses = append(a.claimSubs, c.SubmissionID), append(a.statuses, int16(c.Response.Status))
		body := c.Response.Body
		if body == nil {
			body = []byte{} // not NULL
		}
		a.headers, a.bodies = append(a.headers, h), append(a.bodies, body)
		a.claimCreated, a.expires = append(a.claimCreated, c.CreatedAt), append(a.expires, c.ExpiresAt)
	}
	s := w.row.sub
	a.ids, a.formIDs, a.versions = append(a.ids, s.ID), append(a.formIDs, s.FormID), append(a.versions, int32(s.ContractVersion))
	a.data, a.meta, a.spam = append(a.data, w.row.data), append(a.meta, w.row.meta), append(a.spam, s.Spam)
	a.spamReasons, a.keys = append(a.spamReasons, nullable(s.SpamReason)), append(a.keys, nullable(s.IdempotencyKey))
	a.created = append(a.created, s.CreatedAt)
	for _, f := range w.row.files {
		a.fileSubs, a.fields, a.positions = append(a.fileSubs, s.ID), append(a.fields, f.field), append(a.positions, int32(f.position))
		a.names, a.types, a.sizes = append(a.names, f.file.Name), append(a.types, f.file.ContentType), append(a.sizes, f.file.Size)
		a.sums, a.contents = append(a.sums, f.file.SHA256), append(a.contents, f.file.Content)
	}
	for _, r := range w.jobs {
		a.jobSubs = append(a.jobSubs, s.ID)
		a.args, a.metadata = append(a.args, r.EncodedArgs), append(a.metadata, r.Metadata)
		a.kinds, a.queues, a.states = append(a.kinds, r.Kind), append(a.queues, r.Queue), append(a.states, string(r.State))
		a.tags = append(a.tags, strings.Join(r.Tags, ","))
		a.maxAttempts, a.priority = append(a.maxAttempts, int16(r.MaxAttempts)), append(a.priority, int16(r.Priority))
		a.scheduledAt = append(a.scheduledAt, r.ScheduledAt)
		a.uniqueKeys, a.uniqueStates = append(a.uniqueKeys, r.UniqueKey), append(a.uniqueStates, int32(r.UniqueStates))
	}
	if c := w.count; c != nil {
		a.countAccounts, a.months, a.countSubs = append(a.countAccounts, c.accountID), append(a.months, c.month), append(a.countSubs, s.ID)
	}
	return nil
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
	b.Queue(writeSQL,
		a.claimForms, a.claimKeys, a.fingerprints, a.claimSubs, a.statuses, a.headers, a.bodies, a.claimCreated, a.expires,
		a.ids, a.formIDs, a.versions, a.data, a.spam, a.spamReasons, a.keys, a.meta, a.created,
		a.fileSubs, a.fields, a.positions, a.names, a.types, a.sizes, a.sums, a.contents,
		a.jobSubs, a.args, a.kinds, a.maxAttempts, a.metadata, a.priority, a.queues, a.scheduledAt, a.states, a.tags, a.uniqueKeys, a.uniqueStates,
		a.countAccounts, a.months, a.countSubs,
		wake,
	).Query(func(rows pgx.Rows) error {
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
	return unwake, nil
}
