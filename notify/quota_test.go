package notify_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/notify"
)

// check runs the periodic quota check once, as River's leader would, and
// waits for it and the emails it enqueues.
func (b *bundle) check(t *testing.T) {
	t.Helper()
	if _, err := b.client.Insert(context.Background(), notify.QuotaCheckArgs{}, nil); err != nil {
		t.Fatal(err)
	}
	b.settle(t)
}

func (b *bundle) quotaEmails(t *testing.T) []string {
	t.Helper()
	rows, err := b.db.Query(context.Background(), `SELECT subject || ' | ' || body_text FROM outbound_emails WHERE kind = $1 ORDER BY id`, notify.TemplateQuotaWarning)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// The owner hears at 80 % and at 100 % of the month's quota, once each,
// however often the check runs.
func TestQuotaWarningsOncePerShare(t *testing.T) {
	b := setup(t, nil)
	ctx := context.Background()
	if _, err := b.db.Exec(ctx, `INSERT INTO plans (id, name, monthly_submissions) VALUES ('ten', 'Ten', 10)`); err != nil {
		t.Fatal(err)
	}
	if err := accounts.SetPlan(ctx, b.db, audit.System, b.account.User.AccountID, "ten"); err != nil {
		t.Fatal(err)
	}
	for i := range 7 {
		b.submit(t, fmt.Sprint("k", i), contact(i))
	}
	b.check(t)
	if got := b.quotaEmails(t); len(got) != 0 {
		t.Fatalf("at 70 %%: %q, want no warning", got)
	}
	b.submit(t, "k7", contact(7))
	b.check(t)
	b.check(t)
	got := b.quotaEmails(t)
	if len(got) != 1 || !strings.Contains(got[0], "80% of this month's submissions used") || !strings.Contains(got[0], "8 of the 10 submissions your Ten plan allows") {
		t.Fatalf("at 80 %%, checked twice: %q, want one 80 %% warning", got)
	}
	b.submit(t, "k8", contact(8))
	b.submit(t, "k9", contact(9))
	b.check(t)
	b.check(t)
	got = b.quotaEmails(t)
	if len(got) != 2 || !strings.Contains(got[1], "used up") || !strings.Contains(got[1], "refused") {
		t.Fatalf("at 100 %%: %q, want the 80 %% and then one 100 %% warning", got)
	}
	var to string
	if err := b.db.QueryRow(ctx, `SELECT recipient FROM outbound_emails WHERE kind = $1 LIMIT 1`, notify.TemplateQuotaWarning).Scan(&to); err != nil || to != b.account.User.Email {
		t.Fatalf("warning went to %q (%v), want the owner %s", to, err, b.account.User.Email)
	}
}

// Moving to a plan already used up warns once, at 100 %, and records the
// 80 % share as told.
func TestQuotaWarningBothSharesAtOnce(t *testing.T) {
	b := setup(t, nil)
	ctx := context.Background()
	for i := range 3 {
		b.submit(t, fmt.Sprint("k", i), contact(i))
	}
	if _, err := b.db.Exec(ctx, `INSERT INTO plans (id, name, monthly_submissions) VALUES ('two', 'Two', 2)`); err != nil {
		t.Fatal(err)
	}
	if err := accounts.SetPlan(ctx, b.db, audit.System, b.account.User.AccountID, "two"); err != nil {
		t.Fatal(err)
	}
	b.check(t)
	if got := b.quotaEmails(t); len(got) != 1 || !strings.Contains(got[0], "used up") {
		t.Fatalf("over both shares at once: %q, want one 100 %% warning", got)
	}
	if n := b.count(t, `SELECT count(*) FROM quota_warnings WHERE account_id = $1`, b.account.User.AccountID); n != 2 {
		t.Fatalf("%d warnings recorded, want both shares", n)
	}
}

// An account warned on a small plan and moved to a larger one the same
// month is warned again as it nears the new quota.
func TestQuotaWarningsAfterAnUpgrade(t *testing.T) {
	b := setup(t, nil)
	ctx := context.Background()
	if _, err := b.db.Exec(ctx, `INSERT INTO plans (id, name, monthly_submissions) VALUES ('two', 'Two', 2), ('five', 'Five', 5)`); err != nil {
		t.Fatal(err)
	}
	if err := accounts.SetPlan(ctx, b.db, audit.System, b.account.User.AccountID, "two"); err != nil {
		t.Fatal(err)
	}
	b.submit(t, "k0", contact(0))
	b.submit(t, "k1", contact(1))
	b.check(t)
	if got := b.quotaEmails(t); len(got) != 1 || !strings.Contains(got[0], "used up") {
		t.Fatalf("at 2 of 2: %q, want one 100 %% warning", got)
	}
	if err := accounts.SetPlan(ctx, b.db, audit.System, b.account.User.AccountID, "five"); err != nil {
		t.Fatal(err)
	}
	for i := 2; i < 5; i++ {
		b.submit(t, fmt.Sprint("k", i), contact(i))
	}
	b.check(t)
	got := b.quotaEmails(t)
	if len(got) != 2 || !strings.Contains(got[1], "5 of the 5 submissions your Five plan allows") {
		t.Fatalf("at 5 of 5 after the upgrade: %q, want a second warning for the new plan", got)
	}
}
