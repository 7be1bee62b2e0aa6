package submissions_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/submissions"
)

// uniqueForm replaces b's form with a contact form that takes each email
// once, answering repeats with onDuplicate, within window ("" forever).
func (b *testBundle) uniqueForm(t *testing.T, onDuplicate, window string) {
	t.Helper()
	b.form = testfactory.NewForm(context.Background(), t, b.db, b.account, &testfactory.FormOpts{
		Settings: forms.Settings{Unique: forms.Unique{Fields: []string{"email"}, Window: window, OnDuplicate: onDuplicate}}})
}

// acceptAll sends reqs at once and returns their outcomes in order.
func acceptAll(svc *submissions.Service, reqs []submissions.Request) []acceptOutcome {
	out := make([]acceptOutcome, len(reqs))
	var wg sync.WaitGroup
	for i, req := range reqs {
		wg.Go(func() {
			res, err := svc.Accept(context.Background(), req)
			out[i] = acceptOutcome{res, err}
		})
	}
	wg.Wait()
	return out
}

// checkOneStored fails unless exactly one submission, one key (the
// winner's: the others' were given back), one job and one count are
// stored, and returns the winner.
func (b *testBundle) checkOneStored(t *testing.T, outs []acceptOutcome) acceptOutcome {
	t.Helper()
	var created []acceptOutcome
	for _, o := range outs {
		if o.err == nil && o.res.Outcome == submissions.OutcomeCreated {
			created = append(created, o)
		}
	}
	if len(created) != 1 {
		t.Fatalf("%d created, want 1: %v", len(created), outs)
	}
	if n := b.count(t, "submissions"); n != 1 {
		t.Errorf("%d submissions stored, want 1", n)
	}
	if n := b.count(t, "idempotency_keys"); n != 1 {
		t.Errorf("%d keys stored, want 1 (the duplicates' keys are given back)", n)
	}
	b.checkOneJobEach(t)
	return created[0]
}

// Fifty submissions with one email and fifty keys at once: one stored; on a
// form that accepts repeats, the forty-nine hear a success that points at
// it, and nothing of theirs is stored, notified or counted; a retry of one
// of their keys is a duplicate again, not a replay of an answer for a
// submission never stored; a retry of the winner's key replays its answer.
func TestUniqueRaceAccept(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.uniqueForm(t, forms.UniqueAccept, "")
	const n = 50
	reqs := make([]submissions.Request, n)
	for i := range reqs {
		// Spelled differently: an email field's value is lower-cased.
		email := []string{"ada@example.com", "Ada@Example.COM", "ADA@example.com"}[i%3]
		reqs[i] = b.request(t, fmt.Sprintf("key-%d", i), map[string]any{"email": email, "message": fmt.Sprint("take ", i)})
	}
	outs := acceptAll(b.svc, reqs)
	first := b.checkOneStored(t, outs)
	for i, o := range outs {
		if o == first {
			continue
		}
		if o.err != nil || o.res.Outcome != submissions.OutcomeDuplicate || o.res.SubmissionID != first.res.SubmissionID {
			t.Fatalf("request %d = %v, want a duplicate of %s", i, o, first.res.SubmissionID)
		}
		if r := o.res.Response; r.Status != http.StatusOK || r.Header[submissions.DuplicateHeader] != submissions.FormatID(first.res.SubmissionID) ||
			!contains(r.Body, `"duplicate_of":"`+submissions.FormatID(first.res.SubmissionID)+`"`) || !contains(r.Body, `"ok":true`) {
			t.Fatalf("request %d answered %d %v %s", i, r.Status, r.Header, r.Body)
		}
	}
	for i, o := range outs {
		res, err := b.svc.Accept(context.Background(), reqs[i])
		want := submissions.OutcomeDuplicate
		if o == first {
			want = submissions.OutcomeReplayed
		}
		if err != nil || res.Outcome != want || res.SubmissionID != first.res.SubmissionID {
			t.Fatalf("retry of request %d = %v %v, want %s of the first", i, res.Outcome, err, want)
		}
	}
	b.checkOneStored(t, append(outs[:0:0], first))
}

