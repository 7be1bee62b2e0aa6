package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/intakehq/intake/forms"
)

// Saving the editor: a new form or a change, and the errors placed back
// beside the fields and settings they are about.

func (d *Dashboard) createForm(w http.ResponseWriter, r *http.Request) {
	if !d.parseForm(w, r) {
		return
	}
	v := readEditor(r)
	v.New, v.Action, v.CancelURL = true, "/forms/new", "/forms"
	if op, i := editOp(r); v.applyOp(op, i) {
		d.renderEditor(w, r, http.StatusOK, nil, v)
		return
	}
	in, errs, rowOf := v.input()
	var f *forms.Form
	err := d.Validator.CheckInput(in)
	if err == nil && len(errs.Errors) == 0 {
		f, err = forms.Create(r.Context(), d.DB, d.Validator, d.Sealer, d.Recipients, d.actor(r), user(r).AccountID, in)
	}
	if d.editorFailed(w, r, nil, &v, errs, err, rowOf) {
		return
	}
	d.redirect(w, r, "/forms/"+f.PublicID, flash{Kind: flashSuccess,
		Message: "Form “" + f.Name + "” created. Its endpoint and ready-made snippets are below."})
}

func (d *Dashboard) updateForm(w http.ResponseWriter, r *http.Request) {
	f, err := d.formFor(r)
	if !d.parseFormFor(w, r, err) {
		return
	}
	v := readEditor(r)
	v.Action, v.CancelURL, v.ContractVersion = "/forms/"+f.PublicID+"/edit", "/forms/"+f.PublicID, f.Contract.Version
	v.UpdatedAt = r.PostFormValue("updated_at")
	if op, i := editOp(r); v.applyOp(op, i) {
		d.renderEditor(w, r, http.StatusOK, f, v)
		return
	}
	v.Settings.CaptchaSecretSet = f.Settings.Captcha.SecretSet
	in, errs, rowOf := v.input()
	var updated *forms.Form
	err = d.Validator.CheckChange(f, in)
	if err == nil && len(errs.Errors) == 0 {
		settings, merr := editorSettings(in.Settings)
		if merr != nil {
			d.error(w, r, merr)
			return
		}
		patch := forms.Patch{Name: &in.Name, Fields: &in.Fields, Settings: settings}
		if since, perr := time.Parse(time.RFC3339Nano, v.UpdatedAt); perr == nil {
			patch.UnchangedSince = &since
		}
		updated, err = forms.Update(r.Context(), d.DB, d.Validator, d.Sealer, d.Recipients, d.actor(r), user(r).AccountID, f.PublicID, patch)
		if errors.Is(err, forms.ErrStale) {
			// Another tab or person saved meanwhile. Keep what this owner
			// typed, say so, and let the next save go through on purpose.
			v.UpdatedAt = f.UpdatedAt.UTC().Format(time.RFC3339Nano)
			err = &forms.ValidationError{Errors: []forms.FieldError{{Field: "name", Code: forms.CodeInvalid, Pointer: forms.Pointer("name"),
				Message: fmt.Sprintf("This form was changed elsewhere after you opened the editor (its fields are at version %d now). "+
					"Your changes are still below: compare them with the form's page, then save again to keep them.", f.Contract.Version)}}}
		}
	}
	if d.editorFailed(w, r, f, &v, errs, err, rowOf) {
		return
	}
	msg := "Changes saved."
	if updated.Contract.Version != f.Contract.Version {
		msg = fmt.Sprintf("Changes saved. The fields are at version %d now; submissions already stored keep the fields they came with.",
			updated.Contract.Version)
	}
	d.redirect(w, r, "/forms/"+f.PublicID, flash{Kind: flashSuccess, Message: msg})
}

// editorSettings is the settings patch of a save: only the members the
// editor has inputs for, so that a setting it does not show (one added
// after it) keeps its value rather than being reset.
func editorSettings(s forms.Settings) (json.RawMessage, error) {
	raw, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil {
		return nil, err
	}
	for k := range members {
		if !slices.Contains(settingKeys, k) {
			delete(members, k)
		}
	}
	return json.Marshal(members)
}

// editorFailed re-renders the editor with every error next to its input
// (422) and says so; other errors go to the error page. It returns false
// when there was nothing wrong.
func (d *Dashboard) editorFailed(w http.ResponseWriter, r *http.Request, f *forms.Form, v *formEditView, errs *forms.ValidationError, err error, rowOf []int) bool {
	var verr *forms.ValidationError
	switch {
	case errors.As(err, &verr):
		errs.Errors = append(errs.Errors, verr.Errors...)
	case err != nil:
		d.error(w, r, err)
		return true
	}
	if len(errs.Errors) == 0 {
		return false
	}
	v.placeErrors(errs.Errors, rowOf)
	d.renderEditor(w, r, http.StatusUnprocessableEntity, f, *v)
	return true
}

