package api

import (
	"net/http"
	"time"

	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/internal/textcheck"
)

// auditBody is an audit log entry as the API shows it (api/openapi.json).
type auditBody struct {
	At      time.Time      `json:"at"`
	Actor   auditActorBody `json:"actor"`
	Action  string         `json:"action"`
	Object  auditObject    `json:"object"`
	Changed []string       `json:"changed"`
	// Count is how many objects one change covered; absent for one.
	Count int64 `json:"count,omitempty"`
}

type auditActorBody struct {
	Type    string `json:"type"`
	ID      string `json:"id"`
	Address string `json:"address"`
}

type auditObject struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// maxObjectParam bounds the object filter: every public id is far shorter.
const maxObjectParam = 100

// listAudit answers the account's audit log, newest first, filtered by
// object. Roles do not exist yet: every key of the account reads it; the
// roles part of issue 14 limits it to owners and admins.
func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) {
	limit, before, err := idPageParams(r.URL.Query())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	object := r.URL.Query().Get("object")
	if len(object) > maxObjectParam || textcheck.Problem(object) != "" {
		s.writeError(w, r, invalidParameter("object must be an object's id: text (UTF-8, no NUL) of at most 100 characters"))
		return
	}
	list, err := audit.List(r.Context(), s.DB, principal(r).AccountID, before, object, limit+1)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := listBody[auditBody]{Data: []auditBody{}}
	if len(list) > limit {
		list = list[:limit]
		out.NextCursor = idCursor(list[limit-1].ID)
	}
	for _, e := range list {
		out.Data = append(out.Data, auditBody{At: e.At, Actor: auditActorBody{Type: e.ActorKind, ID: e.ActorID, Address: e.Address},
			Action: e.Action, Object: auditObject{Type: e.ObjectType, ID: e.ObjectID}, Changed: e.Changed, Count: e.Count})
	}
	writeJSON(w, http.StatusOK, out)
}
