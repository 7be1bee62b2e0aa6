package submissions

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/intakehq/intake/database"
)

// A person's data: the submissions of an account that carry an email
// address, for a GDPR/CCPA request (package people assembles the lookup and
// the erasure). "Carries" is the SQL function submission_addresses of
// migration 00024: the address as a whole word in any string of the data —
// a field's value, or a word inside its text — or in the reply-to,
// compared lower-cased. submissions_addresses_idx serves it.

// MaxAddress is the longest address looked up, in bytes (RFC 5321's path
// limit, less its angle brackets).
const MaxAddress = 254

// address is what submission_addresses can find: a local part of letters,
// digits and . _ % + -, an @, and labels of letters, digits and - joined
// by single dots. An address outside it could never be found.
var address = regexp.MustCompile(`^[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(\.[\p{L}\p{N}-]+)*$`)

// ParseAddress reads the address a person's request names: trimmed,
// at most MaxAddress bytes, UTF-8 without NUL, and of the form
// submission_addresses finds. It returns "" and what is wrong, for the
// edge to answer in its vocabulary; err is the database's failure.
//
// The database has the last word: submission_addresses' letter classes
// follow its character locale, which Go's cannot know (on C.UTF-8 "²" is
// a Go digit but no SQL letter; on a database made with locale C no
// letter beyond ASCII is one). An address the function would not find in
// a submission is refused here, not looked up to answer zeros.
func ParseAddress(ctx context.Context, db database.Executor, s string) (string, string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", "email is required: the address to look for", nil
	case len(s) > MaxAddress:
		return "", fmt.Sprintf("email must be at most %d bytes", MaxAddress), nil
	case !utf8.ValidString(s) || strings.ContainsRune(s, 0) || !address.MatchString(s):
		return "", "email must be one email address, such as bob@example.com (letters, digits and . _ % + - before the @)", nil
	}
	var findable bool
	if err := db.QueryRow(ctx, `SELECT submission_addresses(jsonb_build_object('email', $1::text), '{}') @> ARRAY[lower($1::text)]`, s).Scan(&findable); err != nil {
		return "", "", err
	}
	if !findable {
		return "", "email has characters this server's database does not read as letters or digits, so no submission could be found by it; use the address's other spelling, or ask the operator (docs/SECURITY.md, a person's data)", nil
	}
	return s, "", nil
}

// personWhere selects the account's ($1) submissions that carry the address
// ($2): the expression of submissions_addresses_idx, so that the index
// answers it (btree_gin lets form_id share it).
const personWhere = `s.form_id IN (SELECT id FROM forms WHERE account_id = $1)
	AND submission_addresses(s.data, s.meta) @> ARRAY[lower($2::text)]`

// CountPerson counts the account's submissions that carry address.
func CountPerson(ctx context.Context, db database.Executor, accountID int64, address string) (int64, error) {
	var n int64
	err := db.QueryRow(ctx, `SELECT count(*) FROM submissions s WHERE `+personWhere, accountID, address).Scan(&n)
	return n, err
}

// ExportPerson calls fn with every submission of the account that carries
// address — of all its forms, archived and spam included — newest first,
// reading rows as fn consumes them (constant memory). every, when not nil,
// is called after each 1,000. It stops at the first error and returns how
// many it passed to fn.
func ExportPerson(ctx context.Context, db database.Executor, accountID int64, address string, fn func(*Submission) error, every func() error) (int, error) {
	rows, err := db.Query(ctx, `SELECT `+columns+` FROM submissions s JOIN forms f ON f.id = s.form_id WHERE `+personWhere+`
ORDER BY s.created_at DESC, s.id DESC`, accountID, address)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		s, err := scan(rows)
		if err != nil {
			return n, err
		}
		if err := fn(s); err != nil {
			return n, err
		}
		if n++; n%1000 == 0 && every != nil {
			if err := every(); err != nil {
				return n, err
			}
		}
	}
	return n, rows.Err()
}

// personSQL selects the account's ($1) submissions that carry the address
// ($2), with the columns the other owners' parts of an erasure read.
const personSQL = `SELECT s.id, s.form_id, s.idempotency_key FROM submissions s WHERE ` + personWhere

// PersonSQL returns the CTE body that selects every submission of the
// account ($1) that carries the address ($2), with columns id, form_id and
// idempotency_key: what an erasure would delete, for its preview.
func PersonSQL() string { return personSQL }

// PersonBatchSQL returns the CTE body that selects a batch of an erasure:
// PersonSQL's rows, up to $3 of them, locked for the statement that
// deletes them. The rows a running transaction holds (a delivery being
// recorded) are waited for, up to the batch's lock_timeout: skipping them
// would make the erasure's answer a lie.
func PersonBatchSQL() string { return personSQL + ` LIMIT $3 FOR UPDATE OF s` }

// erasedFilesSQL counts the files of the batch (they go with their
// submissions, ON DELETE CASCADE), through submission_files' primary key.
const erasedFilesSQL = `SELECT count(*) AS n FROM submission_files sf JOIN %[1]s d ON sf.submission_id = d.id`

// ErasedFilesSQL returns the count of the files of the submissions the CTE
// named doomed selects: what their deletion takes with it.
func ErasedFilesSQL(doomed string) string { return fmt.Sprintf(erasedFilesSQL, doomed) }

// erasedSQL deletes the batch's submissions; their files, deliveries and
// delivery attempts go by ON DELETE CASCADE.
const erasedSQL = `DELETE FROM submissions s USING %[1]s d WHERE s.id = d.id RETURNING 1`

// ErasedSQL returns the deletion of the submissions the CTE named doomed
// selects, a row per submission deleted.
func ErasedSQL(doomed string) string { return fmt.Sprintf(erasedSQL, doomed) }
