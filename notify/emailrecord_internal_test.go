package notify

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/internal/testdb"
	"github.com/intakehq/intake/mail"
)

func newRecordWorker(t *testing.T) (*EmailWorker, int64) {
	t.Helper()
	db, _ := testdb.New(t)
	u, _, err := accounts.CreateUser(context.Background(), db, audit.System, "owner@example.com", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	return &EmailWorker{DB: db}, u.AccountID
}

func newRecord(accountID int64, id string) *emailRecord {
	return &emailRecord{accountID: accountID, kind: TemplateNotification, to: "owner@example.com", done: make(chan struct{}),
		msg: &mail.Message{MessageID: id, Subject: "s " + id, Text: "text", HTML: "<p>html</p>"}}
}

// A batch of records: new emails are pending, an email recorded before
// keeps its state, and a second job of one email in the same batch is not
// told pending (it would send again).
func TestRecordBatch(t *testing.T) {
	t.Parallel()
	w, account := newRecordWorker(t)
	ctx := context.Background()
	if _, err := w.DB.Exec(ctx, `INSERT INTO outbound_emails (account_id, kind, message_id, recipient, subject, body_text, body_html, state)
		VALUES ($1, 'notification', '<sent@x>', 'owner@example.com', 's', 't', 'h', 'sent')`, account); err != nil {
		t.Fatal(err)
	}
	fresh, again, twin, sent := newRecord(account, "<a@x>"), newRecord(account, "<b@x>"), newRecord(account, "<b@x>"), newRecord(account, "<sent@x>")
	w.recordBatch([]*emailRecord{fresh, again, twin, sent})
	for _, c := range []struct {
		r     *emailRecord
		state string
	}{{fresh, EmailPending}, {again, EmailPending}, {sent, EmailSent}} {
		if c.r.err != nil || c.r.state != c.state {
			t.Errorf("%s: state %q, err %v; want %q", c.r.msg.MessageID, c.r.state, c.r.err, c.state)
		}
	}
	if !errors.Is(twin.err, errRecordRace) || twin.state != "" {
		t.Errorf("the second job of <b@x> in one batch: state %q, err %v; want errRecordRace", twin.state, twin.err)
	}
	if n := countEmails(t, w); n != 3 {
		t.Errorf("%d rows, want 3: <sent@x>, <a@x>, <b@x>", n)
	}
}

// A row that cannot be stored fails alone; the rest of its batch is
// stored.
func TestRecordBatchFailsOneAlone(t *testing.T) {
	t.Parallel()
	w, account := newRecordWorker(t)
	a, orphan, b := newRecord(account, "<a@x>"), newRecord(account, "<orphan@x>"), newRecord(account, "<b@x>")
	orphan.subID = pgtype.UUID{Bytes: [16]byte{1, 2, 3}, Valid: true} // no such submission: its foreign key fails
	w.recordBatch([]*emailRecord{a, orphan, b})
	if a.err != nil || b.err != nil || a.state != EmailPending || b.state != EmailPending {
		t.Errorf("the good emails: %q %v, %q %v; want pending", a.state, a.err, b.state, b.err)
	}
	if orphan.err == nil {
		t.Errorf("the email of no submission was stored: state %q", orphan.state)
	}
	if n := countEmails(t, w); n != 2 {
		t.Errorf("%d rows, want 2", n)
	}
}

func countEmails(t *testing.T, w *EmailWorker) int {
	t.Helper()
	var n int
	if err := w.DB.QueryRow(context.Background(), `SELECT count(*) FROM outbound_emails`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Fifty workers recording at once share batches, and each is told its
// own email's state: pending the first time, and once the send is
// recorded, the state it left (a retry then sends nothing).
func TestRecordConcurrently(t *testing.T) {
	t.Parallel()
	w, account := newRecordWorker(t)
	ctx := context.Background()
	const emails = 200
	round := func(want string, send bool) {
		var wg sync.WaitGroup
		sem := make(chan struct{}, 50)
		for i := range emails {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				id := fmt.Sprintf("<%d@x>", i)
				state, err := w.record(ctx, account, EmailArgs{Template: TemplateNotification, To: "owner@example.com"}, newRecord(account, id).msg)
				if err != nil || state != want {
					t.Errorf("%s: state %q, err %v; want %q", id, state, err, want)
					return
				}
				if send {
					if err := w.recordSend(ctx, id, EmailOutbox, nil); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
	}
	round(EmailPending, true)
	round(EmailOutbox, false)
	var rows, outbox int
	if err := w.DB.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE state = 'outbox' AND sent_at IS NOT NULL) FROM outbound_emails`).Scan(&rows, &outbox); err != nil {
		t.Fatal(err)
	}
	if rows != emails || outbox != emails {
		t.Errorf("%d rows, %d in the outbox; want %d of each", rows, outbox, emails)
	}
}

// A batch of send outcomes: each email's row takes its own; of two
// outcomes of one email, the later; an error keeps sent_at empty.
func TestSendBatch(t *testing.T) {
	t.Parallel()
	w, account := newRecordWorker(t)
	ctx := context.Background()
	var recs []*emailRecord
	for _, id := range []string{"<ok@x>", "<retry@x>", "<twice@x>"} {
		recs = append(recs, newRecord(account, id))
	}
	w.recordBatch(recs)
	refused := "550 no such mailbox"
	done := func(id, state string, errText *string) *sendRecord {
		return &sendRecord{messageID: id, state: state, errText: errText, done: make(chan struct{})}
	}
	batch := []*sendRecord{done("<ok@x>", EmailSent, nil), done("<retry@x>", "", &refused),
		done("<twice@x>", "", &refused), done("<twice@x>", EmailSent, nil)}
	w.sendBatch(batch)
	for _, s := range batch {
		if s.err != nil {
			t.Errorf("%s: %v", s.messageID, s.err)
		}
	}
	for id, want := range map[string]string{"<ok@x>": "sent/true/", "<retry@x>": "pending/false/" + refused, "<twice@x>": "sent/true/"} {
		var got string
		if err := w.DB.QueryRow(ctx, `SELECT state || '/' || (sent_at IS NOT NULL) || '/' || coalesce(error, '') FROM outbound_emails WHERE message_id = $1`, id).Scan(&got); err != nil || got != want {
			t.Errorf("%s: %q (%v), want %q", id, got, err, want)
		}
	}
}
