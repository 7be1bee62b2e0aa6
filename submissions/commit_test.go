package submissions_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime/multipart"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/database"
	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/idempotency"
	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/submissions"
)

// Group commit (commit.go): writes queued while the service's transactions
// are busy share the next one. These tests hold the first write inside its
// transaction at a gate, queue others behind it, and look at what was stored.

// firstGate holds the first write at a gate; later writes pass. calls counts
// the transactions (AfterInsert runs once per transaction sent).
type firstGate struct {
	gate  *testfactory.Gate
	calls atomic.Int32
}

func newFirstGate(t *testing.T, b *testBundle) *firstGate {
	return &firstGate{gate: testfactory.NewGate(t, b.db)}
}

func (g *firstGate) afterInsert(batch *pgx.Batch) {
	if g.calls.Add(1) == 1 {
		g.gate.Queue(batch)
	}
}

// groupService is b's service with its own queue, at most maxGroups
// transactions and the first write held at g.
func (b *testBundle) groupService(maxGroups int, g *firstGate) *submissions.Service {
	return &submissions.Service{DB: b.db, Validator: b.svc.Validator, BaseURL: b.svc.BaseURL, Planner: b.svc.Planner,
		MaxGroups: maxGroups, AfterInsert: g.afterInsert}
}

type acceptOutcome struct {
	res *submissions.Result
	err error
}

func (o acceptOutcome) String() string {
	if o.err != nil {
		return "error " + o.err.Error()
	}
	return fmt.Sprintf("%s %s", o.res.Outcome, o.res.SubmissionID)
}

func acceptAsync(ctx context.Context, svc *submissions.Service, req submissions.Request) <-chan acceptOutcome {
	ch := make(chan acceptOutcome, 1)
	go func() {
		res, err := svc.Accept(ctx, req)
		ch <- acceptOutcome{res, err}
	}()
	return ch
}

// holdFirst starts a write with key that stops at g's gate and returns when
// it is waiting there, inside its transaction.
func (b *testBundle) holdFirst(t *testing.T, svc *submissions.Service, g *firstGate, key string) <-chan acceptOutcome {
	t.Helper()
	ch := acceptAsync(context.Background(), svc, b.request(t, key, contact(1000)))
	g.gate.WaitEntered(t)
	return ch
}

// waitQueued waits until n writes wait in svc's queue.
func waitQueued(t *testing.T, svc *submissions.Service, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for svc.Queued() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued after 10 s, want %d", svc.Queued(), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func receive(t *testing.T, ch <-chan acceptOutcome, what string) acceptOutcome {
	t.Helper()
	select {
	case o := <-ch:
		return o
	case <-time.After(15 * time.Second):
		t.Fatalf("%s: no answer within 15 s", what)
		return acceptOutcome{}
	}
}

