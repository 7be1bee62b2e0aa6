// Package audit owns the audit log: who changed what in an account, when
// and from where. Every change made through the API, the dashboard or the
// CLI is recorded by Record in the transaction of the change itself, so a
// change that fails leaves no entry and no entry outlives a rolled-back
// change. An entry names the fields and settings that changed, never their
// values: no secret or password reaches the log.
//
// The log is append-only: no code here updates or deletes a row, and the
// table's trigger refuses both (an account's rows go only with the account).
//
// Its table: audit_log.
package audit
