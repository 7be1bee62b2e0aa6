package web

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/intakehq/intake/captcha"
	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/notify"
	"github.com/intakehq/intake/submissions"
)

// formsView is the data of the forms list.
type formsView struct {
	base
	Forms   []formCard
	NextURL string // the page of older forms; "" on the last
}

// formCard is one form in the list.
type formCard struct {
	ID       string
	Name     string
	Endpoint string
	Fields   int
	Total    int64     // every submission, spam included
	Last     time.Time // zero: none yet
	Chart    chartView
}

// chartView is a server-drawn SVG bar chart of a form's last days:
// submissions, spam and duplicates absorbed, stacked per day.
type chartView struct {
	ID         string // unique on the page, for the aria ids
	Title      string
	Desc       string // the chart in words, for screen readers
	Width      int
	Height     int
	Baseline   int
	Days       []chartDay
	Submitted  int64
	Spam       int64
	Duplicates int64
}

type chartDay struct {
	Label string // e.g. "3 Nov: 4 submissions, 1 spam, 0 duplicates"
	X     int
	Bars  []chartBar
}

type chartBar struct {
	Class string // chart-ok, chart-spam, chart-dup
	Y     int
	H     int
}

// chartDays is how many days the forms list charts.
const chartDays = 30

// formsPerPage is how many forms the list shows at once.
const formsPerPage = 50

func (d *Dashboard) formsPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var before *int64
	if c := r.URL.Query().Get("before"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		n, err2 := strconv.ParseInt(string(b), 10, 64)
		if err != nil || err2 != nil {
			d.error(w, r, errNotFound)
			return
		}
		before = &n
	}
	list, err := forms.List(ctx, d.DB, user(r).AccountID, before, formsPerPage+1)
	if err != nil {
		d.error(w, r, err)
		return
	}
	v := formsView{}
	if len(list) > formsPerPage {
		list = list[:formsPerPage]
		v.NextURL = "/forms?before=" + base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(list[formsPerPage-1].ID, 10)))
	}
	ids := make([]int64, len(list))
	for i, f := range list {
		ids[i] = f.ID
	}
	sums, err := submissions.Summaries(ctx, d.DB, ids, chartDays, time.Now())
	if err != nil {
		d.error(w, r, err)
		return
	}
	for i, f := range list {
		s := sums[f.ID]
		v.Forms = append(v.Forms, formCard{
			ID: f.PublicID, Name: f.Name, Endpoint: d.endpoint(f), Fields: len(f.Contract.Fields),
			Total: s.Total, Last: s.Last, Chart: drawChart("chart-"+strconv.Itoa(i+1), s.Days),
		})
	}
	v.base = d.base(w, r, "Forms", "forms")
	renderPage(d, w, r, http.StatusOK, tmplForms, v)
}

// drawChart lays out the bars of days (oldest first, one entry per day,
// as submissions.Summaries gives them).
func drawChart(id string, days []submissions.Day) chartView {
	const (
		barW, gap = 8, 2
		plotH     = 48
		top       = 2
	)
	c := chartView{ID: id, Title: fmt.Sprintf("Submissions over the last %d days", len(days)),
		Width: len(days) * (barW + gap), Height: top + plotH + 1, Baseline: top + plotH}
	var peak int64
	var peakDay time.Time
	for _, n := range days {
		c.Submitted += n.Submissions
		c.Spam += n.Spam
		c.Duplicates += n.Duplicates
		if t := n.Submissions + n.Spam + n.Duplicates; t > peak {
			peak, peakDay = t, n.Date
		}
	}
	for i, n := range days {
		cd := chartDay{X: i * (barW + gap), Label: fmt.Sprintf("%s: %s, %d spam, %s absorbed", n.Date.Format("2 Jan"),
			plural(int(n.Submissions), "submission", "submissions"), n.Spam, plural(int(n.Duplicates), "duplicate", "duplicates"))}
		y := top + plotH
		for _, s := range []struct {
			class string
			n     int64
		}{{"chart-ok", n.Submissions}, {"chart-spam", n.Spam}, {"chart-dup", n.Duplicates}} {
			if s.n == 0 || peak == 0 {
				continue
			}
			h := max(int(s.n*plotH/peak), 1)
			y -= h
			cd.Bars = append(cd.Bars, chartBar{Class: s.class, Y: y, H: h})
		}
		c.Days = append(c.Days, cd)
	}
	if peak == 0 {
		c.Desc = fmt.Sprintf("No submissions in the last %d days.", len(days))
	} else {
		c.Desc = fmt.Sprintf("%s, %d spam and %s absorbed in the last %d days; the busiest day was %s with %d.",
			plural(int(c.Submitted), "submission", "submissions"), c.Spam, plural(int(c.Duplicates), "duplicate", "duplicates"),
			len(days), peakDay.Format("2 January"), peak)
	}
	return c
}