func (b *testBundle) intQuery(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := b.db.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// checkOneJobEach fails unless every stored submission has exactly one
// River job (the owner's notification, this harness's only job) and there
// are no other jobs.
func (b *testBundle) checkOneJobEach(t *testing.T) {
	t.Helper()
	subs := b.count(t, "submissions")
	if n := b.count(t, "river_job"); n != subs {
		t.Errorf("river_job = %d, want %d (one per submission)", n, subs)
	}
	if n := b.intQuery(t, `SELECT count(*) FROM submissions s
		WHERE (SELECT count(*) FROM river_job j WHERE j.args->>'submission_id' = s.id::text) <> 1`); n != 0 {
		t.Errorf("%d submissions without exactly one job", n)
	}
	if n := b.intQuery(t, `SELECT coalesce(sum(submissions), 0) FROM account_usage`); n != subs {
		t.Errorf("account usage = %d, want %d (one per submission)", n, subs)
	}
}

// Writes queued behind a busy transaction are written together, in one
// transaction, each once and with its job.
func TestGroupQueuedWritesShareOneTransaction(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	g := newFirstGate(t, b)
	svc := b.groupService(1, g)
	first := b.holdFirst(t, svc, g, "first")

	const n = 10
	chans := make([]<-chan acceptOutcome, n)
	for i := range n {
		chans[i] = acceptAsync(ctx, svc, b.request(t, fmt.Sprintf("queued-%d", i), contact(i)))
	}
	waitQueued(t, svc, n)
	g.gate.Open()

	if o := receive(t, first, "first"); o.err != nil || o.res.Outcome != submissions.OutcomeCreated {
		t.Fatalf("first = %v, want created", o)
	}
	ids := map[string]string{} // submission id → key
	for i, ch := range chans {
		o := receive(t, ch, fmt.Sprint("queued ", i))
		if o.err != nil || o.res.Outcome != submissions.OutcomeCreated {
			t.Fatalf("queued %d = %v, want created", i, o)
		}
		ids[o.res.SubmissionID.String()] = fmt.Sprintf("queued-%d", i)
	}
	if len(ids) != n {
		t.Fatalf("%d distinct submission ids for %d writes", len(ids), n)
	}
	rows, err := b.db.Query(ctx, `SELECT id::text, idempotency_key FROM submissions WHERE idempotency_key LIKE 'queued-%'`)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct{ ID, Key string }])
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != n {
		t.Fatalf("%d queued submissions stored, want %d", len(stored), n)
	}
	for _, s := range stored {
		if ids[s.ID] != s.Key {
			t.Errorf("stored submission %s with key %s, answered as %q", s.ID, s.Key, ids[s.ID])
		}
	}
	if got := b.count(t, "idempotency_keys"); got != n+1 {
		t.Errorf("idempotency_keys = %d, want %d", got, n+1)
	}
	b.checkOneJobEach(t)

	// The first write's transaction and one for the ten queued behind it.
	if got := b.intQuery(t, `SELECT count(DISTINCT xmin::text) FROM submissions`); got != 2 {
		t.Errorf("submissions were written by %d transactions, want 2", got)
	}
	if got := b.intQuery(t, `SELECT count(DISTINCT xmin::text) FROM submissions WHERE idempotency_key LIKE 'queued-%'`); got != 1 {
		t.Errorf("the queued submissions were written by %d transactions, want 1", got)
	}
	if got := b.intQuery(t, `SELECT count(DISTINCT x) FROM (
		SELECT xmin::text AS x FROM submissions UNION ALL
		SELECT xmin::text FROM idempotency_keys UNION ALL
		SELECT xmin::text FROM river_job) t`); got != 2 {
		t.Errorf("keys, submissions and jobs were written by %d transactions, want 2", got)
	}
	if got := g.calls.Load(); got != 2 {
		t.Errorf("%d transactions sent, want 2", got)
	}
}

// A write that fails in a group (its form was deleted while it was queued)
// fails alone: its group-mates are stored, once each, and nothing of it is.
func TestGroupFailingWriteDoesNotFailGroupMates(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	formB := testfactory.NewForm(ctx, t, b.db, b.account, &testfactory.FormOpts{Name: "Doomed"})
	g := newFirstGate(t, b)
	svc := b.groupService(1, g)
	first := b.holdFirst(t, svc, g, "first")

	const n = 5
	chans := make([]<-chan acceptOutcome, n)
	for i := range n {
		chans[i] = acceptAsync(ctx, svc, b.request(t, fmt.Sprintf("a-%d", i), contact(i)))
	}
	reqB := b.request(t, "b-key", contact(99))
	reqB.FormID = formB.PublicID
	chanB := acceptAsync(ctx, svc, reqB)
	waitQueued(t, svc, n+1) // form B was read; its write waits
	if _, err := b.db.Exec(ctx, `DELETE FROM forms WHERE id = $1`, formB.ID); err != nil {
		t.Fatal(err)
	}
	g.gate.Open()

	if o := receive(t, first, "first"); o.err != nil || o.res.Outcome != submissions.OutcomeCreated {
		t.Fatalf("first = %v, want created", o)
	}
	for i, ch := range chans {
		if o := receive(t, ch, fmt.Sprint("a ", i)); o.err != nil || o.res.Outcome != submissions.OutcomeCreated {
			t.Errorf("group-mate a-%d = %v, want created", i, o)
		}
	}
	oB := receive(t, chanB, "b")
	if !database.IsForeignKeyViolation(oB.err) {
		t.Errorf("write to the deleted form = %v, want a foreign key violation", oB)
	}

	if got := b.count(t, "submissions"); got != n+1 {
		t.Errorf("submissions = %d, want %d (the first and the group-mates)", got, n+1)
	}
	if got := b.intQuery(t, `SELECT count(DISTINCT idempotency_key) FROM submissions WHERE idempotency_key LIKE 'a-%'`); got != n {
		t.Errorf("%d of the %d group-mates stored", got, n)
	}
	if got := b.count(t, "idempotency_keys"); got != n+1 {
		t.Errorf("idempotency_keys = %d, want %d", got, n+1)
	}
	if got := b.intQuery(t, `SELECT count(*) FROM idempotency_keys WHERE key = 'b-key'`); got != 0 {
		t.Errorf("the failed write left %d key rows", got)
	}
	if oB.res != nil {
		if got := b.intQuery(t, `SELECT count(*) FROM river_job WHERE args->>'submission_id' = $1`, oB.res.SubmissionID.String()); got != 0 {
			t.Errorf("the failed write left %d jobs", got)
		}
	}
	b.checkOneJobEach(t)
}