// placeErrors puts each error next to the input its pointer names
// (#/fields/2/rules → the rules input of the field's row), in words that
// name the field or setting by its label, and lists them all in the
// summary, in the order of the page. An error inside the advanced
// settings opens them.
func (v *formEditView) placeErrors(errs []forms.FieldError, rowOf []int) {
	v.Errors = map[string]string{}
	var summary []editError
	for _, fe := range errs {
		msg := v.message(fe, rowOf)
		target := v.place(fe.Pointer, msg, rowOf)
		summary = append(summary, editError{Target: target, Message: msg})
		if key := settingOf(target); key != "" && !slices.Contains(essentialKeys, key) {
			v.AdvancedOpen = true
		}
	}
	// The summary lists the errors in the order of the page: the name,
	// the rows, then the settings.
	order := func(id string) int {
		switch {
		case id == "name":
			return 0
		case id == "fields":
			return 1
		case settingOf(id) != "":
			return 2 + forms.MaxFields + slices.Index(settingKeys, settingOf(id))
		case strings.HasPrefix(id, "f"):
			n, _ := strconv.Atoi(strings.TrimPrefix(strings.SplitN(id, "-", 2)[0], "f"))
			return 2 + n
		}
		return 3 + forms.MaxFields + len(settingKeys)
	}
	slices.SortStableFunc(summary, func(a, b editError) int { return order(a.Target) - order(b.Target) })
	v.Summary = summary
	v.Focus = "error-summary"
}

// settingOf is the setting whose input has the id ("s-autoresponse-subject":
// autoresponse), "" when it is no setting's.
func settingOf(id string) string {
	rest, ok := strings.CutPrefix(id, "s-")
	if !ok {
		return ""
	}
	key, _, _ := strings.Cut(rest, "-")
	if !slices.Contains(settingKeys, key) {
		return ""
	}
	return key
}

// place records msg on the input pointer names and returns that input's
// id ("" when the pointer names none the editor has).
func (v *formEditView) place(pointer, msg string, rowOf []int) string {
	parts := strings.Split(strings.TrimPrefix(pointer, "#/"), "/")
	add := func(m map[string]string, key string) {
		if m[key] == "" {
			m[key] = msg
		} else {
			m[key] += " " + msg
		}
	}
	switch {
	case len(parts) >= 1 && parts[0] == "name":
		add(v.Errors, "name")
		return "name"
	case len(parts) >= 2 && parts[0] == "fields":
		i, err := strconv.Atoi(parts[1])
		if err != nil || i < 0 || i >= len(rowOf) {
			break
		}
		row := rowOf[i]
		member := "name"
		if len(parts) >= 3 && slices.Contains([]string{"name", "label", "type", "rules", "options"}, parts[2]) {
			member = parts[2]
		}
		if v.Fields[row].Errors == nil {
			v.Fields[row].Errors = map[string]string{}
		}
		add(v.Fields[row].Errors, member)
		return fmt.Sprintf("f%d-%s", row, member)
	case len(parts) >= 2 && parts[0] == "settings":
		key := parts[1]
		if !slices.Contains(settingKeys, key) {
			break
		}
		// The autoresponse's subject and message have an error of their own.
		if key == "autoresponse" && len(parts) >= 3 && (parts[2] == "subject" || parts[2] == "body") {
			key += "-" + parts[2]
		}
		add(v.Errors, "s-"+key)
		return "s-" + key
	case len(parts) == 1 && parts[0] == "fields":
		add(v.Errors, "fields")
		return "fields"
	}
	add(v.Errors, "form")
	return ""
}

// settingKeys are the settings the editor has an input for, in the order
// of the page; the input of key has the id "s-"+key.
var settingKeys = []string{"notify_emails", "redirect_url",
	"autoresponse", "allow_cc", "allowed_redirect_hosts",
	"implicit_dedupe_window", "keyless_json_window", "require_idempotency_key", "idempotency_retention",
	"unique",
	"honeypot_field", "min_fill_seconds", "allowed_origins", "blocked_words", "blocked_emails", "blocked_ips", "captcha",
	"unknown_fields", "submission_retention"}

// settingPages are the settings a form's page of their own edits, by
// the path below the form's (the editor leaves them as they are).
var settingPages = map[string]string{"notification_email": "/email", "branding": "/look"}

