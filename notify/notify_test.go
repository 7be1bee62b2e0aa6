package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/mail"
	"github.com/intakehq/intake/notify"
	"github.com/intakehq/intake/submissions"
	"github.com/intakehq/intake/webhooks"
)

type bundle struct {
	*testfactory.Workbench
	deps notify.Deps
	poll time.Duration // River's fetch poll interval; 0: 50 ms
	// sync keeps recipients as serve's API and dashboard do, enqueueing
	// with client.
	sync *notify.RecipientSync
}

// setup makes a database, an account with a form, and a River client that
// works jobs (with a fast retry schedule) and an insert path wired as serve
// wires it. mailer nil is the outbox.
func setup(t *testing.T, mailer mail.Mailer) *bundle {
	return setupPolling(t, mailer, 0)
}

// setupPolling is setup with River's workers polling for jobs every poll.
func setupPolling(t *testing.T, mailer mail.Mailer, poll time.Duration) *bundle {
	t.Helper()
	return setupDeps(t, mailer, poll, nil)
}

// setupDeps is setupPolling with change made to the workers' Deps first.
func setupDeps(t *testing.T, mailer mail.Mailer, poll time.Duration, change func(*notify.Deps)) *bundle {
	t.Helper()
	b := &bundle{Workbench: testfactory.NewWorkbench(t, notify.Planner{}), poll: poll}
	links, err := notify.NewLinks("test secret key")
	if err != nil {
		t.Fatal(err)
	}
	b.deps = notify.Deps{
		DB: b.DB, Mailer: mailer, HTTPClient: webhooks.NewHTTPClient(true), Sealer: b.Sealer, Links: links, From: "Intake <no-reply@intake.test>",
		BaseURL: "http://intake.test", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Schedule: []time.Duration{50 * time.Millisecond},
	}
	if change != nil {
		change(&b.deps)
	}
	b.start(t)
	b.sync = &notify.RecipientSync{River: b.Client, Links: links}
	return b
}

func (b *bundle) start(t *testing.T) {
	t.Helper()
	b.Start(t, notify.Workers(b.deps), notify.Queues(), b.deps.Logger, b.poll)
}

// However often the client retries — 10 replays in a row, 20 twins at once —
// each submission is delivered once and emailed once.
func TestOneDeliveryAndOneEmailPerSubmission(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	rc := testfactory.NewReceiver(t)
	ep := b.Endpoint(t, rc.URL, false)

	for range 10 {
		b.Submit(t, "sequential", testfactory.Contact(1))
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { b.Submit(t, "concurrent", testfactory.Contact(2)) })
	}
	wg.Wait()
	b.Settle(t)

	got := rc.Received()
	ids := map[string]int{}
	for _, r := range got {
		ids[r.ID]++
		if !testfactory.Verify(ep.Secret, r) {
			t.Errorf("delivery %s has no valid signature: %q", r.ID, r.Signature)
		}
	}
	if len(got) != 2 || len(ids) != 2 {
		t.Fatalf("receiver got %d deliveries with %d webhook-ids, want 2 and 2", len(got), len(ids))
	}
	if n := b.Count(t, `SELECT count(*) FROM outbound_emails WHERE kind = 'notification' AND state = 'outbox'`); n != 2 {
		t.Errorf("notification emails in the outbox = %d, want 2", n)
	}
	if n := b.Count(t, `SELECT count(*) FROM outbound_emails WHERE recipient = $1`, b.Account.User.Email); n != 2 {
		t.Errorf("emails to the owner = %d, want 2", n)
	}
	var event struct {
		Type string           `json:"type"`
		Data submissions.JSON `json:"data"`
	}
	if err := json.Unmarshal(got[0].Body, &event); err != nil || event.Type != "submission.created" || event.Data.Form != b.Form.PublicID {
		t.Errorf("payload = %s (%v)", got[0].Body, err)
	}
}

