package submissions

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/internal/testdb"
)

// One batch of reads serves requests for several forms: each gets its own
// form (a copy), its own stored answer by (form, key) — live ones only —
// and a form that is not there fails only its own request.
func TestReadGroupsFormsAndKeys(t *testing.T) {
	db, _ := testdb.New(t)
	ctx := context.Background()
	var account int64
	if err := db.QueryRow(ctx, `INSERT INTO accounts (name) VALUES ('a') RETURNING id`).Scan(&account); err != nil {
		t.Fatal(err)
	}
	formIDs := map[string]int64{}
	for _, public := range []string{"aaaaaaaa", "bbbbbbbb"} {
		var id int64
		if err := db.QueryRow(ctx, `INSERT INTO forms (public_id, account_id, name) VALUES ($1, $2, 'f') RETURNING id`, public, account).Scan(&id); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(ctx, `INSERT INTO form_contracts (form_id, version) VALUES ($1, 1)`, id); err != nil {
			t.Fatal(err)
		}
		formIDs[public] = id
	}
	now := time.Now().UTC()
	stored := map[string]uuid.UUID{}
	for _, k := range []struct {
		form, key string
		expires   time.Time
	}{
		{"aaaaaaaa", "live", now.Add(time.Hour)},
		{"aaaaaaaa", "old", now.Add(-time.Minute)},
		{"bbbbbbbb", "live", now.Add(time.Hour)},
	} {
		id := uuid.Must(uuid.NewV7())
		if _, err := db.Exec(ctx, `INSERT INTO idempotency_keys (form_id, key, fingerprint, submission_id, response_status, response_headers, response_body, created_at, expires_at)
			VALUES ($1, $2, '\x01', $3, 201, '{}', '', $4, $5)`, formIDs[k.form], k.key, id, now.Add(-2*time.Minute), k.expires); err != nil {
			t.Fatal(err)
		}
		stored[k.form+"/"+k.key] = id
	}

	s := &Service{DB: db}
	g := []*load{
		{formID: "aaaaaaaa", key: "live", now: now},
		{formID: "aaaaaaaa", key: "never", now: now},
		{formID: "zzzzzzzz", key: "live", now: now}, // no such form
		{formID: "bbbbbbbb", key: "live", now: now},
		{formID: "aaaaaaaa", key: "old", now: now}, // expired, not yet swept
		{formID: "bbbbbbbb", now: now},             // keyless
	}
	s.read(g)

	want := []struct {
		form   string
		stored string // key of the answer expected, "" none
		err    error
	}{
		{"aaaaaaaa", "aaaaaaaa/live", nil},
		{"aaaaaaaa", "", nil},
		{"", "", forms.ErrNotFound},
		{"bbbbbbbb", "bbbbbbbb/live", nil},
		{"aaaaaaaa", "", nil},
		{"bbbbbbbb", "", nil},
	}
	for i, w := range want {
		l := g[i]
		if !errors.Is(l.err, w.err) {
			t.Errorf("read %d (%s, %q): err %v, want %v", i, l.formID, l.key, l.err, w.err)
			continue
		}
		if w.err != nil {
			continue
		}
		if l.form == nil || l.form.PublicID != w.form || l.form.ID != formIDs[w.form] {
			t.Errorf("read %d: form %+v, want %s", i, l.form, w.form)
		}
		if l.usage == nil || l.usage.AccountID != account {
			t.Errorf("read %d: usage %+v, want the account's", i, l.usage)
		}
		switch {
		case w.stored == "" && l.stored != nil:
			t.Errorf("read %d (%s, %q): found answer %v, want none", i, l.formID, l.key, l.stored.SubmissionID)
		case w.stored != "" && (l.stored == nil || l.stored.SubmissionID != stored[w.stored]):
			t.Errorf("read %d (%s, %q): answer %+v, want the one stored for %s", i, l.formID, l.key, l.stored, w.stored)
		}
	}
	if g[0].form == g[1].form {
		t.Error("two requests share one *forms.Form: each must get its own copy")
	}
}
