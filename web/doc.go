// Package web is the owners' side of Intake, the Dashboard: accounts and
// sessions (session.go; the pages the emailed verification and reset links
// open, dash_links.go; the log-in throttle, throttle.go), forms and their
// contract editor, submissions, webhooks and their delivery log, the email
// outbox and API keys, an account's members and invitations, switching
// between one's accounts and handing one over (dash_members.go,
// dash_transfer.go; an invitation's link, /invites/{token}, in
// dash_invite.go) (dash_*.go, templates dash_*), and the public pages
// the links of notification emails open: /confirm (double opt-in of an
// address) and /unsubscribe (RFC 8058 one-click), in dash_recipients.go.
// dashboard.go holds the Dashboard, its routes and its error page;
// flash.go the one-time messages, render.go the templates and their views,
// funcs.go the templates' functions.
//
// The public pages a form's visitors see (the hosted form, thanks, errors)
// and the static assets are package pages'; the dashboard's templates are
// parsed over those assets and checked at boot like them: every template
// must parse and fit its view, and every file under templates/ must be
// used. Pages use no inline scripts or styles, so the dashboard's strict
// Content-Security-Policy without 'unsafe-inline' fits them.
//
// It reads and writes its tables through the packages that own them
// (accounts, forms, submissions, webhooks, notify) and owns none.
package web
