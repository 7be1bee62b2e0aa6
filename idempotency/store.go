package idempotency

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Response is the answer stored on a key and replayed byte for byte.
type Response struct {
	Status int
	Header map[string]string // the headers that matter: Content-Type, Location
	Body   []byte
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

func scanRecord(row pgx.Row) (*Record, error) { return scanRecordAfter(row) }

// scanRecordAfter scans a record whose columns follow the columns lead.
func scanRecordAfter(row pgx.Row, lead ...any) (*Record, error) {
	var (
		r       Record
		headers []byte
	)
	err := row.Scan(append(lead, &r.Fingerprint, &r.SubmissionID, &r.Response.Status, &headers, &r.Response.Body, &r.CreatedAt, &r.ExpiresAt)...)
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
	noSeqScanSQL = `SELECT set_config('enable_seqscan', 'off', true)` // until the batch's implicit transaction ends
	lookupSQL    = `SELECT ` + recordColumns + ` FROM idempotency_keys k WHERE k.form_id = $1 AND k.key = $2`
)

// Lookup returns the live key row of (formID, key) at time now. It returns
// ErrNotFound when there is none. It takes a pool, not a transaction: it
// turns sequential scans off until its transaction ends.
func Lookup(ctx context.Context, db *pgxpool.Pool, formID int64, key string, now time.Time) (*Record, error) {
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

// LookupKey names a key row by its form's public id, for QueueLookups.
type LookupKey struct {
	FormPublicID string
	Key          string
	Now          time.Time // the row must be live at Now
}

// lookupManySQL reads the key rows named by ($1[i], $2[i]), each with its
// index. The subquery is fenced (OFFSET 0) so that it stays a lookup by
// primary key per pair: joined freely, the planner may match the key
// alone and walk the whole index.
const lookupManySQL = `SELECT q.i, k.* FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS q(public_id, key, i)
CROSS JOIN LATERAL (SELECT ` + recordColumns + ` FROM idempotency_keys k
	WHERE k.form_id = (SELECT id FROM forms WHERE public_id = q.public_id) AND k.key = q.key OFFSET 0) k`

// QueueLookups adds to b the read of the live key rows named by keys, so
// they can travel with their forms' own reads; after b is read, out[i]
// holds the record of keys[i], or nil when there is none (out must be as
// long as keys). It turns sequential scans off for the rest of b's
// implicit transaction, so queue it last.
func QueueLookups(b *pgx.Batch, keys []LookupKey, out []*Record) {
	forms, names := make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		forms[i], names[i] = k.FormPublicID, k.Key
	}
	b.Queue(noSeqScanSQL)
	b.Queue(lookupManySQL, forms, names).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var i int
			r, err := scanRecordAfter(rows, &i)
			if err != nil {
				return err
			}
			if i < 1 || i > len(keys) {
				return fmt.Errorf("idempotency: lookup row %d of %d", i, len(keys))
			}
			if r.ExpiresAt.After(keys[i-1].Now) { // else expired, not yet swept
				out[i-1] = r
			}
		}
		return rows.Err()
	})
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
