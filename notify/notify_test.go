package notify_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/idempotency"
	"github.com/intakehq/intake/internal/seal"
	"github.com/intakehq/intake/internal/testdb"
	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/mail"
	"github.com/intakehq/intake/notify"
	"github.com/intakehq/intake/submissions"
	"github.com/intakehq/intake/webhooks"
)

// receiver is a webhook endpoint on loopback that records what it got and
// answers as told.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	got      []received
	answers  []int                                                    // status per request in order; then 200
	onArrive func(n int, w http.ResponseWriter, r *http.Request) bool // true: it answered
}

type received struct {
	id, timestamp, signature string
	body                     []byte
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature"), body})
		n := len(rc.got)
		status := http.StatusOK
		if n <= len(rc.answers) {
			status = rc.answers[n-1]
		}
		hook := rc.onArrive
		rc.mu.Unlock()
		if hook != nil && hook(n, w, r) {
			return
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, "answer %d", n)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) received() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// verify checks a signature header the way a receiver does, independently
// of webhooks.Sign: any v1 entry may match.
func verify(secret string, r received) bool {
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(r.id + "." + r.timestamp + "."))
	mac.Write(r.body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, sig := range strings.Fields(r.signature) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return true
		}
	}
	return false
}

type bundle struct {
	db      *pgxpool.Pool
	svc     *submissions.Service
	form    *forms.Form
	account *testfactory.Account
	deps    notify.Deps
	client  *river.Client[pgx.Tx]
	poll    time.Duration // River's fetch poll interval; 0: 50 ms
	// sync keeps recipients as serve's API and dashboard do, enqueueing
	// with client.
	sync *notify.RecipientSync
}

// setup makes a database, an account with a form, and a River client that
// works jobs (with a fast retry schedule) and an insert path wired as serve
// wires it. mailer nil is the outbox.
func setup(t *testing.T, mailer mail.Mailer) *bundle {
	return setupPolling(t, mailer, 0)
}

// setupPolling is setup with River's workers polling for jobs every poll.
func setupPolling(t *testing.T, mailer mail.Mailer, poll time.Duration) *bundle {
	t.Helper()
	ctx := context.Background()
	db, _ := testdb.New(t)
	acct := testfactory.NewAccount(ctx, t, db)
	b := &bundle{db: db, account: acct, form: testfactory.NewForm(ctx, t, db, acct.User.AccountID, nil), poll: poll}
	sealer, err := seal.New("test secret key")
	if err != nil {
		t.Fatal(err)
	}
	links, err := notify.NewLinks("test secret key")
	if err != nil {
		t.Fatal(err)
	}
	b.deps = notify.Deps{
		DB: db, Mailer: mailer, HTTPClient: webhooks.NewHTTPClient(true), Sealer: sealer, Links: links, From: "Intake <no-reply@intake.test>",
		BaseURL: "http://intake.test", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Schedule: []time.Duration{50 * time.Millisecond},
	}
	b.start(t)
	b.sync = &notify.RecipientSync{River: b.client, Links: links}
	b.svc = &submissions.Service{DB: db, Validator: forms.NewValidator(), BaseURL: "http://intake.test", Planner: notify.Planner{}}
	return b
}

func (b *bundle) start(t *testing.T) {
	t.Helper()
	client, err := river.NewClient(riverpgxv5.New(b.db), &river.Config{
		Workers: notify.Workers(b.deps), Queues: notify.Queues(), Logger: b.deps.Logger,
		FetchCooldown: 10 * time.Millisecond, FetchPollInterval: cmp.Or(b.poll, 50*time.Millisecond),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	b.client = client
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		client.StopAndCancel(ctx)
	})
}

// endpoint adds a webhook endpoint; Secret of the result is in clear, as
// the receiver holds it.
func (b *bundle) endpoint(t *testing.T, url string, includeSpam bool) *webhooks.Endpoint {
	t.Helper()
	e, secret, err := webhooks.Create(context.Background(), b.db, b.deps.Sealer, webhooks.URLPolicy{AllowPrivate: true}, b.form, webhooks.Input{URL: &url, IncludeSpam: &includeSpam})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(e.Secret, "sealed:v1:") || strings.Contains(e.Secret, secret[6:]) {
		t.Fatalf("the stored secret is not sealed: %q", e.Secret)
	}
	e.Secret = secret
	return e
}

