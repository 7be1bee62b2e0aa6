package api

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/internal/httpedge"
)

// ProblemBase prefixes every problem type URI; docs/errors.md documents each.
const ProblemBase = httpedge.ProblemBase

// The API edge's own errors: what it finds before any service is asked.
// Everything else a handler returns is answered as its package describes it
// (intake.Describe), by writeError.
var errRouteNotFound = intake.NotFoundError("no such route")

func invalidParameter(detail string) error {
	return &intake.Error{Kind: intake.Malformed, Type: intake.TypeInvalidParameter, Title: "Invalid parameter", Detail: detail, Msg: detail}
}

func malformedJSON(detail string) error {
	return &intake.Error{Kind: intake.Malformed, Type: intake.TypeMalformed, Title: "Malformed JSON", Detail: detail, Msg: detail}
}

func methodNotAllowed(method string, allowed string) error {
	return &intake.Error{Kind: intake.MethodNotAllowed, Type: intake.TypeMethodNotAllowed, Title: "Method not allowed",
		Detail: method + " is not allowed here; use " + allowed + "."}
}

// writeError answers err as problem+json, logging what the client does not see.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	httpedge.WriteProblem(w, r, problemLogged(r, err))
}

func problemLogged(r *http.Request, err error) *httpedge.Problem {
	return httpedge.ProblemLogged(logger(r.Context()), r, err)
}

func logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

type loggerKey struct{}
