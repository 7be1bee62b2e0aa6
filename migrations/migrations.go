// Package migrations holds Intake's schema as goose SQL files embedded in the
// binary — River's tables included, one file per River version — and applies
// them under goose's Postgres session lock, so replicas starting together
// migrate once.
package migrations

//go:generate go run ./internal/genriver .

import (
	"context"
	"embed"
	"fmt"
	"io"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
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
