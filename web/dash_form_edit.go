package web

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/intakehq/intake/captcha"
	"github.com/intakehq/intake/forms"
)

// The contract and settings editor: its view, reading it back from a post,
// and the add/remove/move buttons that change it without saving.

// formEditView is the data of the editor, for a new form and for a change.
type formEditView struct {
	base
	New             bool
	Action          string // where the editor posts
	CancelURL       string
	ContractVersion int
	UpdatedAt       string // the version of the form the editor was opened on (RFC 3339)
	Name            string
	Fields          []fieldRow
	Settings        settingsInput
	Types           []string
	CaptchaChoices  []captchaChoice
	Errors          map[string]string // by input id, for the inputs outside the rows
	Summary         []editError       // every error, linking to its input
	Focus           string            // the id of the input to focus on load
	AdvancedOpen    bool              // "Advanced" is open: an error is inside it
	Recipients      []recipientRow    // the saved notification addresses and their states
}

// fieldRow is one field of the contract as the editor shows it.
type fieldRow struct {
	Index    int // 0-based position; input ids and names derive from it
	Name     string
	Label    string
	Type     string
	Required bool
	Rules    string
	Options  string            // one per line
	Errors   map[string]string // by member: name, label, type, rules, options
	First    bool
	Last     bool
	FocusOn  string // the member to focus on load: name, up or down; "" none
}

// settingsInput is every form setting (README, "Management API") as the editor's inputs hold it.
type settingsInput struct {
	RedirectURL           string
	AllowedRedirectHosts  string // one per line
	AllowedOrigins        string // one per line
	RequireIdempotencyKey bool
	IdempotencyRetention  string
	ImplicitDedupeWindow  string
	KeylessJSONWindow     string
	UnknownFields         string
	NotifyEmails          string // one per line
	AutoresponseEnabled   bool
	AutoresponseSubject   string
	AutoresponseBody      string
	HoneypotField         string
	BlockedWords          string // one per line
	BlockedEmails         string // one per line
	BlockedIPs            string // one per line
	AllowCC               bool
	MinFillSeconds        string
	SubmissionRetention   string // days as typed, "" keeps them
	UniqueFields          string // field names as typed, separated by commas or spaces; "" off
	UniqueWindow          string // a duration as typed; "" forever
	UniqueOnDuplicate     string // forms.UniqueAccept or forms.UniqueReject
	CaptchaProvider       string
	CaptchaSiteKey        string
	CaptchaSecret         string // a new secret as typed; never filled in from the form
	CaptchaSecretSet      bool   // from the form, not from the post
	CaptchaOnOutage       string
}

// captchaChoice is one provider in the editor's list.
type captchaChoice struct {
	Value string
	Label string
}

// captchaChoices are the editor's CAPTCHA options, "off" first.
func captchaChoices() []captchaChoice {
	out := []captchaChoice{{"", "Off"}}
	for _, p := range captcha.Providers {
		out = append(out, captchaChoice{string(p), p.Name()})
	}
	return out
}

// editError is one problem in the summary above the editor.
type editError struct {
	Target  string // input id, "" when it points at no one input
	Message string
}

// fieldTypes are the types the editor offers, in the order the README's field table lists them.
var fieldTypes = []forms.FieldType{forms.TypeText, forms.TypeEmail, forms.TypeNumber, forms.TypeURL, forms.TypeTel, forms.TypeDate,
	forms.TypeTextarea, forms.TypeSelect, forms.TypeCheckbox, forms.TypeHidden, forms.TypeFile}

func typeNames() []string {
	out := make([]string, len(fieldTypes))
	for i, t := range fieldTypes {
		out[i] = string(t)
	}
	return out
}

// starterFields are the rows a new form starts with: what most contact
// forms need, ready to change.
var starterFields = []forms.Field{
	{Name: "email", Type: forms.TypeEmail, Required: true, Label: "Your email"},
	{Name: "message", Type: forms.TypeTextarea, Rules: "max=5000", Label: "Message"},
}

