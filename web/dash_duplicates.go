package web

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/submissions"
)

// duplicatesView is a form's possible duplicates (submissions.
// PossibleDuplicates): groups of look-alike submissions, each merged into
// its oldest with one button.
type duplicatesView struct {
	base
	FormID   string
	FormName string
	Groups   []groupView
	Scan     int // how many of the newest submissions were looked at
}

type groupView struct {
	Why   string
	Total int
	Rows  []groupRow
	IDs   []string // the submissions shown, oldest first: the first is kept
}

type groupRow struct {
	URL       string
	CreatedAt time.Time
	Summary   string
}

func (d *Dashboard) duplicatesPage(w http.ResponseWriter, r *http.Request) {
	f, err := d.formFor(r)
	if err != nil {
		d.error(w, r, err)
		return
	}
	groups, err := submissions.PossibleDuplicates(r.Context(), d.DB, user(r).AccountID, f)
	if err != nil {
		d.error(w, r, err)
		return
	}
	list := "/forms/" + f.PublicID + "/submissions"
	v := duplicatesView{FormID: f.PublicID, FormName: f.Name, Scan: submissions.GroupScan}
	for _, g := range groups {
		gv := groupView{Why: g.Why, Total: g.Total}
		for _, s := range g.Submissions {
			gv.Rows = append(gv.Rows, groupRow{URL: list + "/" + s.PublicID(), CreatedAt: s.CreatedAt, Summary: summaryOf(f, s)})
			gv.IDs = append(gv.IDs, s.PublicID())
		}
		v.Groups = append(v.Groups, gv)
	}
	v.base = d.base(w, r, "Possible duplicates · "+f.Name, "forms", formCrumbs(f, crumb{Label: "Submissions", URL: list}, crumb{Label: "Possible duplicates"})...)
	renderPage(d, w, r, http.StatusOK, tmplDuplicates, v)
}

// summaryOf is a line of a submission's first fields, for telling look-alikes
// apart.
func summaryOf(f *forms.Form, s *submissions.Submission) string {
	var parts []string
	for _, fl := range f.Contract.Fields {
		if v, ok := s.Data[fl.Name]; ok {
			parts = append(parts, submissions.Text(v, pageText))
		}
		if len(parts) == 3 {
			break
		}
	}
	return truncate(strings.Join(parts, " · "), 120)
}

// maxMergeIDs bounds the ids one merge post names (a group shows at most
// submissions.GroupShown).
const maxMergeIDs = submissions.GroupShown

// mergeGroup merges the posted submissions of the form into the first
// posted, the group's oldest: each is merged on its own (submissions.Merge),
// so one refused (merged meanwhile) does not stop the others.
func (d *Dashboard) mergeGroup(w http.ResponseWriter, r *http.Request) {
	f, err := d.formFor(r)
	if err != nil {
		d.error(w, r, err)
		return
	}
	if !d.parseForm(w, r) {
		return
	}
	raw := r.PostForm["id"]
	page := "/forms/" + f.PublicID + "/duplicates"
	if len(raw) < 2 || len(raw) > maxMergeIDs {
		d.redirect(w, r, page, flash{Kind: flashError, Message: "Choose a group of two or more submissions to merge."})
		return
	}
	var ids []uuid.UUID
	for _, s := range raw {
		id, err := submissions.ParseID(s)
		if err != nil {
			d.error(w, r, err)
			return
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	keep, err := submissions.Get(r.Context(), d.DB, user(r).AccountID, ids[0])
	if err == nil && keep.FormPublicID != f.PublicID {
		err = submissions.ErrNotFound
	}
	if err != nil {
		d.error(w, r, err)
		return
	}
	merged := 0
	for _, id := range ids[1:] {
		switch _, err := submissions.Merge(r.Context(), d.DB, d.actor(r), user(r).AccountID, id, ids[0]); {
		case err == nil:
			merged++
		case errors.Is(err, submissions.ErrMergeChain), errors.Is(err, submissions.ErrNotFound), errors.Is(err, submissions.ErrMergeAcrossForms):
			// Merged or deleted meanwhile, or not this form's: left as it
			// is, and the others merged all the same (each merge is its
			// own transaction; the count says how many were).
		default:
			d.error(w, r, err)
			return
		}
	}
	d.redirect(w, r, page, flash{Kind: flashSuccess, Message: fmt.Sprintf(
		"Merged %d into the submission of %s, which is kept. Nothing was deleted: each merged one has an “Undo the merge” button.", merged, formatWhen(keep.CreatedAt))})
}

// unmergeSubmission undoes a submission's merge.
func (d *Dashboard) unmergeSubmission(w http.ResponseWriter, r *http.Request) {
	f, s, err := d.submissionFor(r)
	if err == nil {
		_, err = submissions.Unmerge(r.Context(), d.DB, d.actor(r), user(r).AccountID, s.ID)
	}
	if err != nil {
		d.error(w, r, err)
		return
	}
	d.redirect(w, r, "/forms/"+f.PublicID+"/submissions/"+s.PublicID(), flash{Kind: flashSuccess, Message: "The merge is undone: the submission is back in the inbox."})
}
