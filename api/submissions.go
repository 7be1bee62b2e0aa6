package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/intakehq/intake/database"
	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/internal/httpedge"
	"github.com/intakehq/intake/submissions"
)

// filterParams reads spam, q and since for the form's submissions from a
// query (or an MCP tool's arguments, put in one: api/mcp.go).
func filterParams(q url.Values, form *forms.Form) (submissions.Filter, error) {
	f := submissions.Filter{FormID: form.ID}
	if v := q.Get("spam"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return f, invalidParameter("spam must be true or false")
		}
		f.Spam = &b
	}
	if v := q.Get("q"); v != "" {
		if !utf8.ValidString(v) || strings.ContainsRune(v, 0) || utf8.RuneCountInString(v) > submissions.MaxQuery {
			return f, invalidParameter("q must be text (UTF-8, no NUL) of at most 200 characters")
		}
		f.Query = v
	}
	if v := q.Get("merged"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return f, invalidParameter("merged must be true or false")
		}
		f.Merged = b
	}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return f, invalidParameter("since must be an RFC 3339 time such as 2026-11-22T00:00:00Z")
		}
		f.Since = &t
	}
	return f, nil
}

func (s *Server) listSubmissions(w http.ResponseWriter, r *http.Request) {
	form, ok := s.formFor(w, r)
	if !ok {
		return
	}
	out, err := s.submissionsPage(r.Context(), form, r.URL.Query())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// submissionsPage is the page of the form's submissions q names: limit,
// the filters (filterParams) and cursor.
func (s *Server) submissionsPage(ctx context.Context, form *forms.Form, q url.Values) (listBody[submissions.JSON], error) {
	out := listBody[submissions.JSON]{Data: []submissions.JSON{}}
	limit, err := limitParam(q)
	if err != nil {
		return out, err
	}
	filter, err := filterParams(q, form)
	if err != nil {
		return out, err
	}
	p := submissions.ListParams{Filter: filter, Limit: limit}
	if c := q.Get("cursor"); c != "" {
		if p.After, err = submissions.ParseCursor(c); err != nil {
			return out, err // submissions.ErrBadCursor
		}
	}
	list, next, err := submissions.List(ctx, s.DB, p)
	if err != nil {
		return out, err
	}
	for _, sub := range list {
		out.Data = append(out.Data, sub.JSON())
	}
	if next != nil {
		c := next.String()
		out.NextCursor = &c
	}
	return out, nil
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

type submissionPatch struct {
	Spam *bool `json:"spam"`
}

func (s *Server) updateSubmission(w http.ResponseWriter, r *http.Request) {
	id, err := submissions.ParseID(chi.URLParam(r, "submissionID"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var p submissionPatch
	if err := decodeJSON(w, r, &p); err != nil {
		s.writeError(w, r, err)
		return
	}
	if p.Spam == nil {
		s.writeError(w, r, &forms.ValidationError{Errors: []forms.FieldError{{Field: "spam", Code: forms.CodeInvalid, Rule: "required",
			Message: "spam is required: true or false", Pointer: "#/spam"}}})
		return
	}
	sub, err := submissions.SetSpam(r.Context(), s.DB, s.actor(r), principal(r).AccountID, id, *p.Spam)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sub.JSON())
}

// mergeInput is POST /submissions/{id}/merge's body.
type mergeInput struct {
	Into *string `json:"into"`
}

// mergeSubmission merges a submission into another of its form
// (submissions.Merge): it is hidden, never deleted.
func (s *Server) mergeSubmission(w http.ResponseWriter, r *http.Request) {
	id, err := submissions.ParseID(chi.URLParam(r, "submissionID"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var in mergeInput
	if err := decodeJSON(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if in.Into == nil {
		s.writeError(w, r, &forms.ValidationError{Errors: []forms.FieldError{{Field: "into", Code: forms.CodeInvalid, Rule: "required",
			Message: "into is required: the id of the submission to keep", Pointer: "#/into"}}})
		return
	}
	into, err := submissions.ParseID(*in.Into)
	if err != nil {
		s.writeError(w, r, &forms.ValidationError{Errors: []forms.FieldError{{Field: "into", Code: forms.CodeInvalid, Rule: "submission_id",
			Message: "into must be a submission id such as sub_01jd9v3k8r2f5q7w9x1y3z5a7b", Pointer: "#/into"}}})
		return
	}
	sub, err := submissions.Merge(r.Context(), s.DB, s.actor(r), principal(r).AccountID, id, into)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sub.JSON())
}

// unmergeSubmission undoes a merge (submissions.Unmerge).
func (s *Server) unmergeSubmission(w http.ResponseWriter, r *http.Request) {
	id, err := submissions.ParseID(chi.URLParam(r, "submissionID"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sub, err := submissions.Unmerge(r.Context(), s.DB, s.actor(r), principal(r).AccountID, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sub.JSON())
}

func (s *Server) deleteSubmission(w http.ResponseWriter, r *http.Request) {
	id, err := submissions.ParseID(chi.URLParam(r, "submissionID"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := submissions.Delete(r.Context(), s.DB, s.actor(r), principal(r).AccountID, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// exportSubmissions streams a form's submissions as CSV or NDJSON: rows go
// from Postgres to the client as they come, in constant memory. Errors
// after the first byte can only cut the stream short (the status is sent);
// they are logged.
func (s *Server) exportSubmissions(format submissions.ExportFormat) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		form, ok := s.formFor(w, r)
		if !ok {
			return
		}
		filter, err := filterParams(r.URL.Query(), form)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		exp, err := submissions.PrepareExport(ctx, s.DB, format, form, filter)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		StreamExport(w, r, s.DB, exp, format, form)
	}
}

// exportChunkTimeout is how long the client has to take each 1,000 rows.
const exportChunkTimeout = time.Minute

// StreamExport sends a prepared export as a download. A long export
// outlives the server's WriteTimeout, so each 1,000 rows written extend
// the deadline. The dashboard uses it too.
func StreamExport(w http.ResponseWriter, r *http.Request, db database.Executor, exp *submissions.Exporter, format submissions.ExportFormat, form *forms.Form) {
	ctx := r.Context()
	w.Header().Set("Content-Type", format.ContentType())
	w.Header().Set("Content-Disposition", `attachment; filename="`+format.FileName(form, time.Now())+`"`)
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	n, err := exp.Write(ctx, db, w, func() error {
		rc.SetWriteDeadline(time.Now().Add(exportChunkTimeout))
		return rc.Flush()
	})
	if err != nil {
		// The status is sent: abort the response, so the client sees a
		// broken transfer rather than a file that looks complete.
		httpedge.Logger(ctx).WarnContext(ctx, "export cut short", "form", form.PublicID, "rows", n, "err", err)
		panic(http.ErrAbortHandler)
	}
}

// statsBody is a form's per-day counts.
type statsBody struct {
	Form string    `json:"form"`
	Days []dayBody `json:"days"`
}

type dayBody struct {
	Date        string `json:"date"`
	Submissions int64  `json:"submissions"`
	Spam        int64  `json:"spam"`
	Duplicates  int64  `json:"duplicates"`
}

func (s *Server) formStats(w http.ResponseWriter, r *http.Request) {
	form, ok := s.formFor(w, r)
	if !ok {
		return
	}
	out, err := s.stats(r.Context(), form, r.URL.Query())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// stats is the form's per-day counts over the days q names (30 when none).
func (s *Server) stats(ctx context.Context, form *forms.Form, q url.Values) (statsBody, error) {
	days := 30
	if v := q.Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 365 {
			return statsBody{}, invalidParameter("days must be a whole number from 1 to 365")
		}
		days = n
	}
	list, err := submissions.Stats(ctx, s.DB, form.ID, days, time.Now())
	if err != nil {
		return statsBody{}, err
	}
	out := statsBody{Form: form.PublicID, Days: make([]dayBody, 0, len(list))}
	for _, d := range list {
		out.Days = append(out.Days, dayBody{Date: d.Date.Format(time.DateOnly), Submissions: d.Submissions, Spam: d.Spam, Duplicates: d.Duplicates})
	}
	return out, nil
}
