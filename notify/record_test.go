package notify_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/mail"
)

// hookMailer calls hook with each message and returns its error, keeping
// what it was given.
type hookMailer struct {
	mu   sync.Mutex
	sent []*mail.Message
	hook func(ctx context.Context, n int, msg *mail.Message) error
}

func (m *hookMailer) Send(ctx context.Context, msg *mail.Message) error {
	m.mu.Lock()
	m.sent = append(m.sent, msg)
	n := len(m.sent)
	m.mu.Unlock()
	return m.hook(ctx, n, msg)
}

func (m *hookMailer) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sent)
}

// emailRow is an email's record, by Message-ID; state "" when there is none.
func emailRow(t *testing.T, b *bundle, messageID string) (state string, errText *string, sent bool) {
	t.Helper()
	state, errText, sent, err := readEmailRow(b, messageID)
	if err != nil {
		t.Fatal(err)
	}
	return state, errText, sent
}

// readEmailRow is emailRow for a mailer's hook, which runs on a worker's
// goroutine, where t.Fatal must not be called.
func readEmailRow(b *bundle, messageID string) (state string, errText *string, sent bool, err error) {
	err = b.DB.QueryRow(context.Background(), `SELECT coalesce(max(state), ''), max(error), coalesce(bool_or(sent_at IS NOT NULL), false)
FROM outbound_emails WHERE message_id = $1`, messageID).Scan(&state, &errText, &sent)
	return state, errText, sent, err
}

// A notification is recorded once, after its send, with the send's
// outcome: nothing during the first attempt, the failure after it, and
// the success (its error cleared, its time set) after the retry.
func TestNotificationRecordedAfterItsSend(t *testing.T) {
	t.Parallel()
	var b *bundle
	var (
		mu   sync.Mutex
		seen []string // the record as each send found it
	)
	m := &hookMailer{hook: func(ctx context.Context, n int, msg *mail.Message) error {
		state, errText, _, err := readEmailRow(b, msg.MessageID)
		if err != nil {
			t.Error(err)
		}
		text := ""
		if errText != nil {
			text = *errText
		}
		mu.Lock()
		seen = append(seen, state+"|"+text)
		mu.Unlock()
		if n == 1 {
			return errors.New("connection reset by the mail server")
		}
		return nil
	}}
	b = setup(t, m)
	b.Submit(t, "k", testfactory.Contact(1))
	b.Settle(t)
	if m.count() != 2 {
		t.Fatalf("sent %d times, want a failure and its retry", m.count())
	}
	mu.Lock()
	defer mu.Unlock()
	if seen[0] != "|" {
		t.Errorf("before the first send the record read %q, want none", seen[0])
	}
	if seen[1] != "pending|connection reset by the mail server" {
		t.Errorf("before the retry the record read %q, want pending with the failure", seen[1])
	}
	m.mu.Lock()
	id := m.sent[1].MessageID
	m.mu.Unlock()
	state, errText, sent := emailRow(t, b, id)
	if state != "sent" || errText != nil || !sent {
		t.Errorf("after the retry: state %q, error %v, sent_at set %v; want sent, none, set", state, errText, sent)
	}
	if n := b.Count(t, `SELECT count(*) FROM outbound_emails`); n != 1 {
		t.Errorf("%d records, want 1", n)
	}
}

