package submissions_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/intakehq/intake/database"
	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/idempotency"
	"github.com/intakehq/intake/internal/testdb"
	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/submissions"
)

type testBundle struct {
	db      *pgxpool.Pool
	svc     *submissions.Service
	form    *forms.Form
	account int64
}

func setup(t testing.TB) *testBundle {
	t.Helper()
	ctx := context.Background()
	db, _ := testdb.New(t)
	acct := testfactory.NewAccount(ctx, t, db)
	return &testBundle{
		db:      db,
		svc:     testfactory.Submissions(t, db, "http://intake.test"),
		form:    testfactory.NewForm(ctx, t, db, acct.User.AccountID, nil),
		account: acct.User.AccountID,
	}
}

// request is a JSON-mode submission of fields with key.
func (b *testBundle) request(t testing.TB, key string, fields map[string]any) submissions.Request {
	t.Helper()
	body, _ := json.Marshal(fields)
	p, err := submissions.Parse("application/json", bytes.NewReader(body), submissions.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	return submissions.Request{
		FormID: b.form.PublicID, Payload: p, Key: key, IP: "192.0.2.1", UserAgent: "test",
	}
}

func (b *testBundle) count(t testing.TB, table string) int {
	t.Helper()
	var n int
	if err := b.db.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func contact(i int) map[string]any {
	return map[string]any{"email": fmt.Sprintf("person%d@example.com", i), "message": fmt.Sprintf("hello %d", i)}
}

// The promise under a race: 50 requests with one key at once make one
// submission, one set of River jobs, and 50 identical answers.
func TestConcurrentSameKey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	const n = 50
	results := make([]*submissions.Result, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			results[i], errs[i] = b.svc.Accept(ctx, b.request(t, "race-key", contact(1)))
		})
	}
	close(start)
	wg.Wait()
	created := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		if results[i].Outcome == submissions.OutcomeCreated {
			created++
		}
		if !bytes.Equal(results[i].Response.Body, results[0].Response.Body) || results[i].Response.Status != results[0].Response.Status {
			t.Fatalf("response %d differs: %s vs %s", i, results[i].Response.Body, results[0].Response.Body)
		}
	}
	if created != 1 {
		t.Errorf("%d requests say they created the submission, want 1", created)
	}
	if got := b.count(t, "submissions"); got != 1 {
		t.Errorf("submissions = %d, want 1", got)
	}
	if got := b.count(t, "river_job WHERE kind = 'email.send'"); got != 1 {
		t.Errorf("river jobs = %d, want 1 (the owner's notification)", got)
	}
}

// A shuffled mix of intents, each sent 1–4 times, some at once, some later:
// one stored submission per intent, and every answer of an intent names it.
func TestShuffledRetries(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	const intents = 60
	type send struct{ intent int }
	var sends []send
	for i := range intents {
		for range 1 + rand.IntN(4) {
			sends = append(sends, send{i})
		}
	}
	rand.Shuffle(len(sends), func(i, j int) { sends[i], sends[j] = sends[j], sends[i] })

	var mu sync.Mutex
	idsByIntent := map[int]map[string]bool{}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for _, s := range sends {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			res, err := b.svc.Accept(ctx, b.request(t, fmt.Sprintf("intent-%d", s.intent), contact(s.intent)))
			if err != nil {
				t.Errorf("intent %d: %v", s.intent, err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if idsByIntent[s.intent] == nil {
				idsByIntent[s.intent] = map[string]bool{}
			}
			idsByIntent[s.intent][submissions.FormatID(res.SubmissionID)] = true
		})
	}
	wg.Wait()
	for i := range intents {
		if len(idsByIntent[i]) != 1 {
			t.Errorf("intent %d answered with %d different submission ids", i, len(idsByIntent[i]))
		}
	}
	if got := b.count(t, "submissions"); got != intents {
		t.Errorf("submissions = %d, want %d (one per intent, %d sends)", got, intents, len(sends))
	}
	if got := b.count(t, "river_job"); got != intents {
		t.Errorf("river jobs = %d, want %d", got, intents)
	}
}

