package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/intakehq/intake/notify"
	"github.com/intakehq/intake/submissions"
)

// outboxView is the data of the email outbox: every email of the account.
type outboxView struct {
	base
	Emails   []emailRow
	FirstURL string // the newest emails; "" when shown
	NextURL  string // older emails; "" on the last page
}

type emailRow struct {
	URL       string
	Kind      string // what the email is, in words
	State     string // pending, sent, outbox, failed
	Recipient string
	Subject   string
	FormName  string
	Error     string
	CreatedAt time.Time
}

// emailView is the data of one email's page.
type emailView struct {
	base
	emailRow
	MessageID     string
	SentAt        time.Time // zero: not sent
	SubmissionURL string    // "" when there is no submission (any more)
	FormURL       string
	Body          string // the text part
}

// emailsPerPage is how many emails the outbox lists at once.
const emailsPerPage = 50

var emailKinds = map[string]string{
	notify.TemplateNotification:     "Notification",
	notify.TemplateAutoresponse:     "Autoresponse",
	notify.TemplateEndpointDisabled: "Webhook disabled",
	notify.TemplateVerifyAddress:    "Address verification",
	notify.TemplatePasswordReset:    "Password reset",
	notify.TemplateConfirmRecipient: "Address confirmation",
}

func toEmailRow(m *notify.OutboundEmail) emailRow {
	return emailRow{URL: "/outbox/" + strconv.FormatInt(m.ID, 10), Kind: orDefault(emailKinds[m.Kind], m.Kind), State: m.State,
		Recipient: m.Recipient, Subject: m.Subject, FormName: m.FormName, Error: m.Error, CreatedAt: m.CreatedAt}
}

func (d *Dashboard) outboxPage(w http.ResponseWriter, r *http.Request) {
	var before *int64
	v := outboxView{}
	if c := r.URL.Query().Get("before"); c != "" {
		if n, err := strconv.ParseInt(c, 10, 64); err == nil {
			before = &n
			v.FirstURL = "/outbox"
		}
	}
	list, err := notify.OutboundEmails(r.Context(), d.DB, user(r).AccountID, user(r).Email, before, emailsPerPage+1)
	if err != nil {
		d.error(w, r, err)
		return
	}
	if len(list) > emailsPerPage {
		list = list[:emailsPerPage]
		v.NextURL = "/outbox?before=" + strconv.FormatInt(list[emailsPerPage-1].ID, 10)
	}
	for _, m := range list {
		v.Emails = append(v.Emails, toEmailRow(m))
	}
	v.base = d.base(w, r, "Email outbox", "outbox", crumb{Label: "Email outbox"})
	renderPage(d, w, r, http.StatusOK, tmplOutbox, v)
}

func (d *Dashboard) emailPage(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(chi.URLParam(r, "email_id"), 10, 64)
	if err != nil {
		d.error(w, r, errNotFound)
		return
	}
	m, err := notify.OutboundEmailForAccount(r.Context(), d.DB, user(r).AccountID, user(r).Email, id)
	if err != nil {
		d.error(w, r, err)
		return
	}
	v := emailView{emailRow: toEmailRow(m), MessageID: m.MessageID, Body: m.BodyText}
	if m.SentAt != nil {
		v.SentAt = *m.SentAt
	}
	if m.FormPublicID != "" {
		v.FormURL = "/forms/" + m.FormPublicID
		if m.SubmissionID != nil {
			v.SubmissionURL = v.FormURL + "/submissions/" + submissions.FormatID(*m.SubmissionID)
		}
	}
	v.base = d.base(w, r, "Email · "+m.Subject, "outbox", crumb{Label: "Email outbox", URL: "/outbox"}, crumb{Label: "Email"})
	renderPage(d, w, r, http.StatusOK, tmplEmail, v)
}
