package api_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/audit"
)

// Over its plan's monthly quota an account's forms answer 429 plan-limit —
// with Formspree's members in JSON, a page in a browser, and Retry-After
// pointing at the month's end — while what was accepted still replays.
func TestPlanLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	if _, err := b.db.Exec(ctx, `INSERT INTO plans (id, name, monthly_submissions) VALUES ('two', 'Two', 2)`); err != nil {
		t.Fatal(err)
	}
	if err := accounts.SetPlan(ctx, b.db, audit.System, b.account.User.AccountID, "two"); err != nil {
		t.Fatal(err)
	}
	first := b.submit(t, b.form.PublicID, ctJSON, `{"email":"a@example.com"}`, "Idempotency-Key", "a")
	if first.Status != 201 {
		t.Fatalf("first = %s", first)
	}
	if r := b.submit(t, b.form.PublicID, ctJSON, `{"email":"b@example.com"}`, "Idempotency-Key", "b"); r.Status != 201 {
		t.Fatalf("second = %s", r)
	}

	r := b.submit(t, b.form.PublicID, ctJSON, `{"email":"c@example.com"}`, "Idempotency-Key", "c")
	p := mustProblem(t, r, 429, "plan-limit")
	mustFormspree(t, p, "PLAN_LIMIT")
	if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 || s > 31*24*3600 {
		t.Errorf("Retry-After = %q, want the seconds to the month's end", r.Header.Get("Retry-After"))
	}
	if !strings.Contains(p["detail"].(string), "Two plan") || !strings.Contains(p["detail"].(string), "2 submissions") {
		t.Errorf("detail = %q, want the plan and its quota named", p["detail"])
	}
	page := b.submit(t, b.form.PublicID, ctForm, "email=browser@example.com", "Accept", "text/html")
	if page.Status != 429 || !strings.Contains(page.Header.Get("Content-Type"), "text/html") || !strings.Contains(page.Body, "this month") {
		t.Errorf("browser mode = %d %s %s", page.Status, page.Header.Get("Content-Type"), page.Body)
	}
	if again := b.submit(t, b.form.PublicID, ctJSON, `{"email":"a@example.com"}`, "Idempotency-Key", "a"); again.Status != 201 || again.Body != first.Body {
		t.Fatalf("replay over the quota = %s, want the stored %s", again, first)
	}
	if n := b.count(t, `SELECT count(*) FROM submissions`); n != 2 {
		t.Fatalf("%d submissions stored, want 2", n)
	}
}
