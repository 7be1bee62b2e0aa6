package migrations_test

import (
	"context"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Migration 00024 indexes the addresses of the submissions already stored
// (the index is built over them, CONCURRENTLY, outside a transaction) and
// goes down again. The rows are written in SQL of the schema before it.
func TestPersonAddressesMigrationOnExistingSubmissions(t *testing.T) {
	t.Parallel()
	pool, p := downTo(t, 23)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `
WITH a AS (INSERT INTO accounts (name) VALUES ('before 00024') RETURNING id),
f AS (INSERT INTO forms (public_id, account_id, name) SELECT 'addrform', id, 'F' FROM a RETURNING id)
INSERT INTO submissions (id, form_id, contract_version, data, meta, created_at)
SELECT gen_random_uuid(), f.id, 1, d::jsonb, m::jsonb, now() FROM f, (VALUES
	('{"email": " Ada@Example.com "}', '{}'),
	('{"message": "write to ada@example.com, please"}', '{}'),
	('{"message": "hi"}', '{"reply_to": "ADA@example.com"}'),
	('{"email": "xada@example.com", "message": "ada@example.co"}', '{}')) AS v(d, m)`); err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 24); err != nil {
		t.Fatalf("migration 00024 on existing submissions: %v", err)
	}
	var n int
	var valid bool
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM submissions WHERE submission_addresses(data, meta) @> ARRAY['ada@example.com']`).Scan(&n); err != nil || n != 3 {
		t.Errorf("submissions carrying ada@example.com: %d, %v; want 3", n, err)
	}
	if err := pool.QueryRow(ctx, `SELECT indisvalid FROM pg_index WHERE indexrelid = 'submissions_addresses_idx'::regclass`).Scan(&valid); err != nil || !valid {
		t.Errorf("submissions_addresses_idx valid: %v, %v", valid, err)
	}
	if _, err := p.DownTo(ctx, 23); err != nil {
		t.Fatalf("down: %v", err)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_proc WHERE proname = 'submission_addresses'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("after down: %d functions, %v", n, err)
	}
}

// Migration 00031 makes submission_addresses PL/pgSQL (its plan kept per
// connection) with the same body: it answers exactly as the SQL version
// for every input below, the index over it stays valid and finds the
// same rows, and down brings the SQL version back.
func TestSubmissionAddressesPLpgSQLAnswersTheSame(t *testing.T) {
	t.Parallel()
	pool, p := downTo(t, 30)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `
CREATE TABLE addr_cases (n int, data jsonb, meta jsonb);
INSERT INTO addr_cases VALUES
	(1, '{"email": " Ada@Example.com "}', '{}'),
	(2, '{"message": "write to ada@example.com, or b.o+b@mail.example.org; not x@y"}', '{}'),
	(3, '{"message": "hi"}', '{"reply_to": "ADA@example.com"}'),
	(4, '{"email": "xada@example.com", "message": "ada@example.co"}', '{}'),
	(5, '{"list": ["c@d.io", {"deep": ["e@f.net", 42, true, null]}], "n": 7}', '{"ip": "127.0.0.1"}'),
	(6, '{}', '{}'),
	(7, '{"s": "bob@localhost bob@localhost Ünï@exämple.com"}', '{"reply_to": null}'),
	(8, '"a@b.c"', '{}');
WITH a AS (INSERT INTO accounts (name) VALUES ('before 00031') RETURNING id),
f AS (INSERT INTO forms (public_id, account_id, name) SELECT 'plpgform', id, 'F' FROM a RETURNING id)
INSERT INTO submissions (id, form_id, contract_version, data, meta, created_at)
SELECT gen_random_uuid(), f.id, 1, c.data, c.meta, now() FROM f, addr_cases c`); err != nil {
		t.Fatal(err)
	}
	answers := func() []string {
		t.Helper()
		rows, err := pool.Query(ctx, `SELECT n || ': ' || submission_addresses(data, meta)::text FROM addr_cases ORDER BY n`)
		if err != nil {
			t.Fatal(err)
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	language := func() string {
		t.Helper()
		var lang string
		if err := pool.QueryRow(ctx, `SELECT l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang WHERE p.proname = 'submission_addresses'`).Scan(&lang); err != nil {
			t.Fatal(err)
		}
		return lang
	}
	// Through the index: sequential scans off.
	found := func() int {
		t.Helper()
		var n int
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
				return err
			}
			return tx.QueryRow(ctx, `SELECT count(*) FROM submissions s JOIN forms f ON f.id = s.form_id
				WHERE f.public_id = 'plpgform' AND s.form_id = f.id AND submission_addresses(s.data, s.meta) @> ARRAY['ada@example.com']`).Scan(&n)
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before, foundBefore := answers(), found()
	if language() != "sql" || foundBefore != 3 {
		t.Fatalf("at 00030: language %s, %d submissions carry ada@example.com (want sql, 3)", language(), foundBefore)
	}
	if _, err := p.UpTo(ctx, 31); err != nil {
		t.Fatalf("up to 00031: %v", err)
	}
	if language() != "plpgsql" {
		t.Errorf("after 00031 the function is %s, want plpgsql", language())
	}
	if after := answers(); !slices.Equal(after, before) {
		t.Errorf("answers differ:\nsql:     %q\nplpgsql: %q", before, after)
	}
	if n := found(); n != foundBefore {
		t.Errorf("through the index after 00031: %d, want %d", n, foundBefore)
	}
	if _, err := p.DownTo(ctx, 30); err != nil {
		t.Fatalf("down: %v", err)
	}
	if language() != "sql" {
		t.Errorf("after down the function is %s, want sql", language())
	}
}
