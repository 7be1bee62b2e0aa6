package submissions

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/intakehq/intake/database"
	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/idempotency"
)

// DefaultLockWait bounds how long a request waits for another request with
// the same key to finish before answering 409 (SPEC §3: "~5 s").
const DefaultLockWait = 5 * time.Second

// Service accepts submissions. Its Accept method is the transaction boundary
// of the hot path.
type Service struct {
	DB        *pgxpool.Pool
	River     *river.Client[pgx.Tx] // inserts jobs; need not be started
	Validator *forms.Validator
	BaseURL   string        // for the hosted thank-you page
	LockWait  time.Duration // 0: DefaultLockWait

	// Planner decides the jobs of each submission (webhook deliveries,
	// emails); nil enqueues none.
	Planner Planner

	// AfterInsert, when set, runs inside the transaction after the key and
	// the submission are written and before the jobs are. Tests use it to
	// fail or stall a transaction at its most delicate point.
	AfterInsert func(ctx context.Context, tx pgx.Tx) error
}

// Request is one submission as the HTTP edge hands it over.
type Request struct {
	FormID    string // public id
	Payload   *Payload
	Key       string // from the Idempotency-Key header, already parsed; "" if none
	Browser   bool   // browser response mode: keyless posts get an implicit key
	IP        string
	UserAgent string
	Referrer  string
	Origin    string
	// Respond builds the response to send and store on the key, from the
	// accepted submission and the URL to send the submitter on to.
	Respond func(s *Submission, next string) (idempotency.Response, error)
}

// Outcome is how a request ended, for metrics and logs.
type Outcome string

// Outcomes.
const (
	OutcomeCreated  Outcome = "created"
	OutcomeReplayed Outcome = "replayed"
	OutcomeSpam     Outcome = "spam"
)

// Result is an accepted (or replayed) submission.
type Result struct {
	Outcome      Outcome
	Response     idempotency.Response
	SubmissionID uuid.UUID
	Key          string // the key used, implicit ones included; "" if none
	Form         *forms.Form
}

