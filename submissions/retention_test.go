package submissions_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/internal/testdb"
	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/submissions"
)

func retentionForm(ctx context.Context, t *testing.T, b *testBundle, name, retention string) *forms.Form {
	t.Helper()
	return testfactory.NewForm(ctx, t, b.db, b.account, &testfactory.FormOpts{Name: name, Settings: forms.Settings{SubmissionRetention: retention}})
}

// addFiles gives every submission of form a file.
func addFiles(ctx context.Context, t *testing.T, b *testBundle, form *forms.Form) {
	t.Helper()
	if _, err := b.db.Exec(ctx, `
INSERT INTO submission_files (submission_id, field, position, filename, content_type, size, sha256, content)
SELECT id, 'cv', 0, 'cv.txt', 'text/plain', 2, 'x', 'hi' FROM submissions WHERE form_id = $1`, form.ID); err != nil {
		t.Fatal(err)
	}
}

func TestRetentionDeletesOnlyExpired(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	now := time.Now()
	day := 24 * time.Hour

	keep30 := retentionForm(ctx, t, b, "Thirty", "30d")
	keep90 := retentionForm(ctx, t, b, "Ninety", "90d")
	ever := retentionForm(ctx, t, b, "Forever", "")
	other := testfactory.NewAccount(ctx, t, b.db)
	otherForm := testfactory.NewForm(ctx, t, b.db, other.User.AccountID, &testfactory.FormOpts{Settings: forms.Settings{SubmissionRetention: "60d"}})

	// 25 expired (31 days old and older) and 5 recent on the 30-day form.
	testfactory.BulkSubmissions(ctx, t, b.db, keep30, 25, now.Add(-31*day))
	testfactory.BulkSubmissions(ctx, t, b.db, keep30, 5, now.Add(-29*day))
	// 40 days old: kept under 90 days and under no retention.
	testfactory.BulkSubmissions(ctx, t, b.db, keep90, 7, now.Add(-40*day))
	testfactory.BulkSubmissions(ctx, t, b.db, ever, 6, now.Add(-400*day))
	// Another account's form, 10 expired under its 60 days.
	testfactory.BulkSubmissions(ctx, t, b.db, otherForm, 10, now.Add(-61*day))
	testfactory.BulkSubmissions(ctx, t, b.db, otherForm, 3, now.Add(-59*day))
	for _, f := range []*forms.Form{keep30, keep90, ever, otherForm} {
		addFiles(ctx, t, b, f)
	}
	// An email recorded for an expired submission keeps its row, unlinked.
	if _, err := b.db.Exec(ctx, `
INSERT INTO outbound_emails (account_id, submission_id, kind, message_id, recipient, subject, body_text)
SELECT $1, id, 'notification', 'm-' || id, 'owner@example.com', 's', 't'
FROM submissions WHERE form_id = $2 ORDER BY created_at LIMIT 1`, b.account, keep30.ID); err != nil {
		t.Fatal(err)
	}

	due, err := submissions.DueForDeletion(ctx, b.db, keep30.ID, 30, now)
	if err != nil || due != 25 {
		t.Fatalf("DueForDeletion = %d, %v; want 25", due, err)
	}
	if due, _ := submissions.DueForDeletion(ctx, b.db, ever.ID, 0, now); due != 0 {
		t.Errorf("DueForDeletion without retention = %d", due)
	}

	res, err := submissions.ApplyRetention(ctx, b.db, now, 10)
	if err != nil {
		t.Fatal(err)
	}
	// 25 on keep30 in batches of 10, 10, 5; none on keep90 (one empty
	// batch); 10 on otherForm in 10, 0.
	if res.Deleted != 35 || res.Forms != 3 || res.Batches != 6 {
		t.Errorf("ApplyRetention = %+v, want 35 deleted over 3 forms in 6 batches", res)
	}
	count := func(sql string, args ...any) int { return testfactory.Count(t, b.db, sql, args...) }
	for _, tc := range []struct {
		form        *forms.Form
		left, files int
		oldest      time.Duration
	}{
		{keep30, 5, 5, 30 * day},
		{keep90, 7, 7, 90 * day},
		{ever, 6, 6, 0},
		{otherForm, 3, 3, 60 * day},
	} {
		if n := count(`SELECT count(*) FROM submissions WHERE form_id = $1`, tc.form.ID); n != tc.left {
			t.Errorf("form %s: %d submissions left, want %d", tc.form.Name, n, tc.left)
		}
		if n := count(`SELECT count(*) FROM submission_files f JOIN submissions s ON s.id = f.submission_id WHERE s.form_id = $1`, tc.form.ID); n != tc.files {
			t.Errorf("form %s: %d files left, want %d", tc.form.Name, n, tc.files)
		}
		if tc.oldest > 0 {
			if n := count(`SELECT count(*) FROM submissions WHERE form_id = $1 AND created_at < $2`, tc.form.ID, now.Add(-tc.oldest)); n != 0 {
				t.Errorf("form %s: %d submissions older than the retention left", tc.form.Name, n)
			}
		}
	}
	if n := count(`SELECT count(*) FROM submission_files WHERE submission_id NOT IN (SELECT id FROM submissions)`); n != 0 {
		t.Errorf("%d files of deleted submissions left", n)
	}
	if n := count(`SELECT count(*) FROM outbound_emails WHERE account_id = $1 AND submission_id IS NULL`, b.account); n != 1 {
		t.Errorf("outbound email of a deleted submission: %d unlinked rows, want 1", n)
	}

	// Each deleting batch is in the audit log as Intake's, on its form
	// and account, with its count; a form that lost nothing has no entry.
	audited := func(form *forms.Form) string {
		t.Helper()
		var got []string
		rows, err := b.db.Query(ctx, `SELECT actor_kind, action, array_to_string(changed, ','), count, account_id = $2
FROM audit_log WHERE object_id = $1 AND action = 'submission.delete' ORDER BY id`, form.PublicID, form.AccountID)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var kind, action, changed string
			var n int64
			var own bool
			if err := rows.Scan(&kind, &action, &changed, &n, &own); err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprintf("%s %s %s %d %v", kind, action, changed, n, own))
		}
		return strings.Join(got, "; ")
	}
	for form, want := range map[*forms.Form]string{
		keep30:    "system submission.delete submission_retention 10 true; system submission.delete submission_retention 10 true; system submission.delete submission_retention 5 true",
		keep90:    "",
		ever:      "",
		otherForm: "system submission.delete submission_retention 10 true",
	} {
		if got := audited(form); got != want {
			t.Errorf("form %s audited %q, want %q", form.Name, got, want)
		}
	}

	// A second run finds nothing more, and records nothing.
	res, err = submissions.ApplyRetention(ctx, b.db, now, 10)
	if err != nil || res.Deleted != 0 {
		t.Errorf("second run = %+v, %v; want nothing deleted", res, err)
	}
	if got := audited(keep30); strings.Count(got, ";") != 2 {
		t.Errorf("second run audited: %q", got)
	}
}