func (d *Dashboard) endpoint(f *forms.Form) string { return d.BaseURL + "/f/" + f.PublicID }

// formFor returns the account's form named by the URL. Another account's
// form is forms.ErrNotFound, like a missing one.
func (d *Dashboard) formFor(r *http.Request) (*forms.Form, error) {
	return forms.ForAccount(r.Context(), d.DB, user(r).AccountID, chi.URLParam(r, "form_id"))
}

func formCrumbs(f *forms.Form, more ...crumb) []crumb {
	return append([]crumb{{Label: "Forms", URL: "/forms"}, {Label: f.Name, URL: "/forms/" + f.PublicID}}, more...)
}

// The form's page

// formView is the data of a form's page: its endpoint, snippets and links.
type formView struct {
	base
	ID              string
	Name            string
	Endpoint        string
	HostedURL       string
	Archived        bool
	ContractVersion int
	Fields          []fieldSummary
	Settings        []setting
	RequireKey      bool
	Snippets        []snippet
	Notify          notifyView
}

// notifyView is who a form's notifications go to.
type notifyView struct {
	Recipients []recipientRow // the addresses the form lists; none: the account owner
	// NoneConfirmed says the form lists addresses but none has confirmed:
	// no one is told of its submissions yet.
	NoneConfirmed bool
	// Unsubscribed is when the logged-in user unsubscribed from the
	// form's notifications; nil unless they did (then they may resume).
	Unsubscribed *time.Time
}

// recipientRow is one notification address and its opt-in state.
type recipientRow struct {
	Email string
	State string // a notify.Recipient* state
	Label string // "confirmed", "pending confirmation", "unsubscribed"
	Badge string // its badge's class
}

// notifyOf is who f's notifications go to, for the logged-in user's eyes.
func (d *Dashboard) notifyOf(r *http.Request, f *forms.Form) (notifyView, error) {
	rows, err := notify.Recipients(r.Context(), d.DB, []int64{f.ID})
	if err != nil {
		return notifyView{}, err
	}
	var v notifyView
	for _, rc := range notify.Listed(f, rows[f.ID]) {
		row := recipientRow{Email: rc.Email, State: rc.State}
		switch rc.State {
		case notify.RecipientConfirmed:
			row.Label, row.Badge = "confirmed", "badge-ok"
		case notify.RecipientUnsubscribed:
			row.Label, row.Badge = "unsubscribed", "badge-muted"
		default:
			row.Label, row.Badge = "pending confirmation", "badge-warn"
		}
		v.Recipients = append(v.Recipients, row)
	}
	v.NoneConfirmed = len(v.Recipients) > 0 && !slices.ContainsFunc(v.Recipients, func(r recipientRow) bool { return r.State == notify.RecipientConfirmed })
	for _, rc := range rows[f.ID] {
		if rc.State == notify.RecipientUnsubscribed && strings.EqualFold(rc.Email, user(r).Email) {
			v.Unsubscribed = rc.UnsubscribedAt
		}
	}
	return v, nil
}

type fieldSummary struct {
	Name     string
	Label    string
	Type     string
	Required bool
	Rules    string
	Options  string
}

// setting is one line of the settings summary.
type setting struct {
	Label string
	Value string
}

// snippet is a piece of code the owner copies into a site or a script.
type snippet struct {
	ID    string // element id, for the copy button
	Title string
	Intro string
	Code  string
}

