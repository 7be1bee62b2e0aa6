package api

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/intakehq/intake/internal/httpedge"
	"github.com/intakehq/intake/submissions"
)

// Files come back (README, "Files"): GET /api/v1/submissions/{id}/files/{file_id}
// for a key of the submission's account (a read: read_only keys may), and
// GET /files/{id}/{file_id}?expires=…&sig=… for whoever holds a signed
// link (a webhook's receiver, an email's reader). Both stream the bytes as
// a download (httpedge.SendFile).

func (s *Server) files() submissions.FileStore {
	if s.FileStore != nil {
		return s.FileStore
	}
	return submissions.PGFiles{DB: s.DB}
}

func (s *Server) downloadFile(w http.ResponseWriter, r *http.Request) {
	id, err := submissions.ParseID(chi.URLParam(r, "submissionID"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f, body, err := submissions.OpenFile(r.Context(), s.DB, s.files(), principal(r).AccountID, id, chi.URLParam(r, "fileID"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer body.Close()
	httpedge.SendFile(w, r, fileOf(f), body, false)
}

// linkedFile answers a signed file link: the signature is checked before
// anything is read, so a made-up link costs no query.
func (s *Server) linkedFile(w http.ResponseWriter, r *http.Request) {
	if !s.limitFileLinks(w, r) {
		return
	}
	subID, fileID := chi.URLParam(r, "submissionID"), chi.URLParam(r, "fileID")
	if s.FileLinks == nil {
		s.writeError(w, r, submissions.ErrFileNotFound)
		return
	}
	q := r.URL.Query()
	if err := s.FileLinks.Check(subID, fileID, q.Get("expires"), q.Get("sig"), time.Now()); err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := submissions.ParseID(subID)
	if err != nil {
		s.writeError(w, r, submissions.ErrFileNotFound)
		return
	}
	f, body, err := submissions.OpenLinkedFile(r.Context(), s.DB, s.files(), id, fileID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer body.Close()
	httpedge.SendFile(w, r, fileOf(f), body, false)
}

func fileOf(f *submissions.StoredFile) httpedge.File {
	return httpedge.File{Name: f.Name, ContentType: f.ContentType, Size: f.Size, SHA256: f.SHA256}
}
