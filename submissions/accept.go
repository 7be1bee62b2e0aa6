package submissions

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/captcha"
	"github.com/intakehq/intake/database"
	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/idempotency"
)

// DefaultLockWait bounds how long a request waits for another request with
// the same key to finish before answering 409 (README, "Exactly once, precisely": "waits up to ~5 s").
const DefaultLockWait = 5 * time.Second

// Service accepts submissions. Its Accept method is the transaction boundary
// of the hot path.
type Service struct {
	DB        *pgxpool.Pool
	Validator *forms.Validator
	BaseURL   string        // for the hosted thank-you page
	LockWait  time.Duration // 0: DefaultLockWait

	// Planner decides the jobs of each submission (webhook deliveries,
	// emails); nil enqueues none.
	Planner Planner

	// Replays, when set, counts duplicates absorbed.
	Replays *ReplayCounter

	// Captcha checks the tokens of forms that ask for a CAPTCHA; nil asks
	// the providers' own siteverify URLs.
	Captcha *captcha.Verifier
	// Secrets opens the forms' sealed CAPTCHA secrets; nil reads them as
	// stored.
	Secrets forms.Sealer

	// Limits bound what Submit reads of a body; the zero value is
	// DefaultLimits.
	Limits Limits
	// Limiter limits submissions per client address and form; nil: none.
	Limiter *Limiter

	// MaxGroups bounds the transactions writing submissions at once (in
	// each lane: with files and without), and MaxGroupSize the submissions
	// each writes (or each batch of reads reads for) (commit.go, load.go);
	// 0 means DefaultMaxGroups and DefaultMaxGroupSize.
	MaxGroups, MaxGroupSize int
	// MaxGroupBytes bounds the bytes a writing transaction carries for its
	// group (a single larger write goes alone); 0 means
	// DefaultMaxGroupBytes.
	MaxGroupBytes int

	// AfterInsert, when set, may queue statements into each write after the
	// keys and the submissions and before their jobs and counts: tests use
	// it to fail the write at its most delicate point (a statement that
	// errs) or to hold the keys' locks there (one that waits).
	AfterInsert func(b *pgx.Batch)

	loader    loader
	committer committer
	wakeups   wakeups
}

// Request is one submission with its body read (Submit reads it).
type Request struct {
	FormID    string // public id
	Payload   *Payload
	Key       string // from the Idempotency-Key header, already parsed; "" if none
	Browser   bool   // browser response mode: keyless posts get an implicit key, and a 303
	IP        string
	UserAgent string
	Referrer  string
	Origin    string
	// Test marks a test submission sent from the dashboard by a member of
	// the form's account ("Send a test submission"): stored and notified
	// as any other, marked meta.test, and not asked for the form's CAPTCHA
	// (the member is logged in; no visitor solved one).
	Test bool
}

// Outcome is how a request ended, for metrics and logs.
type Outcome string

// Outcomes.
const (
	OutcomeCreated  Outcome = "created"
	OutcomeReplayed Outcome = "replayed"
	OutcomeSpam     Outcome = "spam"
)

// Result is an accepted (or replayed) submission, or what is known of a
// refused one.
type Result struct {
	Outcome Outcome
	// Response is the answer to send: status, headers and body.
	Response     idempotency.Response
	SubmissionID uuid.UUID
	Key          string // the key used, implicit ones included; "" if none
	// Echo is the key the client sent (header or field), which its answer
	// repeats; "" if none, or not a valid key.
	Echo string
	Form *forms.Form
	// CaptchaUnverified says why a form that fails open took the
	// submission without a verified CAPTCHA; "" otherwise.
	CaptchaUnverified string
	// How says how a replayed or duplicate request was recognised, and
	// StoredAge how long before the answer its submission's key was
	// stored (replays only).
	How       How
	StoredAge time.Duration
}

