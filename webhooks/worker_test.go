package webhooks_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/internal/retry"
	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/submissions"
	"github.com/intakehq/intake/webhooks"
)

// The delivery worker's tests: a River client that works only deliveries,
// and submissions planned by webhooks.Planner alone (notify, which adds
// the emails, is above this package; its tests cover the two together).

type bundle struct {
	*testfactory.Workbench
	http     *http.Client
	links    *submissions.FileLinks
	telegram string // the Bot API's address for the worker; "" Telegram's

	mu       sync.Mutex
	disabled []string // the reasons OnDisabled was told, in order
}

// setup makes a database, an account with a form, and a River client that
// works deliveries (with a fast retry schedule) through a client that may
// reach loopback.
func setup(t *testing.T) *bundle {
	return setupWith(t, webhooks.NewHTTPClient(true))
}

// setupWith is setup with the worker's HTTP client.
func setupWith(t *testing.T, client *http.Client) *bundle {
	t.Helper()
	return setupTelegram(t, client, "")
}

// setupTelegram is setupWith a worker that reaches the Bot API at api.
func setupTelegram(t *testing.T, client *http.Client, api string) *bundle {
	t.Helper()
	links, err := submissions.NewFileLinks("test secret key", "https://intake.example")
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle{Workbench: testfactory.NewWorkbench(t, webhooks.Planner{}), http: client, links: links, telegram: api}
	b.start(t)
	return b
}

func (b *bundle) start(t *testing.T) {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	workers := river.NewWorkers()
	river.AddWorker(workers, &webhooks.DeliveryWorker{
		DB: b.DB, Client: b.http, Sealer: b.Sealer, FileLinks: b.links, Logger: logger,
		BaseURL: "https://intake.example", TelegramAPI: b.telegram,
		Retry: retry.Policy{Schedule: []time.Duration{50 * time.Millisecond}},
		OnDisabled: func(_ context.Context, _ pgx.Tx, _ *webhooks.Endpoint, reason string) error {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.disabled = append(b.disabled, reason)
			return nil
		},
	})
	b.Start(t, workers, map[string]river.QueueConfig{webhooks.Queue: {MaxWorkers: 10}}, logger, 0)
}

// disabledNotices are the reasons the worker told its OnDisabled.
func (b *bundle) disabledNotices() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.disabled...)
}

// Spam reaches only endpoints that opted in to it (webhooks.Planner).
func TestPlannerSpamOnlyToOptedIn(t *testing.T) {
	t.Parallel()
	b := setup(t)
	plain, optIn := testfactory.NewReceiver(t), testfactory.NewReceiver(t)
	b.Endpoint(t, plain.URL, false)
	b.Endpoint(t, optIn.URL, true)
	spam := testfactory.Contact(1)
	spam["_gotcha"] = "i am a bot"
	b.Submit(t, "spam", spam)
	b.Submit(t, "ham", testfactory.Contact(2))
	b.Settle(t)
	if n := len(plain.Received()); n != 1 {
		t.Errorf("an endpoint without include_spam got %d deliveries, want 1 (the ham)", n)
	}
	if n := len(optIn.Received()); n != 2 {
		t.Errorf("the endpoint with include_spam got %d deliveries, want 2", n)
	}
}

// A failing receiver gets the delivery again with the same webhook-id, each
// attempt signed for its own timestamp, and every attempt is logged.
func TestRetryKeepsWebhookID(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := testfactory.NewReceiver(t)
	rc.Answers = []int{500, 200}
	ep := b.Endpoint(t, rc.URL, false)
	b.Submit(t, "k", testfactory.Contact(1))
	b.Settle(t)

	got := rc.Received()
	if len(got) != 2 || got[0].ID != got[1].ID {
		t.Fatalf("attempts = %d, ids %v, want 2 with one id", len(got), got)
	}
	for i, r := range got {
		if !testfactory.Verify(ep.Secret, r) {
			t.Errorf("attempt %d: signature does not verify", i+1)
		}
	}
	var state string
	var attempts int
	if err := b.DB.QueryRow(context.Background(), `SELECT state, attempts FROM deliveries`).Scan(&state, &attempts); err != nil {
		t.Fatal(err)
	}
	if state != webhooks.StateDelivered || attempts != 2 {
		t.Errorf("delivery state %s after %d attempts, want delivered after 2", state, attempts)
	}
	if n := b.Count(t, `SELECT count(*) FROM delivery_attempts WHERE status = 500 AND response_body = 'answer 1'`); n != 1 {
		t.Errorf("the failed attempt and its answer were not logged")
	}
}