// A job that runs again after its email was recorded as sent — the
// process died before River completed the job — does not send it again.
func TestNotificationRecordedSentIsNotSentAgain(t *testing.T) {
	t.Parallel()
	m := &hookMailer{hook: func(context.Context, int, *mail.Message) error { return nil }}
	b := setupPolling(t, m, 50*time.Millisecond)
	b.Submit(t, "k", testfactory.Contact(1))
	b.Settle(t)
	if m.count() != 1 {
		t.Fatalf("sent %d times, want once", m.count())
	}
	// As River's rescuer leaves a job whose process died while running it.
	if n := b.Count(t, `WITH again AS (UPDATE river_job SET state = 'available', finalized_at = NULL, scheduled_at = now()
	WHERE kind = 'email.send' RETURNING 1) SELECT count(*) FROM again`); n != 1 {
		t.Fatalf("%d email jobs made available again, want 1", n)
	}
	b.Settle(t)
	if n := b.Count(t, `SELECT count(*) FROM river_job WHERE kind = 'email.send' AND state = 'completed' AND attempt = 2`); n != 1 {
		t.Fatalf("the job did not run again")
	}
	if m.count() != 1 {
		t.Errorf("sent %d times, want once: the record said it was sent", m.count())
	}
}

// A submission erased while its notification is being sent leaves no
// record of the email behind: its text is the person's.
func TestNotificationOfErasedSubmissionNotRecorded(t *testing.T) {
	t.Parallel()
	var b *bundle
	m := &hookMailer{hook: func(ctx context.Context, _ int, _ *mail.Message) error {
		_, err := b.DB.Exec(ctx, `DELETE FROM submissions`)
		return err
	}}
	b = setup(t, m)
	b.Submit(t, "k", testfactory.Contact(1))
	b.Settle(t)
	if m.count() != 1 {
		t.Fatalf("sent %d times, want once", m.count())
	}
	if n := b.Count(t, `SELECT count(*) FROM outbound_emails`); n != 0 {
		t.Errorf("%d emails recorded about an erased submission, want 0", n)
	}
	if n := b.Count(t, `SELECT count(*) FROM river_job WHERE kind = 'email.send' AND state = 'completed' AND attempt = 1`); n != 1 {
		t.Errorf("the job did not complete at its first attempt: its record failed")
	}
}

// A notification whose record the database refuses after the send — a
// worker running before migration 00032 gave body_html its default — is
// sent once and its job cancelled: a retry would send it again and be
// refused again, on every attempt.
func TestNotificationRecordRefusedIsNotSentAgain(t *testing.T) {
	t.Parallel()
	m := &hookMailer{hook: func(context.Context, int, *mail.Message) error { return nil }}
	b := setup(t, m)
	if _, err := b.DB.Exec(context.Background(), `ALTER TABLE outbound_emails ALTER COLUMN body_html DROP DEFAULT`); err != nil {
		t.Fatal(err)
	}
	b.Submit(t, "k", testfactory.Contact(1))
	b.Settle(t)
	if m.count() != 1 {
		t.Errorf("sent %d times, want once", m.count())
	}
	if n := b.Count(t, `SELECT count(*) FROM river_job WHERE kind = 'email.send' AND state = 'cancelled' AND attempt = 1`); n != 1 {
		t.Errorf("the job was not cancelled at its first attempt")
	}
}

// A notification recorded pending by a failed attempt, whose submission is
// deleted by retention while the retry sends it, is recorded sent: the
// row retention left (unlinked) is updated, not left saying pending.
func TestNotificationRecordedAfterRetentionDeletedItsSubmission(t *testing.T) {
	t.Parallel()
	var b *bundle
	m := &hookMailer{hook: func(ctx context.Context, n int, _ *mail.Message) error {
		if n == 1 {
			return errors.New("connection reset by the mail server")
		}
		_, err := b.DB.Exec(ctx, `DELETE FROM submissions`)
		return err
	}}
	b = setup(t, m)
	b.Submit(t, "k", testfactory.Contact(1))
	b.Settle(t)
	if m.count() != 2 {
		t.Fatalf("sent %d times, want a failure and its retry", m.count())
	}
	if n := b.Count(t, `SELECT count(*) FROM outbound_emails WHERE state = 'sent' AND error IS NULL AND sent_at IS NOT NULL AND submission_id IS NULL`); n != 1 {
		t.Errorf("the email's row is not recorded sent after retention deleted its submission")
	}
}
