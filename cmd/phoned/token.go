package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"phoned/auth"
	"phoned/store"
)

// tokenCreate makes an API token and prints it, and nothing else, on
// stdout. Only its hash is stored.
func tokenCreate(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("phoned token create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	defDB := "phoned.db"
	if v, ok := lookupEnv("PHONED_DB"); ok {
		defDB = v
	}
	db := fs.String("db", defDB, "SQLite database file (env PHONED_DB)")
	roleName := fs.String("role", "", "the token's role: agent, supervisor or admin (required)")
	login := fs.String("user", "", "login of the user the token acts for (optional)")
	name := fs.String("name", "", "a label for the token")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errUsage
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("token create takes no arguments, got %q", fs.Args())
	}
	role, err := auth.ParseRole(*roleName)
	if err != nil {
		return fmt.Errorf("--role: %w", err)
	}
	if *db == "" {
		return errors.New("--db: a database file is required")
	}
	st, err := store.Open(ctx, *db, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	var uid int64
	if *login != "" {
		u, err := st.UserByLogin(ctx, *login)
		if err != nil {
			return fmt.Errorf("--user: %w", err)
		}
		if !u.Role.AtLeast(role) {
			return fmt.Errorf("--role %s: user %q is only %s", role, u.Login, u.Role)
		}
		uid = u.ID
	}
	tok := auth.NewSecret("phd_")
	if _, err := st.CreateToken(ctx, auth.SecretHash(tok), role, uid, *name); err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, tok)
	return err
}
