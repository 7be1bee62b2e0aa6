package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/intakehq/intake/database"
	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/internal/retry"
	"github.com/intakehq/intake/internal/seal"
	"github.com/intakehq/intake/submissions"
)

// Queue is the River queue deliveries run on, apart from email so a slow
// receiver cannot hold up notifications.
const Queue = "webhooks"

// MaxAttempts is how often a delivery is tried before it is given up.
const MaxAttempts = 10

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

// DeliveryWorker sends DeliveryArgs jobs. Like River's own executor, it
// works a job in three steps: send the attempt (no database), classify its
// outcome (a pure function), and record it in one transaction.
type DeliveryWorker struct {
	river.WorkerDefaults[DeliveryArgs]
	DB     *pgxpool.Pool
	Client *http.Client // NewHTTPClient
	Sealer *seal.Sealer // opens the endpoints' secrets
	// FileLinks signs the links to the submission's files that the
	// payload carries (a receiver has no API key); nil leaves the API's
	// routes.
	FileLinks *submissions.FileLinks
	// BaseURL is Intake's address, for the dashboard's links in chat
	// messages.
	BaseURL string
	// TelegramAPI is the Bot API's address; "" is https://api.telegram.org
	// (tests point it at a receiver).
	TelegramAPI string
	Logger      *slog.Logger
	tests       testLimits // Test's limit
	// Retry is the wait between failed attempts; its zero value is the
	// Standard Webhooks schedule (tests shorten it).
	Retry retry.Policy
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
	return w.Retry.NextRetry(job.JobRow)
}

// Work sends one attempt and records it. It returns nil when the receiver
// answered 2xx, an error (River retries on the Retry policy) on a failure, a
// snooze on a throttling answer with Retry-After, and a cancel when the
// endpoint is gone, disabled, or answered 410 Gone.
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
	if d.State == StateDelivered && job.Args.Redelivery <= d.Redeliveries {
		// This job got it through already — its process died, or lost
		// the database, after recording the 2xx and before River heard
		// the job was done — or a redelivery asked for later did.
		return nil
	}
	if !ep.Enabled {
		err := cancelDelivery(ctx, w.DB, d.ID, "endpoint disabled")
		return errors.Join(river.JobCancel(errors.New("endpoint is disabled")), err)
	}

	body, err := w.Render(ctx, ep, sub)
	if err != nil {
		return err
	}
	attempt, resp := w.send(ctx, ep, d.MessageID, body)
	o := classify(attempt, retryAfter(resp, attempt.ResponseBody), d.Snoozes, job.Attempt, job.MaxAttempts, w.Retry.Delay(job.Attempt))
	o.log(ctx, log, attempt)
	// Record what happened even when the job's context is ending: the
	// attempt was made.
	o, err = w.recordPatiently(ctx, ep, d, attempt, o)
	if database.IsRefused(err) {
		log.ErrorContext(ctx, "the database refused the attempt's record (is the schema behind this binary's migrations?)", "err", err)
	}
	if o.verdict == verdictDisable && o.result == resultFailed && err == nil {
		log.WarnContext(ctx, "webhook endpoint failing for five days: disabling it")
	}
	if w.Observe != nil {
		w.Observe(o.result, attempt.Latency)
	}
	return o.jobError(err)
}

// recordPatiently records the attempt, even when the job's context is
// ending (the attempt was made). A delivered one is tried again for up to
// retry.RecordWait while the database fails: a lost record would send the
// event again on the job's next attempt.
func (w *DeliveryWorker) recordPatiently(ctx context.Context, ep *Endpoint, d *Delivery, a Attempt, o outcome) (outcome, error) {
	if o.verdict != verdictDelivered {
		rec, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		return w.record(rec, ep, d, a, o)
	}
	got := o
	err := retry.Record(ctx, retry.RecordWait, func(rec context.Context) error {
		var err error
		got, err = w.record(rec, ep, d, a, o)
		return err
	}, func(err error) {
		w.logger().WarnContext(ctx, "webhook delivered, but its record failed: trying again", "delivery", d.PublicID, "err", err)
	})
	return got, err
}

// attemptError is err for the delivery log, naming the endpoint by its
// origin only: endpoint URLs often carry a secret in their path or query
// (as Slack's do), and Go's *url.Error prints the whole URL, re-escaped
// and quoted, so replacing the URL in its text can miss.
func attemptError(err error, origin string) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + " " + origin + ": " + ue.Err.Error()
	}
	return err.Error()
}

// A verdict is what an attempt's outcome does to its job and delivery.
type verdict int

const (
	verdictDelivered verdict = iota // done
	verdictSnooze                   // try again after wait, without using up an attempt
	verdictRetry                    // try again on the Retry policy
	verdictGiveUp                   // the last attempt failed: the delivery has failed
	verdictDisable                  // the endpoint is turned off and its owner told: no more attempts
)

