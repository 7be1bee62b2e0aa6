package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/intakehq/intake/database"
	"github.com/intakehq/intake/submissions"
)

// Queue is the River queue deliveries run on, apart from email so a slow
// receiver cannot hold up notifications.
const Queue = "webhooks"

// MaxAttempts is how often a delivery is tried before it is given up.
const MaxAttempts = 10

// Schedule is Standard Webhooks' retry schedule: the wait after each failed
// attempt (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h — ten
// attempts over about three days), with ±10 % jitter.
var Schedule = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour,
	10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour}

// Limits on throttling answers (429 and 503 with Retry-After): a snooze does
// not use up an attempt, so they are capped.
const (
	MaxSnooze  = time.Hour
	MaxSnoozes = 10
)

// DisableAfter is how long an endpoint may fail every delivery before it is
// disabled and its owner told.
const DisableAfter = 5 * 24 * time.Hour

// FailureRunGap ends a run of failures: a failure this long after the
// previous one starts a new run (the schedule's longest wait is 24 h).
const FailureRunGap = 48 * time.Hour

// DeliveryArgs is one delivery of a submission to an endpoint. It is unique
// on the pair (and the redelivery number) as a second guard behind the
// submission's idempotency key.
type DeliveryArgs struct {
	SubmissionID uuid.UUID `json:"submission_id" river:"unique"`
	EndpointID   int64     `json:"endpoint_id" river:"unique"`
	Redelivery   int       `json:"redelivery,omitempty" river:"unique"`
}

