package web

import (
	"net/http"

	"github.com/intakehq/intake/accounts"
)

// LeastRoleOf returns the least role declared by the middleware chain mws
// of a route (the last least in it), and whether one is declared.
func LeastRoleOf(mws ...func(http.Handler) http.Handler) (accounts.Role, bool) {
	var (
		role     accounts.Role
		declared bool
	)
	for _, mw := range mws {
		if g, ok := mw(http.NotFoundHandler()).(roleGate); ok {
			role, declared = g.least, true
		}
	}
	return role, declared
}