// Results of an attempt, as Observe and the metrics name them.
const (
	resultDelivered = "delivered"
	resultGone      = "gone"
	resultThrottled = "throttled"
	resultFailed    = "failed"
)

// outcome is an attempt classified: what happens next, and why.
type outcome struct {
	verdict verdict
	result  string        // for Observe
	wait    time.Duration // verdictSnooze, verdictRetry: until the next attempt
	failure error         // why the attempt failed (nil when delivered)
	reason  string        // verdictDisable: why the endpoint is disabled
}

// classify decides, from an attempt alone, what it means: delivered on a
// 2xx; disable on 410 Gone or an address the client refuses; snooze on a 429 or 503 with Retry-After while
// the delivery has snoozes left; else a failure, retried until its job's
// last attempt, which retryWait later. Whether a failure ends a five-day
// run (and disables the endpoint) is known only when it is recorded
// (record).
func classify(a Attempt, retryAfter time.Duration, snoozes, attempt, maxAttempts int, retryWait time.Duration) outcome {
	switch {
	case a.Error == "" && a.Status >= 200 && a.Status < 300:
		return outcome{verdict: verdictDelivered, result: resultDelivered}
	case a.Status == http.StatusGone:
		reason := "the endpoint answered 410 Gone"
		return outcome{verdict: verdictDisable, result: resultGone, failure: errors.New(reason), reason: reason}
	case a.Blocked:
		// Not retried for days: a name that leads into a private network
		// is a mistake (or an attempt), and the owner is told at once.
		reason := "its address leads to a private or reserved network, which Intake does not send to; give it a public address"
		return outcome{verdict: verdictDisable, result: resultFailed, failure: errors.New(a.Error), reason: reason}
	case (a.Status == http.StatusTooManyRequests || a.Status == http.StatusServiceUnavailable) &&
		retryAfter > 0 && snoozes < MaxSnoozes:
		return outcome{verdict: verdictSnooze, result: resultThrottled, wait: min(retryAfter, MaxSnooze)}
	}
	failure := errors.New(a.Error)
	if a.Error == "" {
		failure = fmt.Errorf("the endpoint answered %d", a.Status)
	}
	if attempt >= maxAttempts {
		return outcome{verdict: verdictGiveUp, result: resultFailed, failure: failure}
	}
	return outcome{verdict: verdictRetry, result: resultFailed, failure: failure, wait: retryWait}
}

// log says what the attempt came to, before it is recorded.
func (o outcome) log(ctx context.Context, log *slog.Logger, a Attempt) {
	switch o.result {
	case resultDelivered:
		log.InfoContext(ctx, "webhook delivered", "status", a.Status, "latency", a.Latency)
	case resultGone:
		log.WarnContext(ctx, "webhook endpoint gone: disabling it")
	case resultThrottled:
		log.InfoContext(ctx, "webhook throttled: honouring Retry-After", "status", a.Status, "wait", o.wait)
	default:
		log.WarnContext(ctx, "webhook attempt failed", "status", a.Status, "err", o.failure)
	}
}

// jobError is what Work returns to River for o, with recordErr, the error
// of recording it (nil when it was recorded).
func (o outcome) jobError(recordErr error) error {
	switch o.verdict {
	case verdictDelivered:
		if database.IsRefused(recordErr) {
			// A retry would deliver the event again and be refused again.
			return river.JobCancel(fmt.Errorf("webhook delivered, but its record was refused; not sending it again: %w", recordErr))
		}
		return recordErr
	case verdictSnooze:
		if recordErr != nil {
			return recordErr
		}
		return river.JobSnooze(o.wait)
	case verdictDisable:
		if recordErr != nil {
			// The endpoint is not disabled, nor the attempt logged: River
			// tries again rather than leave the delivery without a job.
			return errors.Join(o.failure, recordErr)
		}
		return river.JobCancel(o.failure)
	default: // verdictRetry, verdictGiveUp: River retries or, out of attempts, discards
		return errors.Join(o.failure, recordErr)
	}
}

// record writes attempt a and its outcome o in one transaction: the
// delivery log row, the delivery's state, the endpoint's run of failures
// and, when o disables the endpoint, the endpoint itself and the owner's
// notice (OnDisabled). A failure that ends a five-day run of failures
// becomes verdictDisable: record returns the outcome it recorded.
func (w *DeliveryWorker) record(ctx context.Context, ep *Endpoint, d *Delivery, a Attempt, o outcome) (outcome, error) {
	err := database.WithTx(ctx, w.DB, pgx.TxOptions{}, func(tx pgx.Tx) error {
		switch o.verdict {
		case verdictDelivered:
			if err := endFailureRun(ctx, tx, ep.ID); err != nil {
				return err
			}
			return recordAttempt(ctx, tx, d, a, StateDelivered, nil, false)
		case verdictSnooze:
			next := time.Now().Add(o.wait)
			return recordAttempt(ctx, tx, d, a, StateRetrying, &next, true)
		case verdictRetry, verdictGiveUp:
			failingSince, err := extendFailureRun(ctx, tx, ep.ID)
			if err != nil {
				return err
			}
			if time.Since(failingSince) >= DisableAfter {
				o.verdict = verdictDisable
				o.reason = fmt.Sprintf("every delivery has failed since %s", failingSince.UTC().Format(time.RFC1123))
				break
			}
			if o.verdict == verdictGiveUp {
				return recordAttempt(ctx, tx, d, a, StateFailed, nil, false)
			}
			next := time.Now().Add(o.wait)
			return recordAttempt(ctx, tx, d, a, StateRetrying, &next, false)
		}
		// verdictDisable
		if err := disable(ctx, tx, ep.ID, o.reason); err != nil {
			return err
		}
		if err := recordAttempt(ctx, tx, d, a, StateFailed, nil, false); err != nil {
			return err
		}
		if w.OnDisabled != nil {
			return w.OnDisabled(ctx, tx, ep, o.reason)
		}
		return nil
	})
	return o, err
}

