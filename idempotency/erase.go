package idempotency

import "fmt"

// erasedSQL deletes the key rows of the submissions a CTE names (%[1]s,
// with columns id, form_id and idempotency_key): each such row stores the
// submission's answer, which may carry its data. It goes through the
// primary key (form_id, key), the submission's own key, and deletes the row
// only while it still names that submission.
const erasedSQL = `DELETE FROM idempotency_keys k USING %[1]s d
WHERE k.form_id = d.form_id AND k.key = d.idempotency_key AND k.submission_id = d.id RETURNING 1`

// ErasedSQL returns the deletion of the stored answers of the submissions
// the CTE named doomed selects, as a part of a person's erasure (package
// people); it returns a row per key deleted. With the key gone, a late
// retry of it is a new submission: erased means forgotten.
func ErasedSQL(doomed string) string { return fmt.Sprintf(erasedSQL, doomed) }