// Two writes with one key never share a group: the second is written after
// the first's transaction ended, finds its key and replays it.
func TestGroupTwinsNeverShareAGroup(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	g := newFirstGate(t, b)
	svc := b.groupService(1, g)
	first := b.holdFirst(t, svc, g, "unrelated")

	twin1 := acceptAsync(ctx, svc, b.request(t, "twin", contact(7)))
	twin2 := acceptAsync(ctx, svc, b.request(t, "twin", contact(7)))
	waitQueued(t, svc, 2)
	g.gate.Open()

	if o := receive(t, first, "first"); o.err != nil {
		t.Fatalf("first: %v", o.err)
	}
	o1, o2 := receive(t, twin1, "twin 1"), receive(t, twin2, "twin 2")
	if o1.err != nil || o2.err != nil {
		t.Fatalf("twins: %v, %v", o1.err, o2.err)
	}
	outcomes := map[submissions.Outcome]int{o1.res.Outcome: 1}
	outcomes[o2.res.Outcome]++
	if outcomes[submissions.OutcomeCreated] != 1 || outcomes[submissions.OutcomeReplayed] != 1 {
		t.Errorf("twins = %s and %s, want one created and one replayed", o1.res.Outcome, o2.res.Outcome)
	}
	if o1.res.SubmissionID != o2.res.SubmissionID {
		t.Errorf("twins answered %s and %s, want one submission", o1.res.SubmissionID, o2.res.SubmissionID)
	}
	if got := b.intQuery(t, `SELECT count(*) FROM submissions WHERE idempotency_key = 'twin'`); got != 1 {
		t.Errorf("submissions with the twins' key = %d, want 1", got)
	}
	var stored string
	if err := b.db.QueryRow(ctx, `SELECT submission_id::text FROM idempotency_keys WHERE key = 'twin'`).Scan(&stored); err != nil || stored != o1.res.SubmissionID.String() {
		t.Errorf("key row names %q (%v), want %s", stored, err, o1.res.SubmissionID)
	}
	b.checkOneJobEach(t)
	// The held write, then the first twin in a transaction of its own; the
	// second's claim would find the first's committed key row, so it is
	// answered from it without a transaction. Twins in one group would
	// fail it (ON CONFLICT cannot touch a row twice) and be retried alone:
	// four.
	if got := g.calls.Load(); got != 2 {
		t.Errorf("%d transactions sent, want 2 (the held write, then the first twin's)", got)
	}
}