// essentialKeys are the settings shown outside "Advanced": what every
// contact form needs.
var essentialKeys = []string{"notify_emails", "redirect_url"}

// settingNames name each setting in the editor's messages as its label
// does, by the setting's JSON path: the API's messages start with the
// path ("redirect_url must be…", "notify_emails[1] must be…"), which a
// person making a contact form should not need to know.
var settingNames = map[string]string{
	"redirect_url":           "Redirect address",
	"allowed_redirect_hosts": "Other sites people may be sent to",
	"allowed_origins":        "Websites allowed to post",
	"idempotency_retention":  "Retry window",
	"implicit_dedupe_window": "Repeated sends",
	"keyless_json_window":    "Repeated JSON from programs",
	"unknown_fields":         "Fields the form does not list",
	"notify_emails":          "Notification emails",
	"autoresponse":           "Autoresponse",
	"autoresponse.subject":   "Autoresponse subject",
	"autoresponse.body":      "Autoresponse message",
	"honeypot_field":         "Hidden trap field",
	"blocked_words":          "Blocked words",
	"blocked_emails":         "Blocked emails",
	"blocked_ips":            "Blocked IP addresses",
	"captcha":                "CAPTCHA",
	"captcha.provider":       "CAPTCHA provider",
	"captcha.site_key":       "CAPTCHA site key",
	"captcha.secret":         "CAPTCHA secret key",
	"captcha.on_outage":      "When the CAPTCHA provider cannot be reached",
	"min_fill_seconds":       "Minimum time to fill in",
	"submission_retention":   "Days to keep submissions",
	"unique":                 "One answer per person",
	"unique.fields":          "Fields that must not repeat",
	"unique.window":          "How long a value counts",
	"unique.on_duplicate":    "When someone sends the same value again",
}

// fieldMembers are a field's members as a message names them.
var fieldMembers = map[string]string{"name": "the name", "label": "the label", "type": "the type", "rules": "the rules", "options": "the options"}

// message is fe's message as the editor says it: the API's name of what
// is wrong ("fields[1].rules: …", "redirect_url must…",
// "notify_emails[1] must…") becomes the field's number and label or the
// setting's label ("Field 2 (Your email): …", "Redirect address must…",
// "Notification emails, line 2 must…"), as one sentence.
func (v *formEditView) message(fe forms.FieldError, rowOf []int) string {
	parts := strings.Split(strings.TrimPrefix(fe.Pointer, "#/"), "/")
	msg := fe.Message
	// rewrite replaces the first of prefixes msg starts with (followed by
	// a space or a colon) by name; member names what the prefix named
	// inside it when the sentence goes on without a colon.
	rewrite := func(name, member string, prefixes ...string) {
		for _, p := range prefixes {
			rest, ok := strings.CutPrefix(msg, p)
			switch {
			case !ok:
				continue
			case strings.HasPrefix(rest, ":"):
				msg = name + rest
			case strings.HasPrefix(rest, " "):
				if member != "" {
					msg = name + ": " + member + rest
				} else {
					msg = name + rest
				}
			default:
				continue
			}
			return
		}
	}
	switch {
	case parts[0] == "name":
		rewrite("Form name", "", "name")
	case parts[0] == "fields" && len(parts) >= 2:
		i, err := strconv.Atoi(parts[1])
		if err != nil || i < 0 || i >= len(rowOf) {
			break
		}
		row := v.Fields[rowOf[i]]
		name := "Field " + strconv.Itoa(rowOf[i]+1)
		switch {
		case strings.TrimSpace(row.Label) != "":
			name += " (" + strings.TrimSpace(row.Label) + ")"
		case row.Name != "":
			name += " (" + row.Name + ")"
		}
		if len(parts) >= 3 {
			rewrite(name, fieldMembers[parts[2]], "fields["+parts[1]+"]."+parts[2], "fields."+parts[1]+"."+parts[2])
		}
		rewrite(name, "", "fields["+parts[1]+"]")
	case parts[0] == "settings" && len(parts) >= 2:
		path, line := parts[1], ""
		if len(parts) >= 3 {
			if n, err := strconv.Atoi(parts[2]); err == nil {
				line = ", line " + strconv.Itoa(n+1)
			} else {
				path += "." + parts[2]
			}
		}
		name, ok := settingNames[path]
		if !ok {
			break
		}
		dotted := "settings." + strings.Join(parts[1:], ".")
		bracketed := path
		if line != "" {
			bracketed += "[" + parts[2] + "]"
		}
		rewrite(name+line, "", bracketed, dotted, path)
	}
	first, size := utf8.DecodeRuneInString(msg)
	msg = string(unicode.ToUpper(first)) + msg[size:]
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}
