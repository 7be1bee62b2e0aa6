package web

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/internal/httpedge"
	"github.com/intakehq/intake/submissions"
)

// submissionsPerPage is how many rows the table shows at once.
const submissionsPerPage = 50

// submissionsView is the data of a form's submissions table.
type submissionsView struct {
	base
	FormID   string
	FormName string
	listQuery
	Spam      bool // the spam tab, else the inbox (or its unread or starred part)
	DateError string
	Columns   []string
	Rows      []submissionRow
	InboxURL  string
	UnreadURL string
	StarURL   string
	SpamURL   string
	ClearURL  string // this tab without its search and dates
	FirstURL  string // the newest page; "" when this is it
	NextURL   string // the next (older) page; "" on the last
	ExportURL string // CSV of the tab, search and dates shown
	JSONURL   string // the same as a JSON array
	ListURL   string // the bulk actions and the selection's export post below it
	Here      string // this page, where a bulk action comes back to
}

// submissionRow is one submission in the table.
type submissionRow struct {
	ID        string
	URL       string
	CreatedAt time.Time
	Cells     []string // one per column
	Replays   int
	Unread    bool
	Starred   bool
	Test      bool // sent with the form page's "Send a test submission"
}

// maxCell is how many characters of a value the table shows.
const maxCell = 80

// listQuery is what a submissions list shows, as its URL says: a tab, a
// search, and days (in the viewer's time zone, which dashboard.js adds;
// UTC without it).
type listQuery struct {
	Show     string // "", "unread", "starred" or "spam"
	Query    string
	From, To string // days, YYYY-MM-DD, as typed
	TZ       string // an IANA time zone name; "" is UTC
}