// A twin held back in the queue longer than the lock wait gets ErrInFlight
// without waiting for its twin; nothing is doubled, and a retry once the
// twin committed replays it.
func TestGroupTwinHeldPastLockWaitIsInFlight(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	g := newFirstGate(t, b)
	svc := b.groupService(0, g) // the default: transactions to spare
	svc.LockWait = 300 * time.Millisecond
	first := b.holdFirst(t, svc, g, "k")

	start := time.Now()
	second := acceptAsync(ctx, svc, b.request(t, "k", contact(1000)))
	waitQueued(t, svc, 1) // in Intake's queue, not on the key row's lock
	o := receive(t, second, "second")
	if !errors.Is(o.err, idempotency.ErrInFlight) {
		t.Fatalf("twin held past the lock wait = %v, want ErrInFlight", o)
	}
	if d := time.Since(start); d < svc.LockWait {
		t.Errorf("ErrInFlight after %v, before the lock wait (%v)", d, svc.LockWait)
	}
	if got := svc.Queued(); got != 0 {
		t.Errorf("%d writes left queued, want 0", got)
	}
	g.gate.Open() // only now: the twin did not wait for it

	one := receive(t, first, "first")
	if one.err != nil || one.res.Outcome != submissions.OutcomeCreated {
		t.Fatalf("first = %v, want created", one)
	}
	retry, err := svc.Accept(ctx, b.request(t, "k", contact(1000)))
	if err != nil || retry.Outcome != submissions.OutcomeReplayed || retry.SubmissionID != one.res.SubmissionID {
		t.Fatalf("retry = %v, want a replay of %s", acceptOutcome{retry, err}, one.res.SubmissionID)
	}
	if got := b.count(t, "submissions"); got != 1 {
		t.Errorf("submissions = %d, want 1", got)
	}
	if got := b.count(t, "idempotency_keys"); got != 1 {
		t.Errorf("idempotency_keys = %d, want 1", got)
	}
	b.checkOneJobEach(t)
}

// A request whose context ends while its write is queued gets the context's
// error and stores nothing; a retry with its key then stores it once.
func TestGroupCancelledWhileQueuedStoresNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	g := newFirstGate(t, b)
	svc := b.groupService(1, g)
	first := b.holdFirst(t, svc, g, "first")

	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	gone := acceptAsync(cctx, svc, b.request(t, "gone", contact(1)))
	waitQueued(t, svc, 1)
	cancel()
	if o := receive(t, gone, "cancelled"); !errors.Is(o.err, context.Canceled) {
		t.Fatalf("cancelled while queued = %v, want context.Canceled", o)
	}
	if got := svc.Queued(); got != 0 {
		t.Errorf("%d writes left queued, want 0", got)
	}
	g.gate.Open()
	if o := receive(t, first, "first"); o.err != nil {
		t.Fatalf("first: %v", o.err)
	}
	if got := b.intQuery(t, `SELECT count(*) FROM idempotency_keys WHERE key = 'gone'`); got != 0 {
		t.Errorf("the cancelled write left %d key rows", got)
	}
	if got := b.intQuery(t, `SELECT count(*) FROM submissions WHERE idempotency_key = 'gone'`); got != 0 {
		t.Errorf("the cancelled write left %d submissions", got)
	}
	b.checkOneJobEach(t)

	retry, err := svc.Accept(ctx, b.request(t, "gone", contact(1)))
	if err != nil || retry.Outcome != submissions.OutcomeCreated {
		t.Fatalf("retry = %v, want created", acceptOutcome{retry, err})
	}
	again, err := svc.Accept(ctx, b.request(t, "gone", contact(1)))
	if err != nil || again.Outcome != submissions.OutcomeReplayed || again.SubmissionID != retry.SubmissionID {
		t.Fatalf("second retry = %v, want a replay of the retry", acceptOutcome{again, err})
	}
	if got := b.intQuery(t, `SELECT count(*) FROM submissions WHERE idempotency_key = 'gone'`); got != 1 {
		t.Errorf("submissions with the key = %d, want 1", got)
	}
	b.checkOneJobEach(t)
}

