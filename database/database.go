package database

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultURL is the database Intake uses when DATABASE_URL is empty.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/intake?sslmode=disable"

// Executor is what store functions run SQL on: a *pgxpool.Pool or a pgx.Tx.
type Executor interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// DefaultLockTimeout bounds every wait for a lock on Intake's connections,
// so a request held up by a lock (a migration's, say) fails with a 503
// instead of hanging. Statements that mean to wait longer or shorter set
// their own (AtomicBatch does).
const DefaultLockTimeout = 5 * time.Second

// PoolConfig parses url into the pool configuration Intake uses: at most
// 20 connections unless the URL says (pgxpool's default of max(4, NumCPU)
// starves River and HTTP on a small machine), DefaultLockTimeout unless
// the URL sets lock_timeout, and UUIDs sent as bytes (uuid.go). The
// timeout must be a connection setting: a statement's first use on a
// connection parses it, which takes its table's lock before any statement
// of its batch has run.
func PoolConfig(url string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = 20
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["lock_timeout"]; !ok && !strings.Contains(url, "lock_timeout") {
		cfg.ConnConfig.RuntimeParams["lock_timeout"] = fmt.Sprintf("%dms", DefaultLockTimeout.Milliseconds())
	}
	cfg.AfterConnect = encodeUUIDs
	return cfg, nil
}

// Open connects to the database at url, creating it first when it does not
// exist, and returns a pool configured by PoolConfig. It returns an error
// when the server cannot be reached or the database cannot be created.
func Open(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := PoolConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	if err := EnsureDatabase(ctx, cfg.ConnConfig); err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open pool: %w", err)
	}
	return pool, nil
}

// EnsureDatabase creates the database named in cfg when it does not exist. It
// connects to the server's "postgres" database to do so.
func EnsureDatabase(ctx context.Context, cfg *pgx.ConnConfig) error {
	name := cfg.Database
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		return conn.Close(ctx)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" { // invalid_catalog_name
		return fmt.Errorf("connect to database %q: %w", name, err)
	}
	admin := cfg.Copy()
	admin.Database = "postgres"
	conn, err = pgx.ConnectConfig(ctx, admin)
	if err != nil {
		return fmt.Errorf("connect to create database %q: %w", name, err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	if err != nil && !isCode(err, "42P04") { // duplicate_database: another replica won
		return fmt.Errorf("create database %q: %w", name, err)
	}
	return nil
}

// AtomicBatch returns an empty batch for statements that must take effect
// together, in one round trip. Sent with SendBatch on a pool (outside any
// transaction), a batch is one pipeline ending in a single Sync, which
// Postgres runs as one implicit transaction: an error in any statement rolls
// them all back, and the commit happens at the Sync without a round trip of
// its own. Row locks wait at most lockWait: a local setting that ends with
// the transaction, sent always (it rides the same round trip) so the bound
// holds whatever the connection's own setting is.
//
// The commit does not wait for the client to read the results: whatever
// decides whether a later statement may write must be a condition in its
// SQL (a WHERE EXISTS on what an earlier one wrote), never a decision made
// in Go after reading.
func AtomicBatch(lockWait time.Duration) *pgx.Batch {
	b := &pgx.Batch{}
	b.Queue(`SELECT set_config('lock_timeout', $1, true)`, fmt.Sprintf("%dms", lockWait.Milliseconds()))
	return b
}

// WithTx runs fn in a transaction begun with opts, commits when fn returns
// nil and rolls back otherwise. The rollback runs even when ctx is cancelled.
// It returns fn's error or the begin/commit error.
func WithTx(ctx context.Context, db *pgxpool.Pool, opts pgx.TxOptions, fn func(tx pgx.Tx) error) error {
	tx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	return tx.Commit(ctx)
}

// IsLockTimeout reports whether err is Postgres giving up on a lock wait.
func IsLockTimeout(err error) bool { return isCode(err, "55P03") }

// IsForeignKeyViolation reports whether err is a foreign key violation: a
// reference to a row that does not exist.
func IsForeignKeyViolation(err error) bool { return isCode(err, "23503") }

// IsUniqueViolation reports whether err is a unique constraint violation,
// optionally of the named constraint.
func IsUniqueViolation(err error, constraint string) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		return false
	}
	return constraint == "" || pgErr.ConstraintName == constraint
}

// IsUnavailable reports whether err means the database cannot be reached
// right now (connection refused or lost, server shutting down or starting,
// too many connections), as opposed to a bug or a bad statement. Callers
// answer 503 with Retry-After for these: the same request will work later.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code[:2] {
		case "08": // connection exception
			return true
		}
		switch pgErr.Code {
		case "57P01", "57P02", "57P03", "53300": // shutdown, crash, starting up, too many connections
			return true
		}
		return false
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &connectErr), errors.As(err, &netErr), pgconn.Timeout(err),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	}
	return pgconn.SafeToRetry(err)
}

// IsRefused reports whether Postgres refused a statement for what it is —
// a bad value (class 22), a broken constraint (23) or a statement the
// schema does not fit (42: a missing column, a wrong type) — so running it
// again unchanged cannot succeed. A schema behind the binary's migrations
// is the usual cause in production.
func IsRefused(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || len(pgErr.Code) != 5 {
		return false
	}
	switch pgErr.Code[:2] {
	case "22", "23", "42":
		return true
	}
	return false
}

func isCode(err error, code string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == code
}

// InstanceSecret returns the instance's secret key, generating and storing
// it on first use (every replica then reads the same one). It is used when
// INTAKE_SECRET_KEY is not set.
//
// Two processes starting at once (serve and worker) both try the insert;
// the one that waits on the other's row does nothing, and its statement's
// snapshot, taken before that row committed, cannot see it either. A second
// statement has a newer snapshot, so it reads the row the other wrote.
func InstanceSecret(ctx context.Context, db Executor) (string, error) {
	raw := make([]byte, 32)
	rand.Read(raw)
	var key string
	for range 2 {
		err := db.QueryRow(ctx, `
WITH ins AS (
	INSERT INTO instance_settings (name, value) VALUES ('secret_key', $1)
	ON CONFLICT (name) DO NOTHING RETURNING value
)
SELECT value FROM ins UNION ALL SELECT value FROM instance_settings WHERE name = 'secret_key' LIMIT 1`,
			base64.RawURLEncoding.EncodeToString(raw)).Scan(&key)
		if !errors.Is(err, pgx.ErrNoRows) {
			return key, err
		}
	}
	return "", errors.New("instance secret key: written by another process but not readable")
}
