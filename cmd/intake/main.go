// Command intake is the Intake server and its admin commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	// The IANA time zones, in the binary: the dashboard's date filter
	// reads the viewer's zone by name, and a minimal image may have no
	// /usr/share/zoneinfo (the zone would fall back to UTC unsaid).
	_ "time/tzdata"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