// Many clients, few small groups, a third of the sends duplicates sent at
// once: one submission, one job and one count per key, and every answer for
// a key names its submission.
func TestGroupCommitRace(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.svc.MaxGroups, b.svc.MaxGroupSize = 2, 8
	const clients, rounds = 32, 20
	// Client c sends key (c, i) in round i, except every third client, which
	// sends its left neighbour's: the two go at about the same time.
	keyOf := func(c, i int) int {
		if c%3 == 2 {
			c--
		}
		return c*rounds + i
	}
	distinct := map[int]bool{}
	for c := range clients {
		for i := range rounds {
			distinct[keyOf(c, i)] = true
		}
	}

	var mu sync.Mutex
	answers := map[string]map[string]int{} // key → submission id → answers
	created := map[string]int{}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for c := range clients {
		reqs := make([]submissions.Request, rounds)
		for i := range rounds {
			k := keyOf(c, i)
			reqs[i] = b.request(t, fmt.Sprintf("race-%d", k), contact(k))
		}
		wg.Go(func() {
			<-start
			for _, req := range reqs {
				res, err := b.svc.Accept(ctx, req)
				if err != nil {
					t.Errorf("key %s: %v", req.Key, err)
					continue
				}
				mu.Lock()
				if answers[req.Key] == nil {
					answers[req.Key] = map[string]int{}
				}
				answers[req.Key][res.SubmissionID.String()]++
				if res.Outcome == submissions.OutcomeCreated {
					created[req.Key]++
				}
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	want := len(distinct)
	if got := b.count(t, "submissions"); got != want {
		t.Errorf("submissions = %d, want %d (one per key)", got, want)
	}
	if got := b.count(t, "idempotency_keys"); got != want {
		t.Errorf("idempotency_keys = %d, want %d", got, want)
	}
	b.checkOneJobEach(t)

	rows, err := b.db.Query(ctx, `SELECT idempotency_key, id::text FROM submissions`)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct{ Key, ID string }])
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stored {
		ids := answers[s.Key]
		if len(ids) != 1 || ids[s.ID] == 0 {
			t.Errorf("key %s stored as %s, answered with %v", s.Key, s.ID, ids)
		}
		if created[s.Key] != 1 {
			t.Errorf("key %s: %d answers say created, want 1", s.Key, created[s.Key])
		}
	}

	// The writes were grouped, and no group was larger than MaxGroupSize.
	var txs, largest int
	if err := b.db.QueryRow(ctx, `SELECT count(*), max(n) FROM (SELECT count(*) AS n FROM submissions GROUP BY xmin::text) t`).Scan(&txs, &largest); err != nil {
		t.Fatal(err)
	}
	if txs >= want || largest > 8 {
		t.Errorf("%d submissions in %d transactions, the largest of %d; want groups of at most 8", want, txs, largest)
	}
}

// fileRequest is a multipart submission with key of fields and one file of
// size bytes, to form.
func (b *testBundle) fileRequest(t testing.TB, form *forms.Form, key string, fields map[string]string, size int) submissions.Request {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := mw.CreateFormFile("attachment", key+".bin")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(bytes.Repeat([]byte{'x'}, size))
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	p, err := submissions.Parse(mw.FormDataContentType(), &body, submissions.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	req := b.request(t, key, map[string]any{})
	req.FormID, req.Payload = form.PublicID, p
	return req
}

// An upload being written holds no other account's submission: another
// account's keyed writes are answered while it is still inside its
// transaction. Once it ends, the uploads queued behind it are grouped by
// account only, within the byte bound, and everything is stored once.
func TestGroupUploadDoesNotHoldOtherAccounts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	other := testfactory.NewAccount(ctx, t, b.db)
	otherForm := testfactory.NewForm(ctx, t, b.db, other.User.AccountID, nil)
	g := newFirstGate(t, b)
	svc := b.groupService(1, g)
	const fileSize = 1200 << 10
	svc.MaxGroupBytes = 3 << 20 // two of the uploads below, not three

	upload := func(form *forms.Form, key string, i int) <-chan acceptOutcome {
		return acceptAsync(ctx, svc, b.fileRequest(t, form, key, map[string]string{"email": fmt.Sprintf("up%d@example.com", i)}, fileSize))
	}
	held := upload(b.form, "upload-held", 0)
	g.gate.WaitEntered(t)
	var uploads []<-chan acceptOutcome
	for i := range 3 {
		uploads = append(uploads, upload(b.form, fmt.Sprint("upload-", i), i))
	}
	uploads = append(uploads, upload(otherForm, "other-upload", 9))
	waitQueued(t, svc, 4)

	// The other account's JSON submissions, while the upload is held.
	const n = 10
	chans := make([]<-chan acceptOutcome, n)
	for i := range n {
		req := b.request(t, fmt.Sprint("other-", i), contact(i))
		req.FormID = otherForm.PublicID
		chans[i] = acceptAsync(ctx, svc, req)
	}
	for i, ch := range chans {
		if o := receive(t, ch, fmt.Sprint("other account's submission ", i)); o.err != nil || o.res.Outcome != submissions.OutcomeCreated {
			t.Fatalf("other account's submission %d while an upload is held = %v, want created", i, o)
		}
	}
	if got := svc.Queued(); got != 4 {
		t.Errorf("%d writes queued while the upload is held, want the 4 uploads", got)
	}

	g.gate.Open()
	for i, ch := range append(uploads, held) {
		if o := receive(t, ch, fmt.Sprint("upload ", i)); o.err != nil || o.res.Outcome != submissions.OutcomeCreated {
			t.Errorf("upload %d = %v, want created", i, o)
		}
	}
	if got := b.count(t, "submissions"); got != n+5 {
		t.Errorf("submissions = %d, want %d", got, n+5)
	}
	b.checkOneJobEach(t)

	// Per transaction: the accounts of its submissions, whether it wrote
	// files, and the bytes of those files.
	rows, err := b.db.Query(ctx, `SELECT count(*), count(DISTINCT f.account_id), coalesce(sum(fl.size), 0), bool_or(fl.size IS NOT NULL)
		FROM submissions s JOIN forms f ON f.id = s.form_id LEFT JOIN submission_files fl ON fl.submission_id = s.id
		GROUP BY s.xmin::text`)
	if err != nil {
		t.Fatal(err)
	}
	groups, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct {
		Subs, Accounts, Bytes int
		Files                 bool
	}])
	if err != nil {
		t.Fatal(err)
	}
	fileGroups := 0
	for _, gr := range groups {
		if gr.Files {
			fileGroups++
			if gr.Accounts != 1 {
				t.Errorf("a transaction with files wrote %d submissions of %d accounts", gr.Subs, gr.Accounts)
			}
		}
		if gr.Subs > 1 && gr.Bytes > svc.MaxGroupBytes {
			t.Errorf("a transaction of %d submissions wrote %d bytes of files, bound %d", gr.Subs, gr.Bytes, svc.MaxGroupBytes)
		}
	}
	// The held upload; the three queued behind it, two and one; the other
	// account's, alone.
	if fileGroups != 4 {
		t.Errorf("the 5 uploads were written in %d transactions, want 4", fileGroups)
	}
}