func (d *Dashboard) newFormPage(w http.ResponseWriter, r *http.Request) {
	v := formEditView{New: true, Action: "/forms/new", CancelURL: "/forms", Name: "Contact",
		Fields: rowsOf(starterFields), Settings: settingsOf(forms.Settings{}.WithDefaults()), Focus: "name"}
	d.renderEditor(w, r, http.StatusOK, nil, v)
}

func (d *Dashboard) editFormPage(w http.ResponseWriter, r *http.Request) {
	f, err := d.formFor(r)
	if err != nil {
		d.error(w, r, err)
		return
	}
	v := formEditView{Action: "/forms/" + f.PublicID + "/edit", CancelURL: "/forms/" + f.PublicID, ContractVersion: f.Contract.Version,
		UpdatedAt: f.UpdatedAt.UTC().Format(time.RFC3339Nano),
		Name:      f.Name, Fields: rowsOf(f.Contract.Fields), Settings: settingsOf(f.Settings)}
	d.renderEditor(w, r, http.StatusOK, f, v)
}

func (d *Dashboard) renderEditor(w http.ResponseWriter, r *http.Request, status int, f *forms.Form, v formEditView) {
	v.Types = typeNames()
	v.CaptchaChoices = captchaChoices()
	if f != nil {
		n, err := d.notifyOf(r, f)
		if err != nil {
			d.error(w, r, err)
			return
		}
		v.Recipients = n.Recipients
	}
	v.Settings.CaptchaSecret = "" // a secret is never written into a page
	v.Settings.CaptchaSecretSet = f != nil && f.Settings.Captcha.SecretSet
	for i := range v.Fields {
		row := &v.Fields[i]
		row.Index, row.First, row.Last = i, i == 0, i == len(v.Fields)-1
		if member, ok := strings.CutPrefix(v.Focus, fmt.Sprintf("f%d-", i)); ok {
			row.FocusOn = member
		}
	}
	if v.New {
		v.base = d.base(w, r, "New form", "forms", crumb{Label: "Forms", URL: "/forms"}, crumb{Label: "New form"})
	} else {
		v.base = d.base(w, r, "Edit "+f.Name, "forms", formCrumbs(f, crumb{Label: "Edit"})...)
	}
	renderPage(d, w, r, status, tmplFormEdit, v)
}

func rowsOf(fields []forms.Field) []fieldRow {
	rows := make([]fieldRow, len(fields))
	for i, f := range fields {
		rows[i] = fieldRow{Name: f.Name, Label: f.Label, Type: string(f.Type), Required: f.Required, Rules: f.Rules,
			Options: strings.Join(f.Options, "\n")}
	}
	return rows
}

func settingsOf(s forms.Settings) settingsInput {
	s = s.WithDefaults()
	return settingsInput{
		RedirectURL: s.RedirectURL, AllowedRedirectHosts: strings.Join(s.AllowedRedirectHosts, "\n"),
		AllowedOrigins: strings.Join(s.AllowedOrigins, "\n"), RequireIdempotencyKey: s.RequireIdempotencyKey,
		IdempotencyRetention: s.IdempotencyRetention.String(), ImplicitDedupeWindow: forms.Duration(s.ImplicitWindow()).String(),
		KeylessJSONWindow: s.KeylessJSONWindow.String(),
		UnknownFields:     s.UnknownFields, NotifyEmails: strings.Join(s.NotifyEmails, "\n"),
		AutoresponseEnabled: s.Autoresponse.Enabled, AutoresponseSubject: s.Autoresponse.Subject,
		AutoresponseBody: s.Autoresponse.Body, HoneypotField: s.HoneypotField,
		BlockedWords: strings.Join(s.BlockedWords, "\n"), BlockedEmails: strings.Join(s.BlockedEmails, "\n"),
		BlockedIPs: strings.Join(s.BlockedIPs, "\n"), AllowCC: s.AllowCC,
		MinFillSeconds:      strconv.FormatFloat(s.MinFillSeconds, 'f', -1, 64),
		SubmissionRetention: strings.TrimSuffix(s.SubmissionRetention, "d"),
		UniqueFields:        strings.Join(s.Unique.Fields, ", "), UniqueWindow: s.Unique.Window, UniqueOnDuplicate: s.Unique.OnDuplicate,
		CaptchaProvider: string(s.Captcha.Provider), CaptchaSiteKey: s.Captcha.SiteKey,
		CaptchaSecretSet: s.Captcha.SecretSet, CaptchaOnOutage: s.Captcha.OnOutage,
	}
}

