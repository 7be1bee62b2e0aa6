package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/notify"
	"github.com/intakehq/intake/submissions"
	"github.com/intakehq/intake/webhooks"
)

// notifyEmailView is the page of a form's notification email: its wording
// and a preview of it with a submission's values.
type notifyEmailView struct {
	base
	FormID, FormName string
	Subject, Body    string
	Names            []string // the placeholders the wording may use
	Errors           map[string]string
	// The preview: the email as its addresses get it, with the values of
	// Sample ("your latest submission", or made-up values).
	PreviewSubject, PreviewText, Sample string
	Unsaved                             bool // the preview shows wording not saved yet
}

// notifyEmailPage shows the form's notification email as saved.
func (d *Dashboard) notifyEmailPage(w http.ResponseWriter, r *http.Request) {
	f, err := d.formFor(r)
	if err != nil {
		d.error(w, r, err)
		return
	}
	ne := f.Settings.NotificationEmail
	d.renderNotifyEmail(w, r, http.StatusOK, f, notifyEmailView{Subject: ne.Subject, Body: ne.Body})
}

// saveNotifyEmail previews the wording posted (op=preview) or saves it
// (op=save), as a change of the form's settings (form.update).
func (d *Dashboard) saveNotifyEmail(w http.ResponseWriter, r *http.Request) {
	f, err := d.formFor(r)
	if !d.parseFormFor(w, r, err) {
		return
	}
	ne := forms.NotificationEmail{Subject: strings.TrimSpace(r.PostFormValue("subject")),
		Body: strings.TrimSpace(strings.ReplaceAll(r.PostFormValue("body"), "\r\n", "\n"))}
	v := notifyEmailView{Subject: ne.Subject, Body: ne.Body, Unsaved: true}
	// Checked as a save checks it, to say what is wrong before saving.
	in := forms.Input{Name: f.Name, Fields: f.Contract.Fields, Settings: f.Settings}
	in.Settings.NotificationEmail = ne
	in.Settings.Captcha.Secret = nil
	err = d.Validator.CheckChange(f, in)
	if err == nil && r.PostFormValue("op") == "save" {
		raw, merr := json.Marshal(map[string]forms.NotificationEmail{"notification_email": ne})
		if merr != nil {
			d.error(w, r, merr)
			return
		}
		_, err = forms.Update(r.Context(), d.DB, d.Validator, d.Sealer, d.Recipients, d.actor(r), user(r).AccountID, f.PublicID, forms.Patch{Settings: raw})
		if err == nil {
			d.redirect(w, r, "/forms/"+f.PublicID+"/email", flash{Kind: flashSuccess, Message: "Saved: the next notification of this form is worded so."})
			return
		}
	}
	var invalid *forms.ValidationError
	if errors.As(err, &invalid) {
		v.Errors = map[string]string{}
		for _, e := range invalid.Errors {
			if key := strings.TrimPrefix(e.Pointer, forms.Pointer("settings", "notification_email")+"/"); key == "subject" || key == "body" {
				v.Errors[key] = strings.TrimSpace(v.Errors[key] + " " + e.Message)
			}
		}
		if len(v.Errors) == 0 { // something else of the form is wrong: not this page's
			d.error(w, r, err)
			return
		}
		d.renderNotifyEmail(w, r, http.StatusUnprocessableEntity, f, v)
		return
	}
	if err != nil {
		d.error(w, r, err)
		return
	}
	d.renderNotifyEmail(w, r, http.StatusOK, f, v)
}

func (d *Dashboard) renderNotifyEmail(w http.ResponseWriter, r *http.Request, status int, f *forms.Form, v notifyEmailView) {
	v.FormID, v.FormName = f.PublicID, f.Name
	for _, fl := range f.Contract.Fields {
		v.Names = append(v.Names, fl.Name)
	}
	v.Names = append(v.Names, forms.PlaceholderForm, forms.PlaceholderID)
	if v.Errors == nil {
		no := false
		latest, _, err := submissions.List(r.Context(), d.DB, submissions.ListParams{Filter: submissions.Filter{FormID: f.ID, Spam: &no}, Limit: 1})
		if err != nil {
			d.error(w, r, err)
			return
		}
		sample, what := webhooks.Example(f, time.Now()), "made-up values (the form has no submission yet)"
		if len(latest) > 0 {
			sample, what = latest[0], "the values of your latest submission"
		}
		shown := *f
		shown.Settings.NotificationEmail = forms.NotificationEmail{Subject: v.Subject, Body: v.Body}
		m := notify.Preview(&shown, sample, d.BaseURL, "")
		v.PreviewSubject, v.PreviewText, v.Sample = m.Subject, m.Text, what
	}
	v.base = d.base(w, r, "Notification email · "+f.Name, "forms", formCrumbs(f, crumb{Label: "Notification email"})...)
	renderPage(d, w, r, status, tmplNotifyEmail, v)
}
