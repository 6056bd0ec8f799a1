package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/twofold/twofold/internal/account"
)

func user(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("want a subcommand: list or reset-2fa EMAIL")
	}
	switch args[0] {
	case "list":
		a, _, err := newApp(ctx, "user list", useExisting, args[1:], getenv, stderr)
		if err != nil {
			return err
		}
		defer a.Close()
		users, err := a.service.ListUsers(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tEMAIL\tNAME\tMOBILE\t2FA\tCREATED")
		for _, u := range users {
			twoFA := "off"
			if u.TwoFactorEnabled() {
				twoFA = "on"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Email, u.Name, u.MobilePhone, twoFA, u.CreatedAt.Format("2006-01-02"))
		}
		return tw.Flush()
	case "reset-2fa":
		a, positional, err := newApp(ctx, "user reset-2fa", useExisting, args[1:], getenv, stderr)
		if err != nil {
			return err
		}
		defer a.Close()
		if len(positional) != 1 {
			return errors.New("usage: twofold user reset-2fa EMAIL")
		}
		if err := a.service.ResetTwoFactor(ctx, positional[0], "operator (CLI)"); err != nil {
			if errors.Is(err, account.ErrNotFound) {
				return fmt.Errorf("no account with email %s", positional[0])
			}
			return err
		}
		fmt.Fprintf(stdout, "2 factor authentication is now off for %s; their sessions were ended. They can sign in with their password and enable it again.\n", positional[0])
		return nil
	}
	return fmt.Errorf("unknown user subcommand %q: want list or reset-2fa EMAIL", args[0])
}
