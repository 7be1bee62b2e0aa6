package api

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/submissions"
)

// submissionBody is a submission as the API shows it (SPEC §5).
type submissionBody struct {
	ID              string           `json:"id"`
	Form            string           `json:"form"`
	CreatedAt       time.Time        `json:"created_at"`
	Data            map[string]any   `json:"data"`
	Spam            bool             `json:"spam"`
	SpamReason      string           `json:"spam_reason,omitempty"`
	ContractVersion int              `json:"contract_version"`
	IdempotencyKey  *string          `json:"idempotency_key"`
	Meta            submissions.Meta `json:"meta"`
}

func toSubmissionBody(s *submissions.Submission) submissionBody {
	b := submissionBody{ID: s.PublicID(), Form: s.FormPublicID, CreatedAt: s.CreatedAt, Data: s.Data, Spam: s.Spam,
		SpamReason: s.SpamReason, ContractVersion: s.ContractVersion, Meta: s.Meta}
	if s.IdempotencyKey != "" {
		b.IdempotencyKey = &s.IdempotencyKey
	}
	return b
}

func (s *Server) listSubmissions(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	form, err := forms.ForAccount(ctx, s.DB, principal(r).AccountID, chi.URLParam(r, "formID"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	limit, err := limitParam(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p := submissions.ListParams{FormID: form.ID, Limit: limit}
	if c := r.URL.Query().Get("cursor"); c != "" {
		if p.After, err = submissions.ParseCursor(c); err != nil {
			s.writeError(w, r, invalidParameter("cursor is not a cursor this API returned"))
			return
		}
	}
	list, next, err := submissions.List(ctx, s.DB, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := listBody[submissionBody]{Data: make([]submissionBody, 0, len(list))}
	for _, sub := range list {
		out.Data = append(out.Data, toSubmissionBody(sub))
	}
	if next != nil {
		c := next.String()
		out.NextCursor = &c
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getSubmission(w http.ResponseWriter, r *http.Request) {
	id, err := submissions.ParseID(chi.URLParam(r, "submissionID"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sub, err := submissions.Get(r.Context(), s.DB, principal(r).AccountID, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toSubmissionBody(sub))
}
