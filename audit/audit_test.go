package audit_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/internal/testdb"
	"github.com/intakehq/intake/internal/testfactory"
)

func TestRecordAndList(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := testdb.New(t)
	a := testfactory.NewAccount(ctx, t, db)
	other := testfactory.NewAccount(ctx, t, db)

	// Five entries of a, on two objects; one of the other account's.
	for i, obj := range []string{"f1", "f2", "f1", "f2", "f1"} {
		e := audit.Entry{AccountID: a.User.AccountID, Actor: audit.User(a.User.ID, "203.0.113.7"), Action: "form.update",
			ObjectType: "form", ObjectID: obj, Changed: []string{"name", "fields", "name"}[:1+i%3]}
		if err := audit.Record(ctx, db, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := audit.Record(ctx, db, audit.Entry{AccountID: other.User.AccountID, Actor: audit.CLI, Action: "form.update", ObjectType: "form", ObjectID: "f1"}); err != nil {
		t.Fatal(err)
	}

	// Newest first, paged by id; the fixtures' own entries (the account,
	// user and API key the factory made) come last.
	var got []audit.Logged
	var before *int64
	for {
		page, err := audit.List(ctx, db, a.User.AccountID, before, "", 2)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page...)
		if len(page) < 2 {
			break
		}
		before = &page[len(page)-1].ID
	}
	if len(got) != 8 {
		t.Fatalf("listed %d entries, want 8 (5 + the factory's account, user and key): %+v", len(got), got)
	}
	for i := 1; i < len(got); i++ {
		if got[i].ID >= got[i-1].ID {
			t.Errorf("not newest first: %d after %d", got[i].ID, got[i-1].ID)
		}
	}
	for i, want := range []string{"api_key.create", "user.create", "account.create"} {
		if e := got[5+i]; e.Action != want || e.ActorKind != audit.ActorSystem {
			t.Errorf("entry %d = %+v, want the factory's %s", 5+i, e, want)
		}
	}
	first := got[0]
	if first.ActorKind != audit.ActorUser || first.ActorID != a.User.Email || first.Address != "203.0.113.7" || first.ObjectID != "f1" {
		t.Errorf("newest = %+v", first)
	}
	// Changed names are sorted and deduplicated.
	if !slices.Equal(got[2].Changed, []string{"fields", "name"}) {
		t.Errorf("changed = %v, want [fields name]", got[2].Changed)
	}

	// The object filter.
	f2, err := audit.List(ctx, db, a.User.AccountID, nil, "f2", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(f2) != 2 || f2[0].ObjectID != "f2" || f2[1].ObjectID != "f2" {
		t.Errorf("object f2: %+v", f2)
	}

	// Another account's entries are never listed.
	theirs, err := audit.List(ctx, db, other.User.AccountID, nil, "f1", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(theirs) != 1 || theirs[0].ActorKind != audit.ActorCLI || theirs[0].ActorID != "" || theirs[0].Address != "" {
		t.Errorf("the other account's f1: %+v", theirs)
	}
}

func TestRecordWithoutActorFails(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := testdb.New(t)
	a := testfactory.NewAccount(ctx, t, db)
	if err := audit.Record(ctx, db, audit.Entry{AccountID: a.User.AccountID, Action: "form.update", ObjectType: "form", ObjectID: "x"}); err == nil {
		t.Fatal("an entry without an actor was recorded")
	}
}

// The log is append-only: the database refuses UPDATE and DELETE of its
// rows, and they go only with their account.
func TestAppendOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := testdb.New(t)
	a := testfactory.NewAccount(ctx, t, db)
	if err := audit.Record(ctx, db, audit.Entry{AccountID: a.User.AccountID, Actor: audit.CLI, Action: "form.create", ObjectType: "form", ObjectID: "x"}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`UPDATE audit_log SET action = 'forged'`, `DELETE FROM audit_log`, `UPDATE audit_log SET changed = '{}' WHERE false OR true`} {
		if _, err := db.Exec(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: err = %v, want the trigger's refusal", q, err)
		}
	}
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'form.create'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("after the refused statements: %d entries, %v", n, err)
	}
	// The account's deletion takes its entries with it.
	if _, err := db.Exec(ctx, `DELETE FROM accounts WHERE id = $1`, a.User.AccountID); err != nil {
		t.Fatalf("deleting the account: %v", err)
	}
	if err := db.QueryRow(ctx, `SELECT count(*) FROM audit_log`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("after the account's deletion: %d entries, %v", n, err)
	}
}