// Two runs at once (two nodes) share the work: each expired submission is
// deleted once, neither fails.
func TestRetentionConcurrentRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	now := time.Now()
	f := retentionForm(ctx, t, b, "Busy", "1d")
	testfactory.BulkSubmissions(ctx, t, b.db, f, 3000, now.Add(-25*time.Hour))
	testfactory.BulkSubmissions(ctx, t, b.db, f, 50, now)

	var (
		wg      sync.WaitGroup
		results [2]submissions.RetentionResult
		errs    [2]error
	)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = submissions.ApplyRetention(ctx, b.db, now, 100)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("run %d: %v", i, err)
		}
	}
	if got := results[0].Deleted + results[1].Deleted; got != 3000 {
		t.Errorf("deleted %d + %d, want 3000 in all", results[0].Deleted, results[1].Deleted)
	}
	if n := testfactory.Count(t, b.db, `SELECT count(*) FROM submissions WHERE form_id = $1`, f.ID); n != 50 {
		t.Errorf("%d left, want the 50 recent", n)
	}
}

// The worker, as River runs it, applies the retention with its batch.
func TestRetentionWorker(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := testdb.New(t)
	acct := testfactory.NewAccount(ctx, t, db)
	f := testfactory.NewForm(ctx, t, db, acct.User.AccountID, &testfactory.FormOpts{Settings: forms.Settings{SubmissionRetention: "7d"}})
	testfactory.BulkSubmissions(ctx, t, db, f, 12, time.Now().Add(-8*24*time.Hour))
	testfactory.BulkSubmissions(ctx, t, db, f, 2, time.Now())
	w := &submissions.RetentionWorker{DB: db, Batch: 5}
	if err := w.Work(ctx, &river.Job[submissions.RetentionArgs]{}); err != nil {
		t.Fatal(err)
	}
	if n := testfactory.Count(t, db, `SELECT count(*) FROM submissions WHERE form_id = $1`, f.ID); n != 2 {
		t.Errorf("%d left, want 2", n)
	}
	if got := w.Timeout(nil); got != submissions.RetentionTimeout {
		t.Errorf("Timeout = %v", got)
	}
}

func TestNextRetentionRun(t *testing.T) {
	t.Parallel()
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct{ now, want string }{
		{"2026-12-02T13:00:00Z", "2026-12-03T03:00:00Z"},
		{"2026-12-02T02:59:59Z", "2026-12-02T03:00:00Z"},
		{"2026-12-02T03:00:00Z", "2026-12-03T03:00:00Z"},
		{"2026-12-31T23:00:00-05:00", "2027-01-02T03:00:00Z"},
	} {
		if got := submissions.NextRetentionRun(at(tc.now)); !got.Equal(at(tc.want)) {
			t.Errorf("NextRetentionRun(%s) = %s, want %s", tc.now, got, tc.want)
		}
	}
}
