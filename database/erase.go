package database

import "fmt"

// erasedJobsSQL deletes River's job rows about the submissions a CTE
// (%[1]s, with a column id) names: their args carry the submission's id,
// and an autoresponse's carry the person's address. River's GIN index on
// args (river_job_args_index) finds them by containment. A job running at
// this moment is left to River: it finds its submission gone and cancels
// itself, and River's cleaner deletes its row with the other finished jobs.
const erasedJobsSQL = `DELETE FROM river_job j USING %[1]s d
WHERE j.args @> jsonb_build_object('submission_id', d.id) AND j.state <> 'running' RETURNING 1`

// ErasedJobsSQL returns the deletion of the job rows of the submissions the
// CTE named doomed selects, as a part of a person's erasure (package
// people); it returns a row per job deleted.
func ErasedJobsSQL(doomed string) string { return fmt.Sprintf(erasedJobsSQL, doomed) }
