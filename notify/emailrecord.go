package notify

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/intakehq/intake/internal/group"
	"github.com/intakehq/intake/mail"
)

// An email worker's two writes — the email recorded before it is sent and
// its state after — are shared among the workers busy at the same moment
// (internal/group): with fifty workers under load, one statement records
// the emails of a fetch instead of a transaction each. One transaction per
// email made its record cost as much Postgres time as the whole
// submission's write, most of it waiting: every row locks its account's
// row for its foreign key, and fifty lockers of one row at once make
// multixacts (docs/BENCHMARKS.md, "Where Postgres's time goes"). A batch
// that fails is tried again one email at a time, so one email's error
// stays its own. An email alone is written at once.

// recordTimeout bounds a batch, which runs on no job's context.
const recordTimeout = 30 * time.Second

// emailBatches is how many batches of each write run at once.
const emailBatches = 2

// emailRecord is one email to record, and then its row's state.
type emailRecord struct {
	accountID int64
	subID     pgtype.UUID
	kind, to  string
	msg       *mail.Message

	done  chan struct{} // closed when state and err are set
	state string
	err   error
}

// sendRecord is one send's outcome to record.
type sendRecord struct {
	messageID, state string
	errText          *string

	done chan struct{} // closed when err is set
	err  error
}

type emailWrites struct {
	once    sync.Once
	records group.Batcher[*emailRecord]
	sends   group.Batcher[*sendRecord]
}

func (w *EmailWorker) writes() *emailWrites {
	w.batches.once.Do(func() {
		w.batches.records = group.Batcher[*emailRecord]{Run: w.recordBatch, Concurrent: emailBatches}
		w.batches.sends = group.Batcher[*sendRecord]{Run: w.sendBatch, Concurrent: emailBatches}
	})
	return &w.batches
}

// record stores msg under its Message-ID (once) and returns the row's
// state: pending when this call stored it, else what an earlier attempt
// left.
func (w *EmailWorker) record(ctx context.Context, accountID int64, args EmailArgs, msg *mail.Message) (string, error) {
	r := &emailRecord{accountID: accountID, kind: args.Template, to: args.To, msg: msg, done: make(chan struct{})}
	if args.SubmissionID != [16]byte{} {
		r.subID = pgtype.UUID{Bytes: args.SubmissionID, Valid: true}
	}
	w.writes().records.Add(r)
	select {
	case <-r.done:
		return r.state, r.err
	case <-ctx.Done():
		return "", ctx.Err() // the batch goes on; the job's next attempt finds the row
	}
}

// recordEmailsSQL inserts the emails not recorded yet and returns every
// email's state: the new rows' from the insert, the others' as they were.
// A row another transaction is inserting at the same moment is in neither
// (the statement's snapshot predates it): that email's record fails and
// its job runs again.
const recordEmailsSQL = `
WITH v AS (
	SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
		AS v (account_id, submission_id, kind, message_id, recipient, subject, body_text, body_html)
	ORDER BY message_id
), ins AS (
	INSERT INTO outbound_emails (account_id, submission_id, kind, message_id, recipient, subject, body_text, body_html)
	SELECT * FROM v
	ON CONFLICT (message_id) DO NOTHING
	RETURNING message_id, state
)
SELECT message_id, state FROM ins
UNION ALL
SELECT message_id, state FROM outbound_emails WHERE message_id = ANY ($4)`

func (w *EmailWorker) recordBatch(batch []*emailRecord) {
	ctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
	defer cancel()
	states, err := w.recordEmails(ctx, batch)
	if err != nil && len(batch) > 1 {
		for _, r := range batch {
			w.recordBatch([]*emailRecord{r})
		}
		return
	}
	// Two jobs of one email in a batch: the first has the row's state,
	// the other is told what a concurrent insert would tell it — lest
	// both read pending and both send.
	seen := make(map[string]bool, len(batch))
	for _, r := range batch {
		id := r.msg.MessageID
		r.state, r.err = states[id], err
		if err == nil && (r.state == "" || seen[id]) {
			r.state, r.err = "", errRecordRace
		}
		seen[id] = true
		close(r.done)
	}
}

var errRecordRace = errors.New("the email is being recorded by another attempt at this moment")

func (w *EmailWorker) recordEmails(ctx context.Context, batch []*emailRecord) (map[string]string, error) {
	n := len(batch)
	var (
		accounts = make([]int64, 0, n)
		subs     = make([]pgtype.UUID, 0, n)
		cols     [6][]string
	)
	for _, r := range batch {
		accounts = append(accounts, r.accountID)
		subs = append(subs, r.subID)
		for i, v := range []string{r.kind, r.msg.MessageID, r.to, r.msg.Subject, r.msg.Text, r.msg.HTML} {
			cols[i] = append(cols[i], v)
		}
	}
	rows, err := w.DB.Query(ctx, recordEmailsSQL, accounts, subs, cols[0], cols[1], cols[2], cols[3], cols[4], cols[5])
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	states := make(map[string]string, n)
	for rows.Next() {
		var id, state string
		if err := rows.Scan(&id, &state); err != nil {
			return nil, err
		}
		states[id] = state
	}
	return states, rows.Err()
}

// recordSend records a send's outcome on the email's row: its new state
// (empty leaves it), its error, and when it went out (no error).
func (w *EmailWorker) recordSend(ctx context.Context, messageID, state string, errText *string) error {
	s := &sendRecord{messageID: messageID, state: state, errText: errText, done: make(chan struct{})}
	w.writes().sends.Add(s)
	select {
	case <-s.done:
		return s.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// recordSendsSQL is recordSend for many emails.
const recordSendsSQL = `
UPDATE outbound_emails e SET state = coalesce(nullif(v.state, ''), e.state), error = v.error,
	sent_at = CASE WHEN v.error IS NULL THEN now() ELSE e.sent_at END
FROM (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) AS v (message_id, state, error) ORDER BY message_id) v
WHERE e.message_id = v.message_id`

func (w *EmailWorker) sendBatch(batch []*sendRecord) {
	ctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
	defer cancel()
	// One outcome per email: should two attempts of one email meet in a
	// batch, the later one's stands (an UPDATE … FROM changes a row once).
	last := map[string]*sendRecord{}
	for _, s := range batch {
		last[s.messageID] = s
	}
	ids := slices.Sorted(func(yield func(string) bool) {
		for id := range last {
			if !yield(id) {
				return
			}
		}
	})
	states, errs := make([]string, 0, len(ids)), make([]*string, 0, len(ids))
	for _, id := range ids {
		states, errs = append(states, last[id].state), append(errs, last[id].errText)
	}
	_, err := w.DB.Exec(ctx, recordSendsSQL, ids, states, errs)
	if err != nil && len(batch) > 1 {
		for _, s := range batch {
			w.sendBatch([]*sendRecord{s})
		}
		return
	}
	for _, s := range batch {
		s.err = err
		close(s.done)
	}
}
