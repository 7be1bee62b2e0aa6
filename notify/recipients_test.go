package notify_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/idempotency"
	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/mail"
	"github.com/intakehq/intake/notify"
	"github.com/intakehq/intake/submissions"
)

// wireMsg is a message as the SMTP server got it, decoded.
type wireMsg struct {
	Header     netmail.Header
	Text, HTML string
}

// To is the message's one To address.
func (m wireMsg) To() string {
	a, _ := netmail.ParseAddress(m.Header.Get("To"))
	if a == nil {
		return m.Header.Get("To")
	}
	return a.Address
}

func (m wireMsg) Subject() string {
	s, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	return s
}

// all is everything a reader of the message sees.
func (m wireMsg) all() string {
	var b strings.Builder
	for k, v := range m.Header {
		b.WriteString(k + ": " + strings.Join(v, ", ") + "\n")
	}
	b.WriteString(m.Subject() + "\n" + m.Text + "\n" + m.HTML)
	return b.String()
}

func parseWire(t *testing.T, raw []byte) wireMsg {
	t.Helper()
	m, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("message on the wire: %v", err)
	}
	w := wireMsg{Header: m.Header}
	mt, params, _ := mime.ParseMediaType(m.Header.Get("Content-Type"))
	part := func(ct, cte string, body io.Reader) {
		b, _ := io.ReadAll(body)
		if strings.EqualFold(cte, "base64") {
			b, _ = base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(b)))
		}
		if strings.HasPrefix(ct, "text/html") {
			w.HTML = string(b)
		} else {
			w.Text = string(b)
		}
	}
	if !strings.HasPrefix(mt, "multipart/") {
		part(mt, m.Header.Get("Content-Transfer-Encoding"), m.Body) // quoted-printable: see below
		return w
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart() // decodes quoted-printable itself
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("message part: %v", err)
		}
		part(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p)
	}
	return w
}

// wire returns the messages the server got, decoded, from the n-th on.
func (s *smtpServer) wire(t *testing.T, from int) []wireMsg {
	t.Helper()
	raw, _ := s.received()
	var out []wireMsg
	for _, r := range raw[from:] {
		out = append(out, parseWire(t, r))
	}
	return out
}

var (
	confirmLink     = regexp.MustCompile(`http://intake\.test/confirm\?token=([A-Za-z0-9_-]+)`)
	unsubscribeLink = regexp.MustCompile(`http://intake\.test/unsubscribe\?token=([A-Za-z0-9_.-]+)`)
)

