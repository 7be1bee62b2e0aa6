package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/notify"
	"github.com/intakehq/intake/web"
	"github.com/intakehq/intake/webhooks"
)

// public, as a route's least role in roleRows, is a route that needs no
// log-in and so declares no role.
const public accounts.Role = "(public)"

// roleRow is who may use one dashboard route and what its least role gets.
type roleRow struct {
	least accounts.Role // public, "" (any logged-in user) or a role
	want  int           // the status the least role gets
	form  url.Values    // what a POST sends
	// alone: the route ends or replaces the session it is called with, so
	// each call gets a browser of its own.
	alone bool
}

// roleTest is one account with a member of each role, a user in no
// account, and objects of the account for every route's ids.
type roleTest struct {
	b       *dashBundle
	members map[accounts.Role]*accounts.User // "" is the user in no account
	ids     *strings.Replacer
	routes  []roleRoute
	mux     *chi.Mux
	extra   *accounts.User // a member the routes about a member act on
}

type roleRoute struct {
	method, pattern string
	least           accounts.Role
	declared        bool
}

func (rr roleRoute) name() string { return rr.method + " " + rr.pattern }

// below lists the sessions below least: the roles under it and, under
// viewer, the user in no account.
func below(least accounts.Role) []accounts.Role {
	if least == public || least == "" {
		return nil
	}
	var out []accounts.Role
	for _, r := range append(slices.Clone(accounts.Roles), "") {
		if !r.AtLeast(least) {
			out = append(out, r)
		}
	}
	return out
}

