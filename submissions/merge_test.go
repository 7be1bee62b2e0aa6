package submissions_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/submissions"
)

// Two merges at once cannot make a chain: while C is being merged into A,
// a merge of A into B waits for A and then, seeing C merged into it,
// refuses.
func TestMergeRaceMakesNoChain(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	var ids [3]*submissions.Result
	for i := range ids {
		res, err := b.svc.Accept(ctx, b.request(t, "", contact(i)))
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = res
	}
	a, bb, c := ids[0].SubmissionID, ids[1].SubmissionID, ids[2].SubmissionID
	tx, err := b.db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	// C into A, as Merge does it, held open.
	if _, err := tx.Exec(ctx, `SELECT id FROM submissions WHERE id IN ($1, $2) ORDER BY id FOR UPDATE`, a, c); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `UPDATE submissions SET merged_into = $1 WHERE id = $2`, a, c); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := submissions.Merge(ctx, b.db, audit.System, b.account, a, bb)
		done <- err
	}()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if n := b.intQuery(t, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`); n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second merge never waited")
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, submissions.ErrMergeChain) {
		t.Fatalf("A into B while C went into A: %v, want ErrMergeChain", err)
	}
	if n := b.intQuery(t, `SELECT count(*) FROM submissions WHERE merged_into IS NOT NULL`); n != 1 {
		t.Errorf("%d merged, want 1 (C)", n)
	}
}
