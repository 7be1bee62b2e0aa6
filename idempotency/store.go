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

// The lookups name the key by its primary key alone, and the expiry is
// checked in Go: pgx prepares its statements, and Postgres caches a generic
// plan for each, made once from the table's size at the time and kept
// until autovacuum's next ANALYZE. On a young table that plan is a
// sequential scan of every key (or a walk of the expiry index), one per
// submission (a fresh database under load: most of Postgres's time went
// there). With sequential scans off and nothing else to match, the only
// plan left is the primary key's, whatever the statistics say, and it is
// still planned once.
const (
	noSeqScanSQL    = `SELECT set_config('enable_seqscan', 'off', true)` // until the batch's implicit transaction ends
	lookupSQL       = `SELECT ` + recordColumns + ` FROM idempotency_keys k WHERE k.form_id = $1 AND k.key = $2`
	lookupByFormSQL = `SELECT ` + recordColumns + ` FROM idempotency_keys k
WHERE k.form_id = (SELECT id FROM forms WHERE public_id = $1) AND k.key = $2`
)

// Lookup returns the live key row of (formID, key) at time now. It returns
// ErrNotFound when there is none. Run it on a pool, not inside a
// transaction: it turns sequential scans off until the transaction ends.
func Lookup(ctx context.Context, db database.Executor, formID int64, key string, now time.Time) (*Record, error) {
	b := &pgx.Batch{}
	var rec *Record
	queueLookup(b, now, &rec, lookupSQL, formID, key)
	if err := db.SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, ErrNotFound
	}
	return rec, nil
}

// QueueLookup adds to b the read of the live key row of (form, key), the
// form named by its public id, so it can travel with the form's own read;
// after b is read *out holds the record, or nil when there is none. It
// turns sequential scans off for the rest of b's implicit transaction, so
// queue it last.
func QueueLookup(b *pgx.Batch, formPublicID, key string, now time.Time, out **Record) {
	queueLookup(b, now, out, lookupByFormSQL, formPublicID, key)
}

func queueLookup(b *pgx.Batch, now time.Time, out **Record, sql string, args ...any) {
	b.Queue(noSeqScanSQL)
	b.Queue(sql, args...).QueryRow(func(row pgx.Row) error {
		r, err := scanRecord(row)
		switch {
		case errors.Is(err, ErrNotFound):
			*out = nil
			return nil
		case err != nil:
			return err
		}
		if !r.ExpiresAt.After(now) {
			r = nil // expired, not yet swept
		}
		*out = r
		return nil
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