// Accept takes a submission exactly once. In one transaction it claims the
// idempotency key, inserts the submission and its jobs, and stores the
// response; a repeat of a stored key gets the stored response. It returns
// forms.ErrNotFound, forms.ErrArchived, ErrEmpty, a *forms.ValidationError,
// idempotency.ErrKeyInvalid, ErrKeyMissing, ErrKeyReused or ErrInFlight, or a
// database error (nothing is then stored, so a retry is safe). Every error
// that comes with a known form also returns a Result carrying that form.
func (s *Service) Accept(ctx context.Context, req Request) (*Result, error) {
	form, err := forms.ByPublicID(ctx, s.DB, req.FormID)
	if err != nil {
		return nil, err
	}
	res := &Result{Form: form}
	if form.ArchivedAt != nil {
		return res, forms.ErrArchived
	}
	settings := form.Settings
	data, reserved := split(req.Payload, settings.HoneypotField)
	if len(data) == 0 {
		return res, ErrEmpty
	}

	key := req.Key
	if key == "" {
		if k, ok := reserved[FieldIdempotencyKey]; ok {
			if err := idempotency.CheckKey(k); err != nil {
				return res, err
			}
			key = k
		}
	}
	if key == "" && settings.RequireIdempotencyKey {
		return res, idempotency.ErrKeyMissing
	}
	fp := idempotency.Fingerprint(canonical(req.Payload))
	retention := time.Duration(settings.IdempotencyRetention)
	if key == "" && req.Browser && settings.ImplicitWindow() > 0 {
		key = idempotency.ImplicitKey(req.IP, req.UserAgent, fp)
		retention = settings.ImplicitWindow()
	}
	res.Key = key
	now := time.Now().UTC().Truncate(time.Microsecond)

	sub := &Submission{
		ID:              uuid.Must(uuid.NewV7()),
		FormID:          form.ID,
		FormPublicID:    form.PublicID,
		ContractVersion: form.Contract.Version,
		Data:            storedData(data),
		IdempotencyKey:  key,
		CreatedAt:       now,
		Meta: Meta{
			IP: req.IP, UserAgent: req.UserAgent, Referrer: req.Referrer, Origin: req.Origin,
			Subject: reserved[FieldSubject], ReplyTo: reserved[FieldReplyTo], CC: splitCC(reserved[FieldCC]),
			Language: reserved[FieldLanguage], Next: reserved[FieldNext],
		},
	}
	if sub.Meta.ReplyTo == "" {
		sub.Meta.ReplyTo = req.Payload.First("email")
	}
	switch {
	case reserved[settings.HoneypotField] != "":
		// Bots get the normal answer and learn nothing; they are not validated.
		sub.Spam, sub.SpamReason = true, "honeypot"
	case !settings.AllowsOrigin(req.Origin):
		sub.Spam, sub.SpamReason = true, "origin "+req.Origin+" is not an allowed origin"
	}
	if !sub.Spam || sub.SpamReason != "honeypot" {
		if err := s.Validator.Check(form.Contract, settings.UnknownFields, contractValues(data)); err != nil {
			// The contract may have changed since this key's payload was
			// accepted: a retry of it must still get its answer, not a 422.
			if replay, ok := s.replayOnly(ctx, form.ID, key, fp, now); ok {
				return s.replayed(res, replay), nil
			}
			return res, err
		}
	}

	next := settings.NextURL(reserved[FieldNext], fmt.Sprintf("%s/f/%s/thanks", s.BaseURL, form.PublicID))
	resp, err := req.Respond(sub, next)
	if err != nil {
		return res, err
	}
	res.Response, res.SubmissionID = resp, sub.ID
	res.Outcome = OutcomeCreated
	if sub.Spam {
		res.Outcome = OutcomeSpam
	}

	var stored *idempotency.Record
	err = database.WithTx(ctx, s.DB, database.LockTimeoutTx(s.lockWait()), func(tx pgx.Tx) error {
		stored = nil
		b := &pgx.Batch{}
		claimed := true
		if key != "" {
			claim := &idempotency.Claim{FormID: form.ID, Key: key, Fingerprint: fp, SubmissionID: sub.ID,
				Response: resp, CreatedAt: now, ExpiresAt: now.Add(retention)}
			if err := idempotency.QueueClaim(b, claim, &claimed); err != nil {
				return err
			}
		}
		if err := queueInsert(b, sub, filesOf(data)); err != nil {
			return err
		}
		var planned func() ([]river.InsertManyParams, error)
		if s.Planner != nil {
			planned = s.Planner.Plan(b, form, sub)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		if !claimed {
			// The key is held by a committed request. Roll back (nothing was
			// written) and answer with what it stored.
			rec, err := idempotency.Lookup(ctx, tx, form.ID, key, now)
			if err != nil {
				return fmt.Errorf("key %q conflicted but cannot be read: %w", key, err)
			}
			stored = rec
			return errReplay
		}
		if s.AfterInsert != nil {
			if err := s.AfterInsert(ctx, tx); err != nil {
				return err
			}
		}
		if planned == nil {
			return nil
		}
		jobs, err := planned()
		if err != nil {
			return fmt.Errorf("plan jobs: %w", err)
		}
		if len(jobs) > 0 {
			if _, err := s.River.InsertManyTx(ctx, tx, jobs); err != nil {
				return fmt.Errorf("enqueue jobs: %w", err)
			}
		}
		return nil
	})
	switch {
	case errors.Is(err, errReplay):
		resp, err := stored.Replay(fp)
		if err != nil {
			return res, err
		}
		res.Response, res.SubmissionID = resp, stored.SubmissionID
		res.Outcome = OutcomeReplayed
		return res, nil
	case database.IsLockTimeout(err):
		return res, idempotency.ErrInFlight
	case err != nil:
		return res, err
	}
	return res, nil
}

var errReplay = errors.New("replay the stored response")

func (s *Service) lockWait() time.Duration {
	if s.LockWait > 0 {
		return s.LockWait
	}
	return DefaultLockWait
}

// replayOnly looks for a stored response for (form, key) outside a
// transaction. ok is false when there is nothing to replay (no key, none
// stored, or the key belongs to another payload).
func (s *Service) replayOnly(ctx context.Context, formID int64, key string, fp []byte, now time.Time) (*idempotency.Record, bool) {
	if key == "" {
		return nil, false
	}
	rec, err := idempotency.Lookup(ctx, s.DB, formID, key, now)
	if err != nil {
		return nil, false
	}
	if _, err := rec.Replay(fp); err != nil {
		return nil, false
	}
	return rec, true
}

func (s *Service) replayed(res *Result, rec *idempotency.Record) *Result {
	res.Response, res.SubmissionID, res.Outcome = rec.Response, rec.SubmissionID, OutcomeReplayed
	return res
}