func parseListQuery(q url.Values) listQuery {
	lq := listQuery{Query: submissions.CleanQuery(q.Get("q")), From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to"))}
	switch show := q.Get("show"); {
	case q.Get("spam") == "true":
		lq.Show = "spam"
	case show == "unread" || show == "starred":
		lq.Show = show
	}
	if tz := q.Get("tz"); tz != "" && len(tz) <= 64 {
		if _, err := time.LoadLocation(tz); err == nil {
			lq.TZ = tz
		}
	}
	return lq
}

// values is lq as a URL's query, with cursor when not "".
func (lq listQuery) values(cursor string) url.Values {
	v := url.Values{}
	switch lq.Show {
	case "spam":
		v.Set("spam", "true")
	case "unread", "starred":
		v.Set("show", lq.Show)
	}
	for k, s := range map[string]string{"q": lq.Query, "from": lq.From, "to": lq.To, "cursor": cursor} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if lq.TZ != "" && (lq.From != "" || lq.To != "") {
		v.Set("tz", lq.TZ)
	}
	return v
}

// link is the list at listURL showing lq.
func (lq listQuery) link(listURL, cursor string) string {
	if v := lq.values(cursor); len(v) > 0 {
		return listURL + "?" + v.Encode()
	}
	return listURL
}

// filter is what lq selects of form formID, and what is wrong with its
// days in words ("" when nothing); a day that is not one is left out of
// the filter rather than guessed.
func (lq listQuery) filter(formID int64) (submissions.Filter, string) {
	spam := lq.Show == "spam"
	f := submissions.Filter{FormID: formID, Spam: &spam, Query: lq.Query, Unread: lq.Show == "unread", Starred: lq.Show == "starred"}
	loc := time.UTC
	if lq.TZ != "" {
		loc, _ = time.LoadLocation(lq.TZ) // checked by parseListQuery
	}
	day := func(what, s string) (*time.Time, string) {
		if s == "" {
			return nil, ""
		}
		t, err := time.ParseInLocation(time.DateOnly, s, loc)
		if err != nil || t.Year() < 2000 || t.Year() > 9999 {
			return nil, fmt.Sprintf("The %s day “%s” is not a day Intake can read: choose it in the calendar, or write it as 2026-12-31.", what, truncate(s, 40))
		}
		return &t, ""
	}
	from, bad1 := day("first", lq.From)
	to, bad2 := day("last", lq.To)
	if to != nil {
		next := to.AddDate(0, 0, 1) // the last day is included
		to = &next
	}
	if from != nil && to != nil && !from.Before(*to) {
		return f, "The first day is after the last: swap them, or clear one."
	}
	f.Since, f.Until = from, to
	return f, strings.TrimSpace(bad1 + " " + bad2)
}

func (d *Dashboard) submissionsPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	f, err := d.formFor(r)
	if err != nil {
		d.error(w, r, err)
		return
	}
	q := r.URL.Query()
	lq := parseListQuery(q)
	filter, dateError := lq.filter(f.ID)
	p := submissions.ListParams{Filter: filter, Limit: submissionsPerPage}
	if c := q.Get("cursor"); c != "" {
		// A cursor that is not ours starts from the newest rather than failing.
		p.After, _ = submissions.ParseCursor(c)
	}
	list, next, err := submissions.List(ctx, d.DB, p)
	if err != nil {
		d.error(w, r, err)
		return
	}
	listURL := "/forms/" + f.PublicID + "/submissions"
	spam := lq.Show == "spam"
	tab := func(show string) string { t := lq; t.Show = show; return t.link(listURL, "") }
	v := submissionsView{
		FormID: f.PublicID, FormName: f.Name, listQuery: lq, Spam: spam, DateError: dateError,
		InboxURL: tab(""), UnreadURL: tab("unread"), StarURL: tab("starred"), SpamURL: tab("spam"),
		ClearURL: listQuery{Show: lq.Show}.link(listURL, ""),
		ListURL:  listURL, Here: lq.link(listURL, q.Get("cursor")),
	}
	if p.After != nil {
		v.FirstURL = lq.link(listURL, "")
	}
	if next != nil {
		v.NextURL = lq.link(listURL, next.String())
	}
	exp := lq.values("")
	exp.Set("spam", fmt.Sprint(spam))
	v.ExportURL = listURL + ".csv?" + exp.Encode()
	v.JSONURL = listURL + ".json?" + exp.Encode()
	fields := f.Contract.Fields[:min(len(f.Contract.Fields), 3)]
	for _, fl := range fields {
		v.Columns = append(v.Columns, orDefault(fl.Label, fl.Name))
	}
	if len(fields) == 0 {
		v.Columns = []string{"Data"}
	}
	if spam {
		v.Columns = append(v.Columns, "Why")
	}
	for _, s := range list {
		row := submissionRow{ID: s.PublicID(), URL: listURL + "/" + s.PublicID(), CreatedAt: s.CreatedAt, Replays: s.Replays,
			Unread: s.ReadAt == nil, Starred: s.Starred, Test: s.Meta.Test}
		for _, fl := range fields {
			row.Cells = append(row.Cells, truncate(submissions.Text(s.Data[fl.Name], pageText), maxCell))
		}
		if len(fields) == 0 {
			var parts []string
			for _, k := range slices.Sorted(maps.Keys(s.Data)) {
				parts = append(parts, k+": "+submissions.Text(s.Data[k], pageText))
			}
			row.Cells = []string{truncate(strings.Join(parts, "; "), maxCell)}
		}
		if spam {
			row.Cells = append(row.Cells, orDefault(s.SpamReason, "marked as spam"))
		}
		v.Rows = append(v.Rows, row)
	}
	title := map[string]string{"": "Submissions", "unread": "Unread", "starred": "Starred", "spam": "Spam"}[lq.Show]
	v.base = d.base(w, r, title+" · "+f.Name, "forms", formCrumbs(f, crumb{Label: "Submissions"})...)
	status := http.StatusOK
	if dateError != "" {
		status = http.StatusUnprocessableEntity
	}
	renderPage(d, w, r, status, tmplSubmissions, v)
}

