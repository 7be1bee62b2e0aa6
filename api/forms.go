package api

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/notify"
)

// formBody is a form as the API shows it (api/openapi.json).
type formBody struct {
	ID       string         `json:"id"`
	Name     string         `json:"name"`
	Endpoint string         `json:"endpoint"`
	Fields   []forms.Field  `json:"fields"`
	Settings forms.Settings `json:"settings"`
	// NotifyRecipients are settings.notify_emails with their opt-in state:
	// only a confirmed address is sent notifications.
	NotifyRecipients []notify.Recipient `json:"notify_recipients"`
	ContractVersion  int                `json:"contract_version"`
	CreatedAt        time.Time          `json:"created_at"`
	UpdatedAt        time.Time          `json:"updated_at"`
	Archived         bool               `json:"archived"`
}

// formBody shows f; recipients are its rows of notify.Recipients.
func (s *Server) formBody(f *forms.Form, recipients []notify.Recipient) formBody {
	fields := f.Contract.Fields
	if fields == nil {
		fields = []forms.Field{}
	}
	return formBody{ID: f.PublicID, Name: f.Name, Endpoint: s.endpoint(f), Fields: fields, Settings: f.Settings,
		NotifyRecipients: notify.Listed(f, recipients),
		ContractVersion:  f.Contract.Version, CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt, Archived: f.ArchivedAt != nil}
}

// writeForm answers status with f as the API shows it.
func (s *Server) writeForm(w http.ResponseWriter, r *http.Request, status int, f *forms.Form) {
	b, err := s.formJSON(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, status, b)
}

// formJSON is f as the API (and the MCP tools) show it, with its recipients.
func (s *Server) formJSON(ctx context.Context, f *forms.Form) (formBody, error) {
	recipients, err := notify.Recipients(ctx, s.DB, []int64{f.ID})
	if err != nil {
		return formBody{}, err
	}
	return s.formBody(f, recipients[f.ID]), nil
}

type listBody[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

func (s *Server) createForm(w http.ResponseWriter, r *http.Request) {
	var in forms.Input
	if err := decodeJSON(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	f, err := forms.Create(r.Context(), s.DB, s.Validator, s.Sealer, s.Recipients, s.actor(r), principal(r).AccountID, in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", s.BaseURL+"/api/v1/forms/"+f.PublicID)
	s.writeForm(w, r, http.StatusCreated, f)
}

func (s *Server) listForms(w http.ResponseWriter, r *http.Request) {
	out, err := s.formsPage(r.Context(), principal(r).AccountID, r.URL.Query())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// formsPage is the page of the account's forms q names (limit, cursor).
func (s *Server) formsPage(ctx context.Context, accountID int64, q url.Values) (listBody[formBody], error) {
	out := listBody[formBody]{Data: []formBody{}}
	limit, before, err := idPageParams(q)
	if err != nil {
		return out, err
	}
	list, err := forms.List(ctx, s.DB, accountID, before, limit+1)
	if err != nil {
		return out, err
	}
	if len(list) > limit {
		list = list[:limit]
		out.NextCursor = idCursor(list[limit-1].ID)
	}
	ids := make([]int64, len(list))
	for i, f := range list {
		ids[i] = f.ID
	}
	recipients, err := notify.Recipients(ctx, s.DB, ids)
	if err != nil {
		return out, err
	}
	for _, f := range list {
		out.Data = append(out.Data, s.formBody(f, recipients[f.ID]))
	}
	return out, nil
}

// formFor returns the account's form named by the URL, or writes the
// error (forms.ErrNotFound, also for another account's form) and returns
// false.
func (s *Server) formFor(w http.ResponseWriter, r *http.Request) (*forms.Form, bool) {
	f, err := forms.ForAccount(r.Context(), s.DB, principal(r).AccountID, chi.URLParam(r, "formID"))
	if err != nil {
		s.writeError(w, r, err)
		return nil, false
	}
	return f, true
}

func (s *Server) getForm(w http.ResponseWriter, r *http.Request) {
	if f, ok := s.formFor(w, r); ok {
		s.writeForm(w, r, http.StatusOK, f)
	}
}

// Page sizes of every list.
const (
	defaultLimit = 50
	maxLimit     = 100
)

// idPageParams reads the limit and the cursor of a list paged by internal
// id (forms, deliveries): the page size, and the rows before the cursor or
// nil for the first page. The limit is checked first.
func idPageParams(q url.Values) (int, *int64, error) {
	limit, err := limitParam(q)
	if err != nil {
		return 0, nil, err
	}
	c := q.Get("cursor")
	if c == "" {
		return limit, nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	n, err2 := strconv.ParseInt(string(b), 10, 64)
	if err != nil || err2 != nil {
		return 0, nil, invalidParameter("cursor is not a cursor this API returned")
	}
	return limit, &n, nil
}

// idCursor is the opaque cursor of the page after the row with id.
func idCursor(id int64) *string {
	c := base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(id, 10)))
	return &c
}

func limitParam(q url.Values) (int, error) {
	v := q.Get("limit")
	if v == "" {
		return defaultLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxLimit {
		return 0, invalidParameter("limit must be a whole number from 1 to " + strconv.Itoa(maxLimit))
	}
	return n, nil
}

func (s *Server) updateForm(w http.ResponseWriter, r *http.Request) {
	var p forms.Patch
	if err := decodeJSON(w, r, &p); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := checkPatchSettings(p); err != nil {
		s.writeError(w, r, err)
		return
	}
	f, err := forms.Update(r.Context(), s.DB, s.Validator, s.Sealer, s.Recipients, s.actor(r), principal(r).AccountID, chi.URLParam(r, "formID"), p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeForm(w, r, http.StatusOK, f)
}

func (s *Server) deleteForm(w http.ResponseWriter, r *http.Request) {
	if err := forms.Archive(r.Context(), s.DB, s.actor(r), principal(r).AccountID, chi.URLParam(r, "formID")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// checkPatchSettings gives a patch's settings the body's strictness: they
// stay raw in the patch (only the members named change), so an unknown or
// mistyped member is a 400 here, as on create.
func checkPatchSettings(p forms.Patch) error {
	if len(p.Settings) > 0 && string(p.Settings) != "null" {
		var check forms.Settings
		return strictJSON(p.Settings, "settings", &check)
	}
	return nil
}
