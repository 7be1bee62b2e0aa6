package people_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/database"
	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/internal/seal"
	"github.com/intakehq/intake/internal/testdb"
	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/people"
	"github.com/intakehq/intake/submissions"
)

type testBundle struct {
	db      *pgxpool.Pool
	svc     *submissions.Service
	account int64
	form    *forms.Form
	other   *forms.Form // another account's form
}

// textFields take any text, so a test can put an address anywhere.
var textFields = []forms.Field{{Name: "email", Type: forms.TypeText}, {Name: "message", Type: forms.TypeTextarea}}

func setup(t testing.TB) *testBundle {
	t.Helper()
	ctx := context.Background()
	db, _ := testdb.New(t)
	acct := testfactory.NewAccount(ctx, t, db)
	other := testfactory.NewAccount(ctx, t, db)
	return &testBundle{
		db:      db,
		svc:     testfactory.Submissions(t, db, "http://intake.test"),
		account: acct.User.AccountID,
		form:    testfactory.NewForm(ctx, t, db, acct.User.AccountID, &testfactory.FormOpts{Fields: textFields}),
		other:   testfactory.NewForm(ctx, t, db, other.User.AccountID, &testfactory.FormOpts{Fields: textFields}),
	}
}

var actor = audit.APIKey(1, "192.0.2.1")

// found writes the lookup and returns the ids of its lines, checking each
// is a submission in the API's shape.
func found(t *testing.T, b *testBundle, address string) (int64, []string) {
	t.Helper()
	ctx := context.Background()
	addr, problem, err := submissions.ParseAddress(ctx, b.db, address)
	if err != nil || problem != "" {
		t.Fatalf("ParseAddress(%q): %s %v", address, problem, err)
	}
	l, err := people.Find(ctx, b.db, actor, b.account, addr)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	n, err := l.Write(ctx, b.db, &buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var j submissions.JSON
		if err := json.Unmarshal(sc.Bytes(), &j); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if j.Form == "" || !strings.HasPrefix(j.ID, submissions.IDPrefix) {
			t.Errorf("line without form or id: %s", sc.Text())
		}
		ids = append(ids, j.ID)
	}
	if n != len(ids) {
		t.Errorf("Write said %d, wrote %d lines", n, len(ids))
	}
	slices.Sort(ids)
	return l.Count, ids
}

func submit(t *testing.T, b *testBundle, form *forms.Form, fields map[string]any) string {
	t.Helper()
	res := testfactory.Submit(t, b.svc, form.PublicID, "", fields)
	return submissions.FormatID(res.SubmissionID)
}

