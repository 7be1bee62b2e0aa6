package idempotency

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/database"
)

// Response is the answer stored on a key and replayed byte for byte.
type Response struct {
	Status int
	Header map[string]string // the headers that matter: Content-Type, Location
	Body   []byte
}

// Claim is a key row about to be written, response included. The
// submissions package claims keys in the statement that writes the
// submissions: a conflicting row that has expired (but not been swept yet)
// is taken over, so a repeat after the retention window is a new
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

// Record is a stored key.
type Record struct {
	Fingerprint  []byte
	SubmissionID uuid.UUID
	Response     Response
	CreatedAt    time.Time
	ExpiresAt    time.Time
}

const recordColumns = `k.fingerprint, k.submission_id, k.response_status, k.response_headers, k.response_body, k.created_at, k.expires_at`

func scanRecord(row pgx.Row) (*Record, error) {
	var (
		r       Record
		headers []byte
	)
	err := row.Scan(&r.Fingerprint, &r.SubmissionID, &r.Response.Status, &headers, &r.Response.Body, &r.CreatedAt, &r.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(headers, &r.Response.Header); err != nil {
		return nil, err
	}
	return &r, nil
}

const lookupSQL = `SELECT ` + recordColumns + ` FROM idempotency_keys k WHERE k.form_id = $1 AND k.key = $2 AND k.expires_at > $3`

// Lookup returns the live key row of (formID, key) at time now. It returns
// ErrNotFound when there is none.
func Lookup(ctx context.Context, db database.Executor, formID int64, key string, now time.Time) (*Record, error) {
	return scanRecord(db.QueryRow(ctx, lookupSQL, formID, key, now))
}

const lookupByFormSQL = `SELECT ` + recordColumns + `
FROM idempotency_keys k JOIN forms f ON f.id = k.form_id
WHERE f.public_id = $1 AND k.key = $2 AND k.expires_at > $3`

// QueueLookup adds to b the read of the live key row of (form, key), the
// form named by its public id, so it can travel with the form's own read;
// after b is read *out holds the record, or nil when there is none.
func QueueLookup(b *pgx.Batch, formPublicID, key string, now time.Time, out **Record) {
	// A custom plan, made for each lookup: the cached generic plan is made
	// once, from the table's size at the time, so on a young table it scans
	// every key until autovacuum's next ANALYZE (a fresh database under
	// load: a sequential scan per submission, most of Postgres's time).
	// The setting lasts until the batch's implicit transaction ends, so
	// queue the lookup last.
	b.Queue(`SELECT set_config('plan_cache_mode', 'force_custom_plan', true)`)
	b.Queue(lookupByFormSQL, formPublicID, key, now).QueryRow(func(row pgx.Row) error {
		r, err := scanRecord(row)
		if errors.Is(err, ErrNotFound) {
			*out = nil
			return nil
		}
		*out = r
		return err
	})
}

// Replay returns the stored response for a request with fingerprint fp. It
// returns ErrKeyReused when the key was stored for another payload.
func (r *Record) Replay(fp []byte) (Response, error) {
	if !bytes.Equal(r.Fingerprint, fp) {
		return Response{}, ErrKeyReused
	}
	return r.Response, nil
}