func setupRoles(t *testing.T) *roleTest {
	t.Helper()
	b := setupDashboard(t)
	ctx := context.Background()
	acct := b.acct.User.AccountID
	sub := b.submit(t, b.form, `{"email":"someone@example.com","message":"hello"}`)
	e, _, err := webhooks.Create(ctx, b.db, b.sealer, webhooks.URLPolicy{}, audit.System, b.form, webhooks.Input{URL: ptr("https://hooks.example/intake")})
	if err != nil {
		t.Fatal(err)
	}
	dlv := b.delivery(t, e, sub)
	mail := b.email(t, acct, sub, "An email")
	keys, err := accounts.APIKeys(ctx, b.db, acct)
	if err != nil || len(keys) != 1 {
		t.Fatalf("API keys: %v %v", keys, err)
	}
	// A member of no role's row, for the routes about a member, and an
	// invitation waiting.
	extra := testfactory.Member(ctx, t, b.db, acct, accounts.RoleMember)
	inv := b.invite(t, b.acct.User, "invited@example.com", accounts.RoleViewer)
	rt := &roleTest{b: b, members: map[accounts.Role]*accounts.User{accounts.RoleOwner: b.acct.User},
		ids: strings.NewReplacer("{form_id}", b.form.PublicID, "{sub_id}", sub, "{file_id}", testfactory.AttachFile(t, b.db, sub), "{wh_id}", e.PublicID, "{dlv_id}", dlv,
			"{email_id}", strconv.FormatInt(mail, 10), "{key_id}", keys[0].PublicID,
			"{user_id}", strconv.FormatInt(extra.ID, 10), "{invite_id}", strconv.FormatInt(inv.ID, 10))}
	rt.extra = extra
	for _, role := range []accounts.Role{accounts.RoleAdmin, accounts.RoleMember, accounts.RoleViewer} {
		rt.members[role] = testfactory.Member(ctx, t, b.db, acct, role)
	}
	// A user in no account: one whose last membership was removed.
	none := testfactory.Member(ctx, t, b.db, acct, accounts.RoleViewer)
	if _, err := b.db.Exec(ctx, `DELETE FROM memberships WHERE user_id = $1`, none.ID); err != nil {
		t.Fatal(err)
	}
	none.AccountID, none.Role = 0, ""
	rt.members[""] = none

	rt.mux = chi.NewRouter()
	b.dash.Routes(rt.mux)
	err = chi.Walk(rt.mux, func(method, pattern string, _ http.Handler, mws ...func(http.Handler) http.Handler) error {
		least, declared := web.LeastRoleOf(mws...)
		rt.routes = append(rt.routes, roleRoute{method: method, pattern: pattern, least: least, declared: declared})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rt.routes) < 40 {
		t.Fatalf("walked only %d dashboard routes", len(rt.routes))
	}
	return rt
}

// as returns a browser logged in as the member of role.
func (rt *roleTest) as(t *testing.T, role accounts.Role) *browser {
	t.Helper()
	br := rt.b.browser(t)
	br.login(t, rt.members[role].Email, testPassword)
	return br
}

func (rt *roleTest) call(t *testing.T, br *browser, method, path string, form url.Values) answer {
	t.Helper()
	switch method {
	case http.MethodGet:
		return br.get(t, path)
	case http.MethodPost:
		return br.post(t, path, form)
	}
	t.Fatalf("%s %s: no way to call a %s route: teach the test", method, path, method)
	return answer{}
}

// roleName is how a refusal names a role.
func roleName(r accounts.Role) string {
	if r == "" {
		return "no account"
	}
	return string(r)
}

// TestRolesEveryDashboardRoute walks every route the dashboard mounts: each
// declares, where it is registered, the least role its row here names (a
// route that declares none, or has no row, fails); every session below it
// gets the 403 page that names its role, and no row of the account
// changes; the least role itself gets the route's usual answer.
func TestRolesEveryDashboardRoute(t *testing.T) {
	t.Parallel()
	rt := setupRoles(t)
	b := rt.b
	editor := url.Values{"name": {"Renamed"}, "field_count": {"1"}, "f0.name": {"email"}, "f0.type": {"email"},
		"idempotency_retention": {"24h"}, "implicit_dedupe_window": {"10m"}, "unknown_fields": {"accept"}, "honeypot_field": {"_gotcha"}}
	hook := url.Values{"url": {"https://other-hooks.example/intake"}, "enabled": {"1"}}
	const (
		owner, admin, member, viewer = accounts.RoleOwner, accounts.RoleAdmin, accounts.RoleMember, accounts.RoleViewer
		anyone                       = accounts.Role("")
	)

	rows := map[string]roleRow{
		"GET /":                            {least: public, want: http.StatusSeeOther},
		"GET /signup":                      {least: public, want: http.StatusOK},
		"POST /signup":                     {least: public, want: http.StatusSeeOther, alone: true, form: url.Values{"email": {"new@example.com"}, "password": {"a long password"}}},
		"GET /login":                       {least: public, want: http.StatusOK},
		"POST /login":                      {least: public, want: http.StatusSeeOther, alone: true},
		"GET /login/two-factor":            {least: public, want: http.StatusSeeOther},
		"POST /login/two-factor":           {least: public, want: http.StatusSeeOther, form: url.Values{"code": {"000000"}}},
		"POST /logout":                     {least: public, want: http.StatusSeeOther, alone: true},
		"GET /forgot":                      {least: public, want: http.StatusOK},
		"POST /forgot":                     {least: public, want: http.StatusOK, form: url.Values{"email": {"nobody@example.com"}}},
		"GET /reset":                       {least: public, want: http.StatusGone},
		"POST /reset":                      {least: public, want: http.StatusGone, form: url.Values{"token": {"not-a-token"}}},
		"GET /verify":                      {least: public, want: http.StatusGone},
		"POST /verify":                     {least: public, want: http.StatusGone, form: url.Values{"token": {"not-a-token"}}},
		"GET /confirm":                     {least: public, want: http.StatusBadRequest},
		"POST /confirm":                    {least: public, want: http.StatusBadRequest},
		"GET /unsubscribe":                 {least: public, want: http.StatusBadRequest},
		"POST /unsubscribe":                {least: public, want: http.StatusBadRequest},
		"GET /account":                     {least: anyone, want: http.StatusOK},
		"POST /account/password":           {least: anyone, want: http.StatusUnprocessableEntity, form: url.Values{"current": {"not the password"}, "new": {"a new password"}, "confirm": {"a new password"}}},
		"POST /account/verify-email":       {least: anyone, want: http.StatusSeeOther},
		"GET /account/two-factor":          {least: anyone, want: http.StatusOK},
		"POST /account/two-factor":         {least: anyone, want: http.StatusUnprocessableEntity, form: url.Values{"code": {"not a code"}}},
		"POST /account/two-factor/disable": {least: anyone, want: http.StatusSeeOther, form: url.Values{"password": {testPassword}, "code": {"000000"}}},
		// Without two-factor log-in there are no codes to replace: back to
		// the account page.
		"POST /account/two-factor/recovery-codes": {least: anyone, want: http.StatusSeeOther, form: url.Values{"password": {testPassword}}},
		"GET /account/people":                     {least: admin, want: http.StatusOK},
		"POST /account/people":                    {least: admin, want: http.StatusOK, form: url.Values{"email": {"someone@example.com"}}},
		"POST /account/people/export":             {least: admin, want: http.StatusOK, form: url.Values{"email": {"someone@example.com"}}},
		"POST /account/people/erase/confirm":      {least: admin, want: http.StatusOK, form: url.Values{"email": {"someone@example.com"}}},
		"POST /account/people/erase":              {least: admin, want: http.StatusSeeOther, form: url.Values{"email": {"nobody-here@example.com"}}},
		// The owner has no two-factor log-in to require it with: 422, past
		// the role.
		"POST /account/two-factor/require": {least: owner, want: http.StatusUnprocessableEntity, form: url.Values{"require": {"on"}}},

		"GET /forms":                                                {least: viewer, want: http.StatusOK},
		"GET /forms/new":                                            {least: member, want: http.StatusOK},
		"POST /forms/new":                                           {least: member, want: http.StatusSeeOther, form: editor},
		"GET /forms/{form_id}":                                      {least: viewer, want: http.StatusOK},
		"GET /forms/{form_id}/edit":                                 {least: member, want: http.StatusOK},
		"POST /forms/{form_id}/edit":                                {least: member, want: http.StatusSeeOther, form: editor},
		"GET /forms/{form_id}/archive":                              {least: member, want: http.StatusOK},
		"POST /forms/{form_id}/restore":                             {least: member, want: http.StatusSeeOther},
		"POST /forms/{form_id}/archive":                             {least: member, want: http.StatusSeeOther},
		"GET /forms/{form_id}/schema.json":                          {least: viewer, want: http.StatusOK},
		"POST /forms/{form_id}/notifications/resume":                {least: member, want: http.StatusSeeOther},
		"POST /forms/{form_id}/test":                                {least: member, want: http.StatusSeeOther},
		"GET /forms/{form_id}/email":                                {least: viewer, want: http.StatusOK},
		"GET /forms/{form_id}/look":                                 {least: viewer, want: http.StatusOK},
		"POST /forms/{form_id}/look":                                {least: member, want: http.StatusSeeOther, form: url.Values{"color": {"#0f766e"}}},
		"POST /forms/{form_id}/email":                               {least: member, want: http.StatusOK, form: url.Values{"op": {"preview"}, "subject": {"{{email}}"}}},
		"GET /forms/{form_id}/submissions":                          {least: viewer, want: http.StatusOK},
		"GET /forms/{form_id}/submissions.csv":                      {least: viewer, want: http.StatusOK},
		"GET /forms/{form_id}/submissions.json":                     {least: viewer, want: http.StatusOK},
		"POST /forms/{form_id}/submissions/export":                  {least: viewer, want: http.StatusOK, form: url.Values{"format": {"json"}, "id": {rt.ids.Replace("{sub_id}")}}},
		"POST /forms/{form_id}/submissions/bulk":                    {least: member, want: http.StatusSeeOther, form: url.Values{"action": {"star"}, "id": {rt.ids.Replace("{sub_id}")}}},
		"GET /forms/{form_id}/submissions/{sub_id}":                 {least: viewer, want: http.StatusOK},
		"GET /forms/{form_id}/submissions/{sub_id}/files/{file_id}": {least: viewer, want: http.StatusOK},
		"POST /forms/{form_id}/submissions/{sub_id}/spam":           {least: member, want: http.StatusSeeOther},
		"POST /forms/{form_id}/submissions/{sub_id}/not-spam":       {least: member, want: http.StatusSeeOther},
		"GET /forms/{form_id}/submissions/{sub_id}/delete":          {least: member, want: http.StatusOK},
		"POST /forms/{form_id}/submissions/{sub_id}/delete":         {least: member, want: http.StatusSeeOther},
		"POST /forms/{form_id}/submissions/{sub_id}/unmerge":        {least: member, want: http.StatusSeeOther},
		"GET /forms/{form_id}/duplicates":                           {least: viewer, want: http.StatusOK},
		"POST /forms/{form_id}/duplicates/merge":                    {least: member, want: http.StatusSeeOther},
		"GET /forms/{form_id}/webhooks":                             {least: viewer, want: http.StatusOK},
		"POST /forms/{form_id}/webhooks":                            {least: member, want: http.StatusSeeOther, form: hook},
		"GET /webhooks/{wh_id}":                                     {least: viewer, want: http.StatusOK},
		"POST /webhooks/{wh_id}":                                    {least: member, want: http.StatusSeeOther, form: url.Values{"url": {"https://hooks.example/intake"}, "enabled": {"1"}}},
		"POST /webhooks/{wh_id}/enable":                             {least: member, want: http.StatusSeeOther},
		"POST /webhooks/{wh_id}/test":                               {least: member, want: http.StatusSeeOther},
		"POST /webhooks/{wh_id}/disable":                            {least: member, want: http.StatusSeeOther},
		"POST /webhooks/{wh_id}/secret":                             {least: member, want: http.StatusOK},
		"GET /webhooks/{wh_id}/rotate":                              {least: member, want: http.StatusOK},
		"POST /webhooks/{wh_id}/rotate":                             {least: member, want: http.StatusSeeOther},
		"GET /webhooks/{wh_id}/delete":                              {least: member, want: http.StatusOK},
		"POST /webhooks/{wh_id}/delete":                             {least: member, want: http.StatusSeeOther},
		"GET /deliveries/{dlv_id}":                                  {least: viewer, want: http.StatusOK},
		"POST /deliveries/{dlv_id}/redeliver":                       {least: member, want: http.StatusSeeOther},
		"GET /outbox":                                               {least: viewer, want: http.StatusOK},
		"GET /outbox/{email_id}":                                    {least: viewer, want: http.StatusOK},
		"GET /audit":                                                {least: admin, want: http.StatusOK},
		"GET /apikeys":                                              {least: admin, want: http.StatusOK},
		"POST /apikeys":                                             {least: admin, want: http.StatusSeeOther, form: url.Values{"name": {"another key"}}},
		"GET /apikeys/{key_id}/revoke":                              {least: admin, want: http.StatusOK},
		"POST /apikeys/{key_id}/revoke":                             {least: admin, want: http.StatusSeeOther},

		// The members (dash_members.go). An invitation's link is public:
		// without a live token, 410.
		"GET /invites/{token}":  {least: public, want: http.StatusGone},
		"POST /invites/{token}": {least: public, want: http.StatusGone},
		// Any user may switch among their accounts; the user in no
		// account asks for one they are not in: 404.
		"POST /account/switch":                             {least: anyone, want: http.StatusNotFound, form: url.Values{"account_id": {strconv.FormatInt(b.acct.User.AccountID, 10)}}},
		"POST /account/leave":                              {least: viewer, want: http.StatusSeeOther, alone: true},
		"GET /account/members":                             {least: admin, want: http.StatusOK},
		"POST /account/members/invite":                     {least: admin, want: http.StatusSeeOther, form: url.Values{"email": {"someone-new@example.com"}, "role": {"viewer"}}},
		"POST /account/members/invites/{invite_id}/resend": {least: admin, want: http.StatusSeeOther},
		// The resend before it replaced the invitation (a new link, a new
		// id): the old one is no longer there to revoke.
		"POST /account/members/invites/{invite_id}/revoke": {least: admin, want: http.StatusNotFound},
		"POST /account/members/{user_id}/role":             {least: admin, want: http.StatusSeeOther, form: url.Values{"role": {"viewer"}}},
		"GET /account/members/{user_id}/remove":            {least: admin, want: http.StatusOK},
		"POST /account/members/{user_id}/remove":           {least: admin, want: http.StatusSeeOther},
		"GET /account/transfer":                            {least: owner, want: http.StatusOK},
		// A wrong password: the form again, past the role.
		"POST /account/transfer": {least: owner, want: http.StatusUnprocessableEntity, form: url.Values{"to": {strconv.FormatInt(rt.extra.ID, 10)}, "password": {"not the password"}}},
	}
	// POST /login logs in as the owner.
	r := rows["POST /login"]
	r.form = url.Values{"email": {rt.members[owner].Email}, "password": {testPassword}}
	rows["POST /login"] = r

	walked := map[string]bool{}
	for _, route := range rt.routes {
		walked[route.name()] = true
		row, ok := rows[route.name()]
		switch {
		case !ok:
			t.Errorf("%s has no row in TestRolesEveryDashboardRoute (web/roles_test.go): add one with its least role", route.name())
		case row.least == public && route.declared:
			t.Errorf("%s is public in its row but declares the least role %q", route.name(), route.least)
		case row.least != public && !route.declared:
			t.Errorf("%s declares no least role: register it with d.least(…) in Dashboard.Routes (web/dashboard.go)", route.name())
		case row.least != public && route.least != row.least:
			t.Errorf("%s declares the least role %q, its row says %q", route.name(), route.least, row.least)
		}
	}
	for name := range rows {
		if !walked[name] {
			t.Errorf("the row %q names no dashboard route: remove or rename it", name)
		}
	}
	if t.Failed() {
		return
	}

	// Below the least role: 403, saying the role and whom to ask; nothing
	// of the account changes. Every browser logs in before the snapshot
	// (a log-in is a session row).
	browsers := map[accounts.Role]*browser{}
	for role := range rt.members {
		browsers[role] = rt.as(t, role)
	}
	before := b.snapshot(t, b.acct.User.AccountID)
	refused := 0
	for _, route := range rt.routes {
		row := rows[route.name()]
		path := rt.ids.Replace(route.pattern)
		for _, role := range below(row.least) {
			a := rt.call(t, browsers[role], route.method, path, row.form)
			if a.Status != http.StatusForbidden {
				t.Errorf("%s %s as %s = %d, want 403 (to %q)", route.method, path, roleName(role), a.Status, a.location())
				continue
			}
			refused++
			page := html.UnescapeString(a.Body)
			if role == "" {
				wantContains(t, route.name()+" refused to a user in no account", page, "You are in no account", `href="/account"`)
			} else {
				wantContains(t, route.name()+" refused as "+string(role), page, "Your role in "+rt.members[owner].Email+" is "+string(role)+":", "Nothing was changed.", "ask ")
			}
		}
	}
	if refused < 60 {
		t.Errorf("only %d refusals: the table refuses too little", refused)
	}
	after := b.snapshot(t, b.acct.User.AccountID)
	for table, rows := range before {
		if after[table] != rows {
			t.Errorf("refused requests changed the account's %s:\nbefore:\n%s\nafter:\n%s", table, rows, after[table])
		}
	}

	// The least role gets the usual answer: reads first, then changes,
	// those that delete last, so each still finds its object (and the
	// viewer who leaves the account leaves after its other requests).
	order := func(rr roleRoute) int {
		switch {
		case rr.method == http.MethodGet:
			return 0
		case strings.HasSuffix(rr.pattern, "/delete") || strings.HasSuffix(rr.pattern, "/archive") || strings.HasSuffix(rr.pattern, "/revoke") ||
			strings.HasSuffix(rr.pattern, "/remove") || strings.HasSuffix(rr.pattern, "/leave"):
			return 2
		}
		return 1
	}
	routes := slices.Clone(rt.routes)
	slices.SortStableFunc(routes, func(x, y roleRoute) int { return order(x) - order(y) })
	anon := b.browser(t)
	for _, route := range routes {
		row := rows[route.name()]
		path := rt.ids.Replace(route.pattern)
		br := anon
		if row.least != public {
			br = browsers[row.least]
			if row.alone {
				br = rt.as(t, row.least)
			}
		} else if row.alone {
			br = b.browser(t)
		}
		a := rt.call(t, br, route.method, path, row.form)
		if a.Status != row.want {
			t.Errorf("%s %s as its least role %s = %d, want %d (to %q)", route.method, path, roleName(row.least), a.Status, row.want, a.location())
		}
		if row.least != public && strings.HasPrefix(a.location(), "/login") {
			t.Errorf("%s %s as %s: sent to log in (%s)", route.method, path, roleName(row.least), a.location())
		}
	}
}

// formAction and link find where a page's forms post and its links lead.
var (
	formTag        = regexp.MustCompile(`(?is)<form\b[^>]*>`)
	attrMethod     = regexp.MustCompile(`(?i)\bmethod="([^"]*)"`)
	attrAction     = regexp.MustCompile(`(?i)\baction="([^"]*)"`)
	attrFormAction = regexp.MustCompile(`(?i)\bformaction="([^"]*)"`)
	link           = regexp.MustCompile(`(?i)<a\b[^>]*\bhref="(/[^"]*)"`)
)

// TestRolesPagesOfferOnlyWhatTheRoleMay logs in as each role below the
// owner (and a user in no account) and reads every page the role may: no
// form on it posts to a route the role is refused, and no link leads to
// one (no "New form", "Edit", "Delete", webhook forms for a viewer; no API
// keys or audit log in the nav below admin).
func TestRolesPagesOfferOnlyWhatTheRoleMay(t *testing.T) {
	t.Parallel()
	rt := setupRoles(t)
	least := map[string]accounts.Role{}
	for _, route := range rt.routes {
		if route.declared {
			least[route.name()] = route.least
		}
	}
	// target is the route a page's URL reaches, and whether it is one
	// with a least role.
	target := func(method, raw string) (string, accounts.Role, bool) {
		u, err := url.Parse(html.UnescapeString(raw))
		if err != nil || u.Host != "" {
			return "", "", false
		}
		pattern := rt.mux.Find(chi.NewRouteContext(), method, u.Path)
		role, ok := least[method+" "+pattern]
		return method + " " + u.Path, role, ok
	}
	for _, role := range []accounts.Role{accounts.RoleAdmin, accounts.RoleMember, accounts.RoleViewer, ""} {
		br := rt.as(t, role)
		read := 0
		for _, route := range rt.routes {
			if route.method != http.MethodGet || !route.declared || (route.least != "" && !role.AtLeast(route.least)) ||
				strings.HasSuffix(route.pattern, ".csv") || strings.HasSuffix(route.pattern, ".json") {
				continue
			}
			path := rt.ids.Replace(route.pattern)
			a := br.get(t, path)
			if a.Status != http.StatusOK {
				t.Errorf("GET %s as %s = %d, want 200", path, roleName(role), a.Status)
				continue
			}
			read++
			for _, tag := range formTag.FindAllString(a.Body, -1) {
				method := "GET"
				if m := attrMethod.FindStringSubmatch(tag); m != nil {
					method = strings.ToUpper(m[1])
				}
				action := path
				if m := attrAction.FindStringSubmatch(tag); m != nil {
					action = m[1]
				}
				if to, need, ok := target(method, action); ok && !(need == "" || role.AtLeast(need)) {
					t.Errorf("%s as %s has a form to %s, which needs %s", path, roleName(role), to, need)
				}
			}
			// A button's formaction posts its form elsewhere: the same rule.
			for _, m := range attrFormAction.FindAllStringSubmatch(a.Body, -1) {
				if to, need, ok := target(http.MethodPost, m[1]); ok && !(need == "" || role.AtLeast(need)) {
					t.Errorf("%s as %s has a button to %s, which needs %s", path, roleName(role), to, need)
				}
			}
			for _, m := range link.FindAllStringSubmatch(a.Body, -1) {
				if to, need, ok := target(http.MethodGet, m[1]); ok && !(need == "" || role.AtLeast(need)) {
					t.Errorf("%s as %s links to %s, which needs %s", path, roleName(role), to, need)
				}
			}
		}
		if read < 5 && role != "" {
			t.Errorf("read only %d pages as %s", read, roleName(role))
		}
	}
	// The owner's pages do offer what the others lack: the test sees them.
	owner := rt.as(t, accounts.RoleOwner)
	wantContains(t, "the owner's form page", owner.get(t, rt.ids.Replace("/forms/{form_id}")).Body, `/edit"`, `/archive"`, `href="/apikeys"`, `href="/audit"`)
	wantContains(t, "the owner's account page", owner.get(t, "/account").Body, `action="/account/two-factor/require"`)
	wantContains(t, "the owner's webhook page", owner.get(t, rt.ids.Replace("/webhooks/{wh_id}")).Body, `/secret"`, `/rotate"`, `/delete"`)
}

// TestRoleRefusalWords checks the 403 page a viewer gets for a change: it
// names the account, the role, what the role can do and whom to ask; and
// a user in no account is sent to their account page from "/".
func TestRoleRefusalWords(t *testing.T) {
	t.Parallel()
	rt := setupRoles(t)
	viewer := rt.as(t, accounts.RoleViewer)
	a := viewer.post(t, rt.ids.Replace("/forms/{form_id}/archive"), nil)
	wantStatus(t, "a viewer archiving a form", a, http.StatusForbidden)
	refusal := a
	wantContains(t, "the viewer's refusal", html.UnescapeString(a.Body), "Your role does not allow this",
		"Your role in "+rt.members[accounts.RoleOwner].Email+" is viewer: it can read the account's forms, submissions and webhooks but change nothing.",
		"It needs the member role: ask an admin of "+rt.members[accounts.RoleOwner].Email+".")
	admin := rt.as(t, accounts.RoleAdmin)
	a = admin.post(t, "/account/two-factor/require", url.Values{"require": {"on"}})
	wantStatus(t, "an admin requiring two-factor log-in", a, http.StatusForbidden)
	wantContains(t, "the admin's refusal", html.UnescapeString(a.Body), "Only the owner of "+rt.members[accounts.RoleOwner].Email+" may do this")

	// A role lowered holds from the member's next request, not their next
	// log-in.
	wantStatus(t, "the admin's API keys", admin.get(t, "/apikeys"), http.StatusOK)
	if _, err := rt.b.db.Exec(context.Background(), `UPDATE memberships SET role = 'viewer' WHERE user_id = $1`, rt.members[accounts.RoleAdmin].ID); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "the API keys of an admin made viewer", admin.get(t, "/apikeys"), http.StatusForbidden)

	// A refusal does not look at the object: the same page for the
	// account's own form, another account's and one that does not exist,
	// so it tells nothing of other accounts.
	other := testfactory.NewAccount(context.Background(), t, rt.b.db)
	theirs := testfactory.NewForm(context.Background(), t, rt.b.db, other.User.AccountID, nil)
	for _, id := range []string{theirs.PublicID, "nosuchform"} {
		b := viewer.post(t, "/forms/"+id+"/archive", nil)
		if b.Status != http.StatusForbidden || b.Body != refusal.Body {
			t.Errorf("a viewer archiving the form %s: %d, a page other than for its own form", id, b.Status)
		}
	}

	none := rt.b.browser(t)
	if loc := none.login(t, rt.members[""].Email, testPassword).location(); loc != "/account" {
		t.Errorf("a user in no account logs in to %q, want /account", loc)
	}
	wantStatus(t, "/ for a user in no account", none.get(t, "/"), http.StatusSeeOther)
	if loc := none.get(t, "/").location(); loc != "/account" {
		t.Errorf("/ sends a user in no account to %q, want /account", loc)
	}
	page := none.get(t, "/account")
	wantStatus(t, "the account page of a user in no account", page, http.StatusOK)
	wantContains(t, "the account page of a user in no account", page.Body, "You are not a member of any account")
}

