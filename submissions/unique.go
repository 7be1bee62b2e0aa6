package submissions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/idempotency"
)

// Business uniqueness (README, "One answer per person: unique values"). A
// form's unique setting makes each of its submissions that is not spam
// carry the hash of its values (forms.Unique.Hash) and the end of the
// window that value counts in. The submissions' own insert (write.go,
// subsSQL) skips a row whose value a stored submission holds: the
// exclusion constraint submissions_unique_value (migration 00026) decides,
// so two racing submissions with one value store one, whether they share a
// group write or race in two transactions. A keyed submission skipped so
// gives its key back in the same transaction (releaseSQL), so the key
// names no submission that was never written. Idempotency comes first: the
// key's stored answer was looked for before, and a twin's is looked for
// again after.

// OutcomeDuplicate is a repeat of a unique value: answered as a success
// that points at the first (on_duplicate accept) or refused (reject).
const OutcomeDuplicate Outcome = "duplicate"

// DuplicateHeader names the submission a duplicate repeats, in an accepted
// duplicate's answer.
const DuplicateHeader = "Duplicate-Of"

// DuplicateError refuses a repeat of a unique value on a form that rejects
// them (on_duplicate reject).
type DuplicateError struct {
	Fields []string  // the form's unique fields, by label
	Of     uuid.UUID // the submission already stored
}

func (e *DuplicateError) Error() string {
	return "duplicate of " + FormatID(e.Of)
}

// Describe says which value repeats; the first submission's id stays with
// the owner (a stranger learns nothing but that the value was taken).
func (e *DuplicateError) Describe() *intake.Error {
	quoted := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		quoted[i] = "“" + f + "”"
	}
	what := strings.Join(quoted, " and ")
	return &intake.Error{Kind: intake.Conflict, Type: intake.TypeDuplicate, Code: "DUPLICATE", Msg: e.Error(),
		Title:  "Already received",
		Detail: "An entry with this " + what + " already exists; we kept the first one.",
		Hint:   "We already have an entry with this " + what + " and kept the first one. Nothing was sent twice."}
}

// uniqueOf sets sub's unique value under form's setting: the hash of its
// values and the end of its window, or nothing for spam (spam never blocks
// a real person's later submission), a form without the setting, or a
// submission without the value.
func uniqueOf(form *forms.Form, sub *Submission, data []Field) {
	u := form.Settings.Unique
	if !u.On() || sub.Spam {
		return
	}
	values := contractValues(data)
	sub.UniqueHash = u.Hash(form.Contract.Fields, func(name string) []string { return values[name].Texts })
	if w := u.WindowDuration(); sub.UniqueHash != nil && w > 0 {
		until := sub.CreatedAt.Add(w)
		sub.UniqueUntil = &until
	}
}

// firstWithSQL finds the stored submission holding the unique value $2 of
// form $1 over [$3, $4): the one a duplicate repeats.
const firstWithSQL = `SELECT id FROM submissions WHERE form_id = $1 AND unique_hash = $2
	AND tstzrange(created_at, unique_until) && tstzrange($3, $4) ORDER BY created_at, id LIMIT 1`

// errGoneFirst is returned when the submission a write conflicted with is
// deleted before it is read: the write is tried again.
var errGoneFirst = errors.New("the submission with this value was deleted meanwhile")

// duplicate answers sub, which was not written because a stored submission
// holds its unique value: per the form's on_duplicate, a success pointing at
// that submission or a *DuplicateError.
func (s *Service) duplicate(ctx context.Context, res *Result, form *forms.Form, sub *Submission, next string, browser bool) (*Result, error) {
	var first uuid.UUID
	err := s.DB.QueryRow(ctx, firstWithSQL, form.ID, sub.UniqueHash, sub.CreatedAt, sub.UniqueUntil).Scan(&first)
	if errors.Is(err, pgx.ErrNoRows) {
		return res, errGoneFirst
	}
	if err != nil {
		return res, err
	}
	res.Outcome, res.SubmissionID, res.How = OutcomeDuplicate, first, HowUnique
	if s.Replays != nil {
		s.Replays.Add(form.ID, first, HowUnique, time.Now())
	}
	u := form.Settings.Unique
	if u.OnDuplicate == forms.UniqueReject {
		labels := make([]string, len(u.Fields))
		for i, name := range u.Fields {
			labels[i] = name
			if f, ok := form.Contract.Field(name); ok && f.Label != "" {
				labels[i] = f.Label
			}
		}
		return res, &DuplicateError{Fields: labels, Of: first}
	}
	id := FormatID(first)
	if browser {
		if thanks := s.thanksURL(form); next == thanks {
			next += "?duplicate=1" // the hosted page says nothing was sent twice
		}
		res.Response = idempotency.Response{Status: http.StatusSeeOther,
			Header: map[string]string{"Content-Type": "text/html; charset=utf-8", "Location": next, DuplicateHeader: id},
			Body:   fmt.Appendf(nil, "<a href=\"%s\">See Other</a>.\n", html.EscapeString(next))}
		return res, nil
	}
	body, err := json.Marshal(duplicateBody{OK: true, Next: next, DuplicateOf: id, Form: form.PublicID})
	if err != nil {
		return res, err
	}
	res.Response = idempotency.Response{Status: http.StatusOK,
		Header: map[string]string{"Content-Type": "application/json", DuplicateHeader: id}, Body: append(body, '\n')}
	return res, nil
}

// duplicateBody is the JSON answer to an accepted duplicate: ok and next as
// a success (Formspree's client shows its thanks), and the submission it
// repeats.
type duplicateBody struct {
	OK          bool   `json:"ok"`
	Next        string `json:"next"`
	DuplicateOf string `json:"duplicate_of"`
	Form        string `json:"form"`
}

// thanksURL is form's hosted thank-you page.
func (s *Service) thanksURL(form *forms.Form) string {
	return fmt.Sprintf("%s/f/%s/thanks", s.BaseURL, url.PathEscape(form.PublicID))
}

// writtenSQL is true when the submission c.submission_id was written: the
// condition idempotency.QueueRelease gives a key back on.
const writtenSQL = `EXISTS (SELECT 1 FROM submissions s WHERE s.id = c.submission_id)`

// queueRelease gives back, in the group write's transaction, the keys of
// the writes of g that writeSQL did not write because their unique value
// was taken (idempotency.QueueRelease), if any write of g claims a key and
// carries a unique value.
func queueRelease(b *pgx.Batch, g []*write) {
	var claims []*idempotency.Claim
	for _, w := range g {
		if w.claim != nil && w.row.sub.UniqueHash != nil {
			claims = append(claims, w.claim)
		}
	}
	idempotency.QueueRelease(b, claims, writtenSQL)
}
