package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"

	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/submissions"
)

// maxSelection is the most submissions one bulk action takes: ten pages
// of the list.
const maxSelection = 10 * submissionsPerPage

// bulkActions are the bulk actions' names, as the list's buttons post
// them, with what the flash says was done.
var bulkActions = map[string]string{
	"read":     "marked read",
	"unread":   "marked unread",
	"star":     "starred",
	"unstar":   "no longer starred",
	"spam":     "marked as spam",
	"not-spam": "moved to the inbox",
	"delete":   "deleted",
}

// selection reads a posted selection of f's submissions: the ids checked
// (id, repeated) that are f's, how many were asked for, and the page to
// go back to (back: a page of f's submissions, else its inbox). With
// ok false it has answered.
func (d *Dashboard) selection(w http.ResponseWriter, r *http.Request) (f *forms.Form, ids []uuid.UUID, asked int, back string, ok bool) {
	f, err := d.formFor(r)
	if !d.parseFormFor(w, r, err) {
		return nil, nil, 0, "", false
	}
	back = backTo(r.PostFormValue("back"), "/forms/"+f.PublicID+"/submissions")
	posted := r.PostForm["id"]
	if len(posted) == 0 {
		d.redirect(w, r, back, flash{Kind: flashError, Message: "Select one or more submissions first: tick the box in front of each."})
		return nil, nil, 0, "", false
	}
	if len(posted) > maxSelection {
		d.redirect(w, r, back, flash{Kind: flashError, Message: fmt.Sprintf(
			"%d submissions were selected; one action takes at most %d. Select fewer, or narrow the list with a search or days and export it whole.", len(posted), maxSelection)})
		return nil, nil, 0, "", false
	}
	var want []uuid.UUID
	for _, p := range posted {
		// An id that is not one is not found, as one of another form is.
		if id, err := submissions.ParseID(p); err == nil {
			want = append(want, id)
		}
	}
	ids, err = submissions.OfForm(r.Context(), d.DB, f.ID, want)
	if err != nil {
		d.error(w, r, err)
		return nil, nil, 0, "", false
	}
	return f, ids, len(posted), back, true
}

// backTo is to when it is a page at or below list on this site, else list:
// a bulk action comes back to the page it was posted from, never to
// another site.
func backTo(to, list string) string {
	u, err := url.Parse(to)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || strings.HasPrefix(to, "//") ||
		(u.Path != list && !strings.HasPrefix(u.Path, list+"/")) || strings.Contains(u.Path, "/..") {
		return list
	}
	return u.RequestURI()
}

// submissionsCount is "1 submission" or "n submissions".
func submissionsCount(n int) string {
	if n == 1 {
		return "1 submission"
	}
	return fmt.Sprintf("%d submissions", n)
}

// bulkSubmissions applies one action (action) to the selected submissions
// of a form, in one transaction, and comes back to the list. Deleting asks
// first, on a page of its own, unless confirm=1.
func (d *Dashboard) bulkSubmissions(w http.ResponseWriter, r *http.Request) {
	f, ids, asked, back, ok := d.selection(w, r)
	if !ok {
		return
	}
	action := r.PostFormValue("action")
	done, known := bulkActions[action]
	if !known {
		d.redirect(w, r, back, flash{Kind: flashError, Message: "Choose what to do with the selected submissions: one of the buttons above the list."})
		return
	}
	if action == "delete" && r.PostFormValue("confirm") != "1" && len(ids) > 0 {
		hidden := []hiddenInput{{"action", "delete"}, {"confirm", "1"}, {"back", back}}
		for _, id := range ids {
			hidden = append(hidden, hiddenInput{"id", submissions.FormatID(id)})
		}
		renderPage(d, w, r, http.StatusOK, tmplConfirm, confirmView{
			base: d.base(w, r, "Delete submissions", "forms", formCrumbs(f, crumb{Label: "Submissions", URL: "/forms/" + f.PublicID + "/submissions"},
				crumb{Label: "Delete"})...),
			Heading: "Delete " + submissionsCount(len(ids)) + " for good?",
			Message: "Their data and files are deleted and cannot be brought back. A retry with one of their idempotency keys is still answered as before, and is not stored again.",
			Action:  r.URL.Path, Button: "Delete " + submissionsCount(len(ids)), CancelURL: back, Hidden: hidden,
		})
		return
	}
	ctx, actor, account := r.Context(), d.actor(r), user(r).AccountID
	var (
		n   int
		err error
	)
	switch action {
	case "spam", "not-spam":
		n, err = submissions.SetSpamAll(ctx, d.DB, actor, account, ids, action == "spam")
	case "delete":
		n, err = submissions.DeleteAll(ctx, d.DB, actor, account, ids)
	default:
		n, err = submissions.SetMark(ctx, d.DB, account, ids, submissions.Mark(action))
	}
	if err != nil {
		d.error(w, r, err)
		return
	}
	msg := submissionsCount(n) + " " + done + "."
	if gone := asked - n; gone > 0 {
		msg += fmt.Sprintf(" %s of the selection %s not found: deleted meanwhile, or not this form’s.", submissionsCount(gone), map[bool]string{true: "was", false: "were"}[gone == 1])
	}
	kind := flashSuccess
	if n == 0 {
		kind = flashError
	}
	d.redirect(w, r, back, flash{Kind: kind, Message: msg})
}

// exportSelected downloads the selected submissions of a form, as CSV
// (format=csv) or a JSON array (format=json), newest first.
func (d *Dashboard) exportSelected(w http.ResponseWriter, r *http.Request) {
	f, ids, _, back, ok := d.selection(w, r)
	if !ok {
		return
	}
	format := submissions.ExportFormat(r.PostFormValue("format"))
	if format != submissions.CSV && format != submissions.JSONArray {
		d.redirect(w, r, back, flash{Kind: flashError, Message: "Choose CSV or JSON for the export."})
		return
	}
	if len(ids) == 0 {
		d.redirect(w, r, back, flash{Kind: flashError, Message: "None of the selected submissions was found: they were deleted meanwhile. Nothing to export."})
		return
	}
	// Exactly what was selected: spam or not, merged or not.
	d.export(w, r, f, format, submissions.Filter{FormID: f.ID, IDs: ids, Merged: true})
}
