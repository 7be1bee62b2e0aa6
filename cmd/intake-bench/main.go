// Command intake-bench drives a running Intake over HTTP with keyed,
// duplicated and keyless submissions, then reads the database to check that
// every acknowledged intent was taken exactly once. With -ceiling it also
// measures the naive SQL of one submission on the same database, so Intake's
// rate can be read as a fraction of it. See docs/BENCHMARKS.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
