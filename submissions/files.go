package submissions

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/database"
	"github.com/intakehq/intake/internal/seal"
)

// Files come back (README, "Files"): a submission lists the files it was
// sent with, each downloadable by an API key of its account, from the
// dashboard by its members, and — for a webhook's receiver, which has no
// key — through a signed link that works for LinkTTL.

// StoredFile is one file a submission was sent with: its field, its place
// among the field's values, and what the sender said of it. The bytes stay
// in the FileStore.
type StoredFile struct {
	Field       string `json:"field"`
	Position    int    `json:"position"`
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
}

// FileIDPrefix starts every public file id.
const FileIDPrefix = "file_"

// FileID is the file's public id within the submission sub: derived from
// the submission, field and position, so it needs no column and is the
// same on every read.
func (f *StoredFile) FileID(sub uuid.UUID) string {
	sum := sha256.Sum256([]byte(sub.String() + "\x00" + f.Field + "\x00" + strconv.Itoa(f.Position)))
	return FileIDPrefix + idEncoding.EncodeToString(sum[:10])
}

// FilePath is the API's download route of the file fileID of the
// submission sub, relative to Intake's address.
func FilePath(sub uuid.UUID, fileID string) string {
	return "/api/v1/submissions/" + FormatID(sub) + "/files/" + fileID
}

// FileJSON is a file in a submission's JSON. URL is the API's download
// route, relative to Intake's address (a key of the account fetches it);
// in a webhook's payload it is a signed absolute link instead.
type FileJSON struct {
	ID          string `json:"id"`
	Field       string `json:"field"`
	Name        string `json:"name"`
	Size        int64  `json:"size"`
	ContentType string `json:"content_type"`
	SHA256      string `json:"sha256"`
	URL         string `json:"url"`

	value map[string]any // the file's object in the JSON's Data, nil if none
}

// filesColumn reads a submission's files with it, without their bytes:
// one probe of submission_files' primary key per submission.
const filesColumn = `(SELECT coalesce(jsonb_agg(jsonb_build_object('field', sf.field, 'position', sf.position, 'name', sf.filename,
	'content_type', sf.content_type, 'size', sf.size, 'sha256', sf.sha256) ORDER BY sf.field, sf.position), '[]')
	FROM submission_files sf WHERE sf.submission_id = s.id)`

// File finds the file fileID among s's files (ErrFileNotFound).
func (s *Submission) File(fileID string) (*StoredFile, error) {
	for i := range s.Files {
		if s.Files[i].FileID(s.ID) == fileID {
			return &s.Files[i], nil
		}
	}
	return nil, ErrFileNotFound
}

// ErrFileNotFound: no such file in the submission (or no such submission
// of the caller's account: the two read alike).
var ErrFileNotFound error = intake.NotFoundError("file not found")

// FileStore keeps the files' bytes. Postgres is the one implementation
// today (PGFiles); a second (an object store) would write in the group
// write's place and read here.
type FileStore interface {
	// Open returns a reader of the file's bytes, read as the reader is
	// read: never the whole file in memory.
	Open(ctx context.Context, sub uuid.UUID, f *StoredFile) (io.ReadCloser, error)
}

// PGFiles reads files from submission_files in chunks of ChunkSize bytes
// (substring of the bytea: migration 00027 stores new files uncompressed,
// so each chunk reads only its own pages).
type PGFiles struct {
	DB        database.Executor
	ChunkSize int // default 256 KiB
}

// Open implements FileStore.
func (p PGFiles) Open(ctx context.Context, sub uuid.UUID, f *StoredFile) (io.ReadCloser, error) {
	chunk := p.ChunkSize
	if chunk <= 0 {
		chunk = 256 << 10
	}
	return &pgFileReader{ctx: ctx, db: p.DB, sub: sub, field: f.Field, position: f.Position, size: f.Size, chunk: chunk}, nil
}

type pgFileReader struct {
	ctx             context.Context
	db              database.Executor
	sub             uuid.UUID
	field           string
	position        int
	size, off       int64
	chunk           int
	buf             []byte
	closed, started bool
}

