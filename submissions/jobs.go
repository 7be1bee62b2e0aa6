package submissions

import (
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/intakehq/intake/forms"
)

// Planner decides which jobs a submission enqueues — its webhook deliveries
// and emails — inside the submission's transaction, so a submission exists
// if and only if its jobs do.
type Planner interface {
	// Plan may queue reads on b, which travel to the server in the same
	// round trip as the submission's own statements. The function it returns
	// runs after b has been read and returns the jobs to insert.
	Plan(b *pgx.Batch, form *forms.Form, sub *Submission) func() ([]river.InsertManyParams, error)
}
