package api

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/submissions"
)

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
	out := listBody[submissions.JSON]{Data: make([]submissions.JSON, 0, len(list))}
	for _, sub := range list {
		out.Data = append(out.Data, sub.JSON())
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
	writeJSON(w, http.StatusOK, sub.JSON())
}
