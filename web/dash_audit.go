package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/internal/textcheck"
)

// auditView is the data of the audit log page: the account's changes,
// newest first, optionally one object's only.
type auditView struct {
	base
	Object string // the filter; "" for all
	// FilterError says why the filter (or the page link) is refused: the
	// page then lists nothing, never everything.
	FilterError string
	Entries     []auditRow
	FirstURL    string // the newest entries; "" when shown
	NextURL     string // older entries; "" on the last page
}

type auditRow struct {
	At      time.Time
	Actor   string // who, in words
	Address string
	Action  string
	Count   int64  // how many objects the change covered; 0 for one
	Object  string // type and id
	Changed string // the names, comma-separated
}

// auditPerPage is how many entries the page lists at once.
const auditPerPage = 50

var auditActors = map[string]string{audit.ActorCLI: "the intake command", audit.ActorSystem: "Intake",
	audit.ActorLink: "someone following a link Intake mailed"}

// maxAuditObject bounds the object filter: every public id is far
// shorter (the API's bound too).
const maxAuditObject = 100

// auditPage lists the account's audit log. Roles do not exist yet: every
// user of the account sees it; the roles part of issue 14 limits it to
// owners and admins.
func (d *Dashboard) auditPage(w http.ResponseWriter, r *http.Request) {
	var before *int64
	v := auditView{Object: strings.TrimSpace(r.URL.Query().Get("object"))}
	if len(v.Object) > maxAuditObject || textcheck.Problem(v.Object) != "" {
		// No id is like it. Listing everything instead would answer a
		// question nobody asked (the API answers 400 invalid-parameter).
		v.Object = shownFilter(v.Object)
		v.FilterError = fmt.Sprintf("That is not an object’s id: ids are plain text of at most %d characters. Nothing is listed; correct the id or show all.", maxAuditObject)
		d.renderAudit(w, r, http.StatusBadRequest, v)
		return
	}
	first := "/audit"
	if v.Object != "" {
		first += "?object=" + url.QueryEscape(v.Object)
	}
	if c := r.URL.Query().Get("before"); c != "" {
		n, err := strconv.ParseInt(c, 10, 64)
		if err != nil || n <= 0 {
			v.FilterError = "That page link is broken: start again from the newest changes."
			v.FirstURL = first
			d.renderAudit(w, r, http.StatusBadRequest, v)
			return
		}
		before = &n
		v.FirstURL = first
	}
	list, err := audit.List(r.Context(), d.DB, user(r).AccountID, before, v.Object, auditPerPage+1)
	if err != nil {
		d.error(w, r, err)
		return
	}
	if len(list) > auditPerPage {
		list = list[:auditPerPage]
		sep := "?"
		if v.Object != "" {
			sep = "&"
		}
		v.NextURL = first + sep + "before=" + strconv.FormatInt(list[auditPerPage-1].ID, 10)
	}
	for _, e := range list {
		v.Entries = append(v.Entries, auditRow{At: e.At, Actor: auditActor(e), Address: e.Address, Action: e.Action, Count: e.Count,
			Object: e.ObjectType + " " + e.ObjectID, Changed: strings.Join(e.Changed, ", ")})
	}
	d.renderAudit(w, r, http.StatusOK, v)
}

func (d *Dashboard) renderAudit(w http.ResponseWriter, r *http.Request, status int, v auditView) {
	v.base = d.base(w, r, "Audit log", "audit", crumb{Label: "Audit log"})
	renderPage(d, w, r, status, tmplAudit, v)
}

// auditActor says who made a change, in words. A user deleted since is
// "deleted user #N": the log keeps no email of its own (audit.List says
// why), and the number still tells one deleted user's changes from
// another's.
func auditActor(e audit.Logged) string {
	switch {
	case auditActors[e.ActorKind] != "":
		return auditActors[e.ActorKind]
	case e.ActorKind == audit.ActorAPIKey && e.ActorID != "":
		return "API key " + e.ActorID
	case e.ActorID != "":
		return e.ActorID
	case e.ActorKind == audit.ActorUser && e.ActorUserID != 0:
		return "deleted user #" + strconv.FormatInt(e.ActorUserID, 10)
	}
	return "a deleted " + strings.ReplaceAll(e.ActorKind, "_", " ")
}

// shownFilter is a refused filter as the page may show it again: valid
// text, cut to the bound.
func shownFilter(s string) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	if len(s) > maxAuditObject {
		s = strings.ToValidUTF8(s[:maxAuditObject], "")
	}
	return s
}