// newForm creates a form as the API and dashboard do: its notification
// addresses kept, their confirmations enqueued.
func (b *bundle) newForm(t *testing.T, s forms.Settings) *forms.Form {
	t.Helper()
	f, err := forms.Create(context.Background(), b.DB, forms.NewValidator(), nil, b.sync, audit.System, b.Account.User.AccountID,
		forms.Input{Name: "Contact", Fields: testfactory.ContactFields, Settings: s})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// setNotify changes the form's notification addresses as an edit would.
func (b *bundle) setNotify(t *testing.T, emails ...string) {
	t.Helper()
	if emails == nil {
		emails = []string{}
	}
	patch := fmt.Appendf(nil, `{"notify_emails": %s}`, jsonList(emails))
	f, err := forms.Update(context.Background(), b.DB, forms.NewValidator(), nil, b.sync, audit.System, b.Account.User.AccountID, b.Form.PublicID,
		forms.Patch{Settings: patch})
	if err != nil {
		t.Fatal(err)
	}
	b.Form = f
}

func jsonList(s []string) string {
	q := make([]string, len(s))
	for i, e := range s {
		q[i] = `"` + e + `"`
	}
	return "[" + strings.Join(q, ",") + "]"
}

// The relay: a form listing 20 addresses, posted to by anyone,
// mails none of them a submission until each has confirmed. Each gets one
// confirmation, with nothing the poster typed; the one that confirms gets
// the next submission, with RFC 8058's headers, and unsubscribing by its
// link stops it.
func TestNotifyEmailsNeedConfirmation(t *testing.T) {
	t.Parallel()
	srv := newSMTPServer(t)
	m, err := mail.NewSMTP("smtp://" + srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	b := setup(t, m)
	ctx := context.Background()
	var list []string
	for i := range 20 {
		list = append(list, fmt.Sprintf("colleague%02d@example.com", i))
	}
	b.Form = b.newForm(t, forms.Settings{NotifyEmails: list})
	posted := map[string]any{"email": "poster@example.com", "message": "BUY CHEAP PILLS at spam.example", "_subject": "You won"}
	b.Submit(t, "first", posted)
	b.Settle(t)

	got := srv.wire(t, 0)
	if len(got) != 20 {
		t.Fatalf("the SMTP server got %d messages, want 20 confirmations", len(got))
	}
	tokens := map[string]string{}
	for _, msg := range got {
		if !strings.HasPrefix(msg.Subject(), "Confirm notifications") {
			t.Errorf("%s got %q before confirming; want only the confirmation", msg.To(), msg.Subject())
		}
		if s := msg.all(); strings.Contains(s, "PILLS") || strings.Contains(s, "You won") || strings.Contains(s, "poster@") {
			t.Errorf("the confirmation to %s carries what the poster typed:\n%s", msg.To(), s)
		}
		link := confirmLink.FindStringSubmatch(msg.Text)
		if link == nil || !strings.Contains(msg.HTML, link[0]) {
			t.Fatalf("confirmation to %s has no link in both bodies:\n%s\n%s", msg.To(), msg.Text, msg.HTML)
		}
		tokens[msg.To()] = link[1]
	}
	if len(tokens) != 20 {
		t.Errorf("confirmations went to %d distinct addresses, want 20", len(tokens))
	}
	if n := b.Count(t, `SELECT count(*) FROM outbound_emails WHERE kind = 'notification'`); n != 0 {
		t.Errorf("%d notifications recorded before any confirmation, want 0", n)
	}
	// The outbox copy, which the owner reads, cannot confirm for them.
	for _, token := range tokens {
		if n := b.Count(t, `SELECT count(*) FROM outbound_emails WHERE body_text LIKE '%' || $1 || '%'`, token); n != 0 {
			t.Fatalf("the outbox keeps a live confirmation link")
		}
	}
	if n := b.Count(t, `SELECT count(*) FROM river_job WHERE args::text LIKE '%' || $1 || '%'`, tokens[list[0]]); n != 0 {
		t.Fatalf("a job's args hold a live confirmation link")
	}

	// A fetch of the page changes nothing; the token confirms once.
	if p, err := notify.PendingFor(ctx, b.DB, tokens[list[0]]); err != nil || p.Email != list[0] || p.FormName != "Contact" {
		t.Fatalf("PendingFor = %+v, %v", p, err)
	}
	if p, err := notify.Confirm(ctx, b.DB, tokens[list[0]], ""); err != nil || p.Email != list[0] {
		t.Fatalf("Confirm = %+v, %v", p, err)
	}
	if _, err := notify.Confirm(ctx, b.DB, tokens[list[0]], ""); !errors.Is(err, notify.ErrLinkNotFound) {
		t.Errorf("a used token confirmed again: %v", err)
	}
	if _, err := notify.Confirm(ctx, b.DB, "not-a-token-anyone-was-sent", ""); !errors.Is(err, notify.ErrLinkNotFound) {
		t.Errorf("an unknown token: %v", err)
	}

	b.Submit(t, "second", posted)
	b.Settle(t)
	got = srv.wire(t, 20)
	if len(got) != 1 || got[0].To() != list[0] {
		t.Fatalf("after one confirmation the submission went to %d messages (%v), want one to %s", len(got), got, list[0])
	}
	n := got[0]
	link := unsubscribeLink.FindStringSubmatch(n.Header.Get("List-Unsubscribe"))
	if link == nil || n.Header.Get("List-Unsubscribe") != "<"+link[0]+">" {
		t.Fatalf("List-Unsubscribe = %q", n.Header.Get("List-Unsubscribe"))
	}
	if h := n.Header.Get("List-Unsubscribe-Post"); h != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post = %q", h)
	}
	if !strings.Contains(n.Text, "Stop these emails: "+link[0]) || !strings.Contains(n.HTML, link[0]) {
		t.Errorf("the unsubscribe link is not visible in both bodies:\n%s\n%s", n.Text, n.HTML)
	}

	if _, err := b.deps.Links.Unsubscribe(ctx, b.DB, link[1], ""); err != nil {
		t.Fatal(err)
	}
	forged := link[1][:len(link[1])-2] + "AA"
	if _, err := b.deps.Links.Unsubscribe(ctx, b.DB, forged, ""); !errors.Is(err, notify.ErrLinkNotFound) {
		t.Errorf("a forged unsubscribe token: %v", err)
	}
	b.Submit(t, "third", posted)
	b.Settle(t)
	if got := srv.wire(t, 21); len(got) != 0 {
		t.Errorf("after unsubscribing, %d more messages (to %s), want none", len(got), got[0].To())
	}
	if n := b.Count(t, `SELECT count(*) FROM notify_recipients WHERE form_id = $1 AND state = 'unsubscribed' AND listed`, b.Form.ID); n != 1 {
		t.Errorf("unsubscribed recipients = %d, want 1", n)
	}
}

// Editing a form in a loop cannot mail-bomb an address: one confirmation
// per address and form a day, however often it is removed and added. A
// removed address is forgotten (its link dies); the owner's own address
// is confirmed at once.
func TestConfirmationAtMostDaily(t *testing.T) {
	t.Parallel()
	m := &ccRefusingMailer{acceptCc: true}
	b := setup(t, m)
	ctx := context.Background()
	b.Form = b.newForm(t, forms.Settings{NotifyEmails: []string{"Target@Example.com"}})
	b.Settle(t)
	first := confirmations(t, m)
	if len(first) != 1 {
		t.Fatalf("confirmations after create = %d, want 1", len(first))
	}
	for range 5 {
		b.setNotify(t)
		b.setNotify(t, "target@example.com")
		b.setNotify(t, "target@example.com") // saved unchanged: nothing new either
	}
	b.Settle(t)
	if got := confirmations(t, m); len(got) != 1 {
		t.Fatalf("confirmations after 5 removals and re-adds = %d, want still 1", len(got))
	}
	if _, err := notify.Confirm(ctx, b.DB, first[0], ""); !errors.Is(err, notify.ErrLinkNotFound) {
		t.Errorf("the link of a removed address still confirms: %v", err)
	}

	// A day later, a re-add mails a new link, and that one confirms.
	if _, err := b.DB.Exec(ctx, `UPDATE notify_recipients SET confirm_sent_at = confirm_sent_at - interval '25 hours'`); err != nil {
		t.Fatal(err)
	}
	b.setNotify(t)
	b.setNotify(t, "target@example.com", b.Account.User.Email)
	b.Settle(t)
	got := confirmations(t, m)
	if len(got) != 2 {
		t.Fatalf("confirmations a day later = %d, want 2 (the owner's own address needs none)", len(got))
	}
	if _, err := notify.Confirm(ctx, b.DB, got[1], ""); err != nil {
		t.Fatal(err)
	}
	rows, err := notify.Recipients(ctx, b.DB, []int64{b.Form.ID})
	if err != nil {
		t.Fatal(err)
	}
	listed := notify.Listed(b.Form, rows[b.Form.ID])
	if len(listed) != 2 || listed[0].State != notify.RecipientConfirmed || listed[1].State != notify.RecipientConfirmed {
		t.Errorf("recipients = %+v, want both confirmed", listed)
	}
}

// One verified account cannot mail a stranger a confirmation per form:
// an address listed on 5 forms gets 3 confirmation emails in a day, over
// all forms, and the other two stay pending without a link until a save
// after the window mails one. Concurrent saves hold the cap too.
func TestConfirmationsCappedPerAddress(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	ctx := context.Background()
	jobs := func(to string) int {
		t.Helper()
		return b.Count(t, `SELECT count(*) FROM river_job WHERE kind = 'email.send'
AND args->>'template' = $1 AND args->>'to' = $2`, notify.TemplateConfirmRecipient, to)
	}
	const victim = "victim@example.com"
	var listing []*forms.Form
	for range 5 {
		listing = append(listing, b.newForm(t, forms.Settings{NotifyEmails: []string{victim}}))
	}
	if n := jobs(victim); n != 3 {
		t.Fatalf("confirmation jobs to an address on 5 forms = %d, want 3", n)
	}
	if n := b.Count(t, `SELECT count(*) FROM notify_recipients WHERE email = $1 AND listed AND state = 'pending' AND token_hash IS NULL AND confirm_sent_at IS NULL`, victim); n != 2 {
		t.Errorf("addresses over the cap pending without a link = %d, want 2", n)
	}
	// Saved again within the day: still nothing.
	b.Form = listing[3]
	b.setNotify(t, victim)
	if n := jobs(victim); n != 3 {
		t.Errorf("confirmation jobs after a save within the day = %d, want 3", n)
	}
	// A day later, a save of a form that waited mails its link.
	if _, err := b.DB.Exec(ctx, `UPDATE notify_recipients SET confirm_sent_at = confirm_sent_at - interval '25 hours'`); err != nil {
		t.Fatal(err)
	}
	b.setNotify(t, victim)
	if n := jobs(victim); n != 4 {
		t.Errorf("confirmation jobs after a save a day later = %d, want 4", n)
	}
	if n := b.Count(t, `SELECT count(*) FROM notify_recipients WHERE form_id = $1 AND token_hash IS NOT NULL`, listing[3].ID); n != 1 {
		t.Errorf("the waiting form's address has no link after the window")
	}

	// Six forms saved at once, listing another address: still 3.
	const other = "other@example.com"
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = forms.Create(ctx, b.DB, forms.NewValidator(), nil, b.sync, audit.System, b.Account.User.AccountID,
				forms.Input{Name: "Contact", Fields: testfactory.ContactFields, Settings: forms.Settings{NotifyEmails: []string{other}}})
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("a concurrent save: %v", err)
		}
	}
	if n := jobs(other); n != 3 {
		t.Errorf("confirmation jobs from 6 concurrent saves = %d, want 3", n)
	}
}