// Accept takes a submission exactly once. In one transaction it claims the
// idempotency key, inserts the submission and its jobs, counts it against
// the account's quota, and stores the response; a repeat of a stored key
// gets the stored response. A form's CAPTCHA is verified after the stored
// answer was looked for (a replay is never verified again: tokens are
// single-use) and before the transaction. It returns forms.ErrNotFound,
// forms.ErrArchived, a *LimitedError, an *accounts.QuotaError, ErrEmpty, a
// *forms.ValidationError, idempotency.ErrKeyInvalid, ErrKeyMissing,
// ErrKeyReused or ErrInFlight, a *captcha.MissingTokenError or
// *captcha.RejectedError, a *captcha.UnverifiedError (a form that fails
// closed), or a database error. Nothing is stored on any error, so a retry
// is safe. The Result is never nil: on an error it says the key to echo
// and, once read, the form.
func (s *Service) Accept(ctx context.Context, req Request) (*Result, error) {
	// The key and the fingerprint need only the request, so the form and a
	// stored answer for the key are read together, in one round trip: a
	// replay costs that and nothing more.
	// The key is the header's or, without one, the _idempotency_key
	// field's; the answer echoes it.
	key := req.Key
	if k := req.Payload.First(FieldIdempotencyKey); key == "" && k != "" {
		if err := idempotency.CheckKey(k); err != nil {
			return &Result{}, err
		}
		key = k
	}
	res := &Result{Echo: key}
	fp := idempotency.Fingerprint(canonical(req.Payload))
	// Without a key Intake makes one: a browser's (implicit_dedupe_window)
	// or, for JSON, one from the fields alone (keyless_json_window). The
	// form says below whether it is used.
	implicit := ""
	switch {
	case key == "" && req.Browser:
		implicit = idempotency.ImplicitKey(req.IP, req.UserAgent, fp)
	case key == "" && req.Payload.JSON:
		implicit = idempotency.KeylessKey(fp)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	form, stored, usage, plan, err := s.load(ctx, req.FormID, cmp.Or(key, implicit), now)
	if err != nil {
		return res, err
	}
	res.Form = form
	settings := form.Settings
	retention := time.Duration(settings.IdempotencyRetention)
	window, how := settings.ImplicitWindow(), HowImplicit
	if !req.Browser {
		window, how = time.Duration(settings.KeylessJSONWindow), HowKeyless
	}
	if implicit != "" && window > 0 {
		key, retention, res.How = implicit, window, how
	} else if implicit != "" {
		stored = nil // this deduplication is off for this form
	}
	res.Key = key
	if stored != nil {
		// Replayed even for an archived form: the submission was taken, and
		// the retry must hear so.
		if _, err := stored.Replay(fp); err != nil {
			return res, err
		}
		return s.replayed(res, stored), nil
	}

	// Replays were answered above: they are never refused or counted.
	if err := s.Limiter.take(req.IP, form.ID, s.Limiter.now()); err != nil {
		return res, err
	}
	if form.ArchivedAt != nil {
		return res, forms.ErrArchived
	}
	if usage != nil && usage.Over() {
		// Checked against the count read above: submissions in flight when
		// the quota runs out still land, so a month can end a few over.
		return res, &accounts.QuotaError{Usage: usage}
	}
	data, reserved := split(req.Payload, settings.HoneypotField)
	if len(data) == 0 {
		return res, ErrEmpty
	}
	if settings.RequireIdempotencyKey && (key == "" || key == implicit) {
		return res, idempotency.ErrKeyMissing // an implicit key is not the client's
	}

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
			Language: reserved[FieldLanguage], Next: reserved[FieldNext], FillMS: fillMS(reserved[FieldFillMS]),
			Test: req.Test,
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
	case settings.TooFast(sub.Meta.FillMS) != "":
		sub.Spam, sub.SpamReason = true, settings.TooFast(sub.Meta.FillMS)
	default:
		if why := settings.Blocked(req.IP, sub.Meta.ReplyTo, valueTexts(data)); why != "" {
			sub.Spam, sub.SpamReason = true, why
		}
	}
	if !sub.Spam || sub.SpamReason != "honeypot" {
		// A stored answer was looked for above, so a retry of a payload the
		// contract accepted before it changed still gets its answer.
		if err := s.Validator.Check(form.Contract, settings.UnknownFields, contractValues(data)); err != nil {
			return res, err
		}
	}
	if settings.Captcha.Provider != "" && sub.SpamReason != "honeypot" && !req.Test {
		// Last before the transaction: a payload refused above has not
		// spent its single-use token, and the check, a network call, holds
		// no connection or lock. A bot caught by the honeypot is not asked:
		// it gets the normal answer and learns nothing (docs/errors.md: spam is not an error), and is
		// stored as spam.
		if err := s.checkCaptcha(ctx, form, reserved[settings.Captcha.Provider.TokenField()], req.IP, sub); err != nil {
			var rejected *captcha.RejectedError
			if key != "" && errors.As(err, &rejected) && rejected.Spent() {
				// A double click posts one token twice: the twin that spent
				// it may be storing the submission now, and its answer is
				// this request's too.
				if twin := s.awaitTwin(ctx, form.ID, key); twin != nil {
					if _, err := twin.Replay(fp); err != nil {
						return res, err
					}
					return s.replayed(res, twin), nil
				}
			}
			return res, err
		}
		if c := sub.Meta.Captcha; !c.Verified {
			res.CaptchaUnverified = c.Reason
		}
	}

	uniqueOf(form, sub, data)
	next := settings.NextURL(reserved[FieldNext], s.thanksURL(form))
	resp, err := s.answer(sub, next, req.Browser)
	if err != nil {
		return res, err
	}
	res.Response, res.SubmissionID = resp, sub.ID
	res.Outcome = OutcomeCreated
	if sub.Spam {
		res.Outcome = OutcomeSpam
	}

	var jobs []river.InsertManyParams
	if plan != nil {
		if jobs, err = plan(form, sub); err != nil {
			return res, fmt.Errorf("plan jobs: %w", err)
		}
	}

	// The write shares a transaction with the submissions arriving with it
	// (commit.go): one batch, one implicit transaction, one round trip.
	w := &write{account: form.AccountID}
	if key != "" {
		w.claim = &idempotency.Claim{FormID: form.ID, Key: key, Fingerprint: fp, SubmissionID: sub.ID,
			Response: resp, CreatedAt: now, ExpiresAt: now.Add(retention)}
	}
	if w.row, err = encodeSubmission(sub, filesOf(data)); err != nil {
		return res, err
	}
	if len(jobs) > 0 {
		if w.jobs, err = database.JobRows(jobs); err != nil {
			return res, err
		}
	}
	if !sub.Spam { // spam does not count against the quota
		w.count = &usageCount{accountID: form.AccountID, month: accounts.MonthOf(now)}
	}
	for attempt := 0; ; attempt++ {
		if err := s.commit(ctx, w); err != nil {
			return res, err
		}
		switch {
		case database.IsLockTimeout(w.claimErr):
			// The wait was on the key's row: a twin still holds it. (A lock
			// timeout elsewhere — a migration holding a table — is a 503.)
			return res, idempotency.ErrInFlight
		case w.err != nil:
			return res, w.err
		case w.written:
			return res, nil
		}
		// Nothing of this request was written: a committed twin took the
		// key, or a stored submission holds the unique value (then the key
		// was given back). Idempotency first: answer with what a twin
		// stored, if one did.
		if key != "" {
			twin, err := idempotency.Lookup(ctx, s.DB, form.ID, key, now)
			switch {
			case err == nil:
				if _, err := twin.Replay(fp); err != nil {
					return res, err
				}
				return s.replayed(res, twin), nil
			case !errors.Is(err, idempotency.ErrNotFound) || sub.UniqueHash == nil:
				return res, fmt.Errorf("key %q conflicted but cannot be read: %w", key, err)
			}
		}
		if sub.UniqueHash == nil {
			return res, errors.New("a submission without a key or a unique value was not written")
		}
		out, err := s.duplicate(ctx, res, form, sub, next, req.Browser)
		if errors.Is(err, errGoneFirst) && attempt > 0 {
			// Deleted under it twice: a retry with the same key is safe.
			return out, idempotency.ErrInFlight
		}
		if !errors.Is(err, errGoneFirst) {
			return out, err
		}
		// The submission holding the value was deleted between the write
		// and the read: this one may be the first now.
		w = &write{claim: w.claim, row: w.row, jobs: w.jobs, count: w.count, account: w.account}
	}
}

