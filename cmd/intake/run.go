package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
)

// Set by the linker: -X main.version=… -X main.commit=….
var (
	version = "dev"
	commit  = ""
)

const usage = `intake — a form backend that takes every submission exactly once.

Usage:
  intake serve [--migrate=true] [--workers=true]   HTTP server and River workers
  intake worker                                     River workers only
  intake migrate up|down|status                     goose migrations (embedded)
  intake users create --email E --password P        create an account and its owner
  intake users plan --email E [--plan P]            show (or change) the account's plan and usage
  intake users two-factor-reset --email E           turn off a user's two-factor log-in (a lost device)
  intake apikeys create --email E [--name N]        create an API key; prints only the key
  intake mcp --url URL                              a remote Intake's MCP tools over stdio (key: INTAKE_API_KEY)
  intake version                                    version, commit, Go version

Configuration is read from the environment (DATABASE_URL, INTAKE_ADDR,
INTAKE_BASE_URL, INTAKE_SMTP_URL, INTAKE_MAIL_FROM, INTAKE_SECRET_KEY,
INTAKE_WEBHOOK_ALLOW_PRIVATE, INTAKE_LOG_FORMAT, INTAKE_LOG_LEVEL); see README.md.
`

// Run runs the command in args and returns the process exit code. It is
// main without the process: tests call it.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "version" {
		fmt.Fprintf(stdout, "intake %s (commit %s, %s)\n", version, commitID(), runtime.Version())
		return 0
	}
	if args[0] == "mcp" {
		// A client of a remote Intake: none of the server's configuration.
		return exit("mcp", mcpCommand(ctx, args[1:], getenv, os.Stdin, stdout, stderr), stderr)
	}
	cfg, err := configFromEnv(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "intake: configuration: %v\n", err)
		return 2
	}
	logger := newLogger(cfg, stderr)
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		err = serve(ctx, cfg, logger, rest)
	case "worker":
		err = worker(ctx, cfg, logger, rest)
	case "migrate":
		err = migrate(ctx, cfg, logger, rest, stdout)
	case "users":
		err = users(ctx, cfg, rest, stdout)
	case "apikeys":
		err = apikeys(ctx, cfg, rest, stdout)
	default:
		fmt.Fprintf(stderr, "intake: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	return exit(cmd, err, stderr)
}

// exit is the exit code of the command cmd that returned err, which it
// prints: 2 for a usage error.
func exit(cmd string, err error, stderr io.Writer) int {
	var uerr usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &uerr):
		fmt.Fprintf(stderr, "intake %s: %v\n", cmd, err)
		return 2
	case errors.Is(err, flag.ErrHelp):
		return 0
	default:
		fmt.Fprintf(stderr, "intake %s: %v\n", cmd, err)
		return 1
	}
}

// usageError is a mistake in the command line (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func commitID() string {
	if commit != "" {
		return commit
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}

// parseFlags parses a subcommand's flags, turning mistakes into usage errors.
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{"unexpected arguments: " + strings.Join(fs.Args(), " ")}
	}
	return nil
}
