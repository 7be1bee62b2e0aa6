// Package pages renders Intake's public HTML pages — the hosted form, the
// thank-you page, the 422 page that lists a submission's field errors and
// the generic error page — that the API edge (package api) answers browsers
// with, and serves the site's static assets: intake.js, the shared
// stylesheet intake.css, and the dashboard's dashboard.js (package web
// parses its own templates over these assets with ParseLayout, so one
// handler serves them all).
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
//
// It owns no table.
package pages