// truncate shortens s to n characters, with an ellipsis.
func truncate(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// pageText is how a value reads on the dashboard: a list joined with ", ",
// a file with its size and type.
var pageText = submissions.TextStyle{ListSep: ", ", File: func(f map[string]any) string {
	return fmt.Sprintf("%v (%v bytes, %v)", f["filename"], f["size"], f["content_type"])
}}

// ccText is a submission's _cc list, and whether it was copied.
func ccText(cc []string, allowed bool) string {
	if len(cc) == 0 {
		return ""
	}
	if !allowed {
		return strings.Join(cc, ", ") + " (not copied: the form does not let _cc copy the notification)"
	}
	return strings.Join(cc, ", ")
}

// fillText is how long the form was open before it was sent, as intake.js
// reported it.
func fillText(ms *int64) string {
	if ms == nil {
		return ""
	}
	return strconv.FormatFloat(float64(*ms)/1000, 'f', 1, 64) + " s"
}

// captchaCheckText is what became of a submission's CAPTCHA.
func captchaCheckText(c *submissions.CaptchaCheck) string {
	switch {
	case c == nil:
		return ""
	case c.Verified:
		return "verified by " + c.Provider.Name()
	}
	return "not verified: " + c.Provider.Name() + " " + c.Reason + ". Taken because the form takes submissions while its CAPTCHA provider is down."
}

// submissionView is the data of one submission's page.
type submissionView struct {
	base
	FormID     string
	FormName   string
	ID         string
	URL        string // this page; actions post below it
	ListURL    string // the tab it is listed under
	BulkURL    string // the list's bulk actions, which the page's marks use
	CreatedAt  time.Time
	Spam       bool
	SpamReason string
	Starred    bool
	// CaptchaUnverified: taken without a verified CAPTCHA (the provider
	// could not be asked and the form fails open).
	CaptchaUnverified bool
	Fields            []dataField
	Meta              []setting
	MergedInto        *mergedLink // nil when not merged
	Files             []fileLink
}

// fileLink is a file on a submission's page: a download link, and a
// preview when it is an image a browser draws.
type fileLink struct {
	Name, Field, Type, URL string
	Size                   int64
	Image                  bool
}

// mergedLink is the submission a merged one was merged into.
type mergedLink struct {
	URL       string
	CreatedAt time.Time
}

// dataField is one field of the data: the contract's in order, then the
// others (Extra) by name.
type dataField struct {
	Name      string
	Label     string
	Value     string
	Missing   bool // a contract field the submission did not send
	Extra     bool // not in the form's current contract
	Multiline bool
}

// submissionFor returns the account's submission named by the URL, and
// its form; a submission of another form is not found.
func (d *Dashboard) submissionFor(r *http.Request) (*forms.Form, *submissions.Submission, error) {
	f, err := d.formFor(r)
	if err != nil {
		return nil, nil, err
	}
	id, err := submissions.ParseID(chi.URLParam(r, "sub_id"))
	if err != nil {
		return nil, nil, err
	}
	s, err := submissions.Get(r.Context(), d.DB, user(r).AccountID, id)
	if err != nil {
		return nil, nil, err
	}
	if s.FormPublicID != f.PublicID {
		return nil, nil, submissions.ErrNotFound
	}
	return f, s, nil
}

// submissionFile sends a submission's file: a download, or with
// ?inline=1 an image's preview (png, jpeg, gif, webp only; anything else
// still downloads), for the page's <img>.
func (d *Dashboard) submissionFile(w http.ResponseWriter, r *http.Request) {
	_, s, err := d.submissionFor(r)
	if err != nil {
		d.error(w, r, err)
		return
	}
	f, body, err := submissions.OpenFile(r.Context(), d.DB, submissions.PGFiles{DB: d.DB}, user(r).AccountID, s.ID, chi.URLParam(r, "file_id"))
	if err != nil {
		d.error(w, r, err)
		return
	}
	defer body.Close()
	httpedge.SendFile(w, r, httpedge.File{Name: f.Name, ContentType: f.ContentType, Size: f.Size, SHA256: f.SHA256}, body, r.URL.Query().Get("inline") == "1")
}

func (d *Dashboard) submissionPage(w http.ResponseWriter, r *http.Request) {
	f, s, err := d.submissionFor(r)
	if err != nil {
		d.error(w, r, err)
		return
	}
	// Opened: read, for everyone of the account, as a shared inbox marks it.
	if err := submissions.Opened(r.Context(), d.DB, s.ID); err != nil {
		d.error(w, r, err)
		return
	}
	list := "/forms/" + f.PublicID + "/submissions"
	v := submissionView{
		FormID: f.PublicID, FormName: f.Name, ID: s.PublicID(), URL: list + "/" + s.PublicID(), ListURL: list, BulkURL: list + "/bulk",
		CreatedAt: s.CreatedAt, Spam: s.Spam, SpamReason: s.SpamReason, Starred: s.Starred,
		CaptchaUnverified: s.Meta.Captcha != nil && !s.Meta.Captcha.Verified,
	}
	if s.Spam {
		v.ListURL += "?spam=true"
	}
	if s.MergedInto != nil {
		kept, err := submissions.Get(r.Context(), d.DB, user(r).AccountID, *s.MergedInto)
		if err != nil {
			d.error(w, r, err)
			return
		}
		v.MergedInto = &mergedLink{URL: list + "/" + kept.PublicID(), CreatedAt: kept.CreatedAt}
	}
	for _, sf := range s.Files {
		id := sf.FileID(s.ID)
		hf := httpedge.File{Name: sf.Name, ContentType: sf.ContentType, Size: sf.Size}
		v.Files = append(v.Files, fileLink{Name: sf.Name, Field: sf.Field, Size: sf.Size, Type: sf.ContentType,
			URL: v.URL + "/files/" + id, Image: hf.Inline()})
	}
	seen := map[string]bool{}
	for _, fl := range f.Contract.Fields {
		val, ok := s.Data[fl.Name]
		text := submissions.Text(val, pageText)
		v.Fields = append(v.Fields, dataField{Name: fl.Name, Label: orDefault(fl.Label, fl.Name), Value: text, Missing: !ok,
			Multiline: fl.Type == forms.TypeTextarea || strings.Contains(text, "\n")})
		seen[fl.Name] = true
	}
	for _, k := range slices.Sorted(maps.Keys(s.Data)) {
		if !seen[k] {
			text := submissions.Text(s.Data[k], pageText)
			v.Fields = append(v.Fields, dataField{Name: k, Label: k, Value: text, Extra: true, Multiline: strings.Contains(text, "\n")})
		}
	}
	m := s.Meta
	key := s.IdempotencyKey
	switch {
	case key == "":
		key = "none (a keyless JSON request, or dedupe was off)"
	case strings.HasPrefix(key, "auto:"):
		key = "implicit, from the browser’s address and data (" + truncate(key, 40) + ")"
	}
	meta := []setting{
		{"Received", formatWhen(s.CreatedAt)},
		{"Submission id", s.PublicID()},
		{"IP address", m.IP},
		{"User agent", m.UserAgent},
		{"Referrer", m.Referrer},
		{"Origin", m.Origin},
		{"Subject (_subject)", m.Subject},
		{"Reply-to", m.ReplyTo},
		{"Cc (_cc)", ccText(m.CC, f.Settings.AllowCC)},
		{"Language", m.Language},
		{"Next (_next)", m.Next},
		{"Time to fill (_fill_ms)", fillText(m.FillMS)},
		{"CAPTCHA", captchaCheckText(m.Captcha)},
		{"Test", map[bool]string{true: "yes: sent from the dashboard with sample values"}[m.Test]},
		{"Contract version", fmt.Sprint(s.ContractVersion)},
		{"Idempotency key", key},
		{"Duplicates absorbed", duplicatesText(s.Duplicates)},
	}
	if s.Spam {
		meta = append(meta, setting{"Spam because", orDefault(s.SpamReason, "marked as spam")})
	}
	for _, kv := range meta {
		if kv.Value != "" {
			v.Meta = append(v.Meta, kv)
		}
	}
	v.base = d.base(w, r, "Submission · "+f.Name, "forms", formCrumbs(f, crumb{Label: "Submissions", URL: list}, crumb{Label: formatWhen(s.CreatedAt)})...)
	renderPage(d, w, r, http.StatusOK, tmplSubmission, v)
}

// markSpam moves a submission to the spam tab or back to the inbox.
func (d *Dashboard) markSpam(spam bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f, s, err := d.submissionFor(r)
		if err == nil {
			_, err = submissions.SetSpam(r.Context(), d.DB, d.actor(r), user(r).AccountID, s.ID, spam)
		}
		if err != nil {
			d.error(w, r, err)
			return
		}
		msg := "Moved to the inbox."
		if spam {
			msg = "Marked as spam. It is under the Spam tab now."
		}
		d.redirect(w, r, "/forms/"+f.PublicID+"/submissions/"+s.PublicID(), flash{Kind: flashSuccess, Message: msg})
	}
}