// A crash inside the transaction, after the key and the submission are
// written, leaves nothing behind; the retry with the same key then works once.
func TestFaultAfterInsertRollsBackEverything(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.svc.AfterInsert = func(batch *pgx.Batch) {
		batch.Queue("SELECT count(*) FROM submissions").QueryRow(func(row pgx.Row) error {
			var n int
			if err := row.Scan(&n); err != nil || n != 1 {
				t.Errorf("inside the transaction the submission should exist: n=%d err=%v", n, err)
			}
			return nil
		})
		testfactory.FailWrite(batch)
	}
	if _, err := b.svc.Accept(ctx, b.request(t, "fault-key", contact(1))); !testfactory.IsInjectedFault(err) {
		t.Fatalf("Accept = %v, want the injected fault", err)
	}
	for _, table := range []string{"submissions", "idempotency_keys", "river_job"} {
		if got := b.count(t, table); got != 0 {
			t.Errorf("%s has %d rows after the fault, want 0", table, got)
		}
	}

	b.svc.AfterInsert = nil
	first, err := b.svc.Accept(ctx, b.request(t, "fault-key", contact(1)))
	if err != nil || first.Outcome != submissions.OutcomeCreated {
		t.Fatalf("retry: %v, %+v", err, first)
	}
	again, err := b.svc.Accept(ctx, b.request(t, "fault-key", contact(1)))
	if err != nil || again.Outcome != submissions.OutcomeReplayed || again.SubmissionID != first.SubmissionID {
		t.Fatalf("second retry should replay the first: %v, %+v", err, again)
	}
	if got := b.count(t, "submissions"); got != 1 {
		t.Errorf("submissions = %d, want 1", got)
	}
}

// A request whose twin is still in flight waits for it and replays its
// answer; past the bound it gets ErrInFlight (409), and nothing is doubled.
func TestInFlightWaitsThenReplaysOrConflicts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.svc.LockWait = 300 * time.Millisecond

	for _, tc := range []struct {
		name  string
		stall time.Duration
		want  error
	}{
		{"short stall replays", 100 * time.Millisecond, nil},
		{"long stall conflicts", 1200 * time.Millisecond, idempotency.ErrInFlight},
	} {
		key := "inflight-" + strings.ReplaceAll(tc.name, " ", "-")
		gate := testfactory.NewGate(t, b.db)
		svc := &submissions.Service{DB: b.svc.DB, Validator: b.svc.Validator, BaseURL: b.svc.BaseURL,
			Planner: b.svc.Planner, LockWait: b.svc.LockWait, AfterInsert: gate.Queue}
		firstDone := make(chan *submissions.Result)
		go func() {
			res, err := svc.Accept(ctx, b.request(t, key, contact(7)))
			if err != nil {
				t.Errorf("%s: first: %v", tc.name, err)
			}
			firstDone <- res
		}()
		gate.WaitEntered(t)
		time.AfterFunc(tc.stall, gate.Open)
		second, err := b.svc.Accept(ctx, b.request(t, key, contact(7)))
		first := <-firstDone
		if !errors.Is(err, tc.want) {
			t.Fatalf("%s: second = %v, want %v", tc.name, err, tc.want)
		}
		if tc.want == nil && (second.Outcome != submissions.OutcomeReplayed || second.SubmissionID != first.SubmissionID) {
			t.Fatalf("%s: second should replay the first, got %+v", tc.name, second)
		}
		// After the first commits, a retry replays.
		third, err := b.svc.Accept(ctx, b.request(t, key, contact(7)))
		if err != nil || third.SubmissionID != first.SubmissionID {
			t.Fatalf("%s: retry after commit = %v %+v", tc.name, err, third)
		}
	}
	if got := b.count(t, "submissions"); got != 2 {
		t.Errorf("submissions = %d, want 2 (one per key)", got)
	}
}

// A key already answered keeps its answer when the contract changes so that
// its payload would now fail: the retry must learn it was taken, not get 422.
func TestReplaySurvivesContractChange(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	first, err := b.svc.Accept(ctx, b.request(t, "k", map[string]any{"email": "a@example.com"}))
	if err != nil {
		t.Fatal(err)
	}
	fields := `[{"name":"email","type":"email","required":true},{"name":"phone","type":"tel","required":true}]`
	if _, err := b.db.Exec(ctx, `
		WITH c AS (INSERT INTO form_contracts (form_id, version, fields) VALUES ($1, 2, $2))
		UPDATE forms SET contract_version = 2 WHERE id = $1`, b.form.ID, fields); err != nil {
		t.Fatal(err)
	}
	again, err := b.svc.Accept(ctx, b.request(t, "k", map[string]any{"email": "a@example.com"}))
	if err != nil || again.SubmissionID != first.SubmissionID || again.Outcome != submissions.OutcomeReplayed {
		t.Fatalf("retry after contract change = %v %+v, want a replay", err, again)
	}
	var verr *forms.ValidationError
	if _, err := b.svc.Accept(ctx, b.request(t, "new-key", map[string]any{"email": "a@example.com"})); !errors.As(err, &verr) {
		t.Fatalf("a new key with the old payload = %v, want a validation error", err)
	}
}

