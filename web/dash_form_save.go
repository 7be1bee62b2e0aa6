package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

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
	err = d.Validator.CheckInput(in)
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
				Message: fmt.Sprintf("This form was changed elsewhere after you opened the editor (its fields are contract version %d now). "+
					"Your changes are still below: compare them with the form's page, then save again to keep them.", f.Contract.Version)}}}
		}
	}
	if d.editorFailed(w, r, f, &v, errs, err, rowOf) {
		return
	}
	msg := "Changes saved."
	if updated.Contract.Version != f.Contract.Version {
		msg = fmt.Sprintf("Changes saved. The fields are contract version %d now; earlier submissions keep the version they were checked against.",
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
// (#/fields/2/rules → the rules input of the field's row) and lists them
// all in the summary, in the order of the page.
func (v *formEditView) placeErrors(errs []forms.FieldError, rowOf []int) {
	v.Errors = map[string]string{}
	var summary []editError
	for _, fe := range errs {
		target := v.place(fe, rowOf)
		summary = append(summary, editError{Target: target, Message: humanize(fe.Message)})
	}
	// The summary lists the errors in the order of the page: the name,
	// the rows, then the settings.
	order := func(id string) int {
		switch {
		case id == "name":
			return 0
		case id == "fields":
			return 1
		case strings.HasPrefix(id, "s-"):
			return 2 + forms.MaxFields + slices.Index(settingKeys, strings.TrimPrefix(id, "s-"))
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

// place records fe on its input and returns that input's id ("" when the
// pointer names none the editor has).
func (v *formEditView) place(fe forms.FieldError, rowOf []int) string {
	parts := strings.Split(strings.TrimPrefix(fe.Pointer, "#/"), "/")
	msg := humanize(fe.Message)
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
		if slices.Contains(settingKeys, key) {
			add(v.Errors, "s-"+key)
			return "s-" + key
		}
	case len(parts) == 1 && parts[0] == "fields":
		add(v.Errors, "fields")
		return "fields"
	}
	add(v.Errors, "form")
	return ""
}

// settingKeys are the settings the editor has an input for, in the order
// of the page; the input of key has the id "s-"+key.
var settingKeys = []string{"redirect_url", "allowed_redirect_hosts", "notify_emails", "allow_cc", "autoresponse", "require_idempotency_key",
	"idempotency_retention", "implicit_dedupe_window", "keyless_json_window", "unknown_fields", "honeypot_field", "min_fill_seconds", "allowed_origins",
	"captcha", "blocked_words", "blocked_emails", "blocked_ips", "submission_retention", "unique"}

var (
	fieldMessage   = regexp.MustCompile(`^fields\[\d+\](?:\.(\w+))?\s*`)
	settingMessage = regexp.MustCompile(`^(\w+)\[(\d+)\]`)
)

// humanize rewords the API's messages for the page, where the error sits
// next to its input: "fields[2].rules "x": …" becomes "Rules "x": …",
// "notify_emails[1] …" becomes "Line 2 …".
func humanize(msg string) string {
	if m := fieldMessage.FindStringSubmatch(msg); m != nil {
		rest := msg[len(m[0]):]
		if m[1] == "" {
			return "This field " + rest
		}
		return strings.ToUpper(m[1][:1]) + m[1][1:] + " " + rest
	}
	if m := settingMessage.FindStringSubmatchIndex(msg); m != nil && slices.Contains(settingKeys, msg[m[2]:m[3]]) {
		n, _ := strconv.Atoi(msg[m[4]:m[5]])
		return "Line " + strconv.Itoa(n+1) + msg[m[1]:]
	}
	return msg
}