// send makes one signed attempt. The response (if any) is returned for its
// headers; its body is already read and closed.
// Render is what the endpoint ep is sent for sub: the Standard Webhooks
// event, or the chat message of ep's format made from it, its files with
// signed links either way.
func (w *DeliveryWorker) Render(ctx context.Context, ep *Endpoint, sub *submissions.Submission) ([]byte, error) {
	if ep.Format == FormatStandard || ep.Format == "" {
		return w.render(ctx, ep, nil, sub)
	}
	form, err := forms.ByPublicID(ctx, w.DB, sub.FormPublicID)
	if err != nil {
		return nil, err
	}
	return w.render(ctx, ep, form, sub)
}

// EventOf is the Standard Webhooks event of sub, its files' urls signed
// links when links is not nil.
func EventOf(sub *submissions.Submission, links *submissions.FileLinks) Event {
	data := sub.JSON()
	data.SignFiles(links, sub.ID, time.Now())
	return Event{Type: "submission.created", Timestamp: sub.CreatedAt, Data: data}
}

// render is Render with the form (nil for the standard format).
func (w *DeliveryWorker) render(_ context.Context, ep *Endpoint, form *forms.Form, sub *submissions.Submission) ([]byte, error) {
	ev := EventOf(sub, w.FileLinks)
	if ep.Format == FormatStandard || ep.Format == "" {
		return json.Marshal(ev)
	}
	m := NewMessage(form, ev, w.BaseURL)
	switch ep.Format {
	case FormatSlack:
		return m.Slack()
	case FormatDiscord:
		return m.Discord()
	default:
		return m.Telegram(ep.ChatID)
	}
}

// target is where an attempt to ep is posted: its URL, or for telegram the
// Bot API's sendMessage with the bot's token (never logged or stored).
func (w *DeliveryWorker) target(ep *Endpoint) (string, error) {
	if ep.Format != FormatTelegram {
		return ep.URL, nil
	}
	token, err := w.Sealer.Open(ep.BotToken, ep.PublicID+":bot")
	if err != nil {
		return "", fmt.Errorf("the bot's token is unusable: %w", err)
	}
	api := w.TelegramAPI
	if api == "" {
		api = "https://api.telegram.org"
	}
	return strings.TrimSuffix(api, "/") + "/bot" + token + "/sendMessage", nil
}

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
	target, err := w.target(ep)
	if err != nil {
		a.Error = err.Error()
		return a, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		a.Error = attemptError(err, ep.Origin())
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
		a.Error = attemptError(err, ep.Origin())
		if errors.Is(err, ErrBlockedAddress) {
			a.Blocked = true
			if net.ParseIP(ep.Hostname()) != nil {
				// An address written in the URL: the reason tells nothing new.
				a.Error = "refused: " + ep.Hostname() + " is a private or reserved address (" + a.Error + ")"
			} else {
				// A name: the address it resolved to stays in the log, for
				// the delivery log is the members' and would map internal
				// names.
				w.logger().WarnContext(ctx, "webhook refused: a private or reserved address", "endpoint", ep.PublicID, "err", a.Error)
				a.Error = "refused: " + ep.Hostname() + " resolves to a private or reserved address"
			}
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

func retryAfter(resp *http.Response, body string) time.Duration {
	if resp == nil {
		return 0
	}
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v == "" {
		// Discord says {"retry_after": 1.5} (seconds, a float) and
		// Telegram {"parameters": {"retry_after": 3}}, in the body of
		// their 429.
		var b struct {
			RetryAfter float64 `json:"retry_after"`
			Parameters struct {
				RetryAfter float64 `json:"retry_after"`
			} `json:"parameters"`
		}
		if resp.StatusCode == http.StatusTooManyRequests && json.Unmarshal([]byte(body), &b) == nil {
			secs := max(b.RetryAfter, b.Parameters.RetryAfter)
			if secs > 0 && secs < 86400 {
				return time.Duration(secs * float64(time.Second))
			}
		}
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
