package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pressly/goose/v3"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/migrations"
)

func migrate(ctx context.Context, cfg Config, logger *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return usageError{"want one of: up, down, status"}
	}
	// Refused before connecting: a usage error creates no database.
	if !slices.Contains([]string{"up", "down", "status"}, args[0]) {
		return usageError{fmt.Sprintf("unknown migrate command %q: want up, down or status", args[0])}
	}
	pool, err := openDB(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer pool.Close()
	p, closer, err := migrations.Provider(pool, nil)
	if err != nil {
		return err
	}
	defer closer.Close()
	var results []*goose.MigrationResult
	switch args[0] {
	case "up":
		results, err = p.Up(ctx)
	case "down":
		var r *goose.MigrationResult
		r, err = p.Down(ctx)
		if r != nil {
			results = append(results, r)
		}
	case "status":
		statuses, err := p.Status(ctx)
		if err != nil {
			return err
		}
		for _, s := range statuses {
			applied := "pending"
			if s.State == goose.StateApplied {
				applied = "applied " + s.AppliedAt.Format("2006-01-02 15:04:05")
			}
			fmt.Fprintf(stdout, "%-60s %s\n", s.Source.Path, applied)
		}
		return nil
	default:
		return usageError{fmt.Sprintf("unknown migrate command %q: want up, down or status", args[0])}
	}
	for _, r := range results {
		fmt.Fprintf(stdout, "%s %s (%s)\n", r.Direction, r.Source.Path, r.Duration.Round(1e6))
	}
	if err != nil {
		return err
	}
	if len(results) == 0 {
		fmt.Fprintln(stdout, "nothing to do")
	}
	return nil
}

func users(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "plan" {
		return userPlan(ctx, cfg, args[1:], stdout)
	}
	if len(args) > 0 && args[0] == "two-factor-reset" {
		return userTwoFactorReset(ctx, cfg, args[1:], stdout)
	}
	if len(args) == 0 || args[0] != "create" {
		return usageError{"want: users create --email E --password P, users plan --email E [--plan P], or users two-factor-reset --email E"}
	}
	fs := flag.NewFlagSet("users create", flag.ContinueOnError)
	email := fs.String("email", "", "the user's email (required)")
	password := fs.String("password", "", "the user's password, at least 8 characters (required)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *email == "" || *password == "" {
		return usageError{"--email and --password are required"}
	}
	pool, err := openMigrated(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	u, created, err := accounts.CreateUser(ctx, pool, audit.CLI, *email, *password)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(stdout, "created user %s (account %d)\n", u.Email, u.AccountID)
	} else {
		fmt.Fprintf(stdout, "user %s already exists (account %d); nothing changed\n", u.Email, u.AccountID)
	}
	return nil
}

// userPlan shows the plan and this month's usage of a user's account, and
// with --plan moves the account to another plan.
func userPlan(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("users plan", flag.ContinueOnError)
	plan := fs.String("plan", "", "the plan to move the account to; empty: only show")
	return forOwner(ctx, cfg, fs, args, "the owner of the account (required)", func(pool *pgxpool.Pool, u *accounts.User) error {
		plans, err := accounts.Plans(ctx, pool)
		if err != nil {
			return err
		}
		if *plan != "" {
			err := accounts.SetPlan(ctx, pool, audit.CLI, u.AccountID, *plan)
			if errors.Is(err, accounts.ErrUnknownPlan) {
				return fmt.Errorf("no plan %q; the plans are: %s", *plan, planIDs(plans))
			}
			if err != nil {
				return err
			}
		}
		usage, err := accounts.UsageOf(ctx, pool, u.AccountID, time.Now())
		if err != nil {
			return err
		}
		quota := "no quota"
		if !usage.Plan.Unlimited() {
			quota = fmt.Sprintf("%d of %d submissions used in %s", usage.Used, usage.Plan.MonthlySubmissions, usage.Month.Format("January 2006"))
		}
		fmt.Fprintf(stdout, "account %d is on the %s plan (%s): %s\n", u.AccountID, usage.Plan.ID, usage.Plan.Name, quota)
		if *plan == "" {
			fmt.Fprintf(stdout, "plans: %s\n", planIDs(plans))
		}
		return nil
	})
}

