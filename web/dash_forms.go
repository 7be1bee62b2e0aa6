package web

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/notify"
	"github.com/intakehq/intake/submissions"
)

// formsView is the data of the forms list.
type formsView struct {
	base
	Forms   []formCard
	NextURL string // the page of older forms; "" on the last
	// Archived are the archived forms (on the first page only), to open
	// and restore.
	Archived []archivedCard
}

// archivedCard is an archived form in the list.
type archivedCard struct {
	ID, Name   string
	ArchivedAt time.Time
}

// archivedShown is how many archived forms the list shows.
const archivedShown = 100

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
	if before == nil {
		archived, err := forms.ListArchived(ctx, d.DB, user(r).AccountID, archivedShown)
		if err != nil {
			d.error(w, r, err)
			return
		}
		for _, f := range archived {
			v.Archived = append(v.Archived, archivedCard{ID: f.PublicID, Name: f.Name, ArchivedAt: *f.ArchivedAt})
		}
	}
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
	var peakDay submissions.Day
	for _, n := range days {
		c.Submitted += n.Submissions
		c.Spam += n.Spam
		c.Duplicates += n.Duplicates
		if t := n.Submissions + n.Spam + n.Duplicates; t > peak {
			peak, peakDay = t, n
		}
	}
	for i, n := range days {
		cd := chartDay{X: i * (barW + gap), Label: n.Date.Format("2 Jan") + ": " + dayCounts(n)}
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
		// The busiest day in the same three numbers as each bar's label
		// and the legend: one total would disagree with both.
		c.Desc = fmt.Sprintf("%s, %d spam and %s absorbed in the last %d days; the busiest day was %s: %s.",
			plural(int(c.Submitted), "submission", "submissions"), c.Spam, plural(int(c.Duplicates), "duplicate", "duplicates"),
			len(days), peakDay.Date.Format("2 January"), dayCounts(peakDay))
	}
	return c
}

// dayCounts is a day of the chart in words: "41 submissions, 2 spam, 0
// duplicates absorbed".
func dayCounts(n submissions.Day) string {
	return fmt.Sprintf("%s, %d spam, %s absorbed", plural(int(n.Submissions), "submission", "submissions"), n.Spam,
		plural(int(n.Duplicates), "duplicate", "duplicates"))
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
	ID        string
	Name      string
	Endpoint  string
	HostedURL string
	// TestKey is the idempotency key of the page's "Send a test
	// submission": a double click sends one.
	TestKey         string
	Archived        bool
	ContractVersion int
	Fields          []fieldSummary
	Settings        []setting
	RequireKey      bool
	Snippets        []snippet
	Notify          notifyView
	Retention       string // what the form's submission retention means for it
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
		Snippets: d.snippets(f), TestKey: uuid.NewString(),
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
		{"Identical keyless JSON deduplicated for", map[bool]string{true: "off", false: s.KeylessJSONWindow.String()}[s.KeylessJSONWindow == 0]},
		{"Fields not in the contract", map[string]string{forms.UnknownAccept: "accepted", forms.UnknownReject: "rejected"}[s.UnknownFields]},
		{"Autoresponse", ar},
		{"_cc copies the notification", map[bool]string{true: "yes", false: "no (kept with the submission, no one copied)"}[s.AllowCC]},
		{"Honeypot field", s.HoneypotField},
		{"Minimum time to fill", minFillText(s.MinFillSeconds)},
		{"Submissions kept", retentionSetting(s.RetentionDays())},
		{"One answer per", uniqueText(s.Unique)},
		{"CAPTCHA", captchaText(s.Captcha)},
		{"Blocked words", orNone(s.BlockedWords, "none")},
		{"Blocked emails", orNone(s.BlockedEmails, "none")},
		{"Blocked addresses", orNone(s.BlockedIPs, "none")},
	}
	if v.Notify, err = d.notifyOf(r, f); err != nil {
		d.error(w, r, err)
		return
	}
	plan, err := submissions.PlanRetention(r.Context(), d.DB, f.ID, s.RetentionDays(), time.Now())
	if err != nil {
		d.error(w, r, err)
		return
	}
	v.Retention = retentionText(plan)
	v.base = d.base(w, r, f.Name, "forms", formCrumbs(f)[:1]...)
	v.Crumbs = append(v.Crumbs, crumb{Label: f.Name})
	renderPage(d, w, r, http.StatusOK, tmplForm, v)
}

// retentionSetting is a submission retention as the settings list says it.
func retentionSetting(days int) string {
	if days == 0 {
		return "until you delete them"
	}
	return plural(days, "day", "days")
}

// retentionText says what a form's retention means for it: what goes and
// when, and how many the next run will delete.
func retentionText(p submissions.RetentionPlan) string {
	if p.Days == 0 {
		return "Submissions are kept until you delete them."
	}
	due := "none will be deleted at the next run"
	if p.Due > 0 {
		due = strconv.FormatInt(p.Due, 10) + " will be deleted at the next run"
	}
	return "Submissions older than " + retentionSetting(p.Days) + " are deleted each night (at " +
		p.NextRun.Format("15:04") + " UTC), with their files; " + due + "."
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
	if err := forms.Archive(r.Context(), d.DB, d.actor(r), user(r).AccountID, chi.URLParam(r, "form_id")); err != nil {
		d.error(w, r, err)
		return
	}
	d.redirect(w, r, "/forms", flash{Kind: flashSuccess, Message: "Form archived. Its endpoint now answers 410 Gone; its submissions are kept. It is under Archived forms, where you can restore it."})
}

// restoreForm takes a form out of the archive: its endpoint takes
// submissions again.
func (d *Dashboard) restoreForm(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "form_id")
	if err := forms.Restore(r.Context(), d.DB, d.actor(r), user(r).AccountID, id); err != nil {
		d.error(w, r, err)
		return
	}
	d.redirect(w, r, "/forms/"+id, flash{Kind: flashSuccess, Message: "Form restored. Its endpoint takes submissions again."})
}

// The contract and settings editor

// uniqueText says in plain words what a form's unique setting does.
func uniqueText(u forms.Unique) string {
	if !u.On() {
		return "off: every submission is taken"
	}
	what := strings.Join(u.Fields, " and ")
	if u.Window != "" {
		what += ", within " + u.Window
	}
	if u.OnDuplicate == forms.UniqueReject {
		return what + " (a repeat is refused with 409)"
	}
	return what + " (a repeat is thanked and not stored)"
}
