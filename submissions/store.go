package submissions

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/database"
)

// The key claim and these inserts go to the server in one batch. A lost
// claim rolls the transaction back, so correctness does not need the
// conditions below; they spare a replay the write (and the dead tuples and
// index entries) of rows it would throw away.
const insertSQL = `
INSERT INTO submissions (id, form_id, contract_version, data, spam, spam_reason, idempotency_key, meta, created_at)
SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9
WHERE $7::text IS NULL OR EXISTS (
	SELECT 1 FROM idempotency_keys WHERE form_id = $2 AND key = $7 AND submission_id = $1)`

const insertFileSQL = `
INSERT INTO submission_files (submission_id, field, position, filename, content_type, size, sha256, content)
SELECT $1, $2, $3, $4, $5, $6, $7, $8
WHERE EXISTS (SELECT 1 FROM submissions WHERE id = $1)`

func queueInsert(b *pgx.Batch, s *Submission, files []fileRow) error {
	data, err := json.Marshal(s.Data)
	if err != nil {
		return err
	}
	meta, err := json.Marshal(s.Meta)
	if err != nil {
		return err
	}
	b.Queue(insertSQL, s.ID, s.FormID, s.ContractVersion, data, s.Spam, nullable(s.SpamReason),
		nullable(s.IdempotencyKey), meta, s.CreatedAt)
	for _, f := range files {
		b.Queue(insertFileSQL, s.ID, f.field, f.position, f.file.Name, f.file.ContentType, f.file.Size, f.file.SHA256, f.file.Content)
	}
	return nil
}

type fileRow struct {
	field    string
	position int
	file     *File
}

func filesOf(data []Field) []fileRow {
	var out []fileRow
	for _, f := range data {
		for i, v := range f.Values {
			if v.File != nil {
				out = append(out, fileRow{field: f.Name, position: i, file: v.File})
			}
		}
	}
	return out
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

const columns = `s.id, s.form_id, f.public_id, s.contract_version, s.data, s.spam, coalesce(s.spam_reason, ''),
	coalesce(s.idempotency_key, ''), s.meta, s.created_at`

func scan(row pgx.Row) (*Submission, error) {
	var (
		s          Submission
		data, meta []byte
	)
	err := row.Scan(&s.ID, &s.FormID, &s.FormPublicID, &s.ContractVersion, &data, &s.Spam, &s.SpamReason,
		&s.IdempotencyKey, &meta, &s.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if err := unmarshalNumbers(data, &s.Data); err != nil {
		return nil, fmt.Errorf("submission %s: decode data: %w", s.PublicID(), err)
	}
	if err := json.Unmarshal(meta, &s.Meta); err != nil {
		return nil, fmt.Errorf("submission %s: decode meta: %w", s.PublicID(), err)
	}
	return &s, nil
}

// unmarshalNumbers keeps numbers as written (a 30-digit number stays exact).
func unmarshalNumbers(b []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	return dec.Decode(v)
}

const byIDSQL = `SELECT ` + columns + ` FROM submissions s JOIN forms f ON f.id = s.form_id WHERE s.id = $1`

// ByID returns the submission with id whatever its account — for workers,
// never for a client's request. It returns ErrNotFound.
func ByID(ctx context.Context, db database.Executor, id uuid.UUID) (*Submission, error) {
	return scan(db.QueryRow(ctx, byIDSQL, id))
}

const getSQL = `SELECT ` + columns + ` FROM submissions s JOIN forms f ON f.id = s.form_id
WHERE s.id = $1 AND f.account_id = $2`

// Get returns the account's submission with id. It returns ErrNotFound when
// there is none or it belongs to another account.
func Get(ctx context.Context, db database.Executor, accountID int64, id uuid.UUID) (*Submission, error) {
	return scan(db.QueryRow(ctx, getSQL, id, accountID))
}

// Cursor is a position in a form's submissions, newest first.
type Cursor struct {
	CreatedAt time.Time
	ID        uuid.UUID
}

// String encodes c as an opaque token.
func (c Cursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.CreatedAt.UnixMicro(), 10) + "." + c.ID.String()))
}

// ErrBadCursor is returned for a cursor token that was not made by Cursor.String.
var ErrBadCursor = errors.New("invalid cursor")

// ParseCursor decodes a token made by Cursor.String. It returns ErrBadCursor.
func ParseCursor(s string) (*Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, ErrBadCursor
	}
	micros, id, ok := strings.Cut(string(b), ".")
	n, err1 := strconv.ParseInt(micros, 10, 64)
	u, err2 := uuid.Parse(id)
	if !ok || err1 != nil || err2 != nil {
		return nil, ErrBadCursor
	}
	return &Cursor{CreatedAt: time.UnixMicro(n).UTC(), ID: u}, nil
}

// ListParams select a page of a form's submissions.
type ListParams struct {
	FormID int64
	After  *Cursor // nil: from the newest
	Limit  int
}

// Keyset pagination on (created_at, id), newest first, served by the index
// submissions_form_created_idx: a page costs the same at row 10 and row 10M,
// and rows arriving meanwhile cannot shift a page (no gaps, no repeats).
const listSQL = `SELECT ` + columns + ` FROM submissions s JOIN forms f ON f.id = s.form_id
WHERE s.form_id = $1 AND ($2::timestamptz IS NULL OR (s.created_at, s.id) < ($2, $3::uuid))
ORDER BY s.created_at DESC, s.id DESC
LIMIT $4`

// List returns a page of submissions and the cursor of the next page (nil on
// the last page).
func List(ctx context.Context, db database.Executor, p ListParams) ([]*Submission, *Cursor, error) {
	var at *time.Time
	var id *uuid.UUID
	if p.After != nil {
		at, id = &p.After.CreatedAt, &p.After.ID
	}
	rows, err := db.Query(ctx, listSQL, p.FormID, at, id, p.Limit+1)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var out []*Submission
	for rows.Next() {
		s, err := scan(rows)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	if len(out) <= p.Limit {
		return out, nil, nil
	}
	out = out[:p.Limit]
	last := out[len(out)-1]
	return out, &Cursor{CreatedAt: last.CreatedAt, ID: last.ID}, nil
}