func (d *Dashboard) confirmDeleteSubmission(w http.ResponseWriter, r *http.Request) {
	f, s, err := d.submissionFor(r)
	if err != nil {
		d.error(w, r, err)
		return
	}
	page := "/forms/" + f.PublicID + "/submissions/" + s.PublicID()
	renderPage(d, w, r, http.StatusOK, tmplConfirm, confirmView{
		base: d.base(w, r, "Delete submission", "forms", formCrumbs(f, crumb{Label: "Submissions", URL: "/forms/" + f.PublicID + "/submissions"},
			crumb{Label: "Delete"})...),
		Heading: "Delete the submission of " + formatWhen(s.CreatedAt) + "?",
		Message: "Its data and files are deleted for good. A retry with its idempotency key is still answered as before, and is not stored again.",
		Action:  page + "/delete", Button: "Delete submission", CancelURL: page,
	})
}

func (d *Dashboard) deleteSubmission(w http.ResponseWriter, r *http.Request) {
	f, s, err := d.submissionFor(r)
	if err == nil {
		err = submissions.Delete(r.Context(), d.DB, d.actor(r), user(r).AccountID, s.ID)
	}
	if err != nil {
		d.error(w, r, err)
		return
	}
	to := "/forms/" + f.PublicID + "/submissions"
	if s.Spam {
		to += "?spam=true"
	}
	d.redirect(w, r, to, flash{Kind: flashSuccess, Message: "Submission deleted."})
}