// A worker stopped after the receiver got the request but before the job
// completed sends it again — with the same webhook-id.
func TestWorkerStoppedMidDeliveryResends(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := testfactory.NewReceiver(t)
	arrived := make(chan struct{})
	rc.OnArrive = func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n == 1 {
			close(arrived)
			<-r.Context().Done() // hold the answer until the worker gives up
			return true
		}
		return false
	}
	b.Endpoint(t, rc.URL, false)
	b.Submit(t, "k", testfactory.Contact(1))
	<-arrived
	stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.Client.StopAndCancel(stopCtx); err != nil {
		t.Fatal(err)
	}
	b.start(t) // Intake comes back
	b.Settle(t)
	got := rc.Received()
	if len(got) != 2 || got[0].ID != got[1].ID {
		t.Fatalf("after the restart: %d requests, ids %v; want 2 with one id", len(got), got)
	}
}

// 410 Gone disables the endpoint at once; the owner is told by email.
func TestGoneDisablesEndpoint(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := testfactory.NewReceiver(t)
	rc.Answers = []int{410}
	ep := b.Endpoint(t, rc.URL, false)
	b.Submit(t, "k", testfactory.Contact(1))
	b.Settle(t)
	got, err := webhooks.ByID(context.Background(), b.DB, ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Enabled || !strings.Contains(got.DisabledReason, "410") {
		t.Errorf("endpoint enabled=%v reason=%q, want disabled for 410", got.Enabled, got.DisabledReason)
	}
	if len(rc.Received()) != 1 {
		t.Errorf("a 410 was retried: %d attempts", len(rc.Received()))
	}
	if n := len(b.disabledNotices()); n != 1 {
		t.Errorf("owner notices about the disabled endpoint = %d, want 1", n)
	}
}

// An endpoint that has failed for five days is disabled and its owner told.
func TestFailingFiveDaysDisables(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := testfactory.NewReceiver(t)
	rc.Answers = []int{500, 500, 500}
	ep := b.Endpoint(t, rc.URL, false)
	if _, err := b.DB.Exec(context.Background(), `UPDATE webhook_endpoints SET failing_since = now() - interval '5 days 1 minute', last_failure_at = now() - interval '20 hours' WHERE id = $1`, ep.ID); err != nil {
		t.Fatal(err)
	}
	b.Submit(t, "k", testfactory.Contact(1))
	b.Settle(t)
	got, _ := webhooks.ByID(context.Background(), b.DB, ep.ID)
	if got.Enabled {
		t.Fatal("an endpoint failing for five days stayed enabled")
	}
	if n := len(b.disabledNotices()); n != 1 {
		t.Errorf("disabled-endpoint notices = %d, want 1", n)
	}
}

// 429 with Retry-After is honoured by waiting, without using up an attempt.
func TestRetryAfterSnoozes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := testfactory.NewReceiver(t)
	var first time.Time
	rc.OnArrive = func(n int, w http.ResponseWriter, r *http.Request) bool {
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
	b.Endpoint(t, rc.URL, false)
	b.Submit(t, "k", testfactory.Contact(1))
	b.Settle(t)
	if n := len(rc.Received()); n != 2 {
		t.Fatalf("attempts = %d, want 2", n)
	}
	var snoozes int
	var state string
	b.DB.QueryRow(context.Background(), `SELECT snoozes, state FROM deliveries`).Scan(&snoozes, &state)
	if snoozes != 1 || state != webhooks.StateDelivered {
		t.Errorf("snoozes=%d state=%s, want 1 and delivered", snoozes, state)
	}
}

// During a rotation both secrets sign, and the receiver's old secret still verifies.
func TestRotationSignsWithBothSecrets(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := testfactory.NewReceiver(t)
	ep := b.Endpoint(t, rc.URL, false)
	stored, err := webhooks.ByID(context.Background(), b.DB, ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, newSecret, err := webhooks.Rotate(context.Background(), b.DB, b.Sealer, audit.System, stored)
	if err != nil {
		t.Fatal(err)
	}
	b.Submit(t, "k", testfactory.Contact(1))
	b.Settle(t)
	got := rc.Received()
	if len(got) != 1 || len(strings.Fields(got[0].Signature)) != 2 {
		t.Fatalf("want one delivery with two signatures, got %v", got)
	}
	if !testfactory.Verify(ep.Secret, got[0]) || !testfactory.Verify(newSecret, got[0]) {
		t.Error("both the old and the new secret must verify during the grace period")
	}
}

// Redelivery is a new attempt with the same webhook-id.
func TestRedeliver(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := testfactory.NewReceiver(t)
	b.Endpoint(t, rc.URL, false)
	b.Submit(t, "k", testfactory.Contact(1))
	b.Settle(t)
	var publicID string
	if err := b.DB.QueryRow(context.Background(), `SELECT public_id FROM deliveries`).Scan(&publicID); err != nil {
		t.Fatal(err)
	}
	d, err := webhooks.DeliveryForAccount(context.Background(), b.DB, b.Account.User.AccountID, publicID)
	if err != nil {
		t.Fatal(err)
	}
	if err := webhooks.Redeliver(context.Background(), b.DB, b.Client, audit.System, d); err != nil {
		t.Fatal(err)
	}
	b.Settle(t)
	got := rc.Received()
	if len(got) != 2 || got[0].ID != got[1].ID || got[0].Timestamp == "" {
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

// One failure after a quiet spell does not count as five days of failing:
// the run of failures starts again.
func TestOldFailureRunDoesNotDisable(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := testfactory.NewReceiver(t)
	rc.Answers = []int{500}
	ep := b.Endpoint(t, rc.URL, false)
	if _, err := b.DB.Exec(context.Background(), `UPDATE webhook_endpoints SET failing_since = now() - interval '6 days',
		last_failure_at = now() - interval '3 days' WHERE id = $1`, ep.ID); err != nil {
		t.Fatal(err)
	}
	b.Submit(t, "k", testfactory.Contact(1))
	b.Settle(t)
	got, _ := webhooks.ByID(context.Background(), b.DB, ep.ID)
	if !got.Enabled || got.FailingSince != nil {
		t.Errorf("enabled=%v failing_since=%v: a blip after a quiet spell must not disable, and the success clears the clock", got.Enabled, got.FailingSince)
	}
	if n := len(rc.Received()); n != 2 {
		t.Errorf("attempts = %d, want 2 (the 500, then the retry that succeeds)", n)
	}
}

// End to end, as served: an endpoint stored before save-time checks
// pointing at a loopback receiver through the IPv4-translated spelling
// (http://[::ffff:0:127.0.0.1]:PORT/) is never delivered to; the delivery
// fails with the refusal's reason.
func TestTranslatedLoopbackIsNeverDelivered(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setupWith(t, webhooks.NewHTTPClient(false))
	db := b.DB

	rc := testfactory.NewReceiver(t)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(rc.URL, "http://"))
	b.Endpoint(t, "http://[::ffff:0:127.0.0.1]:"+port+"/hook", false) // saved as the API allowed until now
	b.Submit(t, "k", testfactory.Contact(1))

	var lastError string
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		err := db.QueryRow(ctx, `SELECT coalesce(max(last_error), '') FROM deliveries`).Scan(&lastError)
		if err != nil {
			t.Fatal(err)
		}
		if lastError != "" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("delivery error: %s", lastError)
	if !strings.Contains(lastError, "refused") || !strings.Contains(lastError, "IPv4-translated") || !strings.Contains(lastError, "loopback") {
		t.Errorf("the delivery's error is %q, want the address refused as IPv4-translated loopback", lastError)
	}
	if strings.Contains(lastError, "/hook") {
		t.Errorf("the delivery's error shows the URL's path, which may carry a secret: %q", lastError)
	}
	time.Sleep(200 * time.Millisecond) // a few retries more
	if got := rc.Received(); len(got) != 0 {
		t.Errorf("the loopback receiver got %d deliveries", len(got))
	}
}

// A payload lists the submission's files, each with a signed link a
// receiver fetches without an API key for 7 days (the link itself is
// tested against the server in api's TestFileLinks).
func TestPayloadFilesCarrySignedLinks(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := testfactory.NewReceiver(t)
	b.Endpoint(t, rc.URL, false)
	testfactory.SubmitFile(t, b.Svc, b.Form.PublicID, "k", "cv@example.com", "cv", "cv.pdf", []byte("%PDF the CV"))
	b.Settle(t)
	got := rc.Received()
	if len(got) != 1 {
		t.Fatalf("%d deliveries, want 1", len(got))
	}
	var event struct {
		Data struct {
			ID    string
			Data  map[string]any
			Files []submissions.FileJSON
		}
	}
	if err := json.Unmarshal(got[0].Body, &event); err != nil {
		t.Fatal(err)
	}
	if len(event.Data.Files) != 1 {
		t.Fatalf("files in the payload = %+v, want one", event.Data.Files)
	}
	f := event.Data.Files[0]
	u, err := url.Parse(f.URL)
	if err != nil || f.Name != "cv.pdf" || f.Size != 11 || u.Host != "intake.example" || u.Path != "/files/"+event.Data.ID+"/"+f.ID {
		t.Fatalf("file = %+v, want cv.pdf with a link to /files/%s/%s", f, event.Data.ID, f.ID)
	}
	if v, _ := event.Data.Data["cv"].(map[string]any); v["filename"] != "cv.pdf" || v["id"] != f.ID || v["url"] != f.URL {
		t.Errorf("data.cv = %v, want the file object with the signed link %s", v, f.URL)
	}
	q := u.Query()
	if err := b.links.Check(event.Data.ID, f.ID, q.Get("expires"), q.Get("sig"), time.Now()); err != nil {
		t.Errorf("the link does not check: %v", err)
	}
	if err := b.links.Check(event.Data.ID, f.ID, q.Get("expires"), q.Get("sig"), time.Now().Add(submissions.LinkTTL+time.Hour)); err == nil {
		t.Error("the link still works after 7 days")
	}
}

// An endpoint whose name resolves into a private network (saved by a
// policy that allowed it, or a name rebound since) is disabled at its
// first attempt, the owner told why, rather than retried for days.
func TestPrivateAddressDisablesAtOnce(t *testing.T) {
	t.Parallel()
	b := setupWith(t, webhooks.NewHTTPClient(false))
	rc := testfactory.NewReceiver(t)
	u, err := url.Parse(rc.URL)
	if err != nil {
		t.Fatal(err)
	}
	ep := b.Endpoint(t, "http://localhost:"+u.Port()+"/hook", false)
	b.Submit(t, "k", testfactory.Contact(1))
	b.Settle(t)
	got, _ := webhooks.ByID(context.Background(), b.DB, ep.ID)
	if got.Enabled || len(rc.Received()) != 0 {
		t.Errorf("enabled=%v after %d requests reached the receiver: want disabled, none", got.Enabled, len(rc.Received()))
	}
	if n := b.Count(t, `SELECT count(*) FROM delivery_attempts`); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
	// The members' delivery log says why, not where the name resolved.
	if n := b.Count(t, `SELECT count(*) FROM delivery_attempts WHERE error = 'refused: localhost resolves to a private or reserved address'`); n != 1 {
		t.Errorf("the refused attempt's error names more than the refusal")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.disabled) != 1 || !strings.Contains(b.disabled[0], "private or reserved network") {
		t.Errorf("disabled for %q", b.disabled)
	}
}

// A job run again after its delivery was recorded — its process died, or
// lost the database, between recording the 2xx and River's completion,
// and River's rescuer ran it again — does not send the event twice.
func TestRerunAfterRecordedDeliverySendsNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := testfactory.NewReceiver(t)
	b.Endpoint(t, rc.URL, false)
	b.Submit(t, "k", testfactory.Contact(1))
	b.Settle(t)
	if n := len(rc.Received()); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
	if _, err := b.DB.Exec(context.Background(), `UPDATE river_job SET state = 'available', finalized_at = NULL, scheduled_at = now()
WHERE kind = 'webhook.deliver'`); err != nil {
		t.Fatal(err)
	}
	b.Settle(t)
	if n := b.Count(t, `SELECT count(*) FROM river_job WHERE kind = 'webhook.deliver' AND state = 'completed'`); n != 1 {
		t.Fatalf("the rerun job did not complete (%d completed)", n)
	}
	if n := len(rc.Received()); n != 1 {
		t.Errorf("%d requests after the rerun, want still 1", n)
	}
}

// A delivery whose record the database refuses after the receiver's 2xx —
// a schema out of step with the binary — is not sent again: its job is
// cancelled at once, for a retry would deliver it and be refused again.
func TestDeliveredRecordRefusedIsNotSentAgain(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := testfactory.NewReceiver(t)
	b.Endpoint(t, rc.URL, false)
	if _, err := b.DB.Exec(context.Background(),
		`ALTER TABLE delivery_attempts ADD CONSTRAINT refuse_2xx CHECK (status IS DISTINCT FROM 200)`); err != nil {
		t.Fatal(err)
	}
	b.Submit(t, "k", testfactory.Contact(1))
	b.Settle(t)
	if n := len(rc.Received()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
	if n := b.Count(t, `SELECT count(*) FROM river_job WHERE kind = 'webhook.deliver' AND state = 'cancelled' AND attempt = 1`); n != 1 {
		t.Errorf("the job was not cancelled at its first attempt")
	}
}

// The delivery log names a failing endpoint by its origin only, however
// its URL is written: Go's error re-escapes and quotes the URL, so a path
// with é or a query with a quote slipped past a plain replace, secret and
// all. A refused private address is logged for the operator, not shown in
// the members' delivery log.
func TestAttemptErrorKeepsOnlyTheOrigin(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close() // nothing listens: the attempt fails to connect
	b.Endpoint(t, "http://"+closed+"/in/é/SECRET-PATH?token=a%22bSECRET-QUERY", false)
	b.Submit(t, "k", testfactory.Contact(1))
	deadline := time.Now().Add(10 * time.Second)
	for b.Count(t, `SELECT count(*) FROM delivery_attempts`) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	var logged string
	if err := b.DB.QueryRow(context.Background(), `SELECT error FROM delivery_attempts ORDER BY id LIMIT 1`).Scan(&logged); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logged, "SECRET") || !strings.Contains(logged, "http://"+closed) {
		t.Errorf("the attempt's error %q shows more than the origin http://%s", logged, closed)
	}
}
