package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/internal/testfactory"
	"github.com/intakehq/intake/webhooks"
)

// isolationRow is what one dashboard route is asked by a second account,
// and what it must answer.
type isolationRow struct {
	want int        // the status B must get
	form url.Values // what a POST sends: what would work were the object B's own
	// alone: the route ends or replaces the session it is called with, so
	// it gets a browser of its own, logged in as B.
	alone bool
}

// TestTenantIsolationEveryDashboardRoute walks every route the dashboard
// mounts and calls it, logged in as a second account B, with the ids of
// the first account A's objects: each answers 404 (or, for routes that
// name no object and so act on B's own account, their usual answer), no
// page shows any of A's data, and no row of A's changed. A route added
// without a row here fails the test.
func TestTenantIsolationEveryDashboardRoute(t *testing.T) {
	t.Parallel()
	b := setupDashboard(t)
	ctx := context.Background()

	// A's objects, each carrying data another account must never see.
	victim := testfactory.NewForm(ctx, t, b.db, b.acct.User.AccountID, &testfactory.FormOpts{Name: "Victim payroll form"})
	sub := b.submit(t, victim, `{"email":"victim-secret@example.com","message":"confidential words"}`)
	e, _, err := webhooks.Create(ctx, b.db, b.sealer, webhooks.URLPolicy{}, audit.System, victim, webhooks.Input{URL: ptr("https://victim-hooks.example/intake")})
	if err != nil {
		t.Fatal(err)
	}
	dlv := b.delivery(t, e, sub)
	mail := b.email(t, b.acct.User.AccountID, sub, "Victim email subject")
	if _, err := b.db.Exec(ctx, `INSERT INTO notify_recipients (form_id, email, listed, state) VALUES ($1, 'victim-colleague@example.com', true, 'unsubscribed')`, victim.ID); err != nil {
		t.Fatal(err)
	}
	keys, err := accounts.APIKeys(ctx, b.db, b.acct.User.AccountID)
	if err != nil || len(keys) != 1 {
		t.Fatalf("A's API keys: %v %v", keys, err)
	}
	key := keys[0]
	colleague := testfactory.MemberWithPassword(ctx, t, b.db, b.acct.User.AccountID, accounts.RoleMember, "victim-member@example.com", testPassword)
	inv := b.invite(t, b.acct.User, "victim-invitee@example.com", accounts.RoleAdmin)
	leaks := []string{victim.Name, victim.PublicID, b.form.PublicID, sub, "victim-secret@example.com", "confidential words",
		"victim-hooks.example", "victim-colleague@example.com", e.PublicID, dlv, "Victim email subject", key.PublicID, key.Prefix, b.acct.User.Email, "whsec_",
		colleague.Email, inv.Email}
	fileID := testfactory.AttachFile(t, b.db, sub)
	theirs := strings.NewReplacer("{form_id}", victim.PublicID, "{sub_id}", sub, "{file_id}", fileID, "{wh_id}", e.PublicID, "{dlv_id}", dlv,
		"{email_id}", strconv.FormatInt(mail, 10), "{key_id}", key.PublicID,
		"{user_id}", strconv.FormatInt(colleague.ID, 10), "{invite_id}", strconv.FormatInt(inv.ID, 10))

	// B, with a form of its own: A's submission under B's form is not
	// found either.
	intruder := testfactory.NewAccount(ctx, t, b.db)
	mine := testfactory.NewForm(ctx, t, b.db, intruder.User.AccountID, &testfactory.FormOpts{Name: "Intruder form"})
	mixed := strings.NewReplacer("{form_id}", mine.PublicID, "{sub_id}", sub, "{file_id}", fileID)
	loggedInAsB := func() *browser {
		br := b.browser(t)
		br.login(t, intruder.User.Email, testPassword)
		return br
	}
	credentials := url.Values{"email": {intruder.User.Email}, "password": {testPassword}}
	editor := url.Values{"name": {"pwned"}, "field_count": {"1"}, "f0.name": {"email"}, "f0.type": {"email"},
		"idempotency_retention": {"24h"}, "implicit_dedupe_window": {"10m"}, "unknown_fields": {"accept"}, "honeypot_field": {"_gotcha"}}
	hook := url.Values{"url": {"https://intruder.example/hook"}, "enabled": {"1"}, "include_spam": {"1"}}

	rows := map[string]isolationRow{
		// Routes that name no object: B's own account.
		"GET /":        {want: http.StatusSeeOther},
		"GET /signup":  {want: http.StatusSeeOther},
		"POST /signup": {want: http.StatusSeeOther, alone: true, form: url.Values{"email": {"third@example.com"}, "password": {"a long password"}}},
		"GET /login":   {want: http.StatusSeeOther},
		"POST /login":  {want: http.StatusSeeOther, alone: true, form: credentials},
		"POST /logout": {want: http.StatusSeeOther, alone: true},
		// The second step of a log-in: without the challenge cookie of a
		// right password, back to the password.
		"GET /login/two-factor":  {want: http.StatusSeeOther},
		"POST /login/two-factor": {want: http.StatusSeeOther, form: url.Values{"code": {"000000"}}},
		// Two-factor log-in: B's own (B has none, and is its account's owner).
		"GET /account/two-factor":          {want: http.StatusOK},
		"POST /account/two-factor":         {want: http.StatusUnprocessableEntity, form: url.Values{"code": {"not a code"}}},
		"POST /account/two-factor/disable": {want: http.StatusSeeOther, form: url.Values{"password": {testPassword}, "code": {"000000"}}},
		"POST /account/two-factor/require": {want: http.StatusUnprocessableEntity, form: url.Values{"require": {"on"}}},
		// B's own codes, and B has none to replace.
		"POST /account/two-factor/recovery-codes": {want: http.StatusSeeOther, form: url.Values{"password": {testPassword}}},
		// The links of notification emails: public pages, the token their
		// only authority; without one there is nothing to see or do.
		"GET /confirm":           {want: http.StatusBadRequest},
		"POST /confirm":          {want: http.StatusBadRequest},
		"GET /unsubscribe":       {want: http.StatusBadRequest},
		"POST /unsubscribe":      {want: http.StatusBadRequest},
		"GET /account":           {want: http.StatusOK},
		"POST /account/password": {want: http.StatusUnprocessableEntity, form: url.Values{"current": {"not the password"}, "new": {"a new password"}, "confirm": {"a new password"}}},
		"GET /forms":             {want: http.StatusOK},
		"GET /forms/new":         {want: http.StatusOK},
		"POST /forms/new":        {want: http.StatusSeeOther, form: editor},
		"GET /outbox":            {want: http.StatusOK},
		"GET /audit":             {want: http.StatusOK},
		// A person's data: B's own account. B asks for A's submitter's
		// address (in capitals: the lookup ignores case, the leak check
		// does not, so the page repeating what B typed is no leak) and
		// finds, downloads and erases nothing of A's.
		"GET /account/people":                {want: http.StatusOK},
		"POST /account/people":               {want: http.StatusOK, form: url.Values{"email": {"VICTIM-SECRET@EXAMPLE.COM"}}},
		"POST /account/people/export":        {want: http.StatusOK, form: url.Values{"email": {"VICTIM-SECRET@EXAMPLE.COM"}}},
		"POST /account/people/erase/confirm": {want: http.StatusOK, form: url.Values{"email": {"VICTIM-SECRET@EXAMPLE.COM"}}},
		"POST /account/people/erase":         {want: http.StatusSeeOther, form: url.Values{"email": {"VICTIM-SECRET@EXAMPLE.COM"}}},
		// The emailed links' pages are public: B gets what anyone gets.
		// B's own address is verified (testfactory), and a reset request
		// for it mails B alone.
		"POST /account/verify-email": {want: http.StatusSeeOther},
		"GET /forgot":                {want: http.StatusOK},
		"POST /forgot":               {want: http.StatusOK, form: url.Values{"email": {intruder.User.Email}}},
		"GET /reset":                 {want: http.StatusGone},
		"POST /reset":                {want: http.StatusGone, form: url.Values{"token": {"not-a-token"}, "new": {"a new password"}, "confirm": {"a new password"}}},
		"GET /verify":                {want: http.StatusGone},
		"POST /verify":               {want: http.StatusGone, form: url.Values{"token": {"not-a-token"}}},
		"GET /apikeys":               {want: http.StatusOK},
		"POST /apikeys":              {want: http.StatusSeeOther, form: url.Values{"name": {"intruder key"}}},
		// Members: B's own list and invitations; B owns its account, so
		// it may not leave it; switching to A's account is refused as not
		// found; a transfer to A's member finds no such member of B's.
		"GET /account/members":         {want: http.StatusOK},
		"POST /account/members/invite": {want: http.StatusSeeOther, form: url.Values{"email": {"intruder-friend@example.com"}, "role": {"admin"}}},
		"POST /account/leave":          {want: http.StatusConflict},
		"POST /account/switch":         {want: http.StatusNotFound, form: url.Values{"account_id": {strconv.FormatInt(b.acct.User.AccountID, 10)}}},
		"GET /account/transfer":        {want: http.StatusOK},
		"POST /account/transfer":       {want: http.StatusUnprocessableEntity, form: url.Values{"to": {strconv.FormatInt(colleague.ID, 10)}, "password": {testPassword}}},
		// An invitation's link: the token is the authority (whoever
		// holds A's link sees A's invitation, as its invitee does), so
		// there is no A's id to try; without a live token, 410.
		// TestMembersInviteLinks: another address cannot take A's.
		"GET /invites/{token}":  {want: http.StatusGone},
		"POST /invites/{token}": {want: http.StatusGone},

		// A's objects: not found, whatever is asked.
		"GET /forms/{form_id}":                                      {want: http.StatusNotFound},
		"GET /forms/{form_id}/edit":                                 {want: http.StatusNotFound},
		"POST /forms/{form_id}/edit":                                {want: http.StatusNotFound, form: editor},
		"GET /forms/{form_id}/archive":                              {want: http.StatusNotFound},
		"POST /forms/{form_id}/restore":                             {want: http.StatusNotFound},
		"POST /forms/{form_id}/archive":                             {want: http.StatusNotFound},
		"GET /forms/{form_id}/schema.json":                          {want: http.StatusNotFound},
		"POST /forms/{form_id}/notifications/resume":                {want: http.StatusNotFound},
		"POST /forms/{form_id}/test":                                {want: http.StatusNotFound},
		"GET /forms/{form_id}/email":                                {want: http.StatusNotFound},
		"GET /forms/{form_id}/look":                                 {want: http.StatusNotFound},
		"POST /forms/{form_id}/look":                                {want: http.StatusNotFound, form: url.Values{"thank_you": {"pwned"}}},
		"POST /forms/{form_id}/email":                               {want: http.StatusNotFound, form: url.Values{"op": {"save"}, "subject": {"pwned"}}},
		"GET /forms/{form_id}/submissions":                          {want: http.StatusNotFound},
		"GET /forms/{form_id}/submissions.csv":                      {want: http.StatusNotFound},
		"GET /forms/{form_id}/submissions.json":                     {want: http.StatusNotFound},
		"POST /forms/{form_id}/submissions/export":                  {want: http.StatusNotFound, form: url.Values{"format": {"json"}, "id": {sub}}},
		"POST /forms/{form_id}/submissions/bulk":                    {want: http.StatusNotFound, form: url.Values{"action": {"delete"}, "confirm": {"1"}, "id": {sub}}},
		"GET /forms/{form_id}/submissions/{sub_id}":                 {want: http.StatusNotFound},
		"GET /forms/{form_id}/submissions/{sub_id}/files/{file_id}": {want: http.StatusNotFound},
		"POST /forms/{form_id}/submissions/{sub_id}/spam":           {want: http.StatusNotFound},
		"POST /forms/{form_id}/submissions/{sub_id}/not-spam":       {want: http.StatusNotFound},
		"GET /forms/{form_id}/submissions/{sub_id}/delete":          {want: http.StatusNotFound},
		"POST /forms/{form_id}/submissions/{sub_id}/delete":         {want: http.StatusNotFound},
		"POST /forms/{form_id}/submissions/{sub_id}/unmerge":        {want: http.StatusNotFound},
		"GET /forms/{form_id}/duplicates":                           {want: http.StatusNotFound},
		"POST /forms/{form_id}/duplicates/merge":                    {want: http.StatusNotFound},
		"GET /forms/{form_id}/webhooks":                             {want: http.StatusNotFound},
		"POST /forms/{form_id}/webhooks":                            {want: http.StatusNotFound, form: hook},
		"GET /webhooks/{wh_id}":                                     {want: http.StatusNotFound},
		"POST /webhooks/{wh_id}":                                    {want: http.StatusNotFound, form: hook},
		"POST /webhooks/{wh_id}/enable":                             {want: http.StatusNotFound},
		"POST /webhooks/{wh_id}/test":                               {want: http.StatusNotFound},
		"POST /webhooks/{wh_id}/disable":                            {want: http.StatusNotFound},
		"POST /webhooks/{wh_id}/secret":                             {want: http.StatusNotFound},
		"GET /webhooks/{wh_id}/rotate":                              {want: http.StatusNotFound},
		"POST /webhooks/{wh_id}/rotate":                             {want: http.StatusNotFound},
		"GET /webhooks/{wh_id}/delete":                              {want: http.StatusNotFound},
		"POST /webhooks/{wh_id}/delete":                             {want: http.StatusNotFound},
		"GET /deliveries/{dlv_id}":                                  {want: http.StatusNotFound},
		"POST /deliveries/{dlv_id}/redeliver":                       {want: http.StatusNotFound},
		"GET /outbox/{email_id}":                                    {want: http.StatusNotFound},
		"GET /apikeys/{key_id}/revoke":                              {want: http.StatusNotFound},
		"POST /apikeys/{key_id}/revoke":                             {want: http.StatusNotFound},
		"POST /account/members/invites/{invite_id}/resend":          {want: http.StatusNotFound},
		"POST /account/members/invites/{invite_id}/revoke":          {want: http.StatusNotFound},
		"POST /account/members/{user_id}/role":                      {want: http.StatusNotFound, form: url.Values{"role": {"viewer"}}},
		"GET /account/members/{user_id}/remove":                     {want: http.StatusNotFound},
		"POST /account/members/{user_id}/remove":                    {want: http.StatusNotFound},
	}

	// The dashboard's routes, as it mounts them.
	type route struct{ method, pattern string }
	var routes []route
	mux := chi.NewRouter()
	b.dash.Routes(mux)
	err = chi.Walk(mux, func(method, pattern string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		routes = append(routes, route{method, pattern})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(routes) < 40 {
		t.Fatalf("walked only %d dashboard routes", len(routes))
	}
	walked := map[string]bool{}
	for _, rt := range routes {
		walked[rt.method+" "+rt.pattern] = true
	}
	for name := range rows {
		if !walked[name] {
			t.Errorf("the row %q names no dashboard route: remove or rename it", name)
		}
	}

	// The owner's own browser gets every page the table asks B for, so a
	// 404 for B means "not yours", not a wrong id in the table.
	owner := b.loggedIn(t)
	for _, rt := range routes {
		if row, ok := rows[rt.method+" "+rt.pattern]; ok && rt.method == http.MethodGet && row.want == http.StatusNotFound {
			if a := owner.get(t, theirs.Replace(rt.pattern)); a.Status != http.StatusOK {
				t.Errorf("the owner's own GET %s = %d, want 200", theirs.Replace(rt.pattern), a.Status)
			}
		}
	}

	before := b.snapshot(t, b.acct.User.AccountID)
	br := loggedInAsB()
	for _, rt := range routes {
		name := rt.method + " " + rt.pattern
		row, ok := rows[name]
		if !ok {
			t.Errorf("%s has no row in TestTenantIsolationEveryDashboardRoute (web/isolation_test.go): "+
				"add one with what B sends and must get back", name)
			continue
		}
		paths := []string{theirs.Replace(rt.pattern)}
		if strings.Contains(rt.pattern, "{sub_id}") {
			paths = append(paths, mixed.Replace(rt.pattern))
		}
		for _, path := range paths {
			caller := br
			if row.alone {
				caller = loggedInAsB()
			}
			var a answer
			switch rt.method {
			case http.MethodGet:
				a = caller.get(t, path)
			case http.MethodPost:
				// Same-origin, as from the dashboard's own page: past the
				// cross-origin protection.
				a = caller.post(t, path, row.form)
			default:
				t.Fatalf("%s: no way to call a %s route: teach the test", name, rt.method)
			}
			if a.Status != row.want {
				t.Errorf("%s %s as another account = %d, want %d (to %q)", rt.method, path, a.Status, row.want, a.location())
			}
			if row.want == http.StatusSeeOther && strings.HasPrefix(a.location(), "/login?") {
				t.Errorf("%s %s: B's session was not taken: sent to %s", rt.method, path, a.location())
			}
			body := a.Body + "\n" + html.UnescapeString(a.Body) + "\n" + a.location()
			for _, l := range leaks {
				if i := strings.Index(body, l); i >= 0 {
					t.Errorf("%s %s as another account shows A's %q: …%s…", rt.method, path, l,
						strings.Join(strings.Fields(body[max(0, i-80):min(len(body), i+len(l)+80)]), " "))
				}
			}
		}
	}

	// Nothing of A's changed, and A is still logged in.
	after := b.snapshot(t, b.acct.User.AccountID)
	for table, rows := range before {
		if after[table] != rows {
			t.Errorf("another account's requests changed A's %s:\nbefore:\n%s\nafter:\n%s", table, rows, after[table])
		}
	}
	wantStatus(t, "the owner after the intruder", owner.get(t, "/forms/"+victim.PublicID), http.StatusOK)
}

// snapshotSQL selects an account's ($1) rows of each table as text, in a
// stable order.
var snapshotSQL = map[string]string{
	"accounts":          `SELECT t::text FROM accounts t WHERE id = $1`,
	"users":             `SELECT t::text FROM users t WHERE id IN (SELECT user_id FROM memberships WHERE account_id = $1)`,
	"memberships":       `SELECT t::text FROM memberships t WHERE account_id = $1`,
	"sessions":          `SELECT t::text FROM sessions t WHERE t.user_id IN (SELECT user_id FROM memberships WHERE account_id = $1)`,
	"api_keys":          `SELECT t::text FROM api_keys t WHERE account_id = $1`,
	"forms":             `SELECT t::text FROM forms t WHERE account_id = $1`,
	"form_contracts":    `SELECT t::text FROM form_contracts t JOIN forms f ON f.id = t.form_id WHERE f.account_id = $1`,
	"submissions":       `SELECT t::text FROM submissions t JOIN forms f ON f.id = t.form_id WHERE f.account_id = $1`,
	"idempotency_keys":  `SELECT t::text FROM idempotency_keys t JOIN forms f ON f.id = t.form_id WHERE f.account_id = $1`,
	"webhook_endpoints": `SELECT t::text FROM webhook_endpoints t JOIN forms f ON f.id = t.form_id WHERE f.account_id = $1`,
	"deliveries": `SELECT t::text FROM deliveries t JOIN webhook_endpoints e ON e.id = t.endpoint_id
		JOIN forms f ON f.id = e.form_id WHERE f.account_id = $1`,
	"delivery_attempts": `SELECT t::text FROM delivery_attempts t JOIN deliveries d ON d.id = t.delivery_id
		JOIN webhook_endpoints e ON e.id = d.endpoint_id JOIN forms f ON f.id = e.form_id WHERE f.account_id = $1`,
	"outbound_emails": `SELECT t::text FROM outbound_emails t WHERE account_id = $1`,
	// Jobs carry no account, but for the emails of an account's own links
	// (a sign-up's verification, a reset): those of other accounts are
	// theirs; the test's other account enqueues no other job.
	"river_job": `SELECT jsonb_build_object('kind', kind, 'args', args, 'state', state)::text FROM river_job
		WHERE coalesce((args->>'account_id')::bigint, $1) = $1 OR (args->>'token_id' IS NULL AND args->>'invite_id' IS NULL)`,
	"invites":           `SELECT t::text FROM invites t WHERE account_id = $1`,
	"notify_recipients": `SELECT t::text FROM notify_recipients t JOIN forms f ON f.id = t.form_id WHERE f.account_id = $1`,
	"email_tokens":      `SELECT t::text FROM email_tokens t WHERE t.user_id IN (SELECT user_id FROM memberships WHERE account_id = $1)`,
	"two_factor":        `SELECT t::text FROM two_factor t WHERE t.user_id IN (SELECT user_id FROM memberships WHERE account_id = $1)`,
	"recovery_codes":    `SELECT t::text FROM recovery_codes t WHERE t.user_id IN (SELECT user_id FROM memberships WHERE account_id = $1) ORDER BY t.id`,
	"login_challenges":  `SELECT t::text FROM login_challenges t WHERE t.user_id IN (SELECT user_id FROM memberships WHERE account_id = $1)`,
}

// snapshot returns the account's rows of each table, for a before and
// after comparison.
func (b *dashBundle) snapshot(t *testing.T, accountID int64) map[string]string {
	t.Helper()
	out := map[string]string{}
	for table, sql := range snapshotSQL {
		var rows string
		err := b.db.QueryRow(context.Background(), `SELECT coalesce(string_agg(r, E'\n' ORDER BY r), '') FROM (`+sql+`) AS s(r)`, accountID).Scan(&rows)
		if err != nil {
			t.Fatalf("snapshot of %s: %v", table, err)
		}
		out[table] = rows
	}
	return out
}
