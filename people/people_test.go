package people_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/internal/testdb"
	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/people"
	"github.com/intakehq/intake/submissions"
)

type testBundle struct {
	db      *pgxpool.Pool
	svc     *submissions.Service
	account int64
	form    *forms.Form
	other   *forms.Form // another account's form
}

// textFields take any text, so a test can put an address anywhere.
var textFields = []forms.Field{{Name: "email", Type: forms.TypeText}, {Name: "message", Type: forms.TypeTextarea}}

func setup(t *testing.T) *testBundle {
	t.Helper()
	ctx := context.Background()
	db, _ := testdb.New(t)
	acct := testfactory.NewAccount(ctx, t, db)
	other := testfactory.NewAccount(ctx, t, db)
	return &testBundle{
		db:      db,
		svc:     testfactory.Submissions(t, db, "http://intake.test"),
		account: acct.User.AccountID,
		form:    testfactory.NewForm(ctx, t, db, acct.User.AccountID, &testfactory.FormOpts{Fields: textFields}),
		other:   testfactory.NewForm(ctx, t, db, other.User.AccountID, &testfactory.FormOpts{Fields: textFields}),
	}
}

var actor = audit.APIKey(1, "192.0.2.1")

// found writes the lookup and returns the ids of its lines, checking each
// is a submission in the API's shape.
func found(t *testing.T, b *testBundle, address string) (int64, []string) {
	t.Helper()
	ctx := context.Background()
	addr, problem := submissions.ParseAddress(address)
	if problem != "" {
		t.Fatalf("ParseAddress(%q): %s", address, problem)
	}
	l, err := people.Find(ctx, b.db, actor, b.account, addr)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	n, err := l.Write(ctx, b.db, &buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var j submissions.JSON
		if err := json.Unmarshal(sc.Bytes(), &j); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if j.Form == "" || !strings.HasPrefix(j.ID, submissions.IDPrefix) {
			t.Errorf("line without form or id: %s", sc.Text())
		}
		ids = append(ids, j.ID)
	}
	if n != len(ids) {
		t.Errorf("Write said %d, wrote %d lines", n, len(ids))
	}
	slices.Sort(ids)
	return l.Count, ids
}

func submit(t *testing.T, b *testBundle, form *forms.Form, fields map[string]any) string {
	t.Helper()
	res := testfactory.Submit(t, b.svc, form.PublicID, "", fields)
	return submissions.FormatID(res.SubmissionID)
}

func TestFindMatchesEachWayAndNoNearMiss(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	archived := testfactory.NewForm(ctx, t, b.db, b.account, &testfactory.FormOpts{Name: "Old", Fields: textFields})

	want := []string{
		submit(t, b, b.form, map[string]any{"email": "  Bob@Example.com ", "message": "hi"}),                      // a field's value
		submit(t, b, b.form, map[string]any{"message": "please write to BOB@EXAMPLE.COM, thanks."}),               // a word in a text
		submit(t, b, b.form, map[string]any{"message": "call me", "_replyto": "bob@example.com"}),                 // the reply-to
		submit(t, b, b.form, map[string]any{"message": "spam from bob@example.com", "_gotcha": "filled"}),         // spam
		submit(t, b, archived, map[string]any{"message": "<bob@example.com>"}),                                    // an archived form
		submit(t, b, b.form, map[string]any{"contacts": []string{"alice@example.org", "mailto:bob@example.com"}}), // in a list
	}
	slices.Sort(want)
	if err := forms.Archive(ctx, b.db, audit.System, b.account, archived.PublicID); err != nil {
		t.Fatal(err)
	}
	// Near misses: none of these carries bob@example.com.
	for _, v := range []string{"bob@example.co", "xbob@example.com", "bob@example.com.au", "bob.smith@example.com",
		"bob@example-com", "bob@sub.example.com", "bob at example.com"} {
		submit(t, b, b.form, map[string]any{"email": v, "message": "x " + v + " y"})
	}
	// Another account's submission with the address.
	submit(t, b, b.other, map[string]any{"email": "bob@example.com"})

	n, ids := found(t, b, " BOB@example.com ")
	if n != int64(len(want)) || !slices.Equal(ids, want) {
		t.Errorf("found %d: %v\nwant %v", n, ids, want)
	}
	// The near misses are found by their own address, not by bob's.
	if n, ids := found(t, b, "xbob@example.com"); n != 1 || len(ids) != 1 {
		t.Errorf("xbob@example.com: found %d, %v; want one", n, ids)
	}
	if n, _ := found(t, b, "nobody@example.com"); n != 0 {
		t.Errorf("nobody@example.com: found %d", n)
	}

	// The audit log has each lookup with its count, the address masked.
	list, err := audit.List(ctx, b.db, b.account, nil, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var lookups []audit.Logged
	for _, e := range list {
		if e.Action == people.ActionLookup {
			lookups = append(lookups, e)
		}
		for _, c := range append([]string{e.ObjectID}, e.Changed...) {
			if strings.Contains(strings.ToLower(c), "bob@") {
				t.Errorf("the audit log keeps the address: %+v", e)
			}
		}
	}
	if len(lookups) != 3 || lookups[2].ObjectID != "b***@example.com" || !slices.Equal(lookups[2].Changed, []string{"submissions=6"}) ||
		lookups[2].ObjectType != people.ObjectType {
		t.Errorf("lookups in the audit log: %+v", lookups)
	}
}

func TestParseAddress(t *testing.T) {
	t.Parallel()
	for in, ok := range map[string]bool{
		"bob@example.com": true, " Bob+Tag@Example.COM ": true, "bob@localhost": true, "ünï@exämple.de": true,
		"": false, "   ": false, "bob": false, "bob@": false, "@example.com": false, "bob@@example.com": false,
		"bob@example..com": false, "bob@example.com.": false, "bob smith@example.com": false, "bob@example.com\x00": false,
		"\"bob\"@example.com": false, "bob@example.com,alice@example.com": false, "\xff@example.com": false,
		strings.Repeat("a", 250) + "@b.cd": false, strings.Repeat("a", 244) + "@b.cd": true,
	} {
		addr, problem := submissions.ParseAddress(in)
		if (problem == "") != ok || ok && addr != strings.TrimSpace(in) {
			t.Errorf("ParseAddress(%q) = %q, %q; want ok %v", in, addr, problem, ok)
		}
	}
}

func TestMask(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"Bob@Example.com": "b***@example.com", "ünï@x.de": "ü***@x.de"} {
		if got := people.Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}