// Spam reaches no one, except endpoints that opted in to it.
func TestSpamIsNotNotified(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	plain, optIn := testfactory.NewReceiver(t), testfactory.NewReceiver(t)
	b.Endpoint(t, plain.URL, false)
	b.Endpoint(t, optIn.URL, true)
	spam := testfactory.Contact(1)
	spam["_gotcha"] = "i am a bot"
	b.Submit(t, "spam", spam)
	b.Settle(t)
	if n := len(plain.Received()); n != 0 {
		t.Errorf("an endpoint without include_spam got %d deliveries", n)
	}
	if n := len(optIn.Received()); n != 1 {
		t.Errorf("the endpoint with include_spam got %d deliveries, want 1", n)
	}
	if n := b.Count(t, `SELECT count(*) FROM outbound_emails`); n != 0 {
		t.Errorf("spam made %d emails", n)
	}
}

// A submission's jobs are written by Intake's own statement, in the
// submission's batch, not by River's insert; they must still wake River's
// workers at once (as River's insert does, by a notification), not at the
// next poll.
func TestNewJobsWakeWorkers(t *testing.T) {
	t.Parallel()
	b := setupPolling(t, nil, time.Minute)
	rc := testfactory.NewReceiver(t)
	b.Endpoint(t, rc.URL, false)
	time.Sleep(500 * time.Millisecond) // the workers' listener starts
	start := time.Now()
	b.Submit(t, "wake", testfactory.Contact(1))
	for len(rc.Received()) == 0 {
		if time.Since(start) > 10*time.Second {
			t.Fatal("the delivery did not start within 10 s: the workers were not woken (their poll is a minute)")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("delivered %s after the submission", time.Since(start).Round(time.Millisecond))
}

// A rolled-back submission leaves no delivery or email job behind.
func TestRolledBackSubmissionLeavesNoJob(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	rc := testfactory.NewReceiver(t)
	b.Endpoint(t, rc.URL, false)
	b.Svc.AfterInsert = testfactory.FailWrite
	body, _ := json.Marshal(testfactory.Contact(1))
	p, _ := submissions.Parse("application/json", bytes.NewReader(body), submissions.DefaultLimits)
	_, err := b.Svc.Accept(context.Background(), submissions.Request{FormID: b.Form.PublicID, Payload: p, Key: "k"})
	if !testfactory.IsInjectedFault(err) {
		t.Fatalf("Accept = %v, want the injected fault", err)
	}
	if n := b.Count(t, `SELECT count(*) FROM river_job WHERE kind <> 'idempotency.sweep'`); n != 0 {
		t.Errorf("%d jobs survived the rollback", n)
	}
}

// An endpoint the worker disables (here for 410 Gone) is told to its owner
// by email: notify's EndpointDisabled, wired as serve wires it. What the
// worker does is webhooks' TestGoneDisablesEndpoint.
func TestOwnerToldOfDisabledEndpoint(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	rc := testfactory.NewReceiver(t)
	rc.Answers = []int{410}
	ep := b.Endpoint(t, rc.URL, false)
	b.Submit(t, "k", testfactory.Contact(1))
	b.Settle(t)
	got, err := webhooks.ByID(context.Background(), b.DB, ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Enabled || !strings.Contains(got.DisabledReason, "410") {
		t.Errorf("endpoint enabled=%v reason=%q, want disabled for 410", got.Enabled, got.DisabledReason)
	}
	if len(rc.Received()) != 1 {
		t.Errorf("a 410 was retried: %d attempts", len(rc.Received()))
	}
	if n := b.Count(t, `SELECT count(*) FROM outbound_emails WHERE kind = 'endpoint_disabled' AND recipient = $1`, b.Account.User.Email); n != 1 {
		t.Errorf("owner emails about the disabled endpoint = %d, want 1", n)
	}
}

// SMTP end to end is mail's business; here: a message refused for good is
// recorded as failed and not retried.
type refusingMailer struct{ calls atomic.Int32 }

func (m *refusingMailer) Send(context.Context, *mail.Message) error {
	m.calls.Add(1)
	return &mail.PermanentError{Code: 550, Err: fmt.Errorf("mailbox unavailable")}
}

func TestPermanentEmailFailureIsNotRetried(t *testing.T) {
	t.Parallel()
	m := &refusingMailer{}
	b := setup(t, m)
	b.Submit(t, "k", testfactory.Contact(1))
	b.Settle(t)
	if n := m.calls.Load(); n != 1 {
		t.Errorf("a 550 was tried %d times, want once", n)
	}
	if n := b.Count(t, `SELECT count(*) FROM outbound_emails WHERE state = 'failed' AND error LIKE '%mailbox unavailable%'`); n != 1 {
		t.Errorf("the failure was not recorded")
	}
}

// A submitter's _cc that the mail server refuses must not cost the owner
// the notification: it is sent again without the Cc list.
type ccRefusingMailer struct {
	acceptCc bool // record messages with a Cc list instead of refusing them
	mu       sync.Mutex
	sent     []*mail.Message
	refused  int
}

func (m *ccRefusingMailer) Send(_ context.Context, msg *mail.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(msg.Cc) > 0 && !m.acceptCc {
		m.refused++
		return &mail.PermanentError{Code: 550, Err: fmt.Errorf("no such user: %s", msg.Cc[0])}
	}
	m.sent = append(m.sent, msg)
	return nil
}

func TestRefusedCcStillNotifiesOwner(t *testing.T) {
	t.Parallel()
	m := &ccRefusingMailer{}
	b := setup(t, m)
	b.Form = testfactory.NewForm(context.Background(), t, b.DB, b.Account.User.AccountID, &testfactory.FormOpts{
		Settings: forms.Settings{AllowCC: true},
	})
	fields := testfactory.Contact(1)
	fields["_cc"] = "nobody@invalid.example"
	fields["_subject"] = "Quote request"
	fields["_replyto"] = "ada@example.com"
	b.Submit(t, "k", fields)
	b.Settle(t)
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.sent) != 1 || m.sent[0].To[0] != b.Account.User.Email {
		t.Fatalf("sent %d messages, want the owner's notification", len(m.sent))
	}
	msg := m.sent[0]
	if msg.Subject != "Quote request" || msg.ReplyTo != "ada@example.com" || !strings.Contains(msg.Text, "p1@example.com") {
		t.Errorf("notification subject %q reply-to %q text %q", msg.Subject, msg.ReplyTo, msg.Text)
	}
	if !strings.HasPrefix(msg.MessageID, "<") || !strings.HasSuffix(msg.MessageID, "@intake.test>") {
		t.Errorf("Message-ID %q is not derived on the base URL's host", msg.MessageID)
	}
	if n := b.Count(t, `SELECT count(*) FROM outbound_emails WHERE state = 'sent'`); n != 1 {
		t.Errorf("sent emails recorded = %d, want 1", n)
	}
	if m.refused != 1 {
		t.Errorf("the Cc was tried %d times, want once: the form allows _cc", m.refused)
	}
}

// _cc copies the notification only on a form whose owner allowed it, and
// then without the owner's unsubscribe link; elsewhere it is kept in the
// metadata, no one is copied and the link is there.
func TestCcOnlyWhenAllowed(t *testing.T) {
	t.Parallel()
	m := &ccRefusingMailer{acceptCc: true}
	b := setup(t, m)
	ctx := context.Background()
	closed := b.Form
	open := testfactory.NewForm(ctx, t, b.DB, b.Account.User.AccountID, &testfactory.FormOpts{Name: "Open", Settings: forms.Settings{AllowCC: true}})
	fields := testfactory.Contact(1)
	fields["_cc"] = "one@example.com, two@example.com"
	b.Submit(t, "closed", fields)
	b.Form = open
	b.Submit(t, "open", fields)
	b.Settle(t)

	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.sent) != 2 {
		t.Fatalf("sent %d notifications, want 2", len(m.sent))
	}
	for _, msg := range m.sent {
		wantCc := strings.Contains(msg.Subject, "Open")
		if got := strings.Join(msg.Cc, ","); wantCc && got != "one@example.com,two@example.com" || !wantCc && got != "" {
			t.Errorf("notification %q copied %q; want the _cc addresses only on the form that allows _cc", msg.Subject, got)
		}
		// The unsubscribe link is the owner's: a copy to addresses the
		// submitter chose must not carry it.
		_, hasHeader := msg.Headers["List-Unsubscribe"]
		hasLink := strings.Contains(msg.Text, "/unsubscribe?token=") || strings.Contains(msg.HTML, "/unsubscribe?token=")
		if wantCc && (hasHeader || hasLink) || !wantCc && (!hasHeader || !hasLink) {
			t.Errorf("notification %q (Cc %q): List-Unsubscribe %v, link in the bodies %v; want them only without Cc", msg.Subject, msg.Cc, hasHeader, hasLink)
		}
	}
	for _, f := range []*forms.Form{closed, open} {
		var cc string
		if err := b.DB.QueryRow(ctx, `SELECT meta->>'cc' FROM submissions WHERE form_id = $1`, f.ID).Scan(&cc); err != nil {
			t.Fatal(err)
		}
		if cc != `["one@example.com", "two@example.com"]` {
			t.Errorf("form %s: meta cc = %s, want the list kept either way", f.Name, cc)
		}
	}
}

// A form's confirmed notify_emails replace the owner as recipients, and
// its autoresponse goes to the submitter's reply-to address.
func TestRecipientsAndAutoresponse(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.Form = testfactory.NewForm(context.Background(), t, b.DB, b.Account.User.AccountID, &testfactory.FormOpts{
		Settings: forms.Settings{
			NotifyEmails: []string{"sales@example.com", "ops@example.com"},
			Autoresponse: forms.Autoresponse{Enabled: true, Subject: "Thanks!", Body: "We will answer within a day."},
		},
	})
	// Confirmed as if each had followed its link (recipients_test.go
	// follows the links themselves).
	if _, err := b.DB.Exec(context.Background(), `INSERT INTO notify_recipients (form_id, email, listed, state)
SELECT $1, e, true, 'confirmed' FROM unnest($2::text[]) e`, b.Form.ID, b.Form.Settings.NotifyEmails); err != nil {
		t.Fatal(err)
	}
	b.Submit(t, "k", map[string]any{"email": "ada@example.com", "message": "hi"})
	spam := testfactory.Contact(9)
	spam["_gotcha"] = "bot"
	b.Submit(t, "spam", spam)
	b.Settle(t)
	rows, err := b.DB.Query(context.Background(), `SELECT kind, recipient, subject, body_text FROM outbound_emails ORDER BY kind, recipient`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var kind, to, subject, text string
		rows.Scan(&kind, &to, &subject, &text)
		got = append(got, kind+" "+to+" "+subject)
		if kind == notify.TemplateAutoresponse && !strings.Contains(text, "We will answer within a day.") {
			t.Errorf("autoresponse body = %q", text)
		}
	}
	want := []string{
		"autoresponse ada@example.com Thanks!",
		"notification ops@example.com New submission to Contact",
		"notification sales@example.com New submission to Contact",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("emails:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A form's notification email wording is what its addresses get: the
// subject and the text above the fields filled with the submission's
// values (and the form's name and the submission's id), the table of
// every field still there. The _subject a submission sends gives way to
// the owner's subject.
func TestNotificationEmailWording(t *testing.T) {
	t.Parallel()
	m := &ccRefusingMailer{}
	b := setup(t, m)
	b.Form = testfactory.NewForm(context.Background(), t, b.DB, b.Account.User.AccountID, &testfactory.FormOpts{Name: "Leads",
		Settings: forms.Settings{NotificationEmail: forms.NotificationEmail{Subject: "Lead from {{ email }} via {{_form}}",
			Body: "Call them back: {{message}}\nRef {{_id}}"}},
	})
	fields := testfactory.Contact(7)
	fields["_subject"] = "Ignored subject"
	res := b.Submit(t, "k", fields)
	b.Settle(t)
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.sent) != 1 {
		t.Fatalf("sent %d messages, want the owner's notification", len(m.sent))
	}
	msg := m.sent[0]
	if msg.Subject != "Lead from p7@example.com via Leads" {
		t.Errorf("subject %q", msg.Subject)
	}
	id := submissions.FormatID(res.SubmissionID)
	for _, body := range []string{msg.Text, msg.HTML} {
		for _, want := range []string{"Call them back: hello", "Ref " + id, "p7@example.com"} {
			if !strings.Contains(body, want) {
				t.Errorf("the notification lacks %q:\n%s", want, body)
			}
		}
	}
	if !strings.Contains(msg.Text, "Email: p7@example.com") {
		t.Errorf("the table of fields is gone:\n%s", msg.Text)
	}
}
