// Package web renders Intake's public HTML pages — the hosted form, the
// thank-you page, the 422 page that lists a submission's field errors and the
// generic error page — and serves the static assets they use, intake.js among
// them. Its Dashboard is the owners' side: accounts and sessions (with the
// pages the emailed verification and reset links open, dash_links.go, and the
// log-in throttle, throttle.go), forms and their contract editor,
// submissions, webhooks and their delivery log, the email outbox and API keys
// (dashboard.go and dash_*.go, templates dash_*), and the public pages the
// links of notification emails open: /confirm (double opt-in of an address)
// and /unsubscribe (RFC 8058 one-click), in dash_recipients.go.
//
// Templates and assets are embedded and checked at boot: every template must
// parse, every page must define its blocks, every asset a template names must
// exist, and every embedded file must be used, so a broken or stray file stops
// start-up instead of a page view. Assets are served under content-hash URLs
// with a year-long immutable cache; intake.js also has the stable alias
// /js/intake.js, which sites copy into their pages, with a short cache.
//
// Pages use no inline scripts or styles, so a strict Content-Security-Policy
// without 'unsafe-inline' fits them.
package web