// readEditor reads the editor's post: the name, the rows as typed and the
// settings. The rows are read from field_count, so an unchecked
// "required" box cannot shift the others.
func readEditor(r *http.Request) formEditView {
	v := formEditView{Name: strings.TrimSpace(r.PostFormValue("name"))}
	n, _ := strconv.Atoi(r.PostFormValue("field_count"))
	n = min(max(n, 0), forms.MaxFields+1)
	for i := range n {
		p := "f" + strconv.Itoa(i) + "."
		v.Fields = append(v.Fields, fieldRow{
			Name:     strings.TrimSpace(r.PostFormValue(p + "name")),
			Label:    r.PostFormValue(p + "label"), // free text: kept as typed (or as stored)
			Type:     r.PostFormValue(p + "type"),
			Required: r.PostFormValue(p+"required") != "",
			Rules:    strings.TrimSpace(r.PostFormValue(p + "rules")),
			Options:  strings.Join(valueLines(r.PostFormValue(p+"options")), "\n"),
		})
	}
	v.Settings = settingsInput{
		RedirectURL:           strings.TrimSpace(r.PostFormValue("redirect_url")),
		AllowedRedirectHosts:  strings.Join(lines(r.PostFormValue("allowed_redirect_hosts")), "\n"),
		AllowedOrigins:        strings.Join(lines(r.PostFormValue("allowed_origins")), "\n"),
		RequireIdempotencyKey: r.PostFormValue("require_idempotency_key") != "",
		IdempotencyRetention:  strings.TrimSpace(r.PostFormValue("idempotency_retention")),
		ImplicitDedupeWindow:  strings.TrimSpace(r.PostFormValue("implicit_dedupe_window")),
		KeylessJSONWindow:     strings.TrimSpace(r.PostFormValue("keyless_json_window")),
		UnknownFields:         r.PostFormValue("unknown_fields"),
		NotifyEmails:          strings.Join(lines(r.PostFormValue("notify_emails")), "\n"),
		AutoresponseEnabled:   r.PostFormValue("autoresponse.enabled") != "",
		AutoresponseSubject:   strings.TrimSpace(r.PostFormValue("autoresponse.subject")),
		AutoresponseBody:      strings.ReplaceAll(r.PostFormValue("autoresponse.body"), "\r\n", "\n"),
		HoneypotField:         strings.TrimSpace(r.PostFormValue("honeypot_field")),
		BlockedWords:          strings.Join(lines(r.PostFormValue("blocked_words")), "\n"),
		BlockedEmails:         strings.Join(lines(r.PostFormValue("blocked_emails")), "\n"),
		BlockedIPs:            strings.Join(lines(r.PostFormValue("blocked_ips")), "\n"),
		AllowCC:               r.PostFormValue("allow_cc") != "",
		MinFillSeconds:        strings.TrimSpace(r.PostFormValue("min_fill_seconds")),
		SubmissionRetention:   strings.TrimSpace(r.PostFormValue("submission_retention")),
		UniqueFields:          strings.Join(strings.FieldsFunc(r.PostFormValue("unique.fields"), func(r rune) bool { return r == ',' || unicode.IsSpace(r) }), ", "),
		UniqueWindow:          strings.TrimSpace(r.PostFormValue("unique.window")),
		UniqueOnDuplicate:     r.PostFormValue("unique.on_duplicate"),
		CaptchaProvider:       r.PostFormValue("captcha.provider"),
		CaptchaSiteKey:        strings.TrimSpace(r.PostFormValue("captcha.site_key")),
		CaptchaSecret:         strings.TrimSpace(r.PostFormValue("captcha.secret")),
		CaptchaOnOutage:       r.PostFormValue("captcha.on_outage"),
	}
	return v
}