// exportChunkTimeout is how long the browser has to take each 1,000 rows.
const exportChunkTimeout = time.Minute

// exportList streams the tab, search and days shown (spam=true or false;
// without it, spam and not), as format, in constant memory.
func (d *Dashboard) exportList(format submissions.ExportFormat) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f, err := d.formFor(r)
		if err != nil {
			d.error(w, r, err)
			return
		}
		q := r.URL.Query()
		filter, _ := parseListQuery(q).filter(f.ID)
		if v := q.Get("spam"); v != "true" && v != "false" {
			filter.Spam = nil
		}
		d.export(w, r, f, format, filter)
	}
}

// export streams the submissions of f that filter selects as format, as
// the API's export does (api.StreamExport, which web cannot import).
func (d *Dashboard) export(w http.ResponseWriter, r *http.Request, f *forms.Form, format submissions.ExportFormat, filter submissions.Filter) {
	ctx := r.Context()
	exp, err := submissions.PrepareExport(ctx, d.DB, format, f, filter)
	if err != nil {
		d.error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", format.ContentType())
	w.Header().Set("Content-Disposition", `attachment; filename="`+format.FileName(f, time.Now())+`"`)
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	n, err := exp.Write(ctx, d.DB, w, func() error {
		_ = rc.SetWriteDeadline(time.Now().Add(exportChunkTimeout))
		return rc.Flush()
	})
	if err != nil {
		// The status is sent: abort the response, so the browser sees a
		// failed download rather than a file that looks complete.
		d.logger(r).WarnContext(ctx, "dashboard: export cut short", "form", f.PublicID, "rows", n, "err", err)
		panic(http.ErrAbortHandler)
	}
}

// duplicatesText says how many duplicates a submission absorbed, and how
// each was recognised, in plain words.
func duplicatesText(d submissions.Duplicates) string {
	if d.Total == 0 {
		return "none"
	}
	var how []string
	for _, k := range []struct {
		n    int
		what string
	}{
		{d.Key, "retried with the same key"},
		{d.Implicit, "sent again from the same browser"},
		{d.Unique, "the same unique value sent again"},
		{d.Keyless, "identical JSON sent again without a key"},
	} {
		if k.n > 0 {
			how = append(how, fmt.Sprintf("%d × %s", k.n, k.what))
		}
	}
	out := fmt.Sprint(d.Total)
	if len(how) > 0 {
		out += ": " + strings.Join(how, ", ")
	}
	if d.LastAt != nil {
		out += "; the last " + formatWhen(*d.LastAt)
	}
	return out
}