// On a form that rejects repeats, the forty-nine are refused with a 409
// that names the field by its label, and the first is not shown to them.
func TestUniqueRaceReject(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.uniqueForm(t, forms.UniqueReject, "")
	const n = 50
	reqs := make([]submissions.Request, n)
	for i := range reqs {
		reqs[i] = b.request(t, fmt.Sprintf("key-%d", i), map[string]any{"email": "ada@example.com", "message": fmt.Sprint(i)})
	}
	outs := acceptAll(b.svc, reqs)
	first := b.checkOneStored(t, outs)
	for i, o := range outs {
		if o == first {
			continue
		}
		var dup *submissions.DuplicateError
		if !errors.As(o.err, &dup) || dup.Of != first.res.SubmissionID || o.res.Outcome != submissions.OutcomeDuplicate {
			t.Fatalf("request %d = %v, want a DuplicateError", i, o)
		}
		e := intake.Describe(o.err)
		if e.Kind.Status() != http.StatusConflict || e.Type != intake.TypeDuplicate || e.Code != "DUPLICATE" ||
			e.Detail != "An entry with this “Email” already exists; we kept the first one." {
			t.Fatalf("request %d described as %d %s %s %q", i, e.Kind.Status(), e.Type, e.Code, e.Detail)
		}
	}
}

// Writes with one value queued behind a busy transaction share a group:
// the one statement stores one of them.
func TestUniqueInOneGroup(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.uniqueForm(t, forms.UniqueAccept, "")
	g := newFirstGate(t, b)
	svc := b.groupService(1, g)
	held := b.holdFirst(t, svc, g, "held") // another email: contact(1000)
	const n = 6
	chans := make([]<-chan acceptOutcome, n)
	for i := range n {
		req := b.request(t, "", map[string]any{"email": "grace@example.com", "message": fmt.Sprint(i)})
		if i%2 == 0 {
			req = b.request(t, fmt.Sprint("group-", i), map[string]any{"email": "grace@example.com", "message": fmt.Sprint(i)})
		}
		chans[i] = acceptAsync(context.Background(), svc, req)
	}
	waitQueued(t, svc, n)
	g.gate.Open()
	if o := receive(t, held, "held"); o.err != nil || o.res.Outcome != submissions.OutcomeCreated {
		t.Fatalf("held = %v", o)
	}
	var created, dups int
	for i, ch := range chans {
		o := receive(t, ch, fmt.Sprint("queued ", i))
		switch {
		case o.err != nil:
			t.Fatalf("queued %d: %v", i, o.err)
		case o.res.Outcome == submissions.OutcomeCreated:
			created++
		case o.res.Outcome == submissions.OutcomeDuplicate:
			dups++
		}
	}
	if created != 1 || dups != n-1 {
		t.Errorf("%d created and %d duplicates, want 1 and %d", created, dups, n-1)
	}
	if got := b.intQuery(t, `SELECT count(*) FROM submissions WHERE data->>'email' = 'grace@example.com'`); got != 1 {
		t.Errorf("%d stored with the value, want 1", got)
	}
	if got := g.calls.Load(); got != 2 {
		t.Errorf("%d transactions, want 2 (the held one and one group)", got)
	}
	if got := b.intQuery(t, `SELECT count(*) FROM idempotency_keys k WHERE NOT EXISTS (SELECT 1 FROM submissions s WHERE s.id = k.submission_id)`); got != 0 {
		t.Errorf("%d keys name a submission never stored", got)
	}
	b.checkOneJobEach(t)
}

// A value older than the window no longer counts; a window changed later
// applies to new submissions only.
func TestUniqueWindow(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.uniqueForm(t, forms.UniqueReject, "2h")
	send := func(key string) acceptOutcome {
		res, err := b.svc.Accept(ctx, b.request(t, key, map[string]any{"email": "lin@example.com"}))
		return acceptOutcome{res, err}
	}
	if o := send("a"); o.err != nil {
		t.Fatal(o.err)
	}
	if o := send("b"); !errors.As(o.err, new(*submissions.DuplicateError)) {
		t.Fatalf("within the window: %v, want a duplicate", o)
	}
	// Three hours pass.
	if _, err := b.db.Exec(ctx, `UPDATE submissions SET created_at = created_at - interval '3 hours', unique_until = unique_until - interval '3 hours'`); err != nil {
		t.Fatal(err)
	}
	if o := send("c"); o.err != nil || o.res.Outcome != submissions.OutcomeCreated {
		t.Fatalf("after the window: %v, want created", o)
	}
	if o := send("d"); !errors.As(o.err, new(*submissions.DuplicateError)) {
		t.Fatalf("within the new one's window: %v, want a duplicate", o)
	}
	var until *string
	if err := b.db.QueryRow(ctx, `SELECT (unique_until - created_at)::text FROM submissions ORDER BY created_at DESC LIMIT 1`).Scan(&until); err != nil || until == nil || *until != "02:00:00" {
		t.Errorf("the window stored with the submission: %v %v, want 02:00:00", until, err)
	}
}