// userTwoFactorReset turns a user's two-factor log-in off, for one who lost
// both the device and the recovery codes: the operator vouches for them,
// as for users create.
func userTwoFactorReset(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("users two-factor-reset", flag.ContinueOnError)
	return forUser(ctx, cfg, fs, args, "the user who lost their device (required)", func(pool *pgxpool.Pool, u *accounts.User) error {
		err := accounts.ResetTwoFactor(ctx, pool, audit.CLI, u)
		if errors.Is(err, accounts.ErrTwoFactorOff) {
			fmt.Fprintf(stdout, "two-factor log-in of %s is off already; nothing changed\n", u.Email)
			return nil
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "two-factor log-in of %s is off: recovery codes deleted, every session ended. They log in with their password (and set it up again if their account requires it)\n", u.Email)
		return nil
	})
}

// forUser runs an admin command about one user: it parses the command's
// flags fs, with --email (described by emailUsage) required, opens (and
// migrates) the database, finds the user and calls do with both.
func forUser(ctx context.Context, cfg Config, fs *flag.FlagSet, args []string, emailUsage string,
	do func(pool *pgxpool.Pool, u *accounts.User) error) error {
	email := fs.String("email", "", emailUsage)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *email == "" {
		return usageError{"--email is required"}
	}
	pool, err := openMigrated(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	u, err := accounts.UserByEmail(ctx, pool, *email)
	if errors.Is(err, accounts.ErrNotFound) {
		return fmt.Errorf("no user %s: create it first with intake users create", *email)
	}
	if err != nil {
		return err
	}
	return do(pool, u)
}

// forOwner is forUser for a command about the account the user owns —
// not the one they last looked at: an operator's key or plan for a member
// of someone else's account would give them more than their role there.
func forOwner(ctx context.Context, cfg Config, fs *flag.FlagSet, args []string, emailUsage string,
	do func(pool *pgxpool.Pool, u *accounts.User) error) error {
	return forUser(ctx, cfg, fs, args, emailUsage, func(pool *pgxpool.Pool, u *accounts.User) error {
		owned, err := accounts.OwnedAccount(ctx, pool, u)
		if errors.Is(err, accounts.ErrOwnsNoAccount) {
			return fmt.Errorf("%s owns no account (they are a member of others', or of none): name the owner of the account you mean", u.Email)
		}
		if err != nil {
			return err
		}
		return do(pool, owned)
	})
}

func planIDs(plans []accounts.Plan) string {
	ids := make([]string, len(plans))
	for i, p := range plans {
		ids[i] = p.ID
		if !p.Unlimited() {
			ids[i] += fmt.Sprintf(" (%d a month)", p.MonthlySubmissions)
		}
	}
	return strings.Join(ids, ", ")
}

func apikeys(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return usageError{"want: apikeys create --email E [--name N] [--scope read_write|read_only]"}
	}
	fs := flag.NewFlagSet("apikeys create", flag.ContinueOnError)
	name := fs.String("name", "", "a name to recognise the key by")
	// Checked as the flags are parsed, so a wrong scope is a usage error
	// before the database is opened.
	scope := accounts.ScopeReadWrite
	fs.Func("scope", "read_write (the default), or read_only: a key that may read (GET, HEAD) and change nothing", func(v string) error {
		var err error
		scope, err = accounts.ParseScope(v)
		return err
	})
	return forOwner(ctx, cfg, fs, args[1:], "the owner of the account that gets the key (required)", func(pool *pgxpool.Pool, u *accounts.User) error {
		_, key, err := accounts.CreateAPIKey(ctx, pool, audit.CLI, u, *name, scope)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, key) // only the key: scripts capture it with $(…)
		return nil
	})
}

// openMigrated opens the database for an admin command and applies
// pending migrations, so admin commands work on a fresh database before
// the first serve.
func openMigrated(ctx context.Context, cfg Config) (*pgxpool.Pool, error) {
	pool, err := openDB(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	if _, err := migrations.Up(ctx, pool, nil); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}