func (d *Dashboard) formPage(w http.ResponseWriter, r *http.Request) {
	f, err := d.formFor(r)
	if err != nil {
		d.error(w, r, err)
		return
	}
	s := f.Settings
	v := formView{
		ID: f.PublicID, Name: f.Name, Endpoint: d.endpoint(f), HostedURL: d.endpoint(f),
		Archived: f.ArchivedAt != nil, ContractVersion: f.Contract.Version, RequireKey: s.RequireIdempotencyKey,
		Snippets: d.snippets(f),
	}
	for _, fl := range f.Contract.Fields {
		v.Fields = append(v.Fields, fieldSummary{Name: fl.Name, Label: fl.Label, Type: string(fl.Type), Required: fl.Required,
			Rules: fl.Rules, Options: strings.Join(fl.Options, ", ")})
	}
	orNone := func(list []string, none string) string {
		if len(list) == 0 {
			return none
		}
		return strings.Join(list, ", ")
	}
	dedupe := "off"
	if w := s.ImplicitWindow(); w > 0 {
		dedupe = forms.Duration(w).String()
	}
	ar := "off"
	if s.Autoresponse.Enabled {
		ar = "on: “" + s.Autoresponse.Subject + "”"
	}
	v.Settings = []setting{
		{"Redirect after a browser post", orDefault(s.RedirectURL, "Intake’s thank-you page")},
		{"Hosts _next may send to", orNone(s.AllowedRedirectHosts, "any (or the redirect URL’s host)")},
		{"Origins allowed to post", orNone(s.AllowedOrigins, "any")},
		{"Idempotency key required", map[bool]string{true: "yes", false: "no"}[s.RequireIdempotencyKey]},
		{"Keys kept for", s.IdempotencyRetention.String()},
		{"Keyless browser posts deduplicated for", dedupe},
		{"Fields not in the contract", map[string]string{forms.UnknownAccept: "accepted", forms.UnknownReject: "rejected"}[s.UnknownFields]},
		{"Autoresponse", ar},
		{"_cc copies the notification", map[bool]string{true: "yes", false: "no (kept with the submission, no one copied)"}[s.AllowCC]},
		{"Honeypot field", s.HoneypotField},
		{"Minimum time to fill", minFillText(s.MinFillSeconds)},
		{"CAPTCHA", captchaText(s.Captcha)},
		{"Blocked words", orNone(s.BlockedWords, "none")},
		{"Blocked emails", orNone(s.BlockedEmails, "none")},
		{"Blocked addresses", orNone(s.BlockedIPs, "none")},
	}
	if v.Notify, err = d.notifyOf(r, f); err != nil {
		d.error(w, r, err)
		return
	}
	v.base = d.base(w, r, f.Name, "forms", formCrumbs(f)[:1]...)
	v.Crumbs = append(v.Crumbs, crumb{Label: f.Name})
	renderPage(d, w, r, http.StatusOK, tmplForm, v)
}

// minFillText is a minimum fill time as the form's page says it.
func minFillText(sec float64) string {
	if sec <= 0 {
		return "off"
	}
	return strconv.FormatFloat(sec, 'f', -1, 64) + " s (when intake.js reports it)"
}

// captchaText is a form's CAPTCHA as the form's page says it.
func captchaText(c forms.Captcha) string {
	if c.Provider == "" {
		return "off"
	}
	secret := "secret set"
	if !c.SecretSet {
		secret = "no secret: every submission is refused"
	}
	outage := "refuse submissions while the provider is down"
	if c.OnOutage == forms.CaptchaFailOpen {
		outage = "take submissions unverified while the provider is down"
	}
	site := "no site key (the hosted form shows no widget)"
	if c.SiteKey != "" {
		site = "site key " + c.SiteKey
	}
	return c.Provider.Name() + "; " + secret + "; " + site + "; " + outage
}

