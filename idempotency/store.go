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

// Claim is a key row about to be written, response included.
type Claim struct {
	FormID       int64
	Key          string
	Fingerprint  []byte
	SubmissionID uuid.UUID
	Response     Response
	CreatedAt    time.Time
	ExpiresAt    time.Time
}

// A conflicting row that has expired (but not been swept yet) is taken over,
// so a repeat after the retention window is a new submission. A live
// conflicting row is left alone and RETURNING yields nothing.
const claimSQL = `
INSERT INTO idempotency_keys
	(form_id, key, fingerprint, submission_id, response_status, response_headers, response_body, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (form_id, key) DO UPDATE SET
	fingerprint = EXCLUDED.fingerprint, submission_id = EXCLUDED.submission_id,
	response_status = EXCLUDED.response_status, response_headers = EXCLUDED.response_headers,
	response_body = EXCLUDED.response_body, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
WHERE idempotency_keys.expires_at <= EXCLUDED.created_at
RETURNING true`

// ClaimResult is what a queued claim found.
type ClaimResult struct {
	Claimed bool  // this transaction now owns the key
	Err     error // the claim statement's own error (a lock timeout: a twin holds the key)
}

// QueueClaim adds the claim of c to batch b, to be sent in the caller's
// transaction; after the batch is read, out says whether this transaction
// owns the key. If another open transaction holds the key, the statement
// waits for it (bounded by lock_timeout).
func QueueClaim(b *pgx.Batch, c *Claim, out *ClaimResult) error {
	headers, err := json.Marshal(c.Response.Header)
	if err != nil {
		return err
	}
	b.Queue(claimSQL, c.FormID, c.Key, c.Fingerprint, c.SubmissionID, c.Response.Status, headers,
		c.Response.Body, c.CreatedAt, c.ExpiresAt).QueryRow(func(row pgx.Row) error {
		err := row.Scan(&out.Claimed)
		if errors.Is(err, pgx.ErrNoRows) {
			out.Claimed = false
			return nil
		}
		out.Err = err
		return err
	})
	return nil
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