// Spam carries no unique value: a bot that sent someone's address first
// does not make that person's own submission a duplicate. Submissions
// without the value are not compared.
func TestUniqueSpamAndEmptyNeverBlock(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.uniqueForm(t, forms.UniqueReject, "")
	bot, err := b.svc.Accept(ctx, b.request(t, "bot", map[string]any{"email": "mo@example.com", "_gotcha": "x"}))
	if err != nil || bot.Outcome != submissions.OutcomeSpam {
		t.Fatalf("bot = %v %v", bot.Outcome, err)
	}
	if res, err := b.svc.Accept(ctx, b.request(t, "mo", map[string]any{"email": "mo@example.com"})); err != nil || res.Outcome != submissions.OutcomeCreated {
		t.Fatalf("the person after the bot = %v %v, want created", res.Outcome, err)
	}
	if _, err := b.svc.Accept(ctx, b.request(t, "mo-again", map[string]any{"email": "mo@example.com"})); !errors.As(err, new(*submissions.DuplicateError)) {
		t.Fatalf("the person again: %v, want a duplicate", err)
	}
}

// Idempotency comes first: the same key and payload replays its own answer,
// even on a form that rejects repeats; a keyless JSON repeat is a duplicate.
func TestUniqueIdempotencyFirst(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.uniqueForm(t, forms.UniqueReject, "")
	req := b.request(t, "same", map[string]any{"email": "kim@example.com"})
	first, err := b.svc.Accept(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := b.svc.Accept(ctx, req)
	if err != nil || again.Outcome != submissions.OutcomeReplayed || again.Response.Status != http.StatusCreated || again.SubmissionID != first.SubmissionID {
		t.Fatalf("the same key again = %v %v, want a replay of the 201", again.Outcome, err)
	}
	if _, err := b.svc.Accept(ctx, b.request(t, "", map[string]any{"email": "kim@example.com"})); !errors.As(err, new(*submissions.DuplicateError)) {
		t.Fatalf("keyless repeat: %v, want a duplicate", err)
	}
}

// In a browser a repeat on a form that accepts them goes where a success
// goes; the hosted thank-you page is told it was a repeat.
func TestUniqueBrowserAccept(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.uniqueForm(t, forms.UniqueAccept, "")
	for i, want := range []int{http.StatusSeeOther, http.StatusSeeOther} {
		req := b.request(t, "", map[string]any{"email": "sam@example.com", "message": fmt.Sprint(i)})
		req.Browser = true
		res, err := b.svc.Accept(ctx, req)
		if err != nil || res.Response.Status != want {
			t.Fatalf("post %d = %v %v", i, res, err)
		}
		loc := res.Response.Header["Location"]
		thanks := "http://intake.test/f/" + b.form.PublicID + "/thanks"
		if i == 0 && loc != thanks || i == 1 && loc != thanks+"?duplicate=1" {
			t.Errorf("post %d goes to %q", i, loc)
		}
	}
}

func contains(b []byte, s string) bool { return strings.Contains(string(b), s) }

// Every duplicate absorbed is counted on the submission it repeats, by how
// it was recognised, and per form and day.
func TestDuplicatesCountedByKind(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	window := forms.Duration(time.Minute)
	b.form = testfactory.NewForm(ctx, t, b.db, b.account, &testfactory.FormOpts{Settings: forms.Settings{
		Unique: forms.Unique{Fields: []string{"email"}}, KeylessJSONWindow: window}})
	b.svc.Replays = &submissions.ReplayCounter{DB: b.db}
	send := func(req submissions.Request, want submissions.Outcome) *submissions.Result {
		t.Helper()
		res, err := b.svc.Accept(ctx, req)
		if err != nil || res.Outcome != want {
			t.Fatalf("%v %v, want %s", res.Outcome, err, want)
		}
		return res
	}
	keyed := b.request(t, "k", map[string]any{"email": "a@example.com"})
	s1 := send(keyed, submissions.OutcomeCreated)
	send(keyed, submissions.OutcomeReplayed)
	send(keyed, submissions.OutcomeReplayed)
	send(b.request(t, "other", map[string]any{"email": "a@example.com", "message": "again"}), submissions.OutcomeDuplicate)
	keyless := b.request(t, "", map[string]any{"email": "b@example.com"})
	s2 := send(keyless, submissions.OutcomeCreated)
	if r := send(keyless, submissions.OutcomeReplayed); r.SubmissionID != s2.SubmissionID || r.How != submissions.HowKeyless {
		t.Errorf("keyless JSON again = %v, how %v", r.SubmissionID, r.How)
	}
	browser := b.request(t, "", map[string]any{"email": "c@example.com"})
	browser.Browser = true
	s3 := send(browser, submissions.OutcomeCreated)
	send(browser, submissions.OutcomeReplayed)
	if err := b.svc.Replays.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id   uuid.UUID
		want submissions.Duplicates
	}{
		{s1.SubmissionID, submissions.Duplicates{Total: 3, Key: 2, Unique: 1}},
		{s2.SubmissionID, submissions.Duplicates{Total: 1, Keyless: 1}},
		{s3.SubmissionID, submissions.Duplicates{Total: 1, Implicit: 1}},
	} {
		s, err := submissions.Get(ctx, b.db, b.account, tc.id)
		if err != nil {
			t.Fatal(err)
		}
		got := s.Duplicates
		if got.LastAt == nil || time.Since(*got.LastAt) > time.Minute {
			t.Errorf("%s: last_at = %v", tc.id, got.LastAt)
		}
		got.LastAt = nil
		if got != tc.want {
			t.Errorf("%s: duplicates = %+v, want %+v", tc.id, got, tc.want)
		}
	}
	if n := b.intQuery(t, `SELECT coalesce(sum(replays), 0)::int FROM form_daily_replays WHERE form_id = $1`, b.form.ID); n != 5 {
		t.Errorf("form_daily_replays = %d, want 5", n)
	}

	// Without the window, identical keyless JSON is two submissions.
	b.form = testfactory.NewForm(ctx, t, b.db, b.account, nil)
	send(b.request(t, "", map[string]any{"email": "d@example.com"}), submissions.OutcomeCreated)
	send(b.request(t, "", map[string]any{"email": "d@example.com"}), submissions.OutcomeCreated)
}

