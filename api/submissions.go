package api

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/submissions"
)

// filterParams reads spam, q and since for the form's submissions.
func filterParams(r *http.Request, form *forms.Form) (submissions.Filter, error) {
	f := submissions.Filter{FormID: form.ID}
	q := r.URL.Query()
	if v := q.Get("spam"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return f, invalidParameter("spam must be true or false")
		}
		f.Spam = &b
	}
	if v := q.Get("q"); v != "" {
		if len(v) > 200 {
			return f, invalidParameter("q is longer than 200 characters")
		}
		f.Query = v
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
	filter, err := filterParams(r, form)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p := submissions.ListParams{Filter: filter, Limit: limit}
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
	sub, err := submissions.SetSpam(r.Context(), s.DB, principal(r).AccountID, id, *p.Spam)
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
	if err := submissions.Delete(r.Context(), s.DB, principal(r).AccountID, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// exportSubmissions streams a form's submissions as CSV or NDJSON: rows go
// from Postgres to the client as they come, in constant memory. Errors
// after the first byte can only cut the stream short (the status is sent);
// they are logged.
func (s *Server) exportSubmissions(format string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { s.export(w, r, format) }
}

func (s *Server) export(w http.ResponseWriter, r *http.Request, format string) {
	ctx := r.Context()
	form, err := forms.ForAccount(ctx, s.DB, principal(r).AccountID, chi.URLParam(r, "formID"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	filter, err := filterParams(r, form)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	name := fmt.Sprintf("%s-submissions-%s.%s", form.PublicID, time.Now().UTC().Format("20060102"), format)
	var write func(*submissions.Submission) error
	var flush func() error
	switch format {
	case "csv":
		columns, err := s.csvColumns(r, form, filter)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		cw := csv.NewWriter(w)
		header := append([]string{"id", "created_at", "spam"}, columns...)
		write = func(sub *submissions.Submission) error {
			row := make([]string, 0, len(header))
			row = append(row, sub.PublicID(), sub.CreatedAt.Format(time.RFC3339Nano), strconv.FormatBool(sub.Spam))
			for _, c := range columns {
				row = append(row, cell(sub.Data[c]))
			}
			return cw.Write(row)
		}
		flush = func() error { cw.Flush(); return cw.Error() }
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
		w.WriteHeader(http.StatusOK)
		if err := cw.Write(header); err != nil {
			return
		}
	case "ndjson":
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
		w.WriteHeader(http.StatusOK)
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		write = func(sub *submissions.Submission) error { return enc.Encode(sub.JSON()) }
		flush = func() error { return nil }
	}
	n := 0
	err = submissions.Export(ctx, s.DB, filter, func(sub *submissions.Submission) error {
		if err := write(sub); err != nil {
			return err
		}
		if n++; n%1000 == 0 {
			if err := flush(); err != nil {
				return err
			}
			// A long export outlives the server's WriteTimeout; each chunk
			// written buys the next one time.
			rc := http.NewResponseController(w)
			rc.SetWriteDeadline(time.Now().Add(exportChunkTimeout))
			rc.Flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		logger(ctx).WarnContext(ctx, "export cut short", "form", form.PublicID, "rows", n, "err", err)
	}
}

// exportChunkTimeout is how long the client has to take each 1,000 rows.
const exportChunkTimeout = time.Minute

// csvColumns are the contract's fields in order, then every other key the
// selected submissions hold, sorted: stable for a given set of rows.
func (s *Server) csvColumns(r *http.Request, form *forms.Form, f submissions.Filter) ([]string, error) {
	keys, err := submissions.DataKeys(r.Context(), s.DB, f)
	if err != nil {
		return nil, err
	}
	var cols []string
	for _, fld := range form.Contract.Fields {
		cols = append(cols, fld.Name)
	}
	for _, k := range keys {
		if !slices.Contains(cols, k) {
			cols = append(cols, k)
		}
	}
	return cols, nil
}

// cell is a data value in a CSV cell: lists joined with "; ", files by
// name. Text a spreadsheet would run as a formula (=, +, -, @, tab, CR at
// the start: OWASP's CSV injection) gets a leading quote.
func cell(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
			return "'" + v
		}
		return v
	case []any:
		var out string
		for i, e := range v {
			if i > 0 {
				out += "; "
			}
			out += cell(e)
		}
		return out
	case map[string]any:
		return fmt.Sprint(v["filename"])
	default:
		return fmt.Sprint(v)
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
	form, err := forms.ForAccount(r.Context(), s.DB, principal(r).AccountID, chi.URLParam(r, "formID"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	days := 30
	if v := r.URL.Query().Get("days"); v != "" {
		if days, err = strconv.Atoi(v); err != nil || days < 1 || days > 365 {
			s.writeError(w, r, invalidParameter("days must be a whole number from 1 to 365"))
			return
		}
	}
	list, err := submissions.Stats(r.Context(), s.DB, form.ID, days, time.Now())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := statsBody{Form: form.PublicID, Days: make([]dayBody, 0, len(list))}
	for _, d := range list {
		out.Days = append(out.Days, dayBody{Date: d.Date.Format(time.DateOnly), Submissions: d.Submissions, Spam: d.Spam, Duplicates: d.Duplicates})
	}
	writeJSON(w, http.StatusOK, out)
}
