package web

import (
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
	Object   string // the filter; "" for all
	Entries  []auditRow
	FirstURL string // the newest entries; "" when shown
	NextURL  string // older entries; "" on the last page
}

type auditRow struct {
	At      time.Time
	Actor   string // who, in words
	Address string
	Action  string
	Object  string // type and id
	Changed string // the names, comma-separated
}

// auditPerPage is how many entries the page lists at once.
const auditPerPage = 50

var auditActors = map[string]string{audit.ActorCLI: "the intake command", audit.ActorSystem: "Intake"}

// auditPage lists the account's audit log. Roles do not exist yet: every
// user of the account sees it; the roles part of issue 14 limits it to
// owners and admins.
func (d *Dashboard) auditPage(w http.ResponseWriter, r *http.Request) {
	var before *int64
	v := auditView{Object: strings.TrimSpace(r.URL.Query().Get("object"))}
	if len(v.Object) > 100 || textcheck.Problem(v.Object) != "" {
		v.Object = "" // no id is like it: show everything rather than fail
	}
	first := "/audit"
	if v.Object != "" {
		first += "?object=" + url.QueryEscape(v.Object)
	}
	if c := r.URL.Query().Get("before"); c != "" {
		if n, err := strconv.ParseInt(c, 10, 64); err == nil {
			before = &n
			v.FirstURL = first
		}
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
		who := orDefault(auditActors[e.ActorKind], e.ActorID)
		if who == "" {
			who = "a deleted " + strings.ReplaceAll(e.ActorKind, "_", " ")
		} else if e.ActorKind == audit.ActorAPIKey {
			who = "API key " + who
		}
		v.Entries = append(v.Entries, auditRow{At: e.At, Actor: who, Address: e.Address, Action: e.Action,
			Object: e.ObjectType + " " + e.ObjectID, Changed: strings.Join(e.Changed, ", ")})
	}
	v.base = d.base(w, r, "Audit log", "audit", crumb{Label: "Audit log"})
	renderPage(d, w, r, http.StatusOK, tmplAudit, v)
}