func (b *bundle) submit(t *testing.T, key string, fields map[string]any) *submissions.Result {
	t.Helper()
	body, _ := json.Marshal(fields)
	p, err := submissions.Parse("application/json", bytes.NewReader(body), submissions.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	res, err := b.svc.Accept(context.Background(), submissions.Request{
		FormID: b.form.PublicID, Payload: p, Key: key, IP: "192.0.2.1",
		Respond: func(s *submissions.Submission, next string) (idempotency.Response, error) {
			return idempotency.Response{Status: 201, Body: []byte(s.PublicID())}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// settle waits until no job is left to run (or t's patience ends).
func (b *bundle) settle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var open int
		err := b.db.QueryRow(context.Background(), `SELECT count(*) FROM river_job
WHERE state NOT IN ('completed', 'cancelled', 'discarded') AND kind <> 'idempotency.sweep'`).Scan(&open)
		if err != nil {
			t.Fatal(err)
		}
		if open == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("jobs did not settle within 20 s")
}

func (b *bundle) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := b.db.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func contact(i int) map[string]any {
	return map[string]any{"email": fmt.Sprintf("p%d@example.com", i), "message": "hello"}
}

// However often the client retries — 10 replays in a row, 20 twins at once —
// each submission is delivered once and emailed once.
func TestOneDeliveryAndOneEmailPerSubmission(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	rc := newReceiver(t)
	ep := b.endpoint(t, rc.URL, false)

	for range 10 {
		b.submit(t, "sequential", contact(1))
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { b.submit(t, "concurrent", contact(2)) })
	}
	wg.Wait()
	b.settle(t)

	got := rc.received()
	ids := map[string]int{}
	for _, r := range got {
		ids[r.id]++
		if !verify(ep.Secret, r) {
			t.Errorf("delivery %s has no valid signature: %q", r.id, r.signature)
		}
	}
	if len(got) != 2 || len(ids) != 2 {
		t.Fatalf("receiver got %d deliveries with %d webhook-ids, want 2 and 2", len(got), len(ids))
	}
	if n := b.count(t, `SELECT count(*) FROM outbound_emails WHERE kind = 'notification' AND state = 'outbox'`); n != 2 {
		t.Errorf("notification emails in the outbox = %d, want 2", n)
	}
	if n := b.count(t, `SELECT count(*) FROM outbound_emails WHERE recipient = $1`, b.account.User.Email); n != 2 {
		t.Errorf("emails to the owner = %d, want 2", n)
	}
	var event struct {
		Type string           `json:"type"`
		Data submissions.JSON `json:"data"`
	}
	if err := json.Unmarshal(got[0].body, &event); err != nil || event.Type != "submission.created" || event.Data.Form != b.form.PublicID {
		t.Errorf("payload = %s (%v)", got[0].body, err)
	}
}

// A failing receiver gets the delivery again with the same webhook-id, each
// attempt signed for its own timestamp, and every attempt is logged.
func TestRetryKeepsWebhookID(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	rc := newReceiver(t)
	rc.answers = []int{500, 200}
	ep := b.endpoint(t, rc.URL, false)
	b.submit(t, "k", contact(1))
	b.settle(t)

	got := rc.received()
	if len(got) != 2 || got[0].id != got[1].id {
		t.Fatalf("attempts = %d, ids %v, want 2 with one id", len(got), got)
	}
	for i, r := range got {
		if !verify(ep.Secret, r) {
			t.Errorf("attempt %d: signature does not verify", i+1)
		}
	}
	var state string
	var attempts int
	if err := b.db.QueryRow(context.Background(), `SELECT state, attempts FROM deliveries`).Scan(&state, &attempts); err != nil {
		t.Fatal(err)
	}
	if state != webhooks.StateDelivered || attempts != 2 {
		t.Errorf("delivery state %s after %d attempts, want delivered after 2", state, attempts)
	}
	if n := b.count(t, `SELECT count(*) FROM delivery_attempts WHERE status = 500 AND response_body = 'answer 1'`); n != 1 {
		t.Errorf("the failed attempt and its answer were not logged")
	}
}

// A worker stopped after the receiver got the request but before the job
// completed sends it again — with the same webhook-id.
func TestWorkerStoppedMidDeliveryResends(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	rc := newReceiver(t)
	arrived := make(chan struct{})
	rc.onArrive = func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n == 1 {
			close(arrived)
			<-r.Context().Done() // hold the answer until the worker gives up
			return true
		}
		return false
	}
	b.endpoint(t, rc.URL, false)
	b.submit(t, "k", contact(1))
	<-arrived
	stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.client.StopAndCancel(stopCtx); err != nil {
		t.Fatal(err)
	}
	b.start(t) // Intake comes back
	b.settle(t)
	got := rc.received()
	if len(got) != 2 || got[0].id != got[1].id {
		t.Fatalf("after the restart: %d requests, ids %v; want 2 with one id", len(got), got)
	}
}

// Spam reaches no one, except endpoints that opted in to it.
func TestSpamIsNotNotified(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	plain, optIn := newReceiver(t), newReceiver(t)
	b.endpoint(t, plain.URL, false)
	b.endpoint(t, optIn.URL, true)
	spam := contact(1)
	spam["_gotcha"] = "i am a bot"
	b.submit(t, "spam", spam)
	b.settle(t)
	if n := len(plain.received()); n != 0 {
		t.Errorf("an endpoint without include_spam got %d deliveries", n)
	}
	if n := len(optIn.received()); n != 1 {
		t.Errorf("the endpoint with include_spam got %d deliveries, want 1", n)
	}
	if n := b.count(t, `SELECT count(*) FROM outbound_emails`); n != 0 {
		t.Errorf("spam made %d emails", n)
	}
}

// A submission's jobs are written by Intake's own statement, in the
// submission's batch, not by River's insert; they must still wake River's
// workers at once (as River's insert does, by a notification), not at the
// next poll.
func TestNewJobsWakeWorkers(t *testing.T) {
	t.Parallel()
	b := setupPolling(t, nil, time.Minute)
	rc := newReceiver(t)
	b.endpoint(t, rc.URL, false)
	time.Sleep(500 * time.Millisecond) // the workers' listener starts
	start := time.Now()
	b.submit(t, "wake", contact(1))
	for len(rc.received()) == 0 {
		if time.Since(start) > 10*time.Second {
			t.Fatal("the delivery did not start within 10 s: the workers were not woken (their poll is a minute)")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("delivered %s after the submission", time.Since(start).Round(time.Millisecond))
}

// A rolled-back submission leaves no delivery or email job behind.
func TestRolledBackSubmissionLeavesNoJob(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	rc := newReceiver(t)
	b.endpoint(t, rc.URL, false)
	b.svc.AfterInsert = testfactory.FailWrite
	body, _ := json.Marshal(contact(1))
	p, _ := submissions.Parse("application/json", bytes.NewReader(body), submissions.DefaultLimits)
	_, err := b.svc.Accept(context.Background(), submissions.Request{FormID: b.form.PublicID, Payload: p, Key: "k",
		Respond: func(*submissions.Submission, string) (idempotency.Response, error) {
			return idempotency.Response{Status: 201, Body: []byte("{}")}, nil
		}})
	if !testfactory.IsInjectedFault(err) {
		t.Fatalf("Accept = %v, want the injected fault", err)
	}
	if n := b.count(t, `SELECT count(*) FROM river_job WHERE kind <> 'idempotency.sweep'`); n != 0 {
		t.Errorf("%d jobs survived the rollback", n)
	}
}

// 410 Gone disables the endpoint at once; the owner is told by email.
func TestGoneDisablesEndpoint(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	rc := newReceiver(t)
	rc.answers = []int{410}
	ep := b.endpoint(t, rc.URL, false)
	b.submit(t, "k", contact(1))
	b.settle(t)
	got, err := webhooks.ByID(context.Background(), b.db, ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Enabled || !strings.Contains(got.DisabledReason, "410") {
		t.Errorf("endpoint enabled=%v reason=%q, want disabled for 410", got.Enabled, got.DisabledReason)
	}
	if len(rc.received()) != 1 {
		t.Errorf("a 410 was retried: %d attempts", len(rc.received()))
	}
	if n := b.count(t, `SELECT count(*) FROM outbound_emails WHERE kind = 'endpoint_disabled' AND recipient = $1`, b.account.User.Email); n != 1 {
		t.Errorf("owner emails about the disabled endpoint = %d, want 1", n)
	}
}

// An endpoint that has failed for five days is disabled and its owner told.
func TestFailingFiveDaysDisables(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	rc := newReceiver(t)
	rc.answers = []int{500, 500, 500}
	ep := b.endpoint(t, rc.URL, false)
	if _, err := b.db.Exec(context.Background(), `UPDATE webhook_endpoints SET failing_since = now() - interval '5 days 1 minute', last_failure_at = now() - interval '20 hours' WHERE id = $1`, ep.ID); err != nil {
		t.Fatal(err)
	}
	b.submit(t, "k", contact(1))
	b.settle(t)
	got, _ := webhooks.ByID(context.Background(), b.db, ep.ID)
	if got.Enabled {
		t.Fatal("an endpoint failing for five days stayed enabled")
	}
	if n := b.count(t, `SELECT count(*) FROM outbound_emails WHERE kind = 'endpoint_disabled'`); n != 1 {
		t.Errorf("disabled-endpoint emails = %d, want 1", n)
	}
}

// 429 with Retry-After is honoured by waiting, without using up an attempt.
func TestRetryAfterSnoozes(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	rc := newReceiver(t)
	var first time.Time
	rc.onArrive = func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n == 1 {
			first = time.Now()
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return true
		}
		if wait := time.Since(first); wait < 900*time.Millisecond {
			t.Errorf("retried after %s, before Retry-After: 1", wait)
		}
		return false
	}
	b.endpoint(t, rc.URL, false)
	b.submit(t, "k", contact(1))
	b.settle(t)
	if n := len(rc.received()); n != 2 {
		t.Fatalf("attempts = %d, want 2", n)
	}
	var snoozes int
	var state string
	b.db.QueryRow(context.Background(), `SELECT snoozes, state FROM deliveries`).Scan(&snoozes, &state)
	if snoozes != 1 || state != webhooks.StateDelivered {
		t.Errorf("snoozes=%d state=%s, want 1 and delivered", snoozes, state)
	}
}

// During a rotation both secrets sign, and the receiver's old secret still verifies.
func TestRotationSignsWithBothSecrets(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	rc := newReceiver(t)
	ep := b.endpoint(t, rc.URL, false)
	stored, err := webhooks.ByID(context.Background(), b.db, ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, newSecret, err := webhooks.Rotate(context.Background(), b.db, b.deps.Sealer, stored)
	if err != nil {
		t.Fatal(err)
	}
	b.submit(t, "k", contact(1))
	b.settle(t)
	got := rc.received()
	if len(got) != 1 || len(strings.Fields(got[0].signature)) != 2 {
		t.Fatalf("want one delivery with two signatures, got %v", got)
	}
	if !verify(ep.Secret, got[0]) || !verify(newSecret, got[0]) {
		t.Error("both the old and the new secret must verify during the grace period")
	}
}

// Redelivery is a new attempt with the same webhook-id.
func TestRedeliver(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	rc := newReceiver(t)
	b.endpoint(t, rc.URL, false)
	b.submit(t, "k", contact(1))
	b.settle(t)
	var publicID string
	if err := b.db.QueryRow(context.Background(), `SELECT public_id FROM deliveries`).Scan(&publicID); err != nil {
		t.Fatal(err)
	}
	d, err := webhooks.DeliveryForAccount(context.Background(), b.db, b.account.User.AccountID, publicID)
	if err != nil {
		t.Fatal(err)
	}
	if err := webhooks.Redeliver(context.Background(), b.db, b.client, d); err != nil {
		t.Fatal(err)
	}
	b.settle(t)
	got := rc.received()
	if len(got) != 2 || got[0].id != got[1].id || got[0].timestamp == "" {
		t.Fatalf("redelivery: %d requests, ids %v", len(got), got)
	}
}

// The delivery client refuses private and metadata addresses at dial time,
// including a host name that resolves to loopback.
func TestSSRFGuard(t *testing.T) {
	t.Parallel()
	client := webhooks.NewHTTPClient(false)
	for _, u := range []string{
		"http://127.0.0.1:1/", "http://10.0.0.1:1/", "http://169.254.169.254/latest/meta-data/",
		"http://[::1]:1/", "http://localhost:1/", "http://100.64.0.1:1/", "http://0.0.0.0:1/", "http://[::ffff:127.0.0.1]:1/",
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		req, _ := http.NewRequestWithContext(ctx, "POST", u, nil)
		_, err := client.Do(req)
		cancel()
		if err == nil || !strings.Contains(err.Error(), webhooks.ErrBlockedAddress.Error()) {
			t.Errorf("%s: err = %v, want the address refused", u, err)
		}
	}
}

// SMTP end to end is mail's business; here: a message refused for good is
// recorded as failed and not retried.
type refusingMailer struct{ calls atomic.Int32 }

func (m *refusingMailer) Send(context.Context, *mail.Message) error {
	m.calls.Add(1)
	return &mail.PermanentError{Code: 550, Err: fmt.Errorf("mailbox unavailable")}
}

func TestPermanentEmailFailureIsNotRetried(t *testing.T) {
	t.Parallel()
	m := &refusingMailer{}
	b := setup(t, m)
	b.submit(t, "k", contact(1))
	b.settle(t)
	if n := m.calls.Load(); n != 1 {
		t.Errorf("a 550 was tried %d times, want once", n)
	}
	if n := b.count(t, `SELECT count(*) FROM outbound_emails WHERE state = 'failed' AND error LIKE '%mailbox unavailable%'`); n != 1 {
		t.Errorf("the failure was not recorded")
	}
}

// A submitter's _cc that the mail server refuses must not cost the owner
// the notification: it is sent again without the Cc list.
type ccRefusingMailer struct {
	acceptCc bool // record messages with a Cc list instead of refusing them
	mu       sync.Mutex
	sent     []*mail.Message
	refused  int
}

func (m *ccRefusingMailer) Send(_ context.Context, msg *mail.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(msg.Cc) > 0 && !m.acceptCc {
		m.refused++
		return &mail.PermanentError{Code: 550, Err: fmt.Errorf("no such user: %s", msg.Cc[0])}
	}
	m.sent = append(m.sent, msg)
	return nil
}

func TestRefusedCcStillNotifiesOwner(t *testing.T) {
	t.Parallel()
	m := &ccRefusingMailer{}
	b := setup(t, m)
	b.form = testfactory.NewForm(context.Background(), t, b.db, b.account.User.AccountID, &testfactory.FormOpts{
		Settings: forms.Settings{AllowCC: true},
	})
	fields := contact(1)
	fields["_cc"] = "nobody@invalid.example"
	fields["_subject"] = "Quote request"
	fields["_replyto"] = "ada@example.com"
	b.submit(t, "k", fields)
	b.settle(t)
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.sent) != 1 || m.sent[0].To[0] != b.account.User.Email {
		t.Fatalf("sent %d messages, want the owner's notification", len(m.sent))
	}
	msg := m.sent[0]
	if msg.Subject != "Quote request" || msg.ReplyTo != "ada@example.com" || !strings.Contains(msg.Text, "p1@example.com") {
		t.Errorf("notification subject %q reply-to %q text %q", msg.Subject, msg.ReplyTo, msg.Text)
	}
	if !strings.HasPrefix(msg.MessageID, "<") || !strings.HasSuffix(msg.MessageID, "@intake.test>") {
		t.Errorf("Message-ID %q is not derived on the base URL's host", msg.MessageID)
	}
	if n := b.count(t, `SELECT count(*) FROM outbound_emails WHERE state = 'sent'`); n != 1 {
		t.Errorf("sent emails recorded = %d, want 1", n)
	}
	if m.refused != 1 {
		t.Errorf("the Cc was tried %d times, want once: the form allows _cc", m.refused)
	}
}

// _cc copies the notification only on a form whose owner allowed it, and
// then without the owner's unsubscribe link; elsewhere it is kept in the
// metadata, no one is copied and the link is there.
func TestCcOnlyWhenAllowed(t *testing.T) {
	t.Parallel()
	m := &ccRefusingMailer{acceptCc: true}
	b := setup(t, m)
	ctx := context.Background()
	closed := b.form
	open := testfactory.NewForm(ctx, t, b.db, b.account.User.AccountID, &testfactory.FormOpts{Name: "Open", Settings: forms.Settings{AllowCC: true}})
	fields := contact(1)
	fields["_cc"] = "one@example.com, two@example.com"
	b.submit(t, "closed", fields)
	b.form = open
	b.submit(t, "open", fields)
	b.settle(t)

	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.sent) != 2 {
		t.Fatalf("sent %d notifications, want 2", len(m.sent))
	}
	for _, msg := range m.sent {
		wantCc := strings.Contains(msg.Subject, "Open")
		if got := strings.Join(msg.Cc, ","); wantCc && got != "one@example.com,two@example.com" || !wantCc && got != "" {
			t.Errorf("notification %q copied %q; want the _cc addresses only on the form that allows _cc", msg.Subject, got)
		}
		// The unsubscribe link is the owner's: a copy to addresses the
		// submitter chose must not carry it.
		_, hasHeader := msg.Headers["List-Unsubscribe"]
		hasLink := strings.Contains(msg.Text, "/unsubscribe?token=") || strings.Contains(msg.HTML, "/unsubscribe?token=")
		if wantCc && (hasHeader || hasLink) || !wantCc && (!hasHeader || !hasLink) {
			t.Errorf("notification %q (Cc %q): List-Unsubscribe %v, link in the bodies %v; want them only without Cc", msg.Subject, msg.Cc, hasHeader, hasLink)
		}
	}
	for _, f := range []*forms.Form{closed, open} {
		var cc string
		if err := b.db.QueryRow(ctx, `SELECT meta->>'cc' FROM submissions WHERE form_id = $1`, f.ID).Scan(&cc); err != nil {
			t.Fatal(err)
		}
		if cc != `["one@example.com", "two@example.com"]` {
			t.Errorf("form %s: meta cc = %s, want the list kept either way", f.Name, cc)
		}
	}
}

// A form's confirmed notify_emails replace the owner as recipients, and
// its autoresponse goes to the submitter's reply-to address.
func TestRecipientsAndAutoresponse(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.form = testfactory.NewForm(context.Background(), t, b.db, b.account.User.AccountID, &testfactory.FormOpts{
		Settings: forms.Settings{
			NotifyEmails: []string{"sales@example.com", "ops@example.com"},
			Autoresponse: forms.Autoresponse{Enabled: true, Subject: "Thanks!", Body: "We will answer within a day."},
		},
	})
	// Confirmed as if each had followed its link (recipients_test.go
	// follows the links themselves).
	if _, err := b.db.Exec(context.Background(), `INSERT INTO notify_recipients (form_id, email, listed, state)
SELECT $1, e, true, 'confirmed' FROM unnest($2::text[]) e`, b.form.ID, b.form.Settings.NotifyEmails); err != nil {
		t.Fatal(err)
	}
	b.submit(t, "k", map[string]any{"email": "ada@example.com", "message": "hi"})
	spam := contact(9)
	spam["_gotcha"] = "bot"
	b.submit(t, "spam", spam)
	b.settle(t)
	rows, err := b.db.Query(context.Background(), `SELECT kind, recipient, subject, body_text FROM outbound_emails ORDER BY kind, recipient`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var kind, to, subject, text string
		rows.Scan(&kind, &to, &subject, &text)
		got = append(got, kind+" "+to+" "+subject)
		if kind == notify.TemplateAutoresponse && !strings.Contains(text, "We will answer within a day.") {
			t.Errorf("autoresponse body = %q", text)
		}
	}
	want := []string{
		"autoresponse ada@example.com Thanks!",
		"notification ops@example.com New submission to Contact",
		"notification sales@example.com New submission to Contact",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("emails:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// One failure after a quiet spell does not count as five days of failing:
// the run of failures starts again.
func TestOldFailureRunDoesNotDisable(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	rc := newReceiver(t)
	rc.answers = []int{500}
	ep := b.endpoint(t, rc.URL, false)
	if _, err := b.db.Exec(context.Background(), `UPDATE webhook_endpoints SET failing_since = now() - interval '6 days',
		last_failure_at = now() - interval '3 days' WHERE id = $1`, ep.ID); err != nil {
		t.Fatal(err)
	}
	b.submit(t, "k", contact(1))
	b.settle(t)
	got, _ := webhooks.ByID(context.Background(), b.db, ep.ID)
	if !got.Enabled || got.FailingSince != nil {
		t.Errorf("enabled=%v failing_since=%v: a blip after a quiet spell must not disable, and the success clears the clock", got.Enabled, got.FailingSince)
	}
	if n := len(rc.received()); n != 2 {
		t.Errorf("attempts = %d, want 2 (the 500, then the retry that succeeds)", n)
	}
}