// valueLines splits a textarea of option values into its lines, dropping
// blank ones but keeping each value exactly as it is: a value such as
// "  a" stored through the API must survive a save of the editor, or
// submissions valid before would fail after.
func valueLines(s string) []string {
	out := []string{}
	for l := range strings.SplitSeq(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// lines splits a textarea into its non-blank lines, trimmed.
func lines(s string) []string {
	out := []string{}
	for l := range strings.SplitSeq(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// blank reports whether a row was left empty: it is dropped on save rather
// than refused.
func (f fieldRow) blank() bool {
	return f.Name == "" && f.Label == "" && f.Rules == "" && f.Options == ""
}

// input turns the editor's values into a form, the errors of the values
// that cannot even be read (durations), and rowOf: the editor row of each
// field (blank rows are skipped).
func (v formEditView) input() (forms.Input, *forms.ValidationError, []int) {
	in := forms.Input{Name: v.Name, Fields: []forms.Field{}}
	var rowOf []int
	for i, row := range v.Fields {
		if row.blank() {
			continue
		}
		f := forms.Field{Name: row.Name, Label: row.Label, Type: forms.FieldType(row.Type), Required: row.Required, Rules: row.Rules}
		if opts := lines(row.Options); len(opts) > 0 {
			f.Options = opts
		}
		in.Fields = append(in.Fields, f)
		rowOf = append(rowOf, i)
	}
	s := v.Settings
	errs := &forms.ValidationError{}
	invalid := func(field, message string) {
		errs.Errors = append(errs.Errors, forms.FieldError{Field: field, Code: forms.CodeInvalid,
			Message: message, Pointer: forms.Pointer("settings", field)})
	}
	// duration reads a duration setting; an empty or unreadable one is
	// invalid, and fallback stands in for it.
	duration := func(v, field string, fallback time.Duration, message string) forms.Duration {
		d, err := forms.ParseDuration(v)
		if err != nil || v == "" {
			invalid(field, message)
			return forms.Duration(fallback)
		}
		return d
	}
	retention := duration(s.IdempotencyRetention, "idempotency_retention", forms.DefaultRetention,
		"Retry window: write a duration from 1h to 7d, such as 24h, 90m or 7d.")
	window := duration(s.ImplicitDedupeWindow, "implicit_dedupe_window", forms.DefaultImplicitWindow,
		"Repeated sends: write a duration such as 10m or 1h, or 0 to keep each.")
	keyless := forms.Duration(0) // empty: off
	if s.KeylessJSONWindow != "" {
		keyless = duration(s.KeylessJSONWindow, "keyless_json_window", 0, "Repeated JSON from programs: write a duration such as 1m or 1h, or 0 to keep each.")
	}
	minFill, err := strconv.ParseFloat(strings.ReplaceAll(s.MinFillSeconds, ",", "."), 64)
	if s.MinFillSeconds == "" {
		minFill, err = 0, nil
	}
	if err != nil {
		invalid("min_fill_seconds", "Minimum time to fill in: write a number of seconds, such as 3 or 2.5, or 0 to turn it off.")
	}
	// The retention is typed as a number of days ("30", or "30d" as the
	// API writes it); empty keeps submissions.
	keep := ""
	if days := strings.TrimSuffix(s.SubmissionRetention, "d"); days != "" {
		if _, ok := forms.ParseRetention(days + "d"); ok {
			keep = days + "d"
		} else {
			invalid("submission_retention", fmt.Sprintf("Days to keep submissions: write a whole number from %d to %d, or leave it empty to keep them until you delete them.",
				forms.MinRetentionDays, forms.MaxRetentionDays))
		}
	}
	// An empty secret input keeps the stored secret; turning the CAPTCHA
	// off forgets it.
	var secret *string
	switch {
	case s.CaptchaSecret != "":
		secret = &s.CaptchaSecret
	case s.CaptchaProvider == "":
		secret = new(string)
	}
	in.Settings = forms.Settings{
		RedirectURL:           s.RedirectURL,
		AllowedRedirectHosts:  lines(s.AllowedRedirectHosts),
		AllowedOrigins:        lines(s.AllowedOrigins),
		RequireIdempotencyKey: s.RequireIdempotencyKey,
		IdempotencyRetention:  retention,
		ImplicitDedupeWindow:  &window,
		KeylessJSONWindow:     keyless,
		UnknownFields:         s.UnknownFields,
		NotifyEmails:          lines(s.NotifyEmails),
		Autoresponse:          forms.Autoresponse{Enabled: s.AutoresponseEnabled, Subject: s.AutoresponseSubject, Body: s.AutoresponseBody},
		HoneypotField:         s.HoneypotField,
		BlockedWords:          lines(s.BlockedWords),
		BlockedEmails:         lines(s.BlockedEmails),
		BlockedIPs:            lines(s.BlockedIPs),
		AllowCC:               s.AllowCC,
		MinFillSeconds:        minFill,
		SubmissionRetention:   keep,
		Unique: forms.Unique{Fields: strings.FieldsFunc(s.UniqueFields, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }),
			Window: s.UniqueWindow, OnDuplicate: s.UniqueOnDuplicate},
		Captcha: forms.Captcha{Provider: captcha.Provider(s.CaptchaProvider), SiteKey: s.CaptchaSiteKey, Secret: secret,
			SecretSet: s.CaptchaSecretSet, OnOutage: s.CaptchaOnOutage},
	}
	return in, errs, rowOf
}

// editOp is what the editor's pressed button asks: save, or one of the
// row operations that only re-render (they work without JavaScript).
func editOp(r *http.Request) (op string, row int) {
	op, arg, _ := strings.Cut(r.PostFormValue("op"), ":")
	row, err := strconv.Atoi(arg)
	if err != nil {
		row = -1
	}
	return op, row
}

// applyOp performs a row operation on v and says whether there was one.
func (v *formEditView) applyOp(op string, i int) bool {
	n := len(v.Fields)
	switch {
	case op == "add":
		if n < forms.MaxFields {
			v.Fields = append(v.Fields, fieldRow{Type: string(forms.TypeText)})
			n++
		}
		v.Focus = fmt.Sprintf("f%d-name", n-1)
	case op == "remove" && i >= 0 && i < n:
		v.Fields = slices.Delete(v.Fields, i, i+1)
		v.Focus = "add-field"
		if n > 1 {
			v.Focus = fmt.Sprintf("f%d-name", min(i, n-2))
		}
	case op == "up" && i > 0 && i < n:
		v.Fields[i-1], v.Fields[i] = v.Fields[i], v.Fields[i-1]
		v.Focus = fmt.Sprintf("f%d-up", i-1)
		if i-1 == 0 {
			v.Focus = fmt.Sprintf("f%d-down", 0)
		}
	case op == "down" && i >= 0 && i < n-1:
		v.Fields[i+1], v.Fields[i] = v.Fields[i], v.Fields[i+1]
		v.Focus = fmt.Sprintf("f%d-down", i+1)
		if i+1 == n-1 {
			v.Focus = fmt.Sprintf("f%d-up", n-1)
		}
	case op == "add" || op == "remove" || op == "up" || op == "down":
		// A stale position (the page was edited meanwhile): show it again.
	default:
		return false
	}
	return true
}
