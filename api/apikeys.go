package api

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/forms"
)

// apiKeyBody is an API key as listed; Key is set only when it is created.
type apiKeyBody struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Scope      string     `json:"scope"`
	Prefix     string     `json:"prefix"`
	Key        string     `json:"key,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func toAPIKeyBody(k *accounts.APIKey) apiKeyBody {
	return apiKeyBody{ID: k.PublicID, Name: k.Name, Scope: string(k.Scope), Prefix: k.Prefix, CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt}
}

func (s *Server) listAPIKeys(w http.ResponseWriter, r *http.Request) {
	keys, err := accounts.APIKeys(r.Context(), s.DB, principal(r).AccountID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := listBody[apiKeyBody]{Data: make([]apiKeyBody, 0, len(keys))}
	for _, k := range keys {
		out.Data = append(out.Data, toAPIKeyBody(k))
	}
	writeJSON(w, http.StatusOK, out)
}

type apiKeyInput struct {
	Name  string `json:"name"`
	Scope string `json:"scope"` // "" is read_write
}

func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request) {
	var in apiKeyInput
	if err := decodeJSON(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	// Both fields are checked, so one answer lists everything to fix.
	var invalid []forms.FieldError
	if err := accounts.CheckKeyName(in.Name); err != nil {
		invalid = append(invalid, forms.FieldError{Field: "name", Code: forms.CodeInvalid, Rule: "name",
			Message: "name " + err.Error(), Pointer: "#/name"})
	}
	scope, err := accounts.ParseScope(in.Scope)
	if err != nil {
		invalid = append(invalid, forms.FieldError{Field: "scope", Code: forms.CodeInvalid, Rule: "scope",
			Message: "scope " + err.Error(), Pointer: "#/scope"})
	}
	if invalid != nil {
		s.writeError(w, r, &forms.ValidationError{Errors: invalid})
		return
	}
	k, key, err := accounts.CreateAccountAPIKey(r.Context(), s.DB, s.actor(r), principal(r).AccountID, in.Name, scope)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	body := toAPIKeyBody(k)
	body.Key = key
	writeJSON(w, http.StatusCreated, body)
}

func (s *Server) revokeAPIKey(w http.ResponseWriter, r *http.Request) {
	err := accounts.RevokeAPIKey(r.Context(), s.DB, s.actor(r), principal(r).AccountID, chi.URLParam(r, "keyID"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
