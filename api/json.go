package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/internal/textcheck"
	"github.com/intakehq/intake/submissions"
)

// maxJSONBody bounds management API request bodies.
const maxJSONBody = 1 << 20

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	writeJSONBody(w, status, v)
}

func writeJSONBody(w http.ResponseWriter, status int, v any) {
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// decodeJSON reads one JSON object into v, strictly: unknown members are an
// error (an agent's typo should not pass silently), and so is text that
// would not be stored as sent (invalid UTF-8, NUL). Errors say where.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	var (
		mbe     *http.MaxBytesError
		timeout interface{ Timeout() bool }
	)
	switch {
	case err == nil:
	case errors.As(err, &mbe):
		return err
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &timeout) && timeout.Timeout():
		return submissions.ErrBodyTimeout
	default:
		return malformedJSON("the body ended before it was all sent")
	}
	return strictJSON(body, "", v)
}

// strictJSON decodes one JSON object from doc into v as decodeJSON does;
// where names the member doc is ("" for the body) in error messages.
// Every string and member name must be valid UTF-8 without NUL: this is
// the one place every API input passes, so no handler and no store sees
// text encoding/json has changed (it reads invalid UTF-8 as U+FFFD) or that
// Postgres would refuse with a 500.
func strictJSON(doc []byte, where string, v any) error {
	if e := textcheck.JSON(doc, where); e != nil {
		return malformedJSON(e.Error())
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	prefix := ""
	if where != "" {
		prefix = where + "."
	}
	switch {
	case err == nil:
		if dec.More() {
			return malformedJSON("unexpected data after the JSON object")
		}
		return nil
	case errors.As(err, &syn):
		return malformedJSON(fmt.Sprintf("invalid JSON at byte %d: %v", syn.Offset, syn))
	case errors.As(err, &typ):
		return malformedJSON(fmt.Sprintf("%s must be %s, not %s", jsonPath(prefix+typ.Field), typ.Type, typ.Value))
	case errors.Is(err, io.EOF):
		return malformedJSON("the body is empty; send a JSON object")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return malformedJSON("unknown field " + prefix + strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`) + " (see /api/openapi.json for the fields)")
	default:
		return malformedJSON(err.Error())
	}
}

func jsonPath(field string) string {
	if field == "" {
		return "the body"
	}
	return field
}

type principalKey struct{}

// authenticate requires Authorization: Bearer <API key> and puts the
// principal in the context. Every key takes a token of the client's
// address (AuthLimit) before it is looked up, given back when it
// authenticates, and an address over that limit is answered 429 before its
// key is looked up (see AuthLimiter).
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header := r.Header.Get("Authorization")
		if header == "" {
			s.writeError(w, r, accounts.ErrUnauthorized)
			return
		}
		// The scheme is case-insensitive (RFC 9110 §11.1).
		scheme, key, ok := strings.Cut(header, " ")
		key = strings.TrimSpace(key)
		ip := s.clientIP(r)
		allowed, took, wait, reset := s.AuthLimit.check(ip, key)
		if !allowed {
			s.writeError(w, r, s.AuthLimit.limited(w, wait, reset))
			return
		}
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			s.writeError(w, r, accounts.ErrUnauthorized) // the token stays taken
			return
		}
		p, err := accounts.Authenticate(r.Context(), s.DB, key)
		if err != nil {
			if took && !errors.Is(err, accounts.ErrUnauthorized) {
				s.AuthLimit.giveBack(ip) // not the key's failure: the database's
			}
			s.writeError(w, r, err)
			return
		}
		if took {
			s.AuthLimit.giveBack(ip)
		}
		s.AuthLimit.succeeded(key)
		ctx := context.WithValue(r.Context(), principalKey{}, p)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// requireScope is where API key scopes are enforced, for every route
// under /api/v1 at once: a route changes something exactly when its method
// is not GET or HEAD, so a read_only key is answered 403 forbidden on any
// other method before a handler runs. That includes POST /apikeys: a
// read_only key cannot make a key that could do more than it can.
func (s *Server) requireScope(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !readOnlyMethod(r.Method) && !principal(r).Scope.MayChange() {
			s.writeError(w, r, accounts.ErrReadOnlyKey)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// readOnlyMethod reports whether method only reads (RFC 9110 §9.2.1's safe
// methods that /api/v1 answers): what a read_only key may send.
func readOnlyMethod(method string) bool {
	return method == http.MethodGet || method == http.MethodHead
}

func principal(r *http.Request) *accounts.Principal {
	return r.Context().Value(principalKey{}).(*accounts.Principal)
}

// actor is who the audit log says makes the request's change: its API key,
// from the client's address.
func (s *Server) actor(r *http.Request) audit.Actor {
	return audit.APIKey(principal(r).KeyID, s.clientIP(r))
}
