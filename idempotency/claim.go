package idempotency

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/intakehq/intake/database"
)

// Claim is a key row about to be written, response included. Keys are
// claimed in the statement that writes the submissions (ClaimSQL, a part of
// submissions/write.go): a conflicting row that has expired (but not been
// swept yet) is taken over, so a repeat after the retention window is a new
// submission; a live one is left alone, and the submission is not written.
type Claim struct {
	FormID       int64
	Key          string
	Fingerprint  []byte
	SubmissionID uuid.UUID
	Response     Response
	CreatedAt    time.Time
	ExpiresAt    time.Time
}

// claimSQL writes the key rows and returns the submission id of each row
// it wrote: the claims won. Its gate is what makes a submission exactly
// once. A conflicting key row that has expired (but not been swept yet) is
// taken over, so a repeat after the retention window is a new submission;
// a live one is left alone and its claim returns nothing. If another open
// transaction holds a key, the claim waits for it (bounded by lock_timeout)
// and then sees its row. The rows go in key order, so two transactions
// claiming overlapping keys take their locks in one order and cannot
// deadlock; a group names a key only once.
const claimSQL = `INSERT INTO idempotency_keys
	(form_id, key, fingerprint, submission_id, response_status, response_headers, response_body, created_at, expires_at)
SELECT * FROM unnest($1::bigint[], $2::text[], $3::bytea[], $4::uuid[], $5::smallint[], $6::jsonb[], $7::bytea[],
	$8::timestamptz[], $9::timestamptz[])
ORDER BY 1, 2
ON CONFLICT (form_id, key) DO UPDATE SET
	fingerprint = EXCLUDED.fingerprint, submission_id = EXCLUDED.submission_id,
	response_status = EXCLUDED.response_status, response_headers = EXCLUDED.response_headers,
	response_body = EXCLUDED.response_body, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
WHERE idempotency_keys.expires_at <= EXCLUDED.created_at
RETURNING submission_id`

// ClaimSQL returns the claim of the keys in ClaimColumns' arguments, as a
// part of a larger statement (submissions/write.go): its placeholders
// follow the offset arguments before them. It returns the submission id of
// every claim won; a submission whose claim is not among them must not be
// written. Its wait for a key held by another transaction ends, at the lock
// wait, in an error IsClaimWait recognises.
func ClaimSQL(offset int) string { return database.Renumber(claimSQL, offset) }

// ClaimColumns are claims as ClaimSQL's arguments: an array per column.
type ClaimColumns struct {
	forms            []int64
	keys             []string
	fingerprints     [][]byte
	submissions      []uuid.UUID
	statuses         []int16
	headers, bodies  [][]byte
	created, expires []time.Time
}

// Add appends c. It returns an error only when c's headers cannot be
// encoded.
func (cs *ClaimColumns) Add(c *Claim) error {
	h, err := json.Marshal(c.Response.Header)
	if err != nil {
		return err
	}
	body := c.Response.Body
	if body == nil {
		body = []byte{} // not NULL
	}
	cs.forms, cs.keys, cs.fingerprints = append(cs.forms, c.FormID), append(cs.keys, c.Key), append(cs.fingerprints, c.Fingerprint)
	cs.submissions, cs.statuses = append(cs.submissions, c.SubmissionID), append(cs.statuses, int16(c.Response.Status))
	cs.headers, cs.bodies = append(cs.headers, h), append(cs.bodies, body)
	cs.created, cs.expires = append(cs.created, c.CreatedAt), append(cs.expires, c.ExpiresAt)
	return nil
}

// Args returns the arrays for ClaimSQL's placeholders, in their order.
func (cs *ClaimColumns) Args() []any {
	return []any{cs.forms, cs.keys, cs.fingerprints, cs.submissions, cs.statuses, cs.headers, cs.bodies, cs.created, cs.expires}
}

// IsClaimWait reports whether err is a claim's lock timeout: another
// transaction holds one of the keys claimed. (A lock timeout elsewhere — a
// migration holding a table — is not.)
func IsClaimWait(err error) bool {
	var pgErr *pgconn.PgError
	return database.IsLockTimeout(err) && errors.As(err, &pgErr) && strings.Contains(pgErr.Where, `"idempotency_keys`)
}

// releaseSQL deletes the key rows of the claims ($1 forms, $2 keys, $3
// submissions) whose submission was not written (%s is false: the
// caller's condition over c.submission_id). A row is deleted only while it
// still names the claim's submission.
const releaseSQL = `DELETE FROM idempotency_keys k USING unnest($1::bigint[], $2::text[], $3::uuid[]) AS c(form_id, key, submission_id)
WHERE k.form_id = c.form_id AND k.key = c.key AND k.submission_id = c.submission_id AND NOT %s`

// QueueRelease adds to b, after the statement that claimed them, the
// release of those of claims whose submission was not written after all
// (the SQL condition written, over c.submission_id, is false): a claim
// won by a submission that a later part of the same statement refused
// (submissions' unique values) must not name it, or a retry with the key
// would replay an answer for a submission never stored. Queued in the
// claim's transaction, it sees that statement's rows; nothing is queued
// for no claims.
func QueueRelease(b *pgx.Batch, claims []*Claim, written string) {
	if len(claims) == 0 {
		return
	}
	forms, keys, ids := make([]int64, len(claims)), make([]string, len(claims)), make([]uuid.UUID, len(claims))
	for i, c := range claims {
		forms[i], keys[i], ids[i] = c.FormID, c.Key, c.SubmissionID
	}
	b.Queue(noSeqScanSQL) // see lookupSQL: index lookups whatever the statistics say
	b.Queue(fmt.Sprintf(releaseSQL, written), forms, keys, ids)
}
