package webhooks

import (
	"context"
	"crypto/sha256"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/database"
	"github.com/intakehq/intake/internal/textcheck"
)

// Delivery states.
const (
	StatePending   = "pending"
	StateRetrying  = "retrying"
	StateDelivered = "delivered"
	StateFailed    = "failed"
	StateCancelled = "cancelled"
)

// Delivery is one submission sent to one endpoint, over all its attempts.
type Delivery struct {
	ID               int64
	PublicID         string
	EndpointID       int64
	EndpointPublicID string
	SubmissionID     uuid.UUID
	MessageID        string
	State            string
	Attempts         int
	Snoozes          int
	Redeliveries     int
	LastStatus       *int
	LastError        string
	NextAttemptAt    *time.Time
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// Attempt is one try of a delivery.
type Attempt struct {
	At           time.Time
	Status       int // 0 when no answer came
	Latency      time.Duration
	ResponseBody string // the first 4 KiB
	Error        string
	// Blocked: the endpoint's name resolved to a private or reserved
	// address, which the client refuses (dial.go).
	Blocked bool `json:"-"`
}

// MaxResponseBody is how much of an answer an attempt keeps.
const MaxResponseBody = 4 << 10

// MessageID is the webhook-id of every attempt of submission × endpoint:
// derived from the pair, so retries, redeliveries and a worker that crashed
// mid-send all send the same id and receivers can deduplicate on it.
func MessageID(submissionID uuid.UUID, endpointID int64) string {
	h := sha256.New()
	h.Write(submissionID[:])
	h.Write([]byte{byte(endpointID >> 56), byte(endpointID >> 48), byte(endpointID >> 40), byte(endpointID >> 32),
		byte(endpointID >> 24), byte(endpointID >> 16), byte(endpointID >> 8), byte(endpointID)})
	return "msg_" + idEncoding.EncodeToString(h.Sum(nil)[:16])
}

const deliveryColumns = `d.id, d.public_id, d.endpoint_id, e.public_id, d.submission_id, d.message_id, d.state, d.attempts,
	d.snoozes, d.redeliveries, d.last_status, coalesce(d.last_error, ''), d.next_attempt_at, d.created_at, d.updated_at`

func scanDelivery(row pgx.Row) (*Delivery, error) {
	var d Delivery
	err := row.Scan(&d.ID, &d.PublicID, &d.EndpointID, &d.EndpointPublicID, &d.SubmissionID, &d.MessageID, &d.State,
		&d.Attempts, &d.Snoozes, &d.Redeliveries, &d.LastStatus, &d.LastError, &d.NextAttemptAt, &d.CreatedAt, &d.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	return &d, err
}

// ensureDelivery returns the delivery row of submission × endpoint, making
// it on the first attempt.
func ensureDelivery(ctx context.Context, db database.Executor, endpointID int64, submissionID uuid.UUID) (*Delivery, error) {
	const q = `
WITH d AS (
	INSERT INTO deliveries (public_id, endpoint_id, submission_id, message_id)
	VALUES ($1, $2, $3, $4)
	ON CONFLICT (submission_id, endpoint_id) DO UPDATE SET updated_at = deliveries.updated_at
	RETURNING *
)
SELECT ` + deliveryColumns + ` FROM d JOIN webhook_endpoints e ON e.id = d.endpoint_id`
	return scanDelivery(db.QueryRow(ctx, q, newPublicID("dlv_"), endpointID, submissionID, MessageID(submissionID, endpointID)))
}

// DeliveryForAccount returns the account's delivery with publicID. It
// returns ErrNotFound.
func DeliveryForAccount(ctx context.Context, db database.Executor, accountID int64, publicID string) (*Delivery, error) {
	if textcheck.Problem(publicID) != "" {
		return nil, ErrNotFound // no stored id is such text; Postgres would refuse it (a 500)
	}
	return scanDelivery(db.QueryRow(ctx, `SELECT `+deliveryColumns+`
FROM deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id JOIN forms f ON f.id = e.form_id
WHERE d.public_id = $1 AND f.account_id = $2`, publicID, accountID))
}

// Deliveries returns up to limit of an endpoint's deliveries, newest first,
// from before the delivery with internal id before (nil: the newest).
func Deliveries(ctx context.Context, db database.Executor, endpointID int64, before *int64, limit int) ([]*Delivery, error) {
	rows, err := db.Query(ctx, `SELECT `+deliveryColumns+`
FROM deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
WHERE d.endpoint_id = $1 AND ($2::bigint IS NULL OR d.id < $2)
ORDER BY d.id DESC LIMIT $3`, endpointID, before, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Attempts returns a delivery's attempts, oldest first.
func Attempts(ctx context.Context, db database.Executor, deliveryID int64) ([]Attempt, error) {
	rows, err := db.Query(ctx, `SELECT attempted_at, coalesce(status, 0), latency_ms, coalesce(response_body, ''), coalesce(error, '')
FROM delivery_attempts WHERE delivery_id = $1 ORDER BY id`, deliveryID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Attempt, error) {
		var a Attempt
		var ms int
		err := row.Scan(&a.At, &a.Status, &ms, &a.ResponseBody, &a.Error)
		a.Latency = time.Duration(ms) * time.Millisecond
		return a, err
	})
}

// recordAttempt logs an attempt and moves the delivery to state.
func recordAttempt(ctx context.Context, tx pgx.Tx, d *Delivery, a Attempt, state string, next *time.Time, snoozed bool) error {
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO delivery_attempts (delivery_id, attempted_at, status, latency_ms, response_body, error)
VALUES ($1, $2, nullif($3, 0), $4, nullif($5, ''), nullif($6, ''))`,
		d.ID, a.At, a.Status, a.Latency.Milliseconds(), a.ResponseBody, a.Error)
	// A delivery once delivered stays so: a late attempt of an older job
	// (raced by a redelivery) must not make it look failed.
	b.Queue(`UPDATE deliveries SET attempts = attempts + 1, snoozes = snoozes + $6::int,
	state = CASE WHEN state = 'delivered' THEN state ELSE $2 END,
	last_status = nullif($3, 0), last_error = nullif($4, ''), next_attempt_at = $5, updated_at = now()
WHERE id = $1`, d.ID, state, a.Status, a.Error, next, boolInt(snoozed))
	return tx.SendBatch(ctx, b).Close()
}

// cancelDelivery ends a delivery that will not be attempted, saying why.
func cancelDelivery(ctx context.Context, db database.Executor, deliveryID int64, why string) error {
	_, err := db.Exec(ctx, `UPDATE deliveries SET state = 'cancelled', last_error = $2, updated_at = now() WHERE id = $1`, deliveryID, why)
	return err
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Inserter is what Redeliver needs of River's client.
type Inserter interface {
	InsertTx(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// Redeliver sends d once more — a new attempt with the same webhook-id —
// by enqueueing it with the delivery's state reset, in one transaction. It
// returns ErrDisabled when the endpoint is disabled, ErrNotFound when it is
// gone.
func Redeliver(ctx context.Context, db *pgxpool.Pool, river Inserter, actor audit.Actor, d *Delivery) error {
	e, err := ByID(ctx, db, d.EndpointID)
	if err != nil {
		return err
	}
	if !e.Enabled {
		return ErrDisabled
	}
	return database.WithTx(ctx, db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var n int
		err := tx.QueryRow(ctx, `UPDATE deliveries SET redeliveries = redeliveries + 1, state = 'pending', next_attempt_at = now(), updated_at = now()
WHERE id = $1 RETURNING redeliveries`, d.ID).Scan(&n)
		if err != nil {
			return err
		}
		if _, err = river.InsertTx(ctx, tx, DeliveryArgs{SubmissionID: d.SubmissionID, EndpointID: d.EndpointID, Redelivery: n}, nil); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{AccountID: e.AccountID, Actor: actor, Action: "delivery.redeliver",
			ObjectType: "delivery", ObjectID: d.PublicID})
	})
}