// A submission marked spam by the owner gives up its value: the person's
// real submission that follows is taken.
func TestUniqueMarkedSpamGivesUpItsValue(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.uniqueForm(t, forms.UniqueReject, "")
	first, err := b.svc.Accept(ctx, b.request(t, "bot", map[string]any{"email": "eve@example.com", "message": "buy now"}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.Accept(ctx, b.request(t, "eve", map[string]any{"email": "eve@example.com"})); !errors.As(err, new(*submissions.DuplicateError)) {
		t.Fatalf("before marking spam: %v, want a duplicate", err)
	}
	if _, err := submissions.SetSpam(ctx, b.db, audit.System, b.account, first.SubmissionID, true); err != nil {
		t.Fatal(err)
	}
	if res, err := b.svc.Accept(ctx, b.request(t, "eve-2", map[string]any{"email": "eve@example.com"})); err != nil || res.Outcome != submissions.OutcomeCreated {
		t.Fatalf("after marking the first spam: %v %v, want created", res.Outcome, err)
	}
}

// keyless_json_window is about JSON bodies: a urlencoded post answered in
// JSON mode (Formspree's AJAX client) is not deduplicated by it, since two
// people may send the same form.
func TestKeylessWindowIsForJSONBodies(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.form = testfactory.NewForm(ctx, t, b.db, b.account, &testfactory.FormOpts{Settings: forms.Settings{KeylessJSONWindow: forms.Duration(time.Minute)}})
	for i := range 2 {
		p, err := submissions.Parse("application/x-www-form-urlencoded", strings.NewReader("email=f%40example.com"), submissions.DefaultLimits)
		if err != nil {
			t.Fatal(err)
		}
		res, err := b.svc.Accept(ctx, submissions.Request{FormID: b.form.PublicID, Payload: p, IP: "192.0.2.1", UserAgent: "test"})
		if err != nil || res.Outcome != submissions.OutcomeCreated {
			t.Fatalf("urlencoded post %d in JSON mode: %v %v, want created", i, res.Outcome, err)
		}
	}
}
