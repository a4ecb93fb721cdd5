// Command phoned is the phoned daemon and its operator commands:
//
//	phoned serve [flags]                          run the daemon
//	phoned token create --db FILE --role ROLE     print a new API token
//
// Every serve flag has an environment equivalent (PHONED_DB, PHONED_HTTP,
// ...); flags win over the environment.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // zones work on machines without a zoneinfo database

	"phoned/internal/gctune"
)

func main() {
	gctune.Apply()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "phoned:", err)
		}
		os.Exit(2)
	}
}

// errUsage means the usage was already printed.
var errUsage = errors.New("usage")

const usage = `usage:
  phoned serve [--db FILE] [--http ADDR] [--sip ADDR] [--tz ZONE] [--region CC] [--log-level LEVEL] [--demo]
  phoned token create --db FILE --role agent|supervisor|admin [--user LOGIN] [--name NAME]
run "phoned serve -h" for the flags and their environment variables`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "serve":
		cfg, err := parseServe(args[1:], os.LookupEnv, stderr)
		if err != nil {
			return err
		}
		return serve(ctx, cfg, stdout, stderr)
	case "token":
		if len(args) < 2 || args[1] != "create" {
			fmt.Fprintln(stderr, usage)
			return errUsage
		}
		return tokenCreate(ctx, args[2:], os.LookupEnv, stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "phoned: unknown command %q\n%s\n", args[0], usage)
	return errUsage
}
