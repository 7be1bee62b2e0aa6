// Package submissions takes submissions exactly once and keeps them: it
// parses a posted form (urlencoded, multipart or JSON), accepts it (Accept:
// the form, the stored answer, the checks, then the write), and lists,
// exports, marks and deletes what was taken, by hand or after the form's
// submission_retention (retention.go, a nightly River job).
//
// Its tables: submissions, submission_files (a submission's uploads) and
// form_daily_replays (the duplicates absorbed, per form and day; see
// replays.go). The group write (write.go) is one statement over five
// tables, assembled from each owner's part: the key claims are
// idempotency's, the job rows database's (River's table, written by hand),
// the quota counts accounts'. The reads before a write (load.go) are
// queued by their owners — forms, accounts, idempotency and the Planner —
// into one batch. Its own statements join forms only to keep to an
// account's forms and to name a submission's form by its public id, as
// every package that keeps rows of a form does; they never write it.
// people.go defines which submissions carry a person's email address, for
// package people's lookup and erasure.
package submissions
