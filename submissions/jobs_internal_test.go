package submissions

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/intakehq/intake/database"
	"github.com/intakehq/intake/idempotency"

	"github.com/intakehq/intake/internal/testdb"
)

type probeArgs struct {
	To       string    `json:"to" river:"unique"`
	Sub      uuid.UUID `json:"sub" river:"unique"`
	Note     string    `json:"note,omitempty"`
	Template string    `json:"template" river:"unique"`
}

func (probeArgs) Kind() string { return "probe.send" }

func (probeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: "email", MaxAttempts: 10, Tags: []string{"alpha", "beta"}, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

type plainArgs struct{ N int }

func (plainArgs) Kind() string { return "probe.plain" }

// The rows writeSQL writes must be the rows River's own InsertManyTx
// writes — same args, queue, attempts, tags, unique key and states — or
// River's uniqueness and workers would not recognise them. A River upgrade
// that changes its rows fails here.
func TestJobRowsMatchRiver(t *testing.T) {
	db, _ := testdb.New(t)
	ctx := context.Background()
	jobs := []river.InsertManyParams{
		{Args: probeArgs{To: "a@example.com", Sub: uuid.Must(uuid.NewV7()), Note: "x", Template: "t"}},
		{Args: plainArgs{N: 7}},
	}
	const cols = `args, kind, max_attempts, metadata, priority, queue, state, tags, unique_key, unique_states, scheduled_at <= now(), attempt`
	read := func() [][]any {
		rows, err := db.Query(ctx, `SELECT `+cols+` FROM river_job ORDER BY kind`)
		if err != nil {
			t.Fatal(err)
		}
		all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([]any, error) { return r.Values() })
		if err != nil {
			t.Fatal(err)
		}
		return all
	}

	// River's way.
	rc, err := river.NewClient(riverpgxv5.New(db), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := rc.InsertManyTx(ctx, tx, jobs); err != nil {
		t.Fatalf("River's own insert: %v", err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	want := read()
	if _, err := db.Exec(ctx, `DELETE FROM river_job`); err != nil {
		t.Fatal(err)
	}

	// Ours, behind a submission (the jobs are written only with it).
	rows, err := database.JobRows(jobs)
	if err != nil {
		t.Fatal(err)
	}
	var formID int64
	if err := db.QueryRow(ctx, `INSERT INTO accounts (name) VALUES ('a') RETURNING id`).Scan(&formID); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, `INSERT INTO forms (public_id, account_id, name) VALUES ('abcdefgh', $1, 'f') RETURNING id`, formID).Scan(&formID); err != nil {
		t.Fatal(err)
	}
	s := &Service{DB: db}
	send := func(key string, jobs []*rivertype.JobInsertParams) *write {
		now := time.Now()
		sub := &Submission{ID: uuid.Must(uuid.NewV7()), FormID: formID, ContractVersion: 1,
			Data: map[string]any{"n": 1}, IdempotencyKey: key, CreatedAt: now}
		row, err := encodeSubmission(sub, nil)
		if err != nil {
			t.Fatal(err)
		}
		w := &write{row: row, jobs: jobs, claim: &idempotency.Claim{FormID: formID, Key: key, Fingerprint: []byte{1}, SubmissionID: sub.ID,
			Response: idempotency.Response{Status: 201}, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}}
		if err := s.send([]*write{w}); err != nil {
			t.Fatal(err)
		}
		return w
	}
	send("taken", nil)
	if w := send("taken", rows); w.written {
		t.Fatal("a lost claim wrote its submission")
	}
	if n := len(read()); n != 0 {
		t.Fatalf("%d jobs written without their submission", n)
	}
	if w := send("fresh", rows); !w.written {
		t.Fatal("the submission was not written")
	}
	got := read()
	if len(got) != len(want) {
		t.Fatalf("%d rows, River wrote %d", len(got), len(want))
	}
	for i := range want {
		for c := range want[i] {
			if g, w := got[i][c], want[i][c]; !equalValue(g, w) {
				t.Errorf("job %d column %d: ours %#v, River's %#v", i, c, g, w)
			}
		}
	}

	// River sees our unique job as the same job.
	res, err := rc.InsertMany(ctx, jobs[:1])
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].UniqueSkippedAsDuplicate {
		t.Error("River inserted a duplicate of a unique job we wrote: its unique key differs")
	}
}

func equalValue(a, b any) bool {
	switch a := a.(type) {
	case []byte:
		bb, ok := b.([]byte)
		return ok && string(a) == string(bb)
	case map[string]any, []any:
		return fmtValue(a) == fmtValue(b)
	}
	return fmtValue(a) == fmtValue(b)
}

func fmtValue(v any) string { return fmt.Sprintf("%v", v) }