func TestFindMatchesEachWayAndNoNearMiss(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	archived := testfactory.NewForm(ctx, t, b.db, b.account, &testfactory.FormOpts{Name: "Old", Fields: textFields})

	want := []string{
		submit(t, b, b.form, map[string]any{"email": "  Bob@Example.com ", "message": "hi"}),                      // a field's value
		submit(t, b, b.form, map[string]any{"message": "please write to BOB@EXAMPLE.COM, thanks."}),               // a word in a text
		submit(t, b, b.form, map[string]any{"message": "call me", "_replyto": "bob@example.com"}),                 // the reply-to
		submit(t, b, b.form, map[string]any{"message": "spam from bob@example.com", "_gotcha": "filled"}),         // spam
		submit(t, b, archived, map[string]any{"message": "<bob@example.com>"}),                                    // an archived form
		submit(t, b, b.form, map[string]any{"contacts": []string{"alice@example.org", "mailto:bob@example.com"}}), // in a list
	}
	slices.Sort(want)
	if err := forms.Archive(ctx, b.db, audit.System, b.account, archived.PublicID); err != nil {
		t.Fatal(err)
	}
	// Near misses: none of these carries bob@example.com.
	for _, v := range []string{"bob@example.co", "xbob@example.com", "bob@example.com.au", "bob.smith@example.com",
		"bob@example-com", "bob@sub.example.com", "bob at example.com"} {
		submit(t, b, b.form, map[string]any{"email": v, "message": "x " + v + " y"})
	}
	// Another account's submission with the address.
	submit(t, b, b.other, map[string]any{"email": "bob@example.com"})

	n, ids := found(t, b, " BOB@example.com ")
	if n != int64(len(want)) || !slices.Equal(ids, want) {
		t.Errorf("found %d: %v\nwant %v", n, ids, want)
	}
	// The near misses are found by their own address, not by bob's.
	if n, ids := found(t, b, "xbob@example.com"); n != 1 || len(ids) != 1 {
		t.Errorf("xbob@example.com: found %d, %v; want one", n, ids)
	}
	if n, _ := found(t, b, "nobody@example.com"); n != 0 {
		t.Errorf("nobody@example.com: found %d", n)
	}

	// The audit log has each lookup with its count, the address masked.
	list, err := audit.List(ctx, b.db, b.account, nil, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var lookups []audit.Logged
	for _, e := range list {
		if e.Action == people.ActionLookup {
			lookups = append(lookups, e)
		}
		for _, c := range append([]string{e.ObjectID}, e.Changed...) {
			if strings.Contains(strings.ToLower(c), "bob@") {
				t.Errorf("the audit log keeps the address: %+v", e)
			}
		}
	}
	if len(lookups) != 3 || lookups[2].ObjectID != "b***@example.com" || !slices.Equal(lookups[2].Changed, []string{"submissions=6"}) ||
		lookups[2].ObjectType != people.ObjectType {
		t.Errorf("lookups in the audit log: %+v", lookups)
	}
}

// TestParseAddress: the address check is Go's pattern, then the
// database's own reading of it. "²" is a digit to Go (\p{N}) but not
// [[:alnum:]] to Postgres on C.UTF-8, so submission_addresses would never
// find "a²b@example.com": refused rather than looked up to answer zeros
// (and an erasure that erases nothing).
func TestParseAddress(t *testing.T) {
	t.Parallel()
	db, _ := testdb.New(t)
	ctx := context.Background()
	for in, ok := range map[string]bool{
		"a²b@example.com": false, "bob@exa½mple.com": false,
		"bob@example.com": true, " Bob+Tag@Example.COM ": true, "bob@localhost": true, "ünï@exämple.de": true,
		"": false, "   ": false, "bob": false, "bob@": false, "@example.com": false, "bob@@example.com": false,
		"bob@example..com": false, "bob@example.com.": false, "bob smith@example.com": false, "bob@example.com\x00": false,
		"\"bob\"@example.com": false, "bob@example.com,alice@example.com": false, "\xff@example.com": false,
		strings.Repeat("a", 250) + "@b.cd": false, strings.Repeat("a", 244) + "@b.cd": true,
	} {
		addr, problem, err := submissions.ParseAddress(ctx, db, in)
		if err != nil {
			t.Fatal(err)
		}
		if (problem == "") != ok || ok && addr != strings.TrimSpace(in) {
			t.Errorf("ParseAddress(%q) = %q, %q; want ok %v", in, addr, problem, ok)
		}
	}
}

func TestMask(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"Bob@Example.com": "b***@example.com", "ünï@x.de": "ü***@x.de"} {
		if got := people.Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}

// count runs a count.
func count(t *testing.T, b *testBundle, sql string, args ...any) int {
	t.Helper()
	return testfactory.Count(t, b.db, sql, args...)
}

func TestEraseDeletesEveryCopyAndCountsThem(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	sealer, err := seal.New("test secret key")
	if err != nil {
		t.Fatal(err)
	}
	ep := testfactory.Endpoint(t, b.db, sealer, b.form, "https://hooks.example.com/a", true)

	// Five of bob's, with keys (their stored answers), River jobs (the
	// webhook deliveries the write enqueued), a file, a delivery, an email.
	var bobs []string
	for i := range 5 {
		res := testfactory.Submit(t, b.svc, b.form.PublicID, "key-"+string(rune('a'+i)), map[string]any{"email": "bob@example.com", "message": "hello"})
		bobs = append(bobs, submissions.FormatID(res.SubmissionID))
	}
	keep := testfactory.Submit(t, b.svc, b.form.PublicID, "key-keep", map[string]any{"email": "bobby@example.com"})
	theirs := testfactory.Submit(t, b.svc, b.other.PublicID, "key-theirs", map[string]any{"email": "bob@example.com"})
	for _, q := range []string{
		`INSERT INTO submission_files (submission_id, field, position, filename, content_type, size, sha256, content)
SELECT id, 'cv', p, 'cv.txt', 'text/plain', 2, 'x', 'hi' FROM submissions, generate_series(0, 1) p`,
		`INSERT INTO deliveries (public_id, endpoint_id, submission_id, message_id)
SELECT 'dlv_' || id, $1, id, 'msg_' || id FROM submissions WHERE form_id = $2`,
		`INSERT INTO outbound_emails (account_id, submission_id, kind, message_id, recipient, subject, body_text)
SELECT f.account_id, s.id, 'autoresponse', 'm-' || s.id, 'bob@example.com', 'Thanks', 'you wrote hello'
FROM submissions s JOIN forms f ON f.id = s.form_id`,
		`INSERT INTO autoresponses (submission_id, form_id, recipient) SELECT id, form_id, 'bob@example.com' FROM submissions`,
		// An autoresponse to bob of a submission deleted before (unlinked),
		// one to someone else, a notification to the owner, and one to bob
		// from another account: only the first is bob's to erase here.
		`INSERT INTO outbound_emails (account_id, submission_id, kind, message_id, recipient, subject, body_text)
SELECT f.account_id, NULL, k, 'orphan-' || r || '-' || k || '-' || f.id, r, 'Thanks', 'you wrote'
FROM forms f, (VALUES ('Bob@Example.com', 'autoresponse'), ('carol@example.com', 'autoresponse'), ('bob@example.com', 'notification')) AS v(r, k)`,
	} {
		args := []any{}
		if strings.Contains(q, "$1") {
			args = []any{ep.ID, b.form.ID}
		}
		if _, err := b.db.Exec(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	jobs := count(t, b, `SELECT count(*) FROM river_job WHERE args->>'submission_id' = ANY($1)`, uuids(t, bobs))
	if jobs == 0 {
		t.Fatal("the submissions enqueued no jobs; the test cannot see their erasure")
	}

	want := people.Counts{Submissions: 5, Files: 10, IdempotencyKeys: 5, Emails: 6, Deliveries: 5, Jobs: int64(jobs)}
	// The preview counts the same, changes nothing, and is a recorded
	// lookup (it tells whether the address is in the account).
	lookups := count(t, b, `SELECT count(*) FROM audit_log WHERE action = 'person.lookup'`)
	if p, err := people.Preview(ctx, b.db, actor, b.account, "Bob@Example.com"); err != nil || p != want {
		t.Errorf("Preview = %+v, %v; want %+v", p, err, want)
	}
	if n := count(t, b, `SELECT count(*) FROM audit_log WHERE action = 'person.lookup' AND object_id = 'b***@example.com' AND changed = '{submissions=5}'`); n != lookups+1 {
		t.Errorf("%d masked lookups after the preview, want %d", n, lookups+1)
	}
	// Batches of two: three batches, each its own entry.
	got, err := people.Erase(ctx, b.db, actor, b.account, "BOB@example.com", 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("Erase = %+v, want %+v", got, want)
	}
	ids := uuids(t, bobs)
	for table, q := range map[string]string{
		"submissions":      `SELECT count(*) FROM submissions WHERE id = ANY($1)`,
		"submission_files": `SELECT count(*) FROM submission_files WHERE submission_id = ANY($1)`,
		"idempotency_keys": `SELECT count(*) FROM idempotency_keys WHERE submission_id = ANY($1)`,
		"outbound_emails":  `SELECT count(*) FROM outbound_emails WHERE submission_id = ANY($1) OR message_id = ANY(SELECT 'm-' || unnest($1::uuid[]))`,
		"autoresponses":    `SELECT count(*) FROM autoresponses WHERE submission_id = ANY($1)`,
		"deliveries":       `SELECT count(*) FROM deliveries WHERE submission_id = ANY($1)`,
		"river_job":        `SELECT count(*) FROM river_job WHERE args->>'submission_id' = ANY($1::text[])`,
	} {
		if n := count(t, b, q, ids); n != 0 {
			t.Errorf("%s: %d rows of the erased submissions left", table, n)
		}
	}
	if n := count(t, b, `SELECT count(*) FROM outbound_emails WHERE message_id LIKE 'orphan-%'`); n != 5 {
		t.Errorf("%d unlinked emails left, want 5 of 6: all but bob's autoresponse in this account", n)
	}
	if n := count(t, b, `SELECT count(*) FROM outbound_emails e JOIN forms f ON f.account_id = e.account_id
	WHERE e.message_id = 'orphan-Bob@Example.com-autoresponse-' || f.id AND f.id = $1`, b.form.ID); n != 0 {
		t.Errorf("bob's unlinked autoresponse is still there")
	}
	// The near miss and the other account's are untouched, with their copies.
	for _, id := range []string{keep.SubmissionID.String(), theirs.SubmissionID.String()} {
		if n := count(t, b, `SELECT (SELECT count(*) FROM submissions WHERE id = $1) + (SELECT count(*) FROM submission_files WHERE submission_id = $1)
	+ (SELECT count(*) FROM idempotency_keys WHERE submission_id = $1) + (SELECT count(*) FROM outbound_emails WHERE submission_id = $1)
	+ (SELECT count(*) FROM autoresponses WHERE submission_id = $1)`, id); n != 6 {
			t.Errorf("submission %s lost rows to another's erasure: %d of 6 left", id, n)
		}
	}

	// Three entries (2, 2, 1), masked, with counts that add up.
	entries := count(t, b, `SELECT count(*) FROM audit_log WHERE account_id = $1 AND action = 'person.erase' AND object_id = 'b***@example.com'`, b.account)
	if entries != 3 {
		t.Errorf("%d person.erase entries, want 3", entries)
	}
	if n := count(t, b, `SELECT count(*) FROM audit_log WHERE 'submissions=1' = ANY(changed) AND action = 'person.erase'`); n != 1 {
		t.Errorf("the last batch's entry: %d with submissions=1", n)
	}

	// Again: nothing left, one entry with zero counts.
	again, err := people.Erase(ctx, b.db, actor, b.account, "bob@example.com", 0, nil)
	if err != nil || again != (people.Counts{}) {
		t.Errorf("a second Erase = %+v, %v; want zero counts", again, err)
	}
	if n := count(t, b, `SELECT count(*) FROM audit_log WHERE action = 'person.erase' AND 'submissions=0' = ANY(changed)`); n != 1 {
		t.Errorf("an erasure of nothing left %d zero entries, want 1", n)
	}
	// A batch exactly full is followed by an empty one that records nothing.
	for range 2 {
		testfactory.Submit(t, b.svc, b.form.PublicID, "", map[string]any{"email": "carol@example.com"})
	}
	if c, err := people.Erase(ctx, b.db, actor, b.account, "carol@example.com", 2, nil); err != nil || c.Submissions != 2 {
		t.Errorf("Erase(carol) = %+v, %v", c, err)
	}
	if n := count(t, b, `SELECT count(*) FROM audit_log WHERE action = 'person.erase' AND object_id = 'c***@example.com'`); n != 1 {
		t.Errorf("carol's erasure has %d entries, want 1", n)
	}
}

func uuids(t *testing.T, public []string) []string {
	t.Helper()
	out := make([]string, len(public))
	for i, p := range public {
		id, err := submissions.ParseID(p)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = id.String()
	}
	return out
}

// An erasure that meets a row another transaction holds waits for it up to
// its lock timeout, then fails as a lock timeout (503 at the edges) with
// the batches before it done, recorded and counted — never skipping the
// row and claiming it is done. Sent again once the row is free, it
// finishes.
func TestEraseWaitsForLockedRowsAndTellsTheTruth(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	var ids []string
	for range 4 {
		ids = append(ids, submit(t, b, b.form, map[string]any{"email": "dan@example.com"}))
	}
	// Another transaction holds one of them (as a delivery being recorded
	// would, by its foreign key).
	tx, err := b.db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	held := uuids(t, ids[:1])[0]
	if _, err := tx.Exec(ctx, `SELECT 1 FROM submissions WHERE id = $1 FOR KEY SHARE`, held); err != nil {
		t.Fatal(err)
	}

	c, err := people.Erase(ctx, b.db, actor, b.account, "dan@example.com", 1, nil)
	if !database.IsLockTimeout(err) {
		t.Fatalf("Erase with a held row = %+v, %v; want a lock timeout", c, err)
	}
	left := count(t, b, `SELECT count(*) FROM submissions WHERE form_id = $1`, b.form.ID)
	if int(c.Submissions) != 4-left || left < 1 {
		t.Errorf("Erase said %d deleted, %d of 4 are left", c.Submissions, left)
	}
	if n := count(t, b, `SELECT count(*) FROM audit_log WHERE action = 'person.erase'`); n != int(c.Submissions) {
		t.Errorf("%d person.erase entries for %d batches of one done", n, c.Submissions)
	}
	if n := count(t, b, `SELECT count(*) FROM submissions WHERE id = $1`, held); n != 1 {
		t.Errorf("the held row was deleted")
	}

	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	rest, err := people.Erase(ctx, b.db, actor, b.account, "dan@example.com", 1, nil)
	if err != nil || int(rest.Submissions) != left {
		t.Errorf("the second Erase = %+v, %v; want the %d left", rest, err, left)
	}
	if n := count(t, b, `SELECT count(*) FROM submissions WHERE form_id = $1`, b.form.ID); n != 0 {
		t.Errorf("%d left after the second erasure", n)
	}
}

// Submissions arriving while an erasure runs: each is either erased with
// everything of it, or kept whole (with its stored answer) — never half —
// and an erasure after they stop leaves nothing.
func TestEraseDuringSubmissions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	for i := range 20 {
		testfactory.Submit(t, b.svc, b.form.PublicID, fmt.Sprint("before-", i), map[string]any{"email": "eve@example.com"})
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			body, _ := json.Marshal(map[string]any{"email": "eve@example.com"})
			p, err := submissions.Parse("application/json", bytes.NewReader(body), submissions.DefaultLimits)
			if err == nil {
				_, err = b.svc.Accept(ctx, submissions.Request{FormID: b.form.PublicID, Payload: p, Key: fmt.Sprint("during-", i), IP: "192.0.2.1"})
			}
			if err != nil {
				select {
				case errs <- err:
				default:
				}
				return
			}
		}
	}()
	var total int64
	for range 5 {
		c, err := people.Erase(ctx, b.db, actor, b.account, "eve@example.com", 3, nil)
		if err != nil {
			t.Fatal(err)
		}
		total += c.Submissions
		// Whatever is left is whole: each submission has its key's answer,
		// and no answer is left without its submission.
		if n := count(t, b, `SELECT count(*) FROM submissions s WHERE NOT EXISTS (SELECT 1 FROM idempotency_keys k
	WHERE k.form_id = s.form_id AND k.key = s.idempotency_key AND k.submission_id = s.id)`); n != 0 {
			t.Errorf("%d submissions without their stored answer", n)
		}
	}
	close(stop)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatalf("a submission during the erasure failed: %v", err)
	default:
	}
	last, err := people.Erase(ctx, b.db, actor, b.account, "eve@example.com", 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	total += last.Submissions
	if n := count(t, b, `SELECT count(*) FROM submissions`); n != 0 {
		t.Errorf("%d submissions left after the last erasure", n)
	}
	if n := count(t, b, `SELECT count(*) FROM idempotency_keys`); n != 0 {
		t.Errorf("%d stored answers left after the last erasure", n)
	}
	if sum := count(t, b, `SELECT coalesce(sum(split_part(c, '=', 2)::int), 0) FROM audit_log, unnest(changed) c
	WHERE action = 'person.erase' AND c LIKE 'submissions=%'`); int64(sum) != total {
		t.Errorf("the audit log counts %d erased, the answers %d", sum, total)
	}
	t.Logf("%d submissions erased in all", total)
}