// twinPolls are the waits between looks for a twin's stored answer. The
// provider spent the token on the twin, which may still be waiting for the
// provider's answer (up to captcha.DefaultTimeout) and then for its write
// (up to the lock wait): about eight seconds in all, so the second click
// does not show an error for a submission the first one then stores.
var twinPolls = []time.Duration{0, 50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond,
	800 * time.Millisecond, time.Second, time.Second, time.Second, time.Second, time.Second, time.Second, time.Second}

// awaitTwin returns the answer stored for (form, key) by a request that is
// committing it now, or nil when none appears.
func (s *Service) awaitTwin(ctx context.Context, formID int64, key string) *idempotency.Record {
	for _, wait := range twinPolls {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		if rec, err := idempotency.Lookup(ctx, s.DB, formID, key, time.Now()); err == nil {
			return rec
		}
	}
	return nil
}

// checkCaptcha verifies token for form and records the outcome on sub. A
// token the provider could not judge (it is down) is accepted, unverified,
// when the form fails open; otherwise — and always when the form's own
// secret is wrong — the verifier's error comes back.
func (s *Service) checkCaptcha(ctx context.Context, form *forms.Form, token, ip string, sub *Submission) error {
	c := form.Settings.Captcha
	secret, err := form.CaptchaSecret(s.Secrets)
	if err != nil {
		err = &captcha.UnverifiedError{Provider: c.Provider, Reason: "the form's secret cannot be decrypted (was INTAKE_SECRET_KEY changed?)", Err: err, Misconfigured: true}
	} else {
		err = s.Captcha.Verify(ctx, c.Provider, secret, token, ip)
	}
	var unverified *captcha.UnverifiedError
	switch {
	case err == nil:
		sub.Meta.Captcha = &CaptchaCheck{Provider: c.Provider, Verified: true}
	case errors.As(err, &unverified) && c.OnOutage == forms.CaptchaFailOpen && !unverified.Misconfigured:
		sub.Meta.Captcha = &CaptchaCheck{Provider: c.Provider, Reason: unverified.Reason}
	default:
		return err
	}
	return nil
}

func (s *Service) lockWait() time.Duration {
	if s.LockWait > 0 {
		return s.LockWait
	}
	return DefaultLockWait
}

type planFunc = func(form *forms.Form, sub *Submission) ([]river.InsertManyParams, error)

// replayed answers res with rec's stored answer and counts the duplicate
// (how: res.How, set when the key was chosen).
func (s *Service) replayed(res *Result, rec *idempotency.Record) *Result {
	res.Response, res.SubmissionID, res.Outcome = rec.Response, rec.SubmissionID, OutcomeReplayed
	now := time.Now()
	res.StoredAge = max(now.Sub(rec.CreatedAt), 0)
	if s.Replays != nil {
		s.Replays.Add(res.Form.ID, rec.SubmissionID, res.How, now)
	}
	return res
}

func (s *Service) limits() Limits {
	if s.Limits == (Limits{}) {
		return DefaultLimits
	}
	return s.Limits
}

// BodyLimit is the most Submit reads of a body of contentType.
func (s *Service) BodyLimit(contentType string) int64 { return s.limits().BodyLimit(contentType) }
