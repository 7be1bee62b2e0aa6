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
