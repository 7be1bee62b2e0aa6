package notify_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/notify"
)

// check runs the periodic quota check once, as River's leader would, and
// waits for it and the emails it enqueues.
func (b *bundle) check(t *testing.T) {
	t.Helper()
	if _, err := b.Client.Insert(context.Background(), notify.QuotaCheckArgs{}, nil); err != nil {
		t.Fatal(err)
	}
	b.Settle(t)
}

func (b *bundle) quotaEmails(t *testing.T) []string {
	t.Helper()
	rows, err := b.DB.Query(context.Background(), `SELECT subject || ' | ' || body_text FROM outbound_emails WHERE kind = $1 ORDER BY id`, notify.TemplateQuotaWarning)
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
	if _, err := b.DB.Exec(ctx, `INSERT INTO plans (id, name, monthly_submissions) VALUES ('ten', 'Ten', 10)`); err != nil {
		t.Fatal(err)
	}
	if err := accounts.SetPlan(ctx, b.DB, audit.System, b.Account.User.AccountID, "ten"); err != nil {
		t.Fatal(err)
	}
	for i := range 7 {
		b.Submit(t, fmt.Sprint("k", i), testfactory.Contact(i))
	}
	b.check(t)
	if got := b.quotaEmails(t); len(got) != 0 {
		t.Fatalf("at 70 %%: %q, want no warning", got)
	}
	b.Submit(t, "k7", testfactory.Contact(7))
	b.check(t)
	b.check(t)
	got := b.quotaEmails(t)
	if len(got) != 1 || !strings.Contains(got[0], "80% of this month's submissions used") || !strings.Contains(got[0], "8 of the 10 submissions your Ten plan allows") {
		t.Fatalf("at 80 %%, checked twice: %q, want one 80 %% warning", got)
	}
	b.Submit(t, "k8", testfactory.Contact(8))
	b.Submit(t, "k9", testfactory.Contact(9))
	b.check(t)
	b.check(t)
	got = b.quotaEmails(t)
	if len(got) != 2 || !strings.Contains(got[1], "used up") || !strings.Contains(got[1], "refused") {
		t.Fatalf("at 100 %%: %q, want the 80 %% and then one 100 %% warning", got)
	}
	var to string
	if err := b.DB.QueryRow(ctx, `SELECT recipient FROM outbound_emails WHERE kind = $1 LIMIT 1`, notify.TemplateQuotaWarning).Scan(&to); err != nil || to != b.Account.User.Email {
		t.Fatalf("warning went to %q (%v), want the owner %s", to, err, b.Account.User.Email)
	}
}

// Moving to a plan already used up warns once, at 100 %, and records the
// 80 % share as told.
func TestQuotaWarningBothSharesAtOnce(t *testing.T) {
	b := setup(t, nil)
	ctx := context.Background()
	for i := range 3 {
		b.Submit(t, fmt.Sprint("k", i), testfactory.Contact(i))
	}
	if _, err := b.DB.Exec(ctx, `INSERT INTO plans (id, name, monthly_submissions) VALUES ('two', 'Two', 2)`); err != nil {
		t.Fatal(err)
	}
	if err := accounts.SetPlan(ctx, b.DB, audit.System, b.Account.User.AccountID, "two"); err != nil {
		t.Fatal(err)
	}
	b.check(t)
	if got := b.quotaEmails(t); len(got) != 1 || !strings.Contains(got[0], "used up") {
		t.Fatalf("over both shares at once: %q, want one 100 %% warning", got)
	}
	if n := b.Count(t, `SELECT count(*) FROM quota_warnings WHERE account_id = $1`, b.Account.User.AccountID); n != 2 {
		t.Fatalf("%d warnings recorded, want both shares", n)
	}
}

// An account warned on a small plan and moved to a larger one the same
// month is warned again as it nears the new quota.
func TestQuotaWarningsAfterAnUpgrade(t *testing.T) {
	b := setup(t, nil)
	ctx := context.Background()
	if _, err := b.DB.Exec(ctx, `INSERT INTO plans (id, name, monthly_submissions) VALUES ('two', 'Two', 2), ('five', 'Five', 5)`); err != nil {
		t.Fatal(err)
	}
	if err := accounts.SetPlan(ctx, b.DB, audit.System, b.Account.User.AccountID, "two"); err != nil {
		t.Fatal(err)
	}
	b.Submit(t, "k0", testfactory.Contact(0))
	b.Submit(t, "k1", testfactory.Contact(1))
	b.check(t)
	if got := b.quotaEmails(t); len(got) != 1 || !strings.Contains(got[0], "used up") {
		t.Fatalf("at 2 of 2: %q, want one 100 %% warning", got)
	}
	if err := accounts.SetPlan(ctx, b.DB, audit.System, b.Account.User.AccountID, "five"); err != nil {
		t.Fatal(err)
	}
	for i := 2; i < 5; i++ {
		b.Submit(t, fmt.Sprint("k", i), testfactory.Contact(i))
	}
	b.check(t)
	got := b.quotaEmails(t)
	if len(got) != 2 || !strings.Contains(got[1], "5 of the 5 submissions your Five plan allows") {
		t.Fatalf("at 5 of 5 after the upgrade: %q, want a second warning for the new plan", got)
	}
}