// confirmations returns the tokens of the confirmation emails m sent.
func confirmations(t *testing.T, m *ccRefusingMailer) []string {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, msg := range m.sent {
		if l := confirmLink.FindStringSubmatch(msg.Text); l != nil {
			out = append(out, l[1])
		}
	}
	return out
}

// The owner's own notifications (a form that lists no one) carry the
// unsubscribe link too: it stops that form's mail to the owner until they
// turn it back on in the dashboard.
func TestOwnerUnsubscribesAndResumes(t *testing.T) {
	t.Parallel()
	m := &ccRefusingMailer{acceptCc: true}
	b := setup(t, m)
	ctx := context.Background()
	sent := func() int { m.mu.Lock(); defer m.mu.Unlock(); return len(m.sent) }

	b.Submit(t, "1", testfactory.Contact(1))
	b.Settle(t)
	if sent() != 1 {
		t.Fatalf("sent %d, want the owner's notification", sent())
	}
	m.mu.Lock()
	msg := m.sent[0]
	m.mu.Unlock()
	link := unsubscribeLink.FindStringSubmatch(msg.Headers["List-Unsubscribe"])
	if msg.To[0] != b.Account.User.Email || link == nil || msg.Headers["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click" {
		t.Fatalf("owner's notification to %v with headers %v", msg.To, msg.Headers)
	}
	if _, err := b.deps.Links.Unsubscribe(ctx, b.DB, link[1], ""); err != nil {
		t.Fatal(err)
	}
	second := b.Submit(t, "2", testfactory.Contact(2))
	fourth := b.Submit(t, "4", testfactory.Contact(4))
	b.Settle(t)
	if sent() != 1 {
		t.Fatalf("sent %d after the owner unsubscribed, want still 1", sent())
	}
	// Jobs planned before the unsubscribe (a backlog, a retry) are not
	// sent either: one that names its form (read in one round trip) and
	// one planned before jobs named it (read one query after another).
	planned := func(sub *submissions.Result, form string) {
		t.Helper()
		args := notify.EmailArgs{Template: notify.TemplateNotification, To: b.Account.User.Email, SubmissionID: sub.SubmissionID, Form: form}
		if _, err := b.Client.Insert(ctx, args, nil); err != nil {
			t.Fatal(err)
		}
		b.Settle(t)
	}
	planned(second, b.Form.PublicID)
	planned(fourth, "")
	if sent() != 1 {
		t.Fatalf("sent %d after the owner unsubscribed (jobs planned before), want still 1", sent())
	}
	if ok, err := notify.Resubscribe(ctx, b.DB, audit.System, b.Form, strings.ToUpper(b.Account.User.Email)); err != nil || !ok {
		t.Fatalf("Resubscribe = %v, %v", ok, err)
	}
	b.Submit(t, "3", testfactory.Contact(3))
	b.Settle(t)
	if sent() != 2 {
		t.Fatalf("sent %d after turning notifications back on, want 2", sent())
	}
	planned(second, b.Form.PublicID)
	planned(fourth, "")
	if sent() != 4 {
		t.Fatalf("sent %d after turning notifications back on, want 4: the two jobs of either shape send", sent())
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, msg := range m.sent[2:] {
		if !strings.Contains(msg.Text, b.Form.Name) {
			t.Errorf("an email of a planned job does not name the form %q:\n%s", b.Form.Name, msg.Text)
		}
	}
}

// The autoresponse goes to one address at most three times a day per
// form, counted exactly however many submissions race, and carries the
// owner's text only: nothing the submitter typed.
func TestAutoresponseLimitAndContent(t *testing.T) {
	t.Parallel()
	srv := newSMTPServer(t)
	m, err := mail.NewSMTP("smtp://" + srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	b := setup(t, m)
	ctx := context.Background()
	b.Form = b.newForm(t, forms.Settings{NotifyEmails: []string{b.Account.User.Email},
		Autoresponse: forms.Autoresponse{Enabled: true, Subject: "Thanks from us", Body: "We answer within a day."}})
	victim := "victim@example.com"
	spam := map[string]any{"email": victim, "message": "VISIT evil.example NOW", "_subject": "Injected subject", "name": "Mallory"}
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() { b.Submit(t, fmt.Sprintf("race-%d", i), spam) })
	}
	wg.Wait()
	b.Settle(t)

	var toVictim []wireMsg
	for _, msg := range srv.wire(t, 0) {
		if msg.To() == victim {
			toVictim = append(toVictim, msg)
		}
	}
	if len(toVictim) != notify.AutoresponseLimit {
		t.Fatalf("10 racing submissions sent %d autoresponses to one address, want %d", len(toVictim), notify.AutoresponseLimit)
	}
	for _, msg := range toVictim {
		s := msg.all()
		if strings.Contains(s, "VISIT") || strings.Contains(s, "evil.example") || strings.Contains(s, "Injected") || strings.Contains(s, "Mallory") {
			t.Errorf("the autoresponse carries submitted text:\n%s", s)
		}
		if msg.Subject() != "Thanks from us" || !strings.Contains(msg.Text, "We answer within a day.") {
			t.Errorf("autoresponse %q: %q", msg.Subject(), msg.Text)
		}
	}
	if n := b.Count(t, `SELECT count(*) FROM autoresponses WHERE form_id = $1`, b.Form.ID); n != 3 {
		t.Errorf("autoresponses counted = %d, want 3", n)
	}
	if n := b.Count(t, `SELECT count(*) FROM outbound_emails WHERE kind = 'notification'`); n != 10 {
		t.Errorf("notifications to the owner = %d, want 10 (the limit is the autoresponse's only)", n)
	}

	// Another address has its own three; an address that is not one
	// plain address gets none; a day later the victim may get one again.
	if _, err := b.DB.Exec(ctx, `UPDATE autoresponses SET sent_at = sent_at - interval '25 hours'`); err != nil {
		t.Fatal(err)
	}
	before := len(srv.wire(t, 0))
	b.Submit(t, "later", spam)
	b.Submit(t, "other", map[string]any{"email": "other@example.com", "message": "hi"})
	b.Submit(t, "bad", map[string]any{"email": "ok@example.com", "_replyto": "a@example.com, b@example.com", "message": "hi"})
	b.Settle(t)
	var to []string
	for _, msg := range srv.wire(t, before) {
		if msg.Subject() == "Thanks from us" {
			to = append(to, msg.To())
		}
	}
	if strings.Join(to, " ") != victim+" other@example.com" && strings.Join(to, " ") != "other@example.com "+victim {
		t.Errorf("autoresponses after a day went to %v, want the victim again and other@ (not to a list of addresses)", to)
	}
}

// The limit holds when the autoresponses of many submissions are sent at
// the same instant by as many workers: 20 goroutines start together, 3
// send.
func TestAutoresponseLimitUnderRace(t *testing.T) {
	t.Parallel()
	b := setup(t, nil) // its workers get no autoresponse jobs: the form has none enabled
	ctx := context.Background()
	var subs []uuid.UUID
	for i := range 20 {
		res := b.Submit(t, fmt.Sprintf("k%d", i), map[string]any{"email": "victim@example.com", "message": "hi"})
		subs = append(subs, res.SubmissionID)
	}
	m := &ccRefusingMailer{acceptCc: true}
	w := &notify.EmailWorker{DB: b.DB, Mailer: m, From: "Intake <no-reply@intake.test>", BaseURL: "http://intake.test",
		Links: b.deps.Links, Logger: b.deps.Logger}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, id := range subs {
		wg.Go(func() {
			<-start
			job := &river.Job[notify.EmailArgs]{JobRow: &rivertype.JobRow{Attempt: 1, MaxAttempts: 10},
				Args: notify.EmailArgs{Template: notify.TemplateAutoresponse, To: "Victim@example.com", SubmissionID: id}}
			err := w.Work(ctx, job)
			var cancel *river.JobCancelError
			if err != nil && !errors.As(err, &cancel) {
				t.Errorf("autoresponse: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.sent) != notify.AutoresponseLimit {
		t.Errorf("20 racing autoresponses to one address sent %d, want %d", len(m.sent), notify.AutoresponseLimit)
	}
}

// The autoresponse limits count mailboxes, not spellings: ada+1@ and
// ada+2@ are one, as are Gmail's dotted and googlemail.com forms; and one
// mailbox gets at most AutoresponseLimitPerMailbox a day over all forms.
func TestAutoresponseLimitPerMailbox(t *testing.T) {
	t.Parallel()
	b := setup(t, nil) // its workers get no autoresponse jobs: the forms have none enabled
	ctx := context.Background()
	m := &ccRefusingMailer{acceptCc: true}
	w := &notify.EmailWorker{DB: b.DB, Mailer: m, From: "Intake <no-reply@intake.test>", BaseURL: "http://intake.test",
		Links: b.deps.Links, Logger: b.deps.Logger}
	send := func(key, to string) {
		t.Helper()
		res := b.Submit(t, key, map[string]any{"email": to, "message": "hi"})
		job := &river.Job[notify.EmailArgs]{JobRow: &rivertype.JobRow{Attempt: 1, MaxAttempts: 10},
			Args: notify.EmailArgs{Template: notify.TemplateAutoresponse, To: to, SubmissionID: res.SubmissionID}}
		var cancel *river.JobCancelError
		if err := w.Work(ctx, job); err != nil && !errors.As(err, &cancel) {
			t.Fatalf("autoresponse to %s: %v", to, err)
		}
	}
	sent := func() int {
		m.mu.Lock()
		defer m.mu.Unlock()
		return len(m.sent)
	}
	for i, to := range []string{"a.b.c@gmail.com", "abc@gmail.com", "ABC+x@googlemail.com", "a.bc+y@gmail.com"} {
		send(fmt.Sprintf("gmail-%d", i), to)
	}
	if n := sent(); n != notify.AutoresponseLimit {
		t.Fatalf("four spellings of one Gmail mailbox got %d autoresponses from one form, want %d", n, notify.AutoresponseLimit)
	}
	// Four forms, three tagged spellings each: the mailbox's own limit
	// stops the eleventh.
	before := sent()
	for f := range 4 {
		b.Form = b.newForm(t, forms.Settings{})
		for i := range notify.AutoresponseLimit {
			send(fmt.Sprintf("form-%d-%d", f, i), fmt.Sprintf("victim+%d-%d@example.com", f, i))
		}
	}
	if n := sent() - before; n != notify.AutoresponseLimitPerMailbox {
		t.Errorf("one mailbox got %d autoresponses over four forms, want %d", n, notify.AutoresponseLimitPerMailbox)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if last := m.sent[len(m.sent)-1]; !strings.HasPrefix(last.To[0], "victim+") {
		t.Errorf("the autoresponse went to %v, want the address as written", last.To)
	}
}

// The periodic sweep (as notify.Workers wires it) forgets autoresponse
// records past the window, which
// hold the address: only a new autoresponse to the same mailbox did before,
// so the others stayed for good. A record within the window is kept.
func TestSweepAutoresponses(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	ctx := context.Background()
	if _, err := b.DB.Exec(ctx, `INSERT INTO autoresponses (submission_id, form_id, recipient, sent_at) VALUES
	(gen_random_uuid(), $1, 'old@example.com', now() - interval '25 hours'),
	(gen_random_uuid(), $1, 'new@example.com', now() - interval '23 hours')`, b.Form.ID); err != nil {
		t.Fatal(err)
	}
	// The periodic job, through the workers a process runs (notify.Workers).
	if _, err := b.Client.Insert(ctx, idempotency.SweepArgs{}, nil); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); b.Count(t, `SELECT count(*) FROM river_job WHERE kind = 'idempotency.sweep' AND state = 'completed'`) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the sweep did not run")
		}
		time.Sleep(20 * time.Millisecond)
	}
	var left string
	if err := b.DB.QueryRow(ctx, `SELECT string_agg(recipient, ',') FROM autoresponses`).Scan(&left); err != nil || left != "new@example.com" {
		t.Errorf("after the sweep: %q (%v), want only new@example.com", left, err)
	}
}

// A job that names another form than its submission's (never planned so)
// is still about its submission: the email names the submission's form.
func TestNotificationJobNamingAnotherForm(t *testing.T) {
	t.Parallel()
	m := &ccRefusingMailer{acceptCc: true}
	b := setup(t, m)
	ctx := context.Background()
	other := testfactory.NewForm(ctx, t, b.DB, b.Account.User.AccountID, &testfactory.FormOpts{Name: "Another form entirely"})
	res := b.Submit(t, "1", testfactory.Contact(1))
	b.Settle(t)
	// The planner names the form, so the worker reads in one round trip.
	if n := b.Count(t, `SELECT count(*) FROM river_job WHERE kind = 'email.send' AND args->>'form' = $1`, b.Form.PublicID); n != 1 {
		t.Errorf("%d planned email jobs name their form, want 1", n)
	}
	// Another form, and a form that does not exist (nor could: not a
	// public id): both still email about the submission's own form.
	for _, named := range []string{other.PublicID, "not-a-form"} {
		args := notify.EmailArgs{Template: notify.TemplateNotification, To: "reader-" + named + "@example.com", SubmissionID: res.SubmissionID, Form: named}
		if _, err := b.Client.Insert(ctx, args, nil); err != nil {
			t.Fatal(err)
		}
	}
	b.Settle(t)
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.sent) != 3 {
		t.Fatalf("sent %d emails, want the owner's and the two jobs'", len(m.sent))
	}
	for _, msg := range m.sent[1:] {
		if !strings.HasPrefix(msg.To[0], "reader-") || !strings.Contains(msg.Text, b.Form.Name) || strings.Contains(msg.Text, other.Name) {
			t.Errorf("the job's email to %v names the wrong form:\n%s", msg.To, msg.Text)
		}
	}
}
