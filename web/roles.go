package web

import (
	"net/http"

	"github.com/intakehq/intake/accounts"
)

// anyUser, as the least role of a route, lets every logged-in user use
// it, a user in no account too: their own password, two-factor log-in and
// session.
const anyUser accounts.Role = ""

// least is the middleware of the routes that a member of at least the
// role least may use (docs/SECURITY.md, "Members and roles"; anyUser for
// a user's own pages). Every route behind requireLogin declares one where
// it is registered (Routes); TestRolesEveryDashboardRoute fails for a
// route that does not. A session below it gets the 403 page of
// accounts.RoleError, which says the role it has and whom to ask, before
// the handler reads or changes anything.
func (d *Dashboard) least(least accounts.Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler { return roleGate{d: d, least: least, next: next} }
}

// roleGate is least's handler: a type, so that a test walking the router
// can read the role each route declares (leastRoleOf).
type roleGate struct {
	d     *Dashboard
	least accounts.Role
	next  http.Handler
}

func (g roleGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := state(r).session
	switch {
	case s == nil:
		g.d.toLogin(w, r)
	case g.least == anyUser || s.Role.AtLeast(g.least):
		g.next.ServeHTTP(w, r)
	default:
		g.d.refuse(w, r, s, g.least)
	}
}

// refuse answers a session whose role is below need: the error page of
// accounts.RoleError, naming the account.
func (d *Dashboard) refuse(w http.ResponseWriter, r *http.Request, s *accounts.Session, need accounts.Role) {
	var name string
	if s.AccountID != 0 {
		n, err := accounts.AccountName(r.Context(), d.DB, s.AccountID)
		if err != nil {
			d.error(w, r, err)
			return
		}
		name = n
	}
	e := (&accounts.RoleError{Have: s.Role, Need: need, Account: name}).Describe()
	v := errorView{Heading: e.Title, Message: e.Page, Hint: e.Hint, BackURL: "/forms", BackLabel: "Go to your forms"}
	if s.Role == anyUser {
		v.BackURL, v.BackLabel = "/account", "Go to your account"
	}
	d.errorPage(w, r, e.Kind.Status(), v)
}

// landing is where a session goes after log-in, or from "/": the forms,
// or for a user in no account, who has none, their own settings.
func landing(s *accounts.Session) string {
	if s.Role == anyUser {
		return "/account"
	}
	return "/forms"
}
