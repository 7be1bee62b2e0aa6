package api

import (
	"net/http"
	"time"

	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/internal/httpedge"
	"github.com/intakehq/intake/people"
	"github.com/intakehq/intake/submissions"
)

// findPerson answers every submission of the key's account that carries
// the address in ?email= as NDJSON, one submission a line in the shape of
// GET /submissions/{id}, streamed from the rows (docs/ARCHITECTURE.md, "A
// person's data"). A read: read_only keys may. The lookup is in the audit
// log, its address masked, before the first line goes out.
func (s *Server) findPerson(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	if len(q["email"]) > 1 {
		s.writeError(w, r, invalidParameter("email must be given once"))
		return
	}
	address, problem, err := submissions.ParseAddress(ctx, s.DB, q.Get("email"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if problem != "" {
		s.writeError(w, r, invalidParameter(problem))
		return
	}
	found, err := people.Find(ctx, s.DB, s.actor(r), principal(r).AccountID, address)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", submissions.NDJSON.ContentType())
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	n, err := found.Write(ctx, s.DB, w, func() error {
		rc.SetWriteDeadline(time.Now().Add(exportChunkTimeout))
		return rc.Flush()
	})
	if err != nil {
		// The status is sent: abort, so the client sees a broken transfer
		// rather than a list that looks complete.
		httpedge.Logger(ctx).WarnContext(ctx, "people lookup cut short", "rows", n, "err", err)
		panic(http.ErrAbortHandler)
	}
}

// eraseBatchTimeout is how long each batch of an erasure gives the answer
// to be written: a large erasure outlives the server's WriteTimeout.
const eraseBatchTimeout = time.Minute

// erasureRequest is the body of POST /erasures.
type erasureRequest struct {
	Email *string `json:"email"`
}

// erase deletes every submission of the key's account that carries the
// address, with their copies, and answers the counts (people.Erase).
func (s *Server) erase(w http.ResponseWriter, r *http.Request) {
	var req erasureRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	raw := ""
	if req.Email != nil {
		raw = *req.Email
	}
	address, problem, err := submissions.ParseAddress(r.Context(), s.DB, raw)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if problem != "" {
		s.writeError(w, r, &forms.ValidationError{Errors: []forms.FieldError{{Field: "email", Code: forms.CodeInvalid, Rule: "email",
			Message: problem, Pointer: "#/email"}}})
		return
	}
	rc := http.NewResponseController(w)
	counts, err := people.Erase(r.Context(), s.DB, s.actor(r), principal(r).AccountID, address, 0, func() {
		_ = rc.SetWriteDeadline(time.Now().Add(eraseBatchTimeout))
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, erasureBody{Deleted: counts})
}

// erasureBody is the answer of POST /erasures (api/openapi.json). It does
// not repeat the address: the answer may be logged or cached where the
// address should not be.
type erasureBody struct {
	Deleted people.Counts `json:"deleted"`
}