func (r *pgFileReader) Read(p []byte) (int, error) {
	if r.closed {
		return 0, errors.New("read of a closed file")
	}
	if len(r.buf) == 0 {
		if r.started && r.off >= r.size {
			return 0, io.EOF
		}
		r.started = true
		var part []byte
		// substring counts from 1.
		err := r.db.QueryRow(r.ctx, `SELECT substring(content FROM $4::int FOR $5::int) FROM submission_files
WHERE submission_id = $1 AND field = $2 AND position = $3`, r.sub, r.field, r.position, r.off+1, r.chunk).Scan(&part)
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, ErrFileNotFound // deleted since the submission was read
		}
		if err != nil {
			return 0, err
		}
		if len(part) == 0 {
			return 0, io.EOF
		}
		r.buf = part
		r.off += int64(len(part))
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func (r *pgFileReader) Close() error { r.closed = true; r.buf = nil; return nil }

// LinkTTL is how long a signed file link works: a week, for a webhook's
// receiver that fetches the file later, or an email read days after.
const LinkTTL = 7 * 24 * time.Hour

// FileLinks signs and checks the links to a file that work without an API
// key: HMAC-SHA256 of (submission, file, expiry) under a key derived from
// the instance's secret key, so a copy of the database alone cannot make
// one, and a link names one file until one time.
type FileLinks struct {
	key  []byte
	base string
}

// NewFileLinks derives the key of file links from secretKey
// (INTAKE_SECRET_KEY, or the one kept in the database); links start with
// baseURL.
func NewFileLinks(secretKey, baseURL string) (*FileLinks, error) {
	if secretKey == "" {
		return nil, errors.New("submissions: an empty secret key cannot sign file links")
	}
	key, err := seal.DeriveKey(secretKey, "intake file links v1")
	if err != nil {
		return nil, err
	}
	return &FileLinks{key: key, base: strings.TrimSuffix(baseURL, "/")}, nil
}

func (l *FileLinks) mac(sub, fileID string, expires int64) []byte {
	m := hmac.New(sha256.New, l.key)
	fmt.Fprintf(m, "%s\x00%s\x00%d", sub, fileID, expires)
	return m.Sum(nil)
}

// URL is the signed link to the file fileID of sub, working until
// now+LinkTTL rounded up to the hour: the retries of one hour send the
// same body, and a later redelivery gets a fresh week.
func (l *FileLinks) URL(sub uuid.UUID, fileID string, now time.Time) string {
	expires := now.Add(LinkTTL).Truncate(time.Hour).Add(time.Hour).Unix()
	id := FormatID(sub)
	return fmt.Sprintf("%s/files/%s/%s?expires=%d&sig=%s", l.base, id, fileID, expires,
		base64.RawURLEncoding.EncodeToString(l.mac(id, fileID, expires)))
}

// ErrLinkExpired: a signed file link past its time.
var ErrLinkExpired error = &intake.Error{Kind: intake.Gone, Type: intake.TypeLinkExpired, Title: "Link expired",
	Detail: "This file link has expired (links work for 7 days). Fetch the file with an API key at its url in the API, or ask for the event to be sent again.",
	Msg:    "file link expired"}

// Check checks a signed link's parts: ErrFileNotFound for a signature that
// is not ours (a tampered link reads as a missing file), ErrLinkExpired
// for one past its time.
func (l *FileLinks) Check(subID, fileID, expires, sig string, now time.Time) error {
	exp, err := strconv.ParseInt(expires, 10, 64)
	got, derr := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || derr != nil || !hmac.Equal(got, l.mac(subID, fileID, exp)) {
		return ErrFileNotFound
	}
	if now.Unix() > exp {
		return ErrLinkExpired
	}
	return nil
}

// OpenFile finds the file fileID of the account's submission id and opens
// it: the submission's file and a reader of its bytes (ErrNotFound,
// ErrFileNotFound).
func OpenFile(ctx context.Context, db database.Executor, store FileStore, accountID int64, id uuid.UUID, fileID string) (*StoredFile, io.ReadCloser, error) {
	sub, err := Get(ctx, db, accountID, id)
	if err != nil {
		return nil, nil, err
	}
	return openOf(ctx, store, sub, fileID)
}

// OpenLinkedFile opens the file a checked signed link names, of whichever
// account: the link is the permission.
func OpenLinkedFile(ctx context.Context, db database.Executor, store FileStore, id uuid.UUID, fileID string) (*StoredFile, io.ReadCloser, error) {
	sub, err := scan(db.QueryRow(ctx, byIDSQL, id))
	if errors.Is(err, ErrNotFound) {
		return nil, nil, ErrFileNotFound
	}
	if err != nil {
		return nil, nil, err
	}
	return openOf(ctx, store, sub, fileID)
}

func openOf(ctx context.Context, store FileStore, sub *Submission, fileID string) (*StoredFile, io.ReadCloser, error) {
	f, err := sub.File(fileID)
	if err != nil {
		return nil, nil, err
	}
	rc, err := store.Open(ctx, sub.ID, f)
	return f, rc, err
}

// SignFiles makes each file's url in j (the JSON of the submission sub) a
// signed link, for a receiver without an API key: a webhook's payload.
// With l nil the urls stay the API's routes.
func (j *JSON) SignFiles(l *FileLinks, sub uuid.UUID, now time.Time) {
	if l == nil {
		return
	}
	for i := range j.Files {
		j.Files[i].URL = l.URL(sub, j.Files[i].ID, now)
		if j.Files[i].value != nil {
			j.Files[i].value["url"] = j.Files[i].URL
		}
	}
}

// SizeText is a file's size for people: "812 bytes", "14.2 KB", "3.1 MB"
// (decimal units, as file managers show them).
func SizeText(n int64) string {
	switch {
	case n == 1:
		return "1 byte"
	case n < 1000:
		return strconv.FormatInt(n, 10) + " bytes"
	case n < 1000*1000:
		return fmt.Sprintf("%.1f KB", float64(n)/1000)
	default:
		return fmt.Sprintf("%.1f MB", float64(n)/1000/1000)
	}
}
