package web

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/intakehq/intake/people"
	"github.com/intakehq/intake/submissions"
)

// A person's data: the dashboard's side of GET /api/v1/people and POST
// /api/v1/erasures (docs/ARCHITECTURE.md, "A person's data"). The address
// travels in POST bodies, never in a URL, so it stays out of the browser's
// history and of logs of URLs. The pages are owners' and admins'
// (web/dashboard.go).

// peopleView is the data of the page: the address form, a lookup's
// results, or an erasure's confirmation.
type peopleView struct {
	base
	Email string // the address entered
	Error string // what is wrong with it; "" when nothing
	// Found is set after a lookup: how many, and the newest peopleShown.
	Found *peopleFound
	// Confirm is set on the erasure's confirmation: what it will delete.
	Confirm *people.Counts
}

type peopleFound struct {
	Count int64
	Rows  []personRow
	More  int64 // found but not listed
}

type personRow struct {
	URL  string
	ID   string
	Form string
	At   time.Time
	Spam bool
}

// peopleShown is how many of a person's submissions the page lists; the
// download has them all.
const peopleShown = 100

func (d *Dashboard) peopleCrumbs() []crumb {
	return []crumb{{Label: "Account", URL: "/account"}, {Label: "A person's data"}}
}

// peoplePage is the empty form.
func (d *Dashboard) peoplePage(w http.ResponseWriter, r *http.Request) {
	d.renderPeople(w, r, http.StatusOK, peopleView{})
}

func (d *Dashboard) renderPeople(w http.ResponseWriter, r *http.Request, status int, v peopleView) {
	v.base = d.base(w, r, "A person's data", "account", d.peopleCrumbs()...)
	renderPage(d, w, r, status, tmplPeople, v)
}

// personAddress reads the posted address; on a bad one it renders the
// form with what is wrong (422) and returns false.
func (d *Dashboard) personAddress(w http.ResponseWriter, r *http.Request) (string, bool) {
	if !d.parseForm(w, r) {
		return "", false
	}
	raw := r.PostFormValue("email")
	address, problem, err := submissions.ParseAddress(r.Context(), d.DB, raw)
	if err != nil {
		d.error(w, r, err)
		return "", false
	}
	if problem != "" {
		if len(raw) > submissions.MaxAddress*2 {
			raw = ""
		}
		d.renderPeople(w, r, http.StatusUnprocessableEntity, peopleView{Email: raw, Error: "The " + problem + "."})
		return "", false
	}
	return address, true
}

// lookup reads the posted address and looks it up, recorded in the audit
// log; it answers the request itself (the form again, or an error page)
// and returns nil when it cannot.
func (d *Dashboard) lookup(w http.ResponseWriter, r *http.Request) (*people.Lookup, string) {
	address, ok := d.personAddress(w, r)
	if !ok {
		return nil, ""
	}
	found, err := people.Find(r.Context(), d.DB, d.actor(r), user(r).AccountID, address)
	if err != nil {
		d.error(w, r, err)
		return nil, ""
	}
	return found, address
}

// findPerson looks the address up and lists the newest of its
// submissions, with links to them.
func (d *Dashboard) findPerson(w http.ResponseWriter, r *http.Request) {
	found, address := d.lookup(w, r)
	if found == nil {
		return
	}
	ctx := r.Context()
	v := peopleView{Email: address, Found: &peopleFound{Count: found.Count}}
	err := found.Each(ctx, d.DB, func(s *submissions.Submission) error {
		if len(v.Found.Rows) == peopleShown {
			return errEnough
		}
		v.Found.Rows = append(v.Found.Rows, personRow{URL: "/forms/" + s.FormPublicID + "/submissions/" + s.PublicID(),
			ID: s.PublicID(), Form: s.FormPublicID, At: s.CreatedAt, Spam: s.Spam})
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		d.error(w, r, err)
		return
	}
	v.Found.More = max(0, v.Found.Count-int64(len(v.Found.Rows)))
	d.renderPeople(w, r, http.StatusOK, v)
}

// errEnough stops a listing that has what the page shows.
var errEnough = errors.New("enough")

// exportPerson downloads every submission of the address as NDJSON, as
// GET /api/v1/people answers it (recorded in the audit log).
func (d *Dashboard) exportPerson(w http.ResponseWriter, r *http.Request) {
	found, _ := d.lookup(w, r)
	if found == nil {
		return
	}
	ctx := r.Context()
	w.Header().Set("Content-Type", submissions.NDJSON.ContentType())
	w.Header().Set("Content-Disposition", `attachment; filename="person-submissions-`+time.Now().UTC().Format("20060102")+`.ndjson"`)
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	n, err := found.Write(ctx, d.DB, w, func() error {
		_ = rc.SetWriteDeadline(time.Now().Add(exportChunkTimeout))
		return rc.Flush()
	})
	if err != nil {
		d.logger(r).WarnContext(ctx, "dashboard: a person's download cut short", "rows", n, "err", err)
		panic(http.ErrAbortHandler)
	}
}

// confirmErasePerson shows what an erasure of the address will delete.
func (d *Dashboard) confirmErasePerson(w http.ResponseWriter, r *http.Request) {
	address, ok := d.personAddress(w, r)
	if !ok {
		return
	}
	c, err := people.Preview(r.Context(), d.DB, d.actor(r), user(r).AccountID, address)
	if err != nil {
		d.error(w, r, err)
		return
	}
	d.renderPeople(w, r, http.StatusOK, peopleView{Email: address, Confirm: &c})
}

// erasePerson deletes the address's submissions with every copy and says
// what went, per kind.
func (d *Dashboard) erasePerson(w http.ResponseWriter, r *http.Request) {
	address, ok := d.personAddress(w, r)
	if !ok {
		return
	}
	rc := http.NewResponseController(w)
	c, err := people.Erase(r.Context(), d.DB, d.actor(r), user(r).AccountID, address, 0, func() {
		_ = rc.SetWriteDeadline(time.Now().Add(exportChunkTimeout))
	})
	if err != nil {
		d.error(w, r, err)
		return
	}
	d.redirect(w, r, "/account/people", flash{Kind: flashSuccess, Message: fmt.Sprintf(
		"Erased %s: %d submissions, %d files, %d idempotency keys, %d emails, %d webhook deliveries, %d queued jobs.",
		people.Mask(address), c.Submissions, c.Files, c.IdempotencyKeys, c.Emails, c.Deliveries, c.Jobs)})
}
