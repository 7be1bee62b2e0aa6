package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/submissions"
	"github.com/intakehq/intake/webhooks"
)

// sendTestSubmission sends the form a submission with sample values (the
// example a webhook receiver is shown: webhooks.Example) through the same
// path as any other — stored, notified by email and webhooks — marked as a
// test. The page's key (key, made when the page was drawn) makes a double
// click one submission. It goes to the submission, or back to the form's
// page saying why not.
func (d *Dashboard) sendTestSubmission(w http.ResponseWriter, r *http.Request) {
	f, err := d.formFor(r)
	if !d.parseFormFor(w, r, err) {
		return
	}
	page := "/forms/" + f.PublicID
	if d.Submissions == nil {
		d.redirect(w, r, page, flash{Kind: flashError, Message: "This server takes no test submissions."})
		return
	}
	key := r.PostFormValue("key")
	if _, err := uuid.Parse(key); err != nil {
		key = uuid.NewString() // none, or not the page's: this click alone
	}
	body, err := json.Marshal(webhooks.Example(f, time.Now()).Data)
	if err != nil {
		d.error(w, r, err)
		return
	}
	p, err := submissions.Parse("application/json", bytes.NewReader(body), submissions.DefaultLimits)
	if err != nil {
		d.error(w, r, err)
		return
	}
	res, err := d.Submissions.Accept(r.Context(), submissions.Request{FormID: f.PublicID, Payload: p, Key: "dashboard-test-" + key,
		IP: d.clientIP(r), UserAgent: r.UserAgent(), Test: true})
	if err != nil {
		e := intake.Describe(err)
		if e == nil || e.Kind == intake.Internal || e.Kind == intake.Unavailable {
			d.error(w, r, err)
			return
		}
		msg := "No test submission was sent: " + e.Detail
		var invalid *forms.ValidationError
		if errors.As(err, &invalid) {
			msg = "No test submission was sent: the sample values do not meet the form’s rules (" + fieldsText(invalid) +
				"). Send one from its hosted page instead, with values that do."
		}
		d.redirect(w, r, page, flash{Kind: flashError, Message: msg})
		return
	}
	msg := "Test submission sent with sample values. Its notification email and webhooks go out as for any other."
	if res.Outcome == submissions.OutcomeReplayed {
		msg = "That test submission was sent already (the button was pressed twice): here it is."
	}
	d.redirect(w, r, page+"/submissions/"+submissions.FormatID(res.SubmissionID), flash{Kind: flashSuccess, Message: msg})
}

// fieldsText names the fields of a validation error, with what is wrong
// with each, in one line.
func fieldsText(e *forms.ValidationError) string {
	var parts []string
	for _, f := range e.Describe().Fields {
		parts = append(parts, f.Message)
	}
	return strings.Join(parts, "; ")
}