func (d *Dashboard) formSchema(w http.ResponseWriter, r *http.Request) {
	f, err := d.formFor(r)
	if err != nil {
		d.error(w, r, err)
		return
	}
	body, err := json.MarshalIndent(f.JSONSchema(d.endpoint(f)), "", "  ")
	if err != nil {
		d.error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/schema+json")
	w.Header().Set("Content-Disposition", `inline; filename="`+f.PublicID+`.schema.json"`)
	_, _ = w.Write(append(body, '\n'))
}

// Archiving

func (d *Dashboard) confirmArchiveForm(w http.ResponseWriter, r *http.Request) {
	f, err := d.formFor(r)
	if err != nil {
		d.error(w, r, err)
		return
	}
	renderPage(d, w, r, http.StatusOK, tmplConfirm, confirmView{
		base:    d.base(w, r, "Archive "+f.Name, "forms", formCrumbs(f, crumb{Label: "Archive"})...),
		Heading: "Archive “" + f.Name + "”?",
		Message: "Its endpoint will answer 410 Gone to every new submission, and it leaves the forms list. " +
			"Its submissions, webhooks and emails are kept.",
		Action: "/forms/" + f.PublicID + "/archive", Button: "Archive form", CancelURL: "/forms/" + f.PublicID,
	})
}

func (d *Dashboard) archiveForm(w http.ResponseWriter, r *http.Request) {
	if err := forms.Archive(r.Context(), d.DB, user(r).AccountID, chi.URLParam(r, "form_id")); err != nil {
		d.error(w, r, err)
		return
	}
	d.redirect(w, r, "/forms", flash{Kind: flashSuccess, Message: "Form archived. Its endpoint now answers 410 Gone; its submissions are kept."})
}

// The contract and settings editor

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
		UnknownFields: s.UnknownFields, NotifyEmails: strings.Join(s.NotifyEmails, "\n"),
		AutoresponseEnabled: s.Autoresponse.Enabled, AutoresponseSubject: s.Autoresponse.Subject,
		AutoresponseBody: s.Autoresponse.Body, HoneypotField: s.HoneypotField,
		BlockedWords: strings.Join(s.BlockedWords, "\n"), BlockedEmails: strings.Join(s.BlockedEmails, "\n"),
		BlockedIPs: strings.Join(s.BlockedIPs, "\n"), AllowCC: s.AllowCC,
		MinFillSeconds:  strconv.FormatFloat(s.MinFillSeconds, 'f', -1, 64),
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
	retention, err := forms.ParseDuration(s.IdempotencyRetention)
	if err != nil || s.IdempotencyRetention == "" {
		retention = forms.Duration(forms.DefaultRetention)
		errs.Errors = append(errs.Errors, forms.FieldError{Field: "idempotency_retention", Code: forms.CodeInvalid,
			Message: "Write how long keys are kept as a duration such as 24h, 90m or 7d (between 1h and 7d).",
			Pointer: forms.Pointer("settings", "idempotency_retention")})
	}
	window, err := forms.ParseDuration(s.ImplicitDedupeWindow)
	if err != nil || s.ImplicitDedupeWindow == "" {
		window = forms.Duration(forms.DefaultImplicitWindow)
		errs.Errors = append(errs.Errors, forms.FieldError{Field: "implicit_dedupe_window", Code: forms.CodeInvalid,
			Message: "Write the window as a duration such as 10m or 1h, or 0 to turn it off.",
			Pointer: forms.Pointer("settings", "implicit_dedupe_window")})
	}
	minFill, err := strconv.ParseFloat(strings.ReplaceAll(s.MinFillSeconds, ",", "."), 64)
	if s.MinFillSeconds == "" {
		minFill, err = 0, nil
	}
	if err != nil {
		errs.Errors = append(errs.Errors, forms.FieldError{Field: "min_fill_seconds", Code: forms.CodeInvalid,
			Message: "Write the minimum as a number of seconds, such as 3 or 2.5, or 0 to turn it off.",
			Pointer: forms.Pointer("settings", "min_fill_seconds")})
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
		UnknownFields:         s.UnknownFields,
		NotifyEmails:          lines(s.NotifyEmails),
		Autoresponse:          forms.Autoresponse{Enabled: s.AutoresponseEnabled, Subject: s.AutoresponseSubject, Body: s.AutoresponseBody},
		HoneypotField:         s.HoneypotField,
		BlockedWords:          lines(s.BlockedWords),
		BlockedEmails:         lines(s.BlockedEmails),
		BlockedIPs:            lines(s.BlockedIPs),
		AllowCC:               s.AllowCC,
		MinFillSeconds:        minFill,
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
		f, err = forms.Create(r.Context(), d.DB, d.Validator, d.Sealer, d.Recipients, user(r).AccountID, in)
	}
	if d.editorFailed(w, r, nil, &v, errs, err, rowOf) {
		return
	}
	d.redirect(w, r, "/forms/"+f.PublicID, flash{Kind: flashSuccess,
		Message: "Form “" + f.Name + "” created. Its endpoint and ready-made snippets are below."})
}

func (d *Dashboard) updateForm(w http.ResponseWriter, r *http.Request) {
	f, err := d.formFor(r)
	if err != nil {
		d.error(w, r, err)
		return
	}
	if !d.parseForm(w, r) {
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
		updated, err = forms.Update(r.Context(), d.DB, d.Validator, d.Sealer, d.Recipients, user(r).AccountID, f.PublicID, patch)
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
	"idempotency_retention", "implicit_dedupe_window", "unknown_fields", "honeypot_field", "min_fill_seconds", "allowed_origins",
	"captcha", "blocked_words", "blocked_emails", "blocked_ips"}

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
