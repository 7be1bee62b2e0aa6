package webhooks

import "fmt"

// erasedDeliveriesSQL counts the deliveries of the submissions a CTE
// (%[1]s, with a column id) names, through
// deliveries_submission_endpoint_key. Deleting a submission deletes them
// and their attempts (ON DELETE CASCADE); a delivery keeps no payload (the
// body is built from the submission at each send), but its attempts keep
// the first 4 KiB of the endpoint's answer, which may echo it.
const erasedDeliveriesSQL = `SELECT count(*) AS n FROM deliveries dl JOIN %[1]s d ON dl.submission_id = d.id`

// ErasedDeliveriesSQL returns the count of the deliveries of the
// submissions the CTE named doomed selects: what their deletion takes with
// it, as a part of a person's erasure (package people).
func ErasedDeliveriesSQL(doomed string) string { return fmt.Sprintf(erasedDeliveriesSQL, doomed) }
