package submissions_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/intakehq/intake/submissions"
)

// Export reads a page at a time and holds no database connection while
// its caller writes a page out: a slow download held one for its whole
// length before, and a few held the pool every request shares. Every
// submission comes once, newest first, across the pages' seams.
func TestExportHoldsNoConnectionWhileWriting(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	n := 2*submissions.ExportPage + 1
	for i := range n {
		if _, err := b.svc.Accept(ctx, b.request(t, fmt.Sprintf("export-%d", i), contact(i))); err != nil {
			t.Fatal(err)
		}
	}
	var got []uuid.UUID
	held := 0
	err := submissions.Export(ctx, b.db, submissions.Filter{FormID: b.form.ID}, func(s *submissions.Submission) error {
		if b.db.Stat().AcquiredConns() > 0 {
			held++
		}
		got = append(got, s.ID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if held > 0 {
		t.Errorf("a connection was held while %d of %d submissions were written", held, len(got))
	}
	seen := map[uuid.UUID]bool{}
	for _, id := range got {
		seen[id] = true
	}
	if len(got) != n || len(seen) != n {
		t.Fatalf("exported %d submissions (%d distinct), want %d", len(got), len(seen), n)
	}
	rows, err := b.db.Query(ctx, `SELECT id FROM submissions WHERE form_id = $1 ORDER BY created_at DESC, id DESC`, b.form.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for i := 0; rows.Next(); i++ {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		if got[i] != id {
			t.Fatalf("submission %d of the export is %s, want %s (newest first)", i, got[i], id)
		}
	}
}