// TestRolesLinkEmailsAreTheRecipients: the outbox is every member's to
// read, but a password reset or verification email is its recipient's
// alone. Without SMTP its stored copy keeps the live link, so a viewer (or
// the owner) reading an admin's reset email could take the admin's user.
func TestRolesLinkEmailsAreTheRecipients(t *testing.T) {
	t.Parallel()
	rt := setupRoles(t)
	b := rt.b
	b.workers(t)
	admin := rt.members[accounts.RoleAdmin]
	wantStatus(t, "the admin's reset request", b.browser(t).post(t, "/forgot", url.Values{"email": {admin.Email}}), http.StatusOK)
	b.settle(t)
	var id int64
	if err := b.db.QueryRow(context.Background(), `SELECT id FROM outbound_emails WHERE kind = $1 AND recipient = $2 AND account_id = $3`,
		notify.TemplatePasswordReset, admin.Email, admin.AccountID).Scan(&id); err != nil {
		t.Fatalf("the admin's reset email in the account's outbox: %v", err)
	}
	link := b.newestLink(t, notify.TemplatePasswordReset, admin.Email)
	page := "/outbox/" + strconv.FormatInt(id, 10)
	for _, role := range []accounts.Role{accounts.RoleViewer, accounts.RoleMember, accounts.RoleOwner} {
		br := rt.as(t, role)
		list := br.get(t, "/outbox")
		wantStatus(t, "the outbox as "+string(role), list, http.StatusOK)
		if strings.Contains(list.Body, page) || strings.Contains(list.Body, "Password reset") {
			t.Errorf("the outbox as %s lists the admin's reset email", role)
		}
		a := br.get(t, page)
		wantStatus(t, "the admin's reset email as "+string(role), a, http.StatusNotFound)
		if strings.Contains(html.UnescapeString(a.Body), tokenOf(t, link)) {
			t.Errorf("the admin's reset link shown to %s", role)
		}
	}
	mine := rt.as(t, accounts.RoleAdmin)
	wantContains(t, "the admin's own outbox", mine.get(t, "/outbox").Body, page)
	wantContains(t, "the admin's own reset email", html.UnescapeString(mine.get(t, page).Body), tokenOf(t, link))
}