// Kind implements river.JobArgs.
func (DeliveryArgs) Kind() string { return "webhook.deliver" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (DeliveryArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, MaxAttempts: MaxAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// Event is the body of a delivery (Standard Webhooks' recommended shape).
type Event struct {
	Type      string           `json:"type"`
	Timestamp time.Time        `json:"timestamp"`
	Data      submissions.JSON `json:"data"`
}

// DeliveryWorker sends DeliveryArgs jobs.
type DeliveryWorker struct {
	river.WorkerDefaults[DeliveryArgs]
	DB     *pgxpool.Pool
	Client *http.Client // NewHTTPClient
	Sealer *Sealer      // opens the endpoints' secrets
	Logger *slog.Logger
	// Schedule overrides the package's Schedule (tests shorten it).
	Schedule []time.Duration
	// OnDisabled runs in the transaction that disables an endpoint, to tell
	// its owner (it enqueues an email).
	OnDisabled func(ctx context.Context, tx pgx.Tx, e *Endpoint, reason string) error
	// Observe, when set, is told each attempt's result and latency.
	Observe func(result string, latency time.Duration)
}

// Timeout implements river.Worker: above the HTTP timeout, so a slow
// receiver is recorded as a failed attempt, not a timed-out job.
func (w *DeliveryWorker) Timeout(*river.Job[DeliveryArgs]) time.Duration {
	return Timeout + 15*time.Second
}

// NextRetry implements river.Worker with the Standard Webhooks schedule.
func (w *DeliveryWorker) NextRetry(job *river.Job[DeliveryArgs]) time.Time {
	return time.Now().Add(w.delay(job.Attempt))
}

func (w *DeliveryWorker) delay(attempt int) time.Duration {
	s := w.Schedule
	if s == nil {
		s = Schedule
	}
	d := s[min(max(attempt-1, 0), len(s)-1)]
	jitter := time.Duration((rand.Float64()*0.2 - 0.1) * float64(d))
	return d + jitter
}

// Work sends one attempt and records it. It returns nil when the receiver
// answered 2xx, an error (River retries on Schedule) on a failure, a snooze
// on a throttling answer with Retry-After, and a cancel when the endpoint
// is gone, disabled, or answered 410 Gone.
func (w *DeliveryWorker) Work(ctx context.Context, job *river.Job[DeliveryArgs]) error {
	ep, err := ByID(ctx, w.DB, job.Args.EndpointID)
	if errors.Is(err, ErrNotFound) {
		return river.JobCancel(fmt.Errorf("endpoint %d was deleted", job.Args.EndpointID))
	}
	if err != nil {
		return err
	}
	sub, err := submissions.ByID(ctx, w.DB, job.Args.SubmissionID)
	if errors.Is(err, submissions.ErrNotFound) {
		return river.JobCancel(fmt.Errorf("submission %s was deleted", job.Args.SubmissionID))
	}
	if err != nil {
		return err
	}
	d, err := ensureDelivery(ctx, w.DB, ep.ID, sub.ID)
	if err != nil {
		return err
	}
	log := w.logger().With("endpoint", ep.PublicID, "delivery", d.PublicID, "webhook_id", d.MessageID, "attempt", job.Attempt)
	if d.State == StateDelivered && job.Args.Redelivery < d.Redeliveries {
		// A redelivery asked for later already got it through.
		return nil
	}
	if !ep.Enabled {
		_, err := w.DB.Exec(ctx, `UPDATE deliveries SET state = 'cancelled', last_error = 'endpoint disabled', updated_at = now() WHERE id = $1`, d.ID)
		return errors.Join(river.JobCancel(errors.New("endpoint is disabled")), err)
	}

	body, err := json.Marshal(Event{Type: "submission.created", Timestamp: sub.CreatedAt, Data: sub.JSON()})
	if err != nil {
		return err
	}
	attempt, resp := w.send(ctx, ep, d.MessageID, body)
	// Record what happened even when the job's context is ending: the
	// attempt was made.
	rec, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	result := "failed"
	defer func() {
		if w.Observe != nil {
			w.Observe(result, attempt.Latency)
		}
	}()

	switch {
	case attempt.Error == "" && attempt.Status >= 200 && attempt.Status < 300:
		result = "delivered"
		log.InfoContext(ctx, "webhook delivered", "status", attempt.Status, "latency", attempt.Latency)
		return database.WithTx(rec, w.DB, pgx.TxOptions{}, func(tx pgx.Tx) error {
			if _, err := tx.Exec(rec, `UPDATE webhook_endpoints SET failing_since = NULL, last_failure_at = NULL WHERE id = $1 AND failing_since IS NOT NULL`, ep.ID); err != nil {
				return err
			}
			return recordAttempt(rec, tx, d, attempt, StateDelivered, nil, false)
		})

	case attempt.Status == http.StatusGone:
		result = "gone"
		reason := "the endpoint answered 410 Gone"
		log.WarnContext(ctx, "webhook endpoint gone: disabling it")
		err := w.disable(rec, ep, d, attempt, reason)
		return errors.Join(river.JobCancel(errors.New(reason)), err)

	case (attempt.Status == http.StatusTooManyRequests || attempt.Status == http.StatusServiceUnavailable) &&
		retryAfter(resp) > 0 && d.Snoozes < MaxSnoozes:
		result = "throttled"
		wait := min(retryAfter(resp), MaxSnooze)
		next := time.Now().Add(wait)
		log.InfoContext(ctx, "webhook throttled: honouring Retry-After", "status", attempt.Status, "wait", wait)
		err := database.WithTx(rec, w.DB, pgx.TxOptions{}, func(tx pgx.Tx) error {
			return recordAttempt(rec, tx, d, attempt, StateRetrying, &next, true)
		})
		if err != nil {
			return err
		}
		return river.JobSnooze(wait)
	}

	failure := errors.New(attempt.Error)
	if attempt.Error == "" {
		failure = fmt.Errorf("the endpoint answered %d", attempt.Status)
	}
	log.WarnContext(ctx, "webhook attempt failed", "status", attempt.Status, "err", failure)
	var failingSince time.Time
	err = database.WithTx(rec, w.DB, pgx.TxOptions{}, func(tx pgx.Tx) error {
		// The five-day clock measures a run of failures: a failure two days
		// after the last one (however long ago a success was) starts it
		// again, so one blip after a quiet week cannot disable an endpoint.
		if err := tx.QueryRow(rec, `UPDATE webhook_endpoints SET
	failing_since = CASE WHEN failing_since IS NULL OR last_failure_at < now() - $2 * interval '1 second' THEN now() ELSE failing_since END,
	last_failure_at = now()
WHERE id = $1 RETURNING failing_since`, ep.ID, int(FailureRunGap.Seconds())).Scan(&failingSince); err != nil {
			return err
		}
		if time.Since(failingSince) >= DisableAfter {
			return nil // disabled below, in a transaction of its own
		}
		state, next := StateRetrying, time.Now().Add(w.delay(job.Attempt))
		if job.Attempt >= job.MaxAttempts {
			state = StateFailed
			return recordAttempt(rec, tx, d, attempt, state, nil, false)
		}
		return recordAttempt(rec, tx, d, attempt, state, &next, false)
	})
	if err != nil {
		return errors.Join(failure, err)
	}
	if time.Since(failingSince) >= DisableAfter {
		reason := fmt.Sprintf("every delivery has failed since %s", failingSince.UTC().Format(time.RFC1123))
		log.WarnContext(ctx, "webhook endpoint failing for five days: disabling it")
		err := w.disable(rec, ep, d, attempt, reason)
		return errors.Join(river.JobCancel(failure), err)
	}
	return failure
}

// disable turns ep off, records the attempt as the delivery's last, and
// tells the owner — all in one transaction.
func (w *DeliveryWorker) disable(ctx context.Context, ep *Endpoint, d *Delivery, attempt Attempt, reason string) error {
	return database.WithTx(ctx, w.DB, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if err := disable(ctx, tx, ep.ID, reason); err != nil {
			return err
		}
		if err := recordAttempt(ctx, tx, d, attempt, StateFailed, nil, false); err != nil {
			return err
		}
		if w.OnDisabled != nil {
			return w.OnDisabled(ctx, tx, ep, reason)
		}
		return nil
	})
}

// send makes one signed attempt. The response (if any) is returned for its
// headers; its body is already read and closed.
func (w *DeliveryWorker) send(ctx context.Context, ep *Endpoint, msgID string, body []byte) (Attempt, *http.Response) {
	now := time.Now()
	a := Attempt{At: now}
	secrets, err := ep.SigningSecrets(w.Sealer, now)
	if err != nil {
		a.Error = err.Error()
		return a, nil
	}
	var sigs []string
	for _, secret := range secrets {
		sig, err := Sign(secret, msgID, now.Unix(), body)
		if err != nil {
			a.Error = "the endpoint's secret is unusable: " + err.Error()
			return a, nil
		}
		sigs = append(sigs, sig)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		a.Error = err.Error()
		return a, nil
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Intake-Webhooks/1")
	req.Header.Set("webhook-id", msgID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", strings.Join(sigs, " "))
	resp, err := w.Client.Do(req)
	a.Latency = time.Since(now)
	if err != nil {
		// Endpoint URLs often carry a secret in their path or query (as
		// Slack's do); Go's error names the whole URL. Keep only its origin.
		a.Error = strings.ReplaceAll(err.Error(), ep.URL, ep.Origin())
		if errors.Is(err, ErrBlockedAddress) {
			a.Error = "refused: " + ep.Hostname() + " resolves to a private or reserved address (" + a.Error + ")"
		}
		return a, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBody))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // let the connection be reused
	a.Status = resp.StatusCode
	a.ResponseBody = strings.ToValidUTF8(strings.ReplaceAll(string(b), "\x00", ""), "\uFFFD")
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		a.Error = "redirects are not followed (Location: " + resp.Header.Get("Location") + ")"
	}
	return a, resp
}

func retryAfter(resp *http.Response) time.Duration {
	if resp == nil {
		return 0
	}
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}

func (w *DeliveryWorker) logger() *slog.Logger {
	if w.Logger != nil {
		return w.Logger
	}
	return slog.Default()
}