// Validation failures store nothing, so the corrected payload may reuse the key.
func TestInvalidThenCorrectedSameKey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	var verr *forms.ValidationError
	_, err := b.svc.Accept(ctx, b.request(t, "fix-me", map[string]any{"email": "not-an-email"}))
	if !errors.As(err, &verr) || verr.Errors[0].Code != forms.CodeTypeEmail {
		t.Fatalf("invalid payload = %v, want TYPE_EMAIL", err)
	}
	if got := b.count(t, "idempotency_keys"); got != 0 {
		t.Fatalf("a validation failure stored %d keys", got)
	}
	res, err := b.svc.Accept(ctx, b.request(t, "fix-me", map[string]any{"email": "fixed@example.com"}))
	if err != nil || res.Outcome != submissions.OutcomeCreated {
		t.Fatalf("corrected payload = %v %+v", err, res)
	}
	if _, err := b.svc.Accept(ctx, b.request(t, "fix-me", map[string]any{"email": "other@example.com"})); !errors.Is(err, idempotency.ErrKeyReused) {
		t.Fatalf("another payload with the key = %v, want ErrKeyReused", err)
	}
}

// Expired keys are swept in batches; a repeat after expiry is a new submission.
func TestSweepAndRepeatAfterExpiry(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	for i := range 25 {
		if _, err := b.svc.Accept(ctx, b.request(t, fmt.Sprintf("old-%d", i), contact(i))); err != nil {
			t.Fatal(err)
		}
	}
	live, err := b.svc.Accept(ctx, b.request(t, "live", contact(99)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.Exec(ctx, `UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key LIKE 'old-%'`); err != nil {
		t.Fatal(err)
	}

	// Before the sweep runs, an expired key already counts as absent.
	repeat, err := b.svc.Accept(ctx, b.request(t, "old-0", contact(0)))
	if err != nil || repeat.Outcome != submissions.OutcomeCreated {
		t.Fatalf("repeat of an expired key = %v %+v, want a new submission", err, repeat)
	}

	deleted, err := idempotency.Sweep(ctx, b.db, time.Now(), 10) // three batches
	if err != nil {
		t.Fatal(err)
	}
	if deleted != 24 {
		t.Errorf("swept %d keys, want 24 (old-1..old-24)", deleted)
	}
	if got := b.count(t, "idempotency_keys"); got != 2 {
		t.Errorf("%d keys left, want 2 (live and the renewed old-0)", got)
	}
	again, err := b.svc.Accept(ctx, b.request(t, "live", contact(99)))
	if err != nil || again.SubmissionID != live.SubmissionID {
		t.Fatalf("a live key must still replay after the sweep: %v %+v", err, again)
	}
	if got := b.count(t, "submissions"); got != 27 {
		t.Errorf("submissions = %d, want 27", got)
	}
}

// The sweep runs as River's periodic job: working it deletes expired keys.
func TestSweepWorker(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	if _, err := b.svc.Accept(ctx, b.request(t, "gone", contact(1))); err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.Exec(ctx, `UPDATE idempotency_keys SET expires_at = now() - interval '1 minute'`); err != nil {
		t.Fatal(err)
	}
	w := &idempotency.SweepWorker{DB: b.db}
	if err := w.Work(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if got := b.count(t, "idempotency_keys"); got != 0 {
		t.Errorf("%d keys after the sweep job, want 0", got)
	}
}

// Keyless JSON is never deduplicated; keyless browser posts are, within the
// form's window, by client and payload.
func TestImplicitKeys(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	for range 2 {
		if _, err := b.svc.Accept(ctx, b.request(t, "", contact(1))); err != nil {
			t.Fatal(err)
		}
	}
	if got := b.count(t, "submissions"); got != 2 {
		t.Fatalf("keyless JSON twice made %d submissions, want 2", got)
	}
	browser := func(ip string) *submissions.Result {
		req := b.request(t, "", contact(2))
		req.Browser, req.IP = true, ip
		res, err := b.svc.Accept(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	first, second, other := browser("198.51.100.1"), browser("198.51.100.1"), browser("198.51.100.2")
	if second.Outcome != submissions.OutcomeReplayed || second.SubmissionID != first.SubmissionID {
		t.Errorf("a keyless browser double post should replay: %+v", second)
	}
	if !strings.HasPrefix(first.Key, idempotency.ImplicitPrefix) {
		t.Errorf("implicit key %q lacks its prefix", first.Key)
	}
	if other.SubmissionID == first.SubmissionID {
		t.Error("another client with the same payload must not be deduplicated against the first")
	}
	if got := b.count(t, "submissions"); got != 4 {
		t.Errorf("submissions = %d, want 4", got)
	}
}

// Spam is stored, answered normally, and enqueues nothing.
func TestHoneypotSpam(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	res, err := b.svc.Accept(ctx, b.request(t, "bot", map[string]any{"email": "not even valid", "_gotcha": "http://spam.example"}))
	if err != nil || res.Outcome != submissions.OutcomeSpam || res.Response.Status != 201 {
		t.Fatalf("honeypot = %v %+v, want a normal answer with outcome spam", err, res)
	}
	var spam bool
	var reason string
	if err := b.db.QueryRow(ctx, "SELECT spam, spam_reason FROM submissions").Scan(&spam, &reason); err != nil || !spam || reason != "honeypot" {
		t.Fatalf("stored spam=%v reason=%q err=%v", spam, reason, err)
	}
	if got := b.count(t, "river_job"); got != 0 {
		t.Errorf("spam enqueued %d jobs, want 0", got)
	}
}

// A key in the _idempotency_key field is checked like the header's.
func TestFieldKeyChecked(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	fields := contact(1)
	fields["_idempotency_key"] = strings.Repeat("k", 256)
	if _, err := b.svc.Accept(ctx, b.request(t, "", fields)); !errors.Is(err, idempotency.ErrKeyInvalid) {
		t.Fatalf("a 256-character field key = %v, want ErrKeyInvalid", err)
	}
	fields["_idempotency_key"] = "field-key"
	first, err := b.svc.Accept(ctx, b.request(t, "", fields))
	if err != nil || first.Key != "field-key" {
		t.Fatalf("field key: %v %+v", err, first)
	}
	// The field key is not part of the fingerprint: the header with the same
	// key and the same fields replays.
	delete(fields, "_idempotency_key")
	again, err := b.svc.Accept(ctx, b.request(t, "field-key", fields))
	if err != nil || again.Outcome != submissions.OutcomeReplayed || again.SubmissionID != first.SubmissionID {
		t.Fatalf("header key after field key = %v %+v, want a replay", err, again)
	}
}

// A lock held on the submissions table (a migration, say) is not a twin in
// flight: past the wait the request fails as unavailable, not with 409.
func TestTableLockIsNotInFlight(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.svc.LockWait = 200 * time.Millisecond
	tx, err := b.db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `LOCK TABLE submissions IN EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"", "some-key"} {
		_, err := b.svc.Accept(ctx, b.request(t, key, contact(1)))
		if errors.Is(err, idempotency.ErrInFlight) || !database.IsLockTimeout(err) {
			t.Errorf("key %q under a table lock: %v, want a lock timeout that is not ErrInFlight", key, err)
		}
	}
}

// A submission matching a block list is stored as spam with the reason and
// enqueues nothing; the submitter gets the normal answer.
func TestBlockListsStoreSpamWithReason(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	if _, err := b.db.Exec(ctx, `UPDATE forms SET settings = settings || '{"blocked_words":["viagra"]}' WHERE id = $1`, b.form.ID); err != nil {
		t.Fatal(err)
	}
	res, err := b.svc.Accept(ctx, b.request(t, "k", map[string]any{"email": "a@example.com", "message": "cheap VIAGRA here"}))
	if err != nil || res.Outcome != submissions.OutcomeSpam || res.Response.Status != 201 {
		t.Fatalf("blocked word = %v %+v", err, res)
	}
	var reason string
	b.db.QueryRow(ctx, `SELECT spam_reason FROM submissions`).Scan(&reason)
	if reason != "blocked word viagra" {
		t.Errorf("spam_reason = %q", reason)
	}
	if n := b.count(t, "river_job"); n != 0 {
		t.Errorf("a blocked submission enqueued %d jobs", n)
	}
}
