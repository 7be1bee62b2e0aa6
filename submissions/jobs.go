package submissions

import (
	"context"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
)

// CreatedArgs is the job every non-spam submission enqueues in its own
// transaction: a submission exists if and only if its job does. Unique on
// the submission as a second guard behind the idempotency key.
type CreatedArgs struct {
	SubmissionID uuid.UUID `json:"submission_id" river:"unique"`
}

// Kind implements river.JobArgs.
func (CreatedArgs) Kind() string { return "submission.created" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (CreatedArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// CreatedWorker handles submission.created. Notifications (webhooks and
// email) hang off this job; until they exist it has nothing to do.
type CreatedWorker struct {
	river.WorkerDefaults[CreatedArgs]
}

// Work does nothing yet.
func (w *CreatedWorker) Work(ctx context.Context, job *river.Job[CreatedArgs]) error { return nil }

// jobsFor returns the jobs a submission enqueues.
func jobsFor(s *Submission) []river.InsertManyParams {
	if s.Spam {
		return nil // spam notifies no one
	}
	return []river.InsertManyParams{{Args: CreatedArgs{SubmissionID: s.ID}}}
}
