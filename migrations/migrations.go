// Package migrations holds Intake's schema as goose SQL files embedded in the
// binary — River's tables included, one file per River version — and applies
// them under goose's Postgres session lock, so replicas starting together
// migrate once.
package migrations

//go:generate go run ./internal/genriver .

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/intakehq/intake/database"
)

//go:embed *.sql
var files embed.FS

// FS returns the embedded migration files.
func FS() embed.FS { return files }

// Provider returns a goose provider over the embedded files, on connections
// of their own made like pool's but without its lock_timeout: a migration
// may wait for its locks behind running work rather than fail the start.
// Close the returned io.Closer when done (it closes those connections, not
// the pool). It returns an error when the lock or provider cannot be set up.
func Provider(pool *pgxpool.Pool, logger *slog.Logger) (*goose.Provider, io.Closer, error) {
	cc := pool.Config().ConnConfig.Copy()
	cc.RuntimeParams["lock_timeout"] = "0"
	db := stdlib.OpenDB(*cc)
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	opts := []goose.ProviderOption{goose.WithSessionLocker(locker)}
	if logger != nil {
		opts = append(opts, goose.WithSlog(logger))
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, files, opts...)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return p, db, nil
}

// Up applies every pending migration and returns how many it applied.
func Up(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) (int, error) {
	p, closer, err := Provider(pool, logger)
	if err != nil {
		return 0, err
	}
	defer closer.Close()
	results, err := p.Up(ctx)
	if err != nil {
		return len(results), fmt.Errorf("migrate up: %w", err)
	}
	return len(results), nil
}

// AwaitApplied returns once the database has every migration embedded in
// this binary, checking every poll: a process that does not migrate
// (`intake worker`, `serve --migrate=false`) must not run against a schema
// behind its code, whose statements would be refused — an email sent and
// its record refused, say. logger is told once what it waits for. A
// schema ahead of the binary (an older node during a rolling deploy) is
// fine. It returns ctx's error if ctx ends first.
func AwaitApplied(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger, poll time.Duration) error {
	p, closer, err := Provider(pool, nil)
	if err != nil {
		return err
	}
	defer closer.Close()
	told := false
	for {
		current, target, err := p.GetVersions(ctx)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42P01" { // undefined_table: never migrated
			current, err = 0, nil
		}
		switch {
		case err != nil && database.IsUnavailable(err):
			logger.Warn("waiting for migrations: the database cannot be reached; trying again", "err", err)
		case err != nil:
			return fmt.Errorf("read the schema's version: %w", err)
		case current >= target:
			if told {
				logger.Info("the schema is up to date: starting", "version", current)
			}
			return nil
		case !told:
			logger.Warn("waiting for migrations: this binary needs a newer schema; run `intake migrate up` (or start `intake serve`, which migrates)",
				"schema_version", current, "needs", target)
			told = true
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}