// Writes without files queued behind a busy transaction are grouped within
// the byte bound too.
func TestGroupBoundedInBytes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	g := newFirstGate(t, b)
	svc := b.groupService(1, g)
	svc.MaxGroupBytes = 1 << 20
	first := b.holdFirst(t, svc, g, "first")

	const n = 6
	chans := make([]<-chan acceptOutcome, n)
	for i := range n {
		fields := contact(i)
		fields["notes"] = strings.Repeat("n", 400<<10) // two fit in the bound, not three
		chans[i] = acceptAsync(ctx, svc, b.request(t, fmt.Sprint("big-", i), fields))
	}
	waitQueued(t, svc, n)
	g.gate.Open()
	for i, ch := range append(chans, first) {
		if o := receive(t, ch, fmt.Sprint("write ", i)); o.err != nil || o.res.Outcome != submissions.OutcomeCreated {
			t.Fatalf("write %d = %v, want created", i, o)
		}
	}
	b.checkOneJobEach(t)
	var txs, largest int
	if err := b.db.QueryRow(ctx, `SELECT count(*), max(bytes) FROM (
		SELECT sum(octet_length(data::text)) AS bytes FROM submissions WHERE idempotency_key LIKE 'big-%' GROUP BY xmin::text) t`).Scan(&txs, &largest); err != nil {
		t.Fatal(err)
	}
	if txs != 3 || largest > svc.MaxGroupBytes {
		t.Errorf("%d writes of 400 KiB in %d transactions, the largest of %d bytes; want 3 of at most %d", n, txs, largest, svc.MaxGroupBytes)
	}
}
