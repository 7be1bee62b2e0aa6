package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/forms"
)

// The naive SQL of one submission (issue 7): four statements, each its own
// round trip, in one transaction. The job goes to a queue no Intake worker
// reads, with River's default unique states, so its unique index is paid
// for as Intake's email job pays for it.
const (
	ceilingQueue = "intake_bench_ceiling"
	ceilingKind  = "intake_bench.ceiling"

	ceilingKeySQL = `
INSERT INTO idempotency_keys (form_id, key, fingerprint, submission_id, response_status, response_headers, response_body, created_at, expires_at)
VALUES ($1, $2, $3, $4, 0, '{}', '', $5, $6)`
	ceilingSubmissionSQL = `
INSERT INTO submissions (id, form_id, contract_version, data, idempotency_key, meta, created_at)
VALUES ($1, $2, 1, $3, $4, $5, $6)`
	ceilingJobSQL = `
INSERT INTO river_job (args, kind, max_attempts, queue, unique_key, unique_states)
VALUES ($1, '` + ceilingKind + `', 10, '` + ceilingQueue + `', $2, B'11110101')`
	ceilingResponseSQL = `
UPDATE idempotency_keys SET response_status = 201, response_headers = $3, response_body = $4
WHERE form_id = $1 AND key = $2`
)

// ceilingResult is how fast the naive SQL went.
type ceilingResult struct {
	submissions int
	errors      int
	elapsed     time.Duration
}

func (c ceilingResult) rate() float64 { return float64(c.submissions) / c.elapsed.Seconds() }

// ceiling runs the naive SQL with cfg's concurrency and duration (or count)
// on a scratch form in the same account, then deletes the scratch form
// (its submissions and keys go with it) and the jobs.
func ceiling(ctx context.Context, db *pgxpool.Pool, t *target, cfg Config, runID string) (ceilingResult, error) {
	f, err := forms.Create(ctx, db, forms.NewValidator(), nil, nil, audit.System, t.accountID,
		forms.Input{Name: "intake-bench ceiling (scratch)", Fields: contactFields})
	if err != nil {
		return ceilingResult{}, fmt.Errorf("create the scratch form: %w", err)
	}
	defer func() {
		// Not ctx: an interrupted run still cleans up.
		clean, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		db.Exec(clean, `DELETE FROM river_job WHERE queue = $1`, ceilingQueue)
		db.Exec(clean, `DELETE FROM forms WHERE id = $1`, f.ID)
	}()

	pcfg := db.Config().Copy()
	pcfg.MaxConns = int32(cfg.Concurrency)
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return ceilingResult{}, err
	}
	defer pool.Close()

	message := filler(cfg.Payload)
	var started, done, failed atomic.Int64
	start := time.Now()
	deadline := start.Add(cfg.Duration)
	var wg sync.WaitGroup
	for range cfg.Concurrency {
		wg.Go(func() {
			for ctx.Err() == nil {
				n := started.Add(1)
				if cfg.Count > 0 && n > int64(cfg.Count) || cfg.Count == 0 && time.Now().After(deadline) {
					return
				}
				if err := naiveSubmission(ctx, pool, f.ID, fmt.Sprintf("ceil%s-%d", runID, n), message); err != nil {
					failed.Add(1)
					continue
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	res := ceilingResult{submissions: int(done.Load()), errors: int(failed.Load()), elapsed: time.Since(start)}
	if res.submissions == 0 {
		return res, fmt.Errorf("no naive submission succeeded (%d errors)", res.errors)
	}
	return res, ctx.Err()
}

func naiveSubmission(ctx context.Context, db *pgxpool.Pool, formID int64, token, message string) error {
	id := uuid.Must(uuid.NewV7())
	now := time.Now().UTC()
	data, _ := json.Marshal(map[string]string{"email": "load@example.com", "message": token + " " + message})
	meta, _ := json.Marshal(map[string]string{"ip": "127.0.0.1", "user_agent": "Go-http-client/1.1"})
	fingerprint := sha256.Sum256(data)
	args, _ := json.Marshal(map[string]string{"template": "notification", "to": "owner@example.com", "submission_id": id.String()})
	uniqueKey := sha256.Sum256(args)
	headers := []byte(`{"Content-Type":"application/json"}`)
	body := fmt.Appendf(nil, `{"ok":true,"id":"%s","created_at":"%s"}`, id, now.Format(time.RFC3339Nano))

	return pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, ceilingKeySQL, formID, token, fingerprint[:], id, now, now.Add(24*time.Hour)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, ceilingSubmissionSQL, id, formID, data, token, meta, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, ceilingJobSQL, args, uniqueKey[:]); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, ceilingResponseSQL, formID, token, headers, body)
		return err
	})
}
