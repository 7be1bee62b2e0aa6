package notify

import "fmt"

// erasedEmailsSQL deletes the emails a CTE (%[1]s, with a column id) names
// the submissions of: their subject and bodies hold the submission's data,
// and an autoresponse's recipient is the person. Deleting a submission on
// its own would only unlink them (ON DELETE SET NULL), through
// outbound_emails_submission_idx.
const erasedEmailsSQL = `DELETE FROM outbound_emails e USING %[1]s d WHERE e.submission_id = d.id RETURNING 1`

// erasedAutorepliesSQL deletes the record of the autoresponses sent for
// those submissions (the daily limit's, which holds the recipient's
// address). Its primary key is the submission id.
const erasedAutorepliesSQL = `DELETE FROM autoresponses a USING %[1]s d WHERE a.submission_id = d.id RETURNING 1`

// ErasedEmailsSQL returns the deletion of the emails of the submissions the
// CTE named doomed selects, as a part of a person's erasure (package
// people); it returns a row per email deleted.
func ErasedEmailsSQL(doomed string) string { return fmt.Sprintf(erasedEmailsSQL, doomed) }

// ErasedAutorepliesSQL returns the deletion of the autoresponse records of
// the submissions the CTE named doomed selects; a row per record deleted.
func ErasedAutorepliesSQL(doomed string) string { return fmt.Sprintf(erasedAutorepliesSQL, doomed) }

// erasedAutorespondedSQL deletes the autoresponses the account sent to the
// address ($2) whose submission is already gone (deleted by hand or by
// retention, which only unlink an email): they are still addressed to the
// person and hold the owner's reply to them. Only when $4 is true: the
// first batch of an erasure runs it, the others skip it (it reads the
// account's emails through outbound_emails_account_idx, so once is enough).
// Notifications are the owner's mail and are left alone.
const erasedAutorespondedSQL = `DELETE FROM outbound_emails e WHERE $4::boolean AND ` + autorespondedWhere + ` RETURNING 1`

// autorespondedWhere selects the account's ($1) autoresponses to the
// address ($2) whose submission is gone.
const autorespondedWhere = `e.account_id = $1 AND e.submission_id IS NULL AND e.kind = '` + TemplateAutoresponse + `'
	AND lower(e.recipient) = lower($2::text)`

// ErasedAutorespondedSQL returns the deletion of the autoresponses the
// account ($1) sent to the address ($2) for submissions already deleted,
// when $4 is true, as a part of a person's erasure (package people); a row
// per email deleted.
func ErasedAutorespondedSQL() string { return erasedAutorespondedSQL }

// ErasedAutorespondedPreviewSQL returns the rows ErasedAutorespondedSQL
// would delete, for a count: its arguments are $1 and $2 alone.
func ErasedAutorespondedPreviewSQL() string {
	return `SELECT 1 FROM outbound_emails e WHERE ` + autorespondedWhere
}
