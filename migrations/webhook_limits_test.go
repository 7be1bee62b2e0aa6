package migrations_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/database"
	"github.com/intakehq/intake/internal/testfactory"
)

// Migration 00016 runs on a database that already holds duplicate URLs and
// forms over the 10-endpoint cap (made before the limits): it fails on
// neither, deletes nothing, disables the later duplicates and the
// endpoints past a form's 10 oldest with a reason, and leaves the form
// holding the unique URL index from then on.
func TestWebhookLimitsMigrationOnExistingRows(t *testing.T) {
	t.Parallel()
	pool, p := downTo(t, 15)
	ctx := context.Background()
	// A user without an API key: keys have columns (00019's scope) that the
	// schema of 15 lacks.
	u, _, err := accounts.CreateUser(ctx, pool, "limits@example.com", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	dupForm := testfactory.NewForm(ctx, t, pool, u.AccountID, nil)
	bigForm := testfactory.NewForm(ctx, t, pool, u.AccountID, nil)
	insert := func(form int64, publicID, url string) {
		t.Helper()
		if _, err := pool.Exec(ctx, `INSERT INTO webhook_endpoints (public_id, form_id, url, secret) VALUES ($1, $2, $3, 'whsec_x')`,
			publicID, form, url); err != nil {
			t.Fatal(err)
		}
	}
	insert(dupForm.ID, "wh_a", "https://hooks.example/intake")
	insert(dupForm.ID, "wh_b", "https://hooks.example/intake")
	insert(dupForm.ID, "wh_c", "HTTPS://Hooks.Example:443/intake#frag")
	insert(dupForm.ID, "wh_d", "https://hooks.example/intake/") // another URL
	for i := range 12 {
		insert(bigForm.ID, fmt.Sprintf("wh_big%02d", i), fmt.Sprintf("https://hooks.example/%d", i))
	}

	if _, err := p.UpTo(ctx, 16); err != nil {
		t.Fatalf("migration 00016 on existing duplicates: %v", err)
	}
	state := map[string]string{}
	rows, err := pool.Query(ctx, `SELECT public_id, enabled, legacy_duplicate, coalesce(disabled_reason, '') FROM webhook_endpoints`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, reason string
		var enabled, dup bool
		if err := rows.Scan(&id, &enabled, &dup, &reason); err != nil {
			t.Fatal(err)
		}
		state[id] = fmt.Sprintf("enabled=%v dup=%v %s", enabled, dup, reason)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"wh_a": "enabled=true dup=false ",
		"wh_b": "enabled=false dup=true disabled by an upgrade: wh_a has the same URL, and a form sends to a URL once",
		"wh_c": "enabled=false dup=true disabled by an upgrade: wh_a has the same URL, and a form sends to a URL once",
		"wh_d": "enabled=true dup=false ",
	}
	for i := range 12 {
		want[fmt.Sprintf("wh_big%02d", i)] = "enabled=true dup=false "
	}
	for _, id := range []string{"wh_big10", "wh_big11"} {
		want[id] = "enabled=false dup=false disabled by an upgrade: a form has at most 10 webhook endpoints; delete others before enabling this one"
	}
	if len(state) != len(want) {
		t.Errorf("%d endpoints after the migration, want %d (nothing deleted)", len(state), len(want))
	}
	for id, w := range want {
		if state[id] != w {
			t.Errorf("%s: %q, want %q", id, state[id], w)
		}
	}
	// From now on the index holds: the URL again, in another spelling, is refused.
	_, err = pool.Exec(ctx, `INSERT INTO webhook_endpoints (public_id, form_id, url, secret) VALUES ('wh_e', $1, 'https://hooks.EXAMPLE/intake', 'whsec_x')`, dupForm.ID)
	if !database.IsUniqueViolation(err, "webhook_endpoints_form_url_key") {
		t.Errorf("a duplicate inserted after the migration: %v, want the unique index refusing it", err)
	}
	// And it goes down again.
	if _, err := p.DownTo(ctx, 15); err != nil {
		t.Fatalf("down: %v", err)
	}
}
